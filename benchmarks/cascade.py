"""Measure a cascade of a fast guard and a stronger one against each guard alone.

The band is calibrated with `guardintent.calibrate_band` on held-out training prompts (a
`validation.jsonl` that `guardintent train` writes into its `final` folder), never on the
benchmarks. Then the first guard, the second guard and the cascade each check every prompt of
the headline development benchmarks one at a time. The script prints, for each:

- harmful-class F1 per benchmark and their mean;
- p50 and p95 of those single checks, and of latency.py's prompts of about 30 and 200 tokens;
- for the cascade, the share of prompts handed on to the second guard.

    python benchmarks/cascade.py --first STUDENT --validation STUDENT_RUN/final/validation.jsonl \
        --data-dir DIR [--second PACKAGE] [--tolerance 0.01] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import onnxruntime as ort

# A script's own folder is first on sys.path, so the sibling module imports by name.
from latency import build_prompts, cpu_model, latency_summary, time_calls

from guardintent import Cascade, Guard, Verdict, calibrate_band
from guardintent._runtime import available_cpus
from guardintent.data import load_headline_benchmarks
from guardintent.data.schema import Example
from guardintent.guard import BUNDLED_PACKAGE

Checker = Guard | Cascade


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = args.threads or available_cpus()
    try:
        validation = read_validation(args.validation)
        headline = load_headline_benchmarks(args.data_dir)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    first = Guard(args.first, threads=threads)
    second = Guard(args.second, threads=threads)
    band = calibrate_band(first, second, validation, tolerance=args.tolerance)
    cascade = Cascade(first, second, band=band)
    calibration_handed_on = sum(cascade.unsure(result) for result in first.check_batch(
        validation)) / len(validation)

    print(f"CPU: {cpu_model()}, onnxruntime {ort.__version__}, {threads} intra-op threads, "
          f"Python {platform.python_version()}")
    print(f"first: {first.info.name} {first.info.version} ({args.first}); second: "
          f"{second.info.name} {second.info.version} ({args.second})")
    print(f"band [{band[0]:.3f}, {band[1]:.3f}) calibrated on {len(validation)} held-out "
          f"prompts at tolerance {args.tolerance}; {calibration_handed_on:.1%} of them are "
          f"handed on")
    print()

    prompts = {target: prompt for target, (_, prompt) in
               build_prompts(Path(args.first) / "tokenizer.json").items()}
    names = list(headline)
    print("| guard | " + " | ".join(f"{name} F1" for name in names) + " | mean F1 "
          "| handed on | benchmark p50 ms | benchmark p95 ms | ~30 tok p50 ms "
          "| ~200 tok p50 ms |")
    print("|" + " --- |" * (len(names) + 7))
    checkers = {"first": first, "second": second, "cascade": cascade}
    rows = measure(checkers, cascade, headline, prompts, args)
    for label, row in rows.items():
        f1 = " | ".join(f"{row['f1'][name]:.3f}" for name in names)
        handed = f"{row['handed_on']:.1%}" if label == "cascade" else "-"
        print(f"| {label} | {f1} | {row['mean_f1']:.3f} | {handed} | {row['p50_ms']:.2f} "
              f"| {row['p95_ms']:.2f} | {row['short_p50_ms']:.2f} | {row['long_p50_ms']:.2f} |")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=Path, required=True, help="fast guard package")
    parser.add_argument("--second", type=Path, default=BUNDLED_PACKAGE,
                        help="stronger guard package (default: the bundled guard)")
    parser.add_argument("--validation", type=Path, required=True,
                        help="JSON lines with a prompt field, held out from training, to "
                             "calibrate the band on")
    parser.add_argument("--data-dir",
                        help="dataset directory (default: the GUARDINTENT_DATA variable)")
    parser.add_argument("--tolerance", type=float, default=0.01,
                        help="share of first-guard decisions that may disagree with the second "
                             "guard on the held-out prompts (default: 0.01)")
    parser.add_argument("--threads", type=int,
                        help="onnxruntime intra-op threads (default: the CPUs this process "
                             "may use)")
    parser.add_argument("--repeats", type=int, default=100,
                        help="timed checks of each latency.py prompt (default: 100)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed checks before the timed ones (default: 10)")
    return parser


def read_validation(path: Path) -> list[str]:
    prompts = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
                raise ValueError(f"{path}, line {number}: expected an object with a prompt "
                                 f"string")
            prompts.append(row["prompt"])
    if not prompts:
        raise ValueError(f"{path} has no prompts")
    return prompts


def measure(checkers: dict[str, Checker], cascade: Cascade,
            benchmarks: dict[str, list[Example]], prompts: dict[int, str],
            args: argparse.Namespace) -> dict[str, dict]:
    """Check every benchmark prompt alone with each checker in turn, timing each check.

    The checkers take turns on every prompt and every timed repeat, so that a slow spell of
    the machine falls on all of them alike.
    """
    timings: dict[str, list[float]] = {label: [] for label in checkers}
    counts = {label: {name: [0, 0, 0] for name in benchmarks} for label in checkers}
    handed_on = total = 0
    for name, examples in benchmarks.items():
        actual = [example.label == "harmful" for example in examples]
        for example, harmful in zip(examples, actual, strict=True):
            for label, checker in checkers.items():
                started = time.perf_counter()
                result = checker.check(example.prompt)
                timings[label].append((time.perf_counter() - started) * 1000.0)
                flagged = result.verdict is Verdict.HARMFUL
                # Counts of true positives, false positives and false negatives.
                counts[label][name][0] += flagged and harmful
                counts[label][name][1] += flagged and not harmful
                counts[label][name][2] += harmful and not flagged
            # Outside the timing: the first guard's result alone decides where it went.
            handed_on += cascade.unsure(cascade.first.check(example.prompt))
            total += 1

    rows = {}
    for label in checkers:
        f1 = {name: f1_score(*counts[label][name]) for name in benchmarks}
        overall = latency_summary(timings[label])
        rows[label] = {"f1": f1, "mean_f1": sum(f1.values()) / len(f1),
                       "p50_ms": overall["p50_ms"], "p95_ms": overall["p95_ms"]}
    for target, key in ((30, "short_p50_ms"), (200, "long_p50_ms")):
        prompt = prompts[target]
        series: dict[str, list[float]] = {label: [] for label in checkers}
        for checker in checkers.values():
            time_calls(lambda c=checker, p=prompt: c.check(p), args.warmup, 0)
        for _ in range(args.repeats):
            for label, checker in checkers.items():
                series[label] += time_calls(lambda c=checker, p=prompt: c.check(p), 0, 1)
        for label in checkers:
            rows[label][key] = latency_summary(series[label])["p50_ms"]
    rows["cascade"]["handed_on"] = handed_on / total
    return rows


def f1_score(true_positives: int, false_positives: int, false_negatives: int) -> float:
    denominator = 2 * true_positives + false_positives + false_negatives
    return 2 * true_positives / denominator if denominator else 0.0

if __name__ == "__main__":
    sys.exit(main())
