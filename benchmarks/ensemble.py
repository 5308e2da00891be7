"""Compare guard packages with their ensemble on the headline development benchmarks.

The ensemble's verdict is the mean of the members' calibrated scores against the mean of their
thresholds, the rule by which `guardintent train --regime distill` with a repeated `--teacher`
checks the ensemble's agreement with the training labels. The trainer scores windows only;
here every member checks every prompt as `guardintent eval` does, in batches of 32. The script
prints harmful-class F1 per benchmark and their mean for each member and for the ensemble, plus
the share of prompts on which the members' verdicts differ.

    python benchmarks/ensemble.py --package A --package B [--package C ...] --data-dir DIR \
        [--out DIR] [--threads 2]

With `--out`, each member's scores are stored there, keyed by the package's guard.json, the
guardintent version, the sentence setting and the benchmark prompts, so a rerun with one more
member scores only the new one. The report is also written there as `ensemble.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

# A script's own folder is first on sys.path, so the sibling module imports by name.
from latency import cpu_model

from guardintent import Guard, __version__
from guardintent._runtime import available_cpus
from guardintent.data import load_headline_benchmarks
from guardintent.data.schema import Example

BATCH = 32


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    distinct = {path.resolve() for path in args.package}
    if len(args.package) < 2 or len(distinct) != len(args.package):
        print("error: give at least two different packages with --package", file=sys.stderr)
        return 2
    threads = args.threads or available_cpus()
    try:
        headline = load_headline_benchmarks(args.data_dir)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    members = {}
    for package in args.package:
        guard = Guard(package, threads=threads, score_sentences=not args.no_sentences)
        members[str(package)] = (guard.threshold, member_scores(guard, package, headline, args))
    environment = (f"CPU: {cpu_model()}, onnxruntime {ort.__version__}, {threads} intra-op "
                   f"threads, Python {platform.python_version()}, guardintent {__version__}, "
                   f"score_sentences={not args.no_sentences}")
    print(environment)
    report = compare(members, headline)
    report["environment"] = environment
    report["thresholds"] = {label: threshold for label, (threshold, _) in members.items()}
    names = list(headline)
    print("| guard | " + " | ".join(f"{name} F1" for name in names) + " | mean F1 |")
    print("|" + " --- |" * (len(names) + 2))
    for label, row in report["rows"].items():
        cells = " | ".join(f"{row['f1'][name]:.3f}" for name in names)
        print(f"| {label} | {cells} | {row['mean_f1']:.3f} |")
    print(f"\nmembers' verdicts differ on {report['disagreement']:.1%} of the prompts")
    if args.out is not None:
        write_json(args.out / "ensemble.json", report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, action="append", required=True,
                        help="guard package; repeat for each member (at least two)")
    parser.add_argument("--data-dir",
                        help="dataset directory (default: the GUARDINTENT_DATA variable)")
    parser.add_argument("--out", type=Path,
                        help="folder for the members' scores and the JSON report")
    parser.add_argument("--threads", type=int,
                        help="onnxruntime intra-op threads (default: the CPUs this process "
                             "may use)")
    parser.add_argument("--no-sentences", action="store_true",
                        help="load the guards with score_sentences=False")
    return parser


def member_scores(guard: Guard, package: Path, benchmarks: dict[str, list[Example]],
                  args: argparse.Namespace) -> dict[str, list[float]]:
    """Return the guard's calibrated score for every prompt, read from `--out` if stored."""
    cache = None
    if args.out is not None:
        digest = hashlib.sha256((package / "guard.json").read_bytes())
        digest.update(f"\0{__version__}\0{args.no_sentences}\0{guard.sentence_gate}".encode())
        for name, examples in benchmarks.items():
            digest.update(f"\0{name}".encode())
            for example in examples:
                digest.update(b"\1" + example.prompt.encode("utf-8", "surrogatepass"))
        cache = args.out / f"scores-{digest.hexdigest()[:16]}.json"
        if cache.is_file():
            return json.loads(cache.read_text(encoding="utf-8"))
    scores = {}
    for name, examples in benchmarks.items():
        prompts = [example.prompt for example in examples]
        scores[name] = [result.score for offset in range(0, len(prompts), BATCH)
                        for result in guard.check_batch(prompts[offset:offset + BATCH])]
    if cache is not None:
        write_json(cache, scores)
    return scores


def compare(members: dict[str, tuple[float, dict[str, list[float]]]],
            benchmarks: dict[str, list[Example]]) -> dict[str, object]:
    """Return F1 per benchmark for each member and for the mean of their scores."""
    rows = {}
    verdicts = {}
    for label, (threshold, scores) in members.items():
        verdicts[label] = {name: np.asarray(scores[name]) >= threshold for name in benchmarks}
        rows[label] = f1_row(verdicts[label], benchmarks)
    threshold = float(np.mean([threshold for threshold, _ in members.values()]))
    mean_scores = {name: np.mean([scores[name] for _, scores in members.values()], axis=0)
                   for name in benchmarks}
    rows[f"ensemble of {len(members)}"] = f1_row(
        {name: mean_scores[name] >= threshold for name in benchmarks}, benchmarks)
    differing = total = 0
    for name in benchmarks:
        stacked = np.stack([verdicts[label][name] for label in members])
        differing += int((stacked.any(axis=0) & ~stacked.all(axis=0)).sum())
        total += stacked.shape[1]
    return {"rows": rows, "ensemble_threshold": threshold, "disagreement": differing / total}


def f1_row(verdicts: dict[str, np.ndarray],
           benchmarks: dict[str, list[Example]]) -> dict[str, object]:
    f1 = {}
    for name, examples in benchmarks.items():
        truth = np.array([example.label == "harmful" for example in examples])
        flagged = verdicts[name]
        true_positives = int((flagged & truth).sum())
        errors = int((flagged != truth).sum())
        denominator = 2 * true_positives + errors
        f1[name] = 2 * true_positives / denominator if denominator else 0.0
    return {"f1": f1, "mean_f1": sum(f1.values()) / len(f1)}


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(value, indent=1), encoding="utf-8")
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
