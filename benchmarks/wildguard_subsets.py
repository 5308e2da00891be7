"""Split WildGuardTest results by its adversarial flag: recall and false-positive rate per half.

WildGuardTest marks each prompt as adversarial (a request rewritten with jailbreak tactics, in
the style of WildJailbreak) or vanilla. A guard that has learned the adversarial style as a sign
of harm catches adversarial harmful prompts and flags adversarial benign ones alike. The mean F1
hides that, and this table shows it.

    python benchmarks/wildguard_subsets.py --package A [--package B ...] --data-dir DIR \
        [--threads 2]

`--package default` is the bundled guard. Needs pyarrow (the [eval] extra).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import onnxruntime as ort

# A script's own folder is first on sys.path, so the sibling module imports by name.
from latency import cpu_model

from guardintent import Guard, GuardIntentError, __version__
from guardintent._runtime import available_cpus
from guardintent.data import resolve_data_dir
from guardintent.evaluate import BinaryMetrics

BATCH = 32
FILE = "wildguardtest/wildguardtest_dev.parquet"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = args.threads or available_cpus()
    try:
        rows = read_rows(resolve_data_dir(args.data_dir))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"CPU: {cpu_model()}, onnxruntime {ort.__version__}, intra-op threads: {threads}, "
          f"Python {platform.python_version()}, guardintent package {__version__}")
    counts = {key: sum(1 for row in rows if (row["harmful"], row["adversarial"]) == key)
              for key in ((True, False), (True, True), (False, False), (False, True))}
    print(f"WildGuardTest dev: {counts[True, False]} vanilla and {counts[True, True]} "
          f"adversarial harmful, {counts[False, False]} vanilla and {counts[False, True]} "
          f"adversarial benign prompts")
    print("| guard | threshold | recall, vanilla | recall, adversarial | FPR, vanilla | "
          "FPR, adversarial | F1 |")
    print("|" + " --- |" * 7)
    for package in args.package:
        try:
            guard = Guard(None if package == "default" else package, threads=threads)
        except (GuardIntentError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        flagged = []
        for start in range(0, len(rows), BATCH):
            batch = [row["prompt"] for row in rows[start:start + BATCH]]
            flagged += [result.is_harmful for result in guard.check_batch(batch)]
        labels = [row["harmful"] for row in rows]
        halves = [metrics(rows, flagged, adversarial) for adversarial in (False, True)]
        cells = [format_rate(half.recall) for half in halves]
        cells += [format_rate(half.false_positive_rate) for half in halves]
        overall = BinaryMetrics.from_predictions(labels, flagged)
        print(f"| {package} | {guard.threshold:.2f} | {' | '.join(cells)} | "
              f"{overall.f1:.3f} |")
    return 0


def format_rate(value: float | None) -> str:
    """Format a rate to 3 decimals, or "n/a" for a half without prompts of that label."""
    return "n/a" if value is None else f"{value:.3f}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", action="append", required=True,
                        help="guard package folder, or `default` for the bundled guard; repeat")
    parser.add_argument("--data-dir", help="folder of public datasets (default: $GUARDINTENT_DATA)")
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads")
    return parser


def read_rows(root: Path) -> list[dict[str, object]]:
    """Return WildGuardTest's labelled prompts with `harmful` and `adversarial` flags."""
    path = root / FILE
    if not path.is_file():
        raise ValueError(f"{path} not found; pass the folder that contains {FILE} as --data-dir")
    import pyarrow.parquet as parquet

    table = parquet.read_table(path, columns=["prompt", "prompt_harm_label", "adversarial"])
    return [
        {"prompt": row["prompt"], "harmful": row["prompt_harm_label"] == "harmful",
         "adversarial": bool(row["adversarial"])}
        for row in table.to_pylist()
        # Rows without a label or an adversarial flag belong to neither half.
        if row["prompt_harm_label"] in ("harmful", "unharmful") and row["adversarial"] is not None
    ]


def metrics(rows: list[dict[str, object]], flagged: list[bool], adversarial: bool) -> BinaryMetrics:
    """Return the confusion metrics of the rows in one half: adversarial or vanilla."""
    pairs = [(row["harmful"], flag) for row, flag in zip(rows, flagged, strict=True)
             if row["adversarial"] == adversarial]
    return BinaryMetrics.from_predictions([label for label, _ in pairs],
                                          [flag for _, flag in pairs])


if __name__ == "__main__":
    sys.exit(main())
