"""`python -m benchmarks`: the side-by-side comparison of every task (see benchmarks/README.md)."""

import sys

from benchmarks.side_by_side.cli import main

if __name__ == "__main__":
    sys.exit(main())
