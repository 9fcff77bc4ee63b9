"""Benchmark scripts for keras-domains (run from the repository root with `python -m`)."""
