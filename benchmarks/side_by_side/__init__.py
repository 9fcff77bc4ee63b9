"""Every task side by side with what a user would pick instead: `python -m benchmarks`.

See `benchmarks.side_by_side.cli` for the sections and `benchmarks/README.md`
for how to read the table.
"""
