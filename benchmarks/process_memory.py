"""This process's memory, for the benchmarks that measure a fit in a child process."""

import resource
import sys
from pathlib import Path


def rss_mb(field):
    """`VmHWM` (peak) or `VmRSS` (current) of this process in MB, from /proc; None without it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def maxrss_mb():
    """`ru_maxrss` of this process in MB (kilobytes on Linux, bytes on macOS)."""
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / 1024.0 / 1024.0 if sys.platform == "darwin" else value / 1024.0
