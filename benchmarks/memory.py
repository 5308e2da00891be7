"""Measure resident memory: at start, after loading a guard, after many checks, and per Guard.

Reads VmRSS from /proc/self/status (Linux only) at each point:

1. at start, after importing guardintent;
2. after loading the guard and one warm-up check;
3. after `--checks` checks of short and long prompts in turn, with the growth since 2
   compared against `--bound-mib`;
4. after creating `--guards` more Guards on the same package, which share one onnxruntime
   session and tokenizer, so the growth should stay far below one model's size.

    python benchmarks/memory.py [--guard PATH] [--checks 100000] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import onnxruntime as ort

from guardintent import Guard
from guardintent._runtime import available_cpus

MIB = 1024 * 1024
SHORT_PROMPTS = [
    "What's a good recipe for banana bread?",
    "How do I make a pipe bomb?",
    "Explain how photosynthesis works",
]
LONG_PROMPT = "Here is a note about my garden, the tomatoes and the weather this spring. " * 12
REPORT_EVERY = 10_000


def rss_bytes() -> int:
    """Return this process's resident set size (VmRSS) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmRSS line; this benchmark needs Linux")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mixed_prompts(count: int) -> list[str]:
    """Build `count` prompts: every fourth is the long one (two windows), the rest are short."""
    return [
        LONG_PROMPT if index % 4 == 3 else SHORT_PROMPTS[index % len(SHORT_PROMPTS)]
        for index in range(count)
    ]


def write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guard", type=Path, default=None, help="package (default: bundled)")
    parser.add_argument("--checks", type=int, default=100_000, help="checks to run")
    parser.add_argument("--guards", type=int, default=10, help="extra Guards to create")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    parser.add_argument(
        "--bound-mib", type=float, default=20.0,
        help="maximum RSS growth over the checks, in MiB, that counts as no leak",
    )  # fmt: skip
    args = parser.parse_args(argv)
    threads = args.threads or available_cpus()

    write(f"cpu: {cpu_model()}, usable cores: {len(os.sched_getaffinity(0))}")
    write(f"python {platform.python_version()}, onnxruntime {ort.__version__}, "
          f"intra-op threads {threads}")  # fmt: skip
    start = rss_bytes()
    write(f"rss at start: {start / MIB:.1f} MiB")

    guard = Guard(args.guard, threads=threads)
    guard.check(SHORT_PROMPTS[0])
    loaded = rss_bytes()
    write(f"rss after loading {guard.info.name} {guard.info.version}: {loaded / MIB:.1f} MiB "
          f"(+{(loaded - start) / MIB:.1f})")  # fmt: skip

    began = time.perf_counter()
    for index, prompt in enumerate(mixed_prompts(args.checks), start=1):
        guard.check(prompt)
        if index % REPORT_EVERY == 0:
            write(f"  after {index} checks: {rss_bytes() / MIB:.1f} MiB")
    elapsed = time.perf_counter() - began
    checked = rss_bytes()
    growth = (checked - loaded) / MIB
    verdict = "within" if growth <= args.bound_mib else "OVER"
    write(f"rss after {args.checks} checks ({elapsed:.1f} s): {checked / MIB:.1f} MiB, "
          f"growth {growth:+.1f} MiB, {verdict} the bound of {args.bound_mib:.0f} MiB")  # fmt: skip

    guards = [Guard(args.guard, threads=threads, threshold=0.5) for _ in range(args.guards)]
    shared = all(other._package.session is guard._package.session for other in guards)
    many = rss_bytes()
    write(f"rss after {args.guards} more Guards on the same package: {many / MIB:.1f} MiB "
          f"(+{(many - checked) / MIB:.1f}, one shared session: {shared})")  # fmt: skip
    return 0 if growth <= args.bound_mib and shared else 1


if __name__ == "__main__":
    sys.exit(main())
