"""Peak memory of a benchmark process, for the figures of the benchmarks that run each case in its own child."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident memory (MiB). VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    parent through fork and exec, so a spawned child would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
