"""Peak resident set size of the current process, for the benchmark worker processes.

It imports only the standard library, so a worker that imports it measures its model alone.
"""

from __future__ import annotations

import sys


def peak_rss_kib() -> int:
    """Return this process's peak resident set size in KiB.

    Linux keeps `getrusage` ru_maxrss across fork and exec, so a worker started by a parent
    that holds torch would report the parent's peak. VmHWM in /proc/self/status belongs to the
    address space that exec created, so it is read first. ru_maxrss is the fallback where
    /proc is absent.
    """
    import resource

    try:
        with open("/proc/self/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux but in bytes on macOS.
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max_rss // 1024 if sys.platform == "darwin" else max_rss
