"""Time `Guard.check` on very long prompts of several kinds and report the slowest.

Each prompt is `--size` characters (default 10,000,000). A repeated prompt repeats one short
unit, so most of its windows are identical and run once. A random prompt draws every character
or word afresh, so that no two windows are alike: these are the slow cases. Each prompt is
checked `--repeats` times (default 2) and the fastest time counts, after one warm-up check.

    python benchmarks/long_prompts.py [--guard PATH] [--threads 1] [--kinds random-cjk ...]
                                      [--no-sentences | --sentence-gate 0]

Most of these synthetic prompts stay below the guard's sentence gate (at 40,000 characters, 1 of
the 12 kinds reached the gate of the default guard 0.1.1), so by default they are not read
sentence by sentence. `--sentence-gate 0` times the worst case, in which every sentence is read
as well. A single harmful request usually opens the gate: 94.7% of HarmBench requests hidden in
long benign prompts did (benchmarks/README.md).

Peak RSS (VmHWM on Linux, ru_maxrss elsewhere) is reported at the end, to show that memory stays
bounded too.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import onnxruntime as ort

# A script's own folder is first on sys.path, so the sibling modules import by name.
from latency import add_sentence_options, cpu_model
from peak_rss import peak_rss_kib

from guardintent import Guard

MIB = 1024 * 1024
REPEATED_UNITS = {
    "repeated-english": "bake bread and cake. ",
    "repeated-cjk": "烤面包和蛋糕很好吃",
    "repeated-punctuation": "!?",
    "repeated-letters": "a b c ",
    "repeated-fullwidth": "ｂａｋｅ ｂｒｅａｄ！",
    "repeated-look-alikes": "раsswоrd ḧäċḱ 😀 ",
    "repeated-leet-base64": "h4ck th3 b0mb aGVsbG8gd29ybGQgaG93IGFyZSB5b3U= ",
}
ENGLISH_WORDS = (
    "the garden weather tomato spring note about my sister dinner train coast late book "
    "platform river walk morning coffee letter friend market"
).split()


def cjk(rng: random.Random, count: int) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(count))


def fullwidth_word(rng: random.Random) -> str:
    return "".join(chr(rng.randint(0xFF41, 0xFF5A)) for _ in range(rng.randint(2, 7)))


def hangul_word(rng: random.Random) -> str:
    return "".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(rng.randint(1, 4)))


# Each makes one sentence of a random prompt.
RANDOM_SENTENCES: dict[str, Callable[[random.Random], str]] = {
    "random-english": lambda rng: " ".join(rng.choices(ENGLISH_WORDS, k=12)).capitalize() + ". ",
    "random-cjk": lambda rng: cjk(rng, 64) + "。",
    # Fullwidth punctuation makes NFKC change the text, which adds the normalised reading.
    "random-cjk-fullwidth": lambda rng: cjk(rng, 64) + "！ ",
    "random-hangul": lambda rng: " ".join(hangul_word(rng) for _ in range(12)) + ". ",
    "random-fullwidth": lambda rng: " ".join(fullwidth_word(rng) for _ in range(10)) + "． ",
}


def build_prompt(kind: str, size: int, rng: random.Random) -> str:
    if kind in REPEATED_UNITS:
        unit = REPEATED_UNITS[kind]
        return (unit * (size // len(unit) + 1))[:size]
    parts = []
    length = 0
    while length < size:
        part = RANDOM_SENTENCES[kind](rng)
        parts.append(part)
        length += len(part)
    return "".join(parts)[:size]


def write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    kinds = [*REPEATED_UNITS, *RANDOM_SENTENCES]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guard", type=Path, default=None, help="package (default: bundled)")
    parser.add_argument("--size", type=int, default=10_000_000, help="characters per prompt")
    parser.add_argument("--repeats", type=int, default=2, help="checks per prompt")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the prompts")
    parser.add_argument("--kinds", nargs="+", choices=kinds, default=kinds, help="prompts to time")
    add_sentence_options(parser)
    args = parser.parse_args(argv)

    write(f"cpu: {cpu_model()}, usable cores: {len(os.sched_getaffinity(0))}")
    write(f"python {platform.python_version()}, onnxruntime {ort.__version__}, "
          f"intra-op threads {args.threads}, score_sentences {not args.no_sentences}")  # fmt: skip
    guard = Guard(args.guard, threads=args.threads, score_sentences=not args.no_sentences,
                  sentence_gate=args.sentence_gate)
    if not args.no_sentences:
        write(f"sentence gate {guard.sentence_gate:.3f}")
    guard.check("warm up")
    rng = random.Random(args.seed)

    slowest = ("", 0.0)
    for kind in args.kinds:
        prompt = build_prompt(kind, args.size, rng)
        times = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            result = guard.check(prompt)
            times.append(time.perf_counter() - began)
        best = min(times)
        steps = ",".join(result.normalizations) or "none"
        write(f"{kind:22s} {best:6.2f} s  windows {result.windows:4d}  "
              f"truncated {result.truncated}  normalisations {steps}")  # fmt: skip
        if best > slowest[1]:
            slowest = (kind, best)
    write(f"slowest: {slowest[0]} {slowest[1]:.2f} s")
    write(f"peak rss: {peak_rss_kib() * 1024 / MIB:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
