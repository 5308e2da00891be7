"""Measure what the sentence-by-sentence reading of long prompts buys and what it costs.

`Guard(score_sentences=True)` (the default) also scores a prompt of 600 characters or more
sentence by sentence, so that a request placed among benign sentences is not diluted by them.
By default it does so only when one of the prompt's windows scores at least the sentence gate
(half the threshold). This script runs the same guard three ways, gated, reading every long
prompt by sentence (`sentence_gate=0`) and without the reading, on three sets:

- embedded requests: each HarmBench request is put at a sentence boundary near the middle of
  a long benign Arena-Hard prompt cut to 600-3,000 characters (share flagged: recall);
- the same HarmBench requests alone, for reference;
- long benign prompts: every Arena-Hard prompt of 600 characters or more (share flagged:
  false-positive rate), with the share read by sentence and the mean check time over them;

and times latency.py's prompt of about 200 tokens (p50 and p95 of single checks).

    python benchmarks/sentence_reading.py --data-dir DIR [--guard PATH] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from functools import partial
from pathlib import Path

import onnxruntime as ort

# A script's own folder is first on sys.path, so the sibling module imports by name.
from latency import build_prompts, cpu_model, latency_summary, time_calls

from guardintent import Guard
from guardintent._runtime import available_cpus
from guardintent.data import load_benchmarks, resolve_data_dir
from guardintent.guard import BUNDLED_PACKAGE
from guardintent.normalize import SENTENCES_MIN_CHARS

ARENA_FILES = ("arena-hard-v0.1_question.jsonl", "arena-hard-v2.0_question.jsonl")
FILLER_CHARS = (600, 3000)
LONG_TOKENS = 200


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = args.threads or available_cpus()
    try:
        data_dir = resolve_data_dir(args.data_dir)
        requests = load_requests(data_dir)
        benign = load_long_benign(data_dir)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    embedded = embed_requests(requests, benign, random.Random(args.seed))
    _, long_prompt = build_prompts(args.guard / "tokenizer.json")[LONG_TOKENS]

    print(f"CPU: {cpu_model()}, onnxruntime {ort.__version__}, {threads} intra-op threads, "
          f"Python {platform.python_version()}")
    print(f"guard: {args.guard}; {len(requests)} HarmBench requests, {len(benign)} Arena-Hard "
          f"prompts of {SENTENCES_MIN_CHARS}+ characters; filler seed {args.seed}")
    print()
    print("| sentence reading | embedded requests flagged | requests alone flagged "
          "| long benign flagged | long benign read by sentence | long benign mean ms "
          "| 200-token p50 ms | 200-token p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    readings = {
        "gated (default)": {},
        "every long prompt": {"sentence_gate": 0.0},
        "off": {"score_sentences": False},
    }
    for name, options in readings.items():
        guard = Guard(args.guard, threads=threads, **options)
        embedded_rate = flagged_share(guard, embedded)
        alone_rate = flagged_share(guard, requests)
        started = time.perf_counter()
        benign_rate = flagged_share(guard, benign)
        benign_ms = (time.perf_counter() - started) * 1000.0 / len(benign)
        if "score_sentences" in options:
            read = 0.0
        elif guard.sentence_gate == 0.0:
            read = 1.0
        else:
            read = sentence_read_share(args.guard, guard.sentence_gate, benign)
        # The same timing and percentiles as latency.py, so the figures compare.
        timings = latency_summary(time_calls(partial(guard.check, long_prompt), args.warmup,
                                             args.repeats))
        print(f"| {name} | {embedded_rate:.3f} | {alone_rate:.3f} | {benign_rate:.3f} "
              f"| {read:.3f} | {benign_ms:.1f} | {timings['p50_ms']:.2f} "
              f"| {timings['p95_ms']:.2f} |")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir",
                        help="dataset directory (default: the GUARDINTENT_DATA variable)")
    parser.add_argument("--guard", type=Path, default=BUNDLED_PACKAGE,
                        help="guard package (default: the bundled guard)")
    parser.add_argument("--threads", type=int,
                        help="onnxruntime intra-op threads (default: the CPUs this process "
                             "may use)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the filler choice and cut (default: 0)")
    parser.add_argument("--repeats", type=int, default=100,
                        help="timed checks of the 200-token prompt (default: 100)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed checks before the timed ones (default: 10)")
    return parser


def load_requests(data_dir: Path) -> list[str]:
    benchmarks = load_benchmarks(data_dir)
    if "harmbench" not in benchmarks:
        raise ValueError(f"HarmBench not found in {data_dir}; expected "
                         f"{data_dir / 'harmbench/harmbench_behaviors_text_all.csv'}")
    return [example.prompt for example in benchmarks["harmbench"]]


def load_long_benign(data_dir: Path) -> list[str]:
    prompts = []
    for name in ARENA_FILES:
        path = data_dir / "arena-hard" / name
        if not path.is_file():
            raise ValueError(f"Arena-Hard file not found: {path}")
        with path.open(encoding="utf-8") as handle:
            prompts += [json.loads(line)["prompt"] for line in handle if line.strip()]
    long_prompts = [prompt for prompt in prompts if len(prompt) >= SENTENCES_MIN_CHARS]
    if not long_prompts:
        raise ValueError(f"no Arena-Hard prompt of {SENTENCES_MIN_CHARS}+ characters found in "
                         f"{data_dir / 'arena-hard'}; check that its question files are complete")
    return long_prompts


def embed_requests(requests: list[str], fillers: list[str], rng: random.Random) -> list[str]:
    """Put each request after the sentence end nearest before the middle of a cut filler."""
    embedded = []
    for request in requests:
        filler = rng.choice(fillers)[: rng.randint(*FILLER_CHARS)]
        middle = len(filler) // 2
        boundary = filler.rfind(". ", 0, middle)
        cut = middle if boundary < 0 else boundary + 2
        embedded.append(f"{filler[:cut]}{request} {filler[cut:]}")
    return embedded


def flagged_share(guard: Guard, prompts: list[str]) -> float:
    return sum(guard.check(prompt).verdict == "harmful" for prompt in prompts) / len(prompts)


def sentence_read_share(package: Path, gate: float, prompts: list[str]) -> float:
    """Return the share of `prompts` whose most harmful window scores at least `gate`.

    A guard with that sentence gate also reads those prompts sentence by sentence; every
    prompt passed here is long enough to have sentences.
    """
    windows_only = Guard(package, threads=1, score_sentences=False)
    return sum(windows_only.check(prompt).score >= gate for prompt in prompts) / len(prompts)


if __name__ == "__main__":
    sys.exit(main())
