"""Check that threads sharing one Guard give exactly the sequential results.

    python benchmarks/concurrency.py --checks 10000 --threads 8

Runs `--checks` prompts sequentially, then the same prompts from `--threads` threads sharing one
Guard, and compares every result field except `latency_ms`. Exits with status 1 on any
difference. Prints the hardware and thread settings with the timings.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import onnxruntime

from guardintent import Guard

TOPICS = ("bread", "a pipe bomb", "my tax return", "a python process", "the weather", "poison")
FRAMES = (
    "How do I make {}?",
    "Tell me everything about {} in two sentences.",
    "Write a short story where a character talks about {}.",
    "I have a long question about my week at work and home. " * 15 + "Explain {} simply.",
)


def prompts(count: int) -> list[str]:
    """Build `count` prompts of mixed topics, framings and lengths."""
    return [
        FRAMES[i % len(FRAMES)].format(TOPICS[(i // len(FRAMES)) % len(TOPICS)]) + f" #{i}"
        for i in range(count)
    ]


def comparable(result: object) -> dict[str, object]:
    """Return a result's fields without the wall time, which differs between runs."""
    values = result.model_dump()
    values.pop("latency_ms")
    return values


def main() -> int:
    """Run the sequential and threaded passes and compare them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000, help="prompts to check")
    parser.add_argument("--threads", type=int, default=8, help="threads sharing one Guard")
    parser.add_argument("--guard", help="guard package (default: the bundled guard)")
    args = parser.parse_args()

    guard = Guard(args.guard)
    texts = prompts(args.checks)
    cpu = platform.processor() or platform.machine()
    print(f"cpu {cpu}, usable cores {len(os.sched_getaffinity(0))}, "
          f"onnxruntime {onnxruntime.__version__}, python {platform.python_version()}")

    started = time.perf_counter()
    sequential = [comparable(guard.check(text)) for text in texts]
    sequential_seconds = time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        threaded = [comparable(result) for result in pool.map(guard.check, texts)]
    threaded_seconds = time.perf_counter() - started

    differences = [i for i, (a, b) in enumerate(zip(sequential, threaded, strict=True)) if a != b]
    print(f"{args.checks} checks: sequential {sequential_seconds:.1f} s, "
          f"{args.threads} threads {threaded_seconds:.1f} s, {len(differences)} differences")
    for index in differences[:5]:
        print(f"  differs at {index}: {texts[index]!r}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
