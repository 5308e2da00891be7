"""Plot guard packages by single-check latency against mean harmful-class F1.

For each guard package this script measures two figures on this machine:

- p50 latency of `Guard.check` on latency.py's prompt of about 30 tokens, with latency.py's
  warm-up and timing helpers;
- mean harmful-class F1 over the headline development benchmarks, the mean that
  `guardintent eval --data-dir DIR` reports: WildGuardTest dev, XSTest and Aegis 1.0 test.

It writes a PNG with latency on a log axis, and a Markdown and a JSON table beside it (same
name, suffixes .md and .json). The Pareto front joins the measured guards that no other measured
guard beats on both figures.

`--reference FILE` adds published points from a CSV with the columns name, latency_ms, mean_f1
and note. They are drawn with another marker and labelled as GPU-batched figures reported by
their authors, because they were not measured here and a GPU batch time per prompt is not
comparable with one CPU check. They take no part in the Pareto front.

    python benchmarks/pareto.py --data-dir DIR [--guard DIR ...] [--reference FILE] [--out PNG]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import onnxruntime as ort

# A script's own folder is first on sys.path, so the sibling modules import by name.
from latency import build_prompts, cpu_model, latency_summary, time_calls
from pareto_plot import plot_points, write_markdown

from guardintent import Guard
from guardintent._runtime import available_cpus
from guardintent.data import HEADLINE, load_benchmarks
from guardintent.data.schema import Example
from guardintent.errors import GuardIntentError
from guardintent.evaluate import evaluate
from guardintent.guard import BUNDLED_PACKAGE

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "pareto.png"
# latency.py's short prompt; its token count is printed with the results.
PROMPT_TARGET = 30
REFERENCE_COLUMNS = ("name", "latency_ms", "mean_f1", "note")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    threads = args.threads or available_cpus()
    packages = [Path(path) for path in args.guard] or [BUNDLED_PACKAGE]
    try:
        validate_options(args, out)
        references = [row for path in args.reference for row in read_references(Path(path))]
        benchmarks = load_headline_benchmarks(args.data_dir, args.limit)
        # Load every package before the slow measurements, so a broken one fails at once.
        loaded = [(path, Guard(path, threads=threads)) for path in packages]
    except (OSError, ValueError, GuardIntentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    environment = describe_environment(threads)
    print(f"CPU: {environment['cpu']}, {environment['usable_cores']} usable cores")
    print(f"onnxruntime {environment['onnxruntime']}, {threads} intra-op threads")
    sizes = ", ".join(f"{name} {len(examples)}" for name, examples in benchmarks.items())
    print(f"{args.repeats} repeats after {args.warmup} warm-up calls; benchmarks: {sizes}")
    if args.limit is not None:
        print(f"note: at most {args.limit} examples per benchmark; F1 is not comparable with "
              "a full run")
    print()

    guards = [measure_guard(guard, path, benchmarks, args) for path, guard in loaded]
    name_guards(guards)
    mark_front(guards)

    report = {
        "environment": environment,
        "settings": {"repeats": args.repeats, "warmup": args.warmup, "limit": args.limit,
                     "benchmarks": {name: len(examples) for name, examples in benchmarks.items()}},
        "guards": guards,
        "references": references,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_points(report, out)
    write_markdown(report, out.with_suffix(".md"))
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    print(out.with_suffix(".md").read_text())
    print(f"wrote {out}, {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guard", action="append", default=[], metavar="DIR",
                        help="guard package directory; repeat for more guards "
                             "(default: the bundled guard)")
    parser.add_argument("--data-dir",
                        help="dataset directory (default: the GUARDINTENT_DATA variable)")
    parser.add_argument("--reference", action="append", default=[], metavar="FILE",
                        help="CSV of published points with columns name, latency_ms, mean_f1, "
                             "note (repeatable)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), metavar="PNG",
                        help="path of the PNG; the .md and .json tables are written beside it "
                             "(default: benchmarks/results/pareto.png)")
    parser.add_argument("--repeats", type=int, default=200,
                        help="timed single checks per guard (default 200)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed checks before the timed series (default 20)")
    parser.add_argument("--threads", type=int,
                        help="onnxruntime intra-op threads "
                             "(default: the CPUs this process may use)")
    parser.add_argument("--limit", type=int,
                        help="use at most N examples per benchmark, for a quick trial run")
    return parser


def validate_options(args: argparse.Namespace, out: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise ValueError("pareto.py needs matplotlib to draw the plot; install it with: "
                         "pip install matplotlib")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must name a .png file, got {str(out)!r}")
    for option in ("repeats", "warmup", "threads", "limit"):
        value = getattr(args, option)
        minimum = 0 if option == "warmup" else 1
        if value is not None and value < minimum:
            raise ValueError(f"--{option} must be at least {minimum}, got {value}")


def describe_environment(threads: int) -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "onnxruntime_intra_op_threads": threads,
    }


def load_headline_benchmarks(data_dir: str | None, limit: int | None) -> dict[str, list[Example]]:
    """Load the benchmarks that `guardintent eval` averages into its mean F1.

    Raises ValueError when one is missing, because a mean over fewer benchmarks would not be
    comparable with the other points.
    """
    available = load_benchmarks(data_dir)
    missing = [name for name in HEADLINE if name not in available]
    if missing:
        where = repr(data_dir) if data_dir else "the GUARDINTENT_DATA directory"
        raise ValueError(f"benchmark files not found for {', '.join(missing)} in {where}; "
                         "pass --data-dir with the folder that holds the dataset folders")
    return {name: available[name][:limit] for name in HEADLINE}


def read_references(path: Path) -> list[dict[str, Any]]:
    """Read published reference points from a CSV file.

    Raises ValueError on a missing column, an empty name, a latency that is not a positive
    number or a mean F1 outside 0 to 1.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in REFERENCE_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns: {', '.join(missing)}; expected a "
                             f"header row with {', '.join(REFERENCE_COLUMNS)}")
        rows = [parse_reference(path, line, row) for line, row in enumerate(reader, start=2)]
    if not rows:
        raise ValueError(f"{path}: no reference rows below the header")
    return rows


def parse_reference(path: Path, line: int, row: dict[str, str]) -> dict[str, Any]:
    name = (row["name"] or "").strip()
    if not name:
        raise ValueError(f"{path}, line {line}: empty name")
    try:
        latency_ms = float(row["latency_ms"])
        mean_f1 = float(row["mean_f1"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}, line {line}: latency_ms and mean_f1 must be numbers, got "
                         f"{row['latency_ms']!r} and {row['mean_f1']!r}") from error
    if not latency_ms > 0:
        raise ValueError(f"{path}, line {line}: latency_ms must be positive for the log axis, "
                         f"got {latency_ms}")
    if not 0 <= mean_f1 <= 1:
        raise ValueError(f"{path}, line {line}: mean_f1 must be between 0 and 1, got {mean_f1}")
    return {"name": name, "latency_ms": latency_ms, "mean_f1": mean_f1,
            "note": (row["note"] or "").strip()}


def measure_guard(guard: Guard, path: Path, benchmarks: dict[str, list[Example]],
                  args: argparse.Namespace) -> dict[str, Any]:
    """Time single checks of the ~30-token prompt, then evaluate the guard on the benchmarks.

    A mean F1 of None means that F1 was undefined on every benchmark: no harmful example and
    no harmful prediction, which only a small `--limit` can cause.
    """
    tokens, prompt = build_prompts(path / "tokenizer.json")[PROMPT_TARGET]
    timings = time_calls(lambda: guard.check(prompt), args.warmup, args.repeats)

    start = time.perf_counter()
    report = evaluate(guard, benchmarks, headline=HEADLINE)
    seconds = time.perf_counter() - start
    summary = latency_summary(timings)
    f1 = {name: result.metrics.f1 for name, result in report.benchmarks.items()}
    mean_f1 = "undefined" if report.mean_f1 is None else f"{report.mean_f1:.3f}"
    print(f"{guard.info.name} {guard.info.version}: p50 {summary['p50_ms']:.2f} ms, "
          f"mean F1 {mean_f1} ({seconds:.0f} s to evaluate)")
    return {
        "guard": f"{guard.info.name} {guard.info.version}",
        "package": "bundled default" if path.resolve() == BUNDLED_PACKAGE.resolve() else str(path),
        "prompt_tokens": tokens,
        **summary,
        "f1": f1,
        "mean_f1": report.mean_f1,
        "threshold": report.threshold,
        "eval_seconds": seconds,
    }


def name_guards(guards: list[dict[str, Any]]) -> None:
    """Set each guard's label: its name and version, plus its package where two share one."""
    for guard in guards:
        shared = sum(other["guard"] == guard["guard"] for other in guards) > 1
        guard["label"] = f"{guard['guard']} ({guard['package']})" if shared else guard["guard"]


def mark_front(guards: list[dict[str, Any]]) -> None:
    """Mark the guards that no other guard matches or beats on both latency and mean F1.

    A guard without a mean F1 is not on the front and does not push others off it.
    """
    scored = [guard for guard in guards if guard["mean_f1"] is not None]
    for guard in guards:
        guard["pareto_front"] = guard["mean_f1"] is not None and not any(
            other is not guard
            and other["p50_ms"] <= guard["p50_ms"]
            and other["mean_f1"] >= guard["mean_f1"]
            and (other["p50_ms"] < guard["p50_ms"] or other["mean_f1"] > guard["mean_f1"])
            for other in scored
        )


if __name__ == "__main__":
    sys.exit(main())
