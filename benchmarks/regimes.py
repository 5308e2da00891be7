"""Compare the training regimes: train each for each seed, export, evaluate, tabulate.

Regimes: sft, sft-intent-free (harm head only), distill and distill-verdict-only (from a teacher
guard package, by default the bundled guard), dpo and grpo (each from the same seed's sft run,
trained for `--steps` more steps), and sft-continued, their control: as many more sft steps
from the same run. Every run is exported as an fp32 guard package and measured
on this machine:

- harmful-class F1 on every development benchmark found in the data directory, and the mean
  over the headline sets (WildGuardTest dev, XSTest, Aegis 1.0 test);
- intent top-1 and top-5 accuracy on the run's held-out prompts that wrap or frame a request
  with a known intent (validation.jsonl rows from the wrapped-* and framed-* sources);
- p50 latency of `Guard.check` on latency.py's prompt of about 30 tokens.

The table has one row per regime: means over seeds, with the min-max range of the mean F1.
It is written as Markdown and JSON, and a PNG plots the mean F1 per regime with min-max error
bars. Runs live in `--out`. A rerun reuses every run whose `final` folder exists. It also
reuses the figures of a run that was measured with the same settings after its package was
written, which are kept in `measurement.json` beside the package. `--existing-only` tabulates
the runs already trained and trains none, so regimes can be trained for different seeds in
several invocations.

    python benchmarks/regimes.py --data-dir DIR [--seeds 0 1 2] [--regimes sft dpo] [--steps N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

import onnxruntime as ort

# A script's own folder is first on sys.path, so the sibling modules import by name.
from latency import build_prompts, cpu_model, latency_summary, time_calls
from regimes_report import plot_regimes, summarise_regimes, write_markdown
from regimes_runs import (
    REGIMES,
    PreparedRun,
    RunError,
    TrainSettings,
    is_trained,
    prepare_run,
    read_training_card,
)

from guardintent import Guard
from guardintent._runtime import available_cpus
from guardintent.data import HEADLINE, load_benchmarks, resolve_data_dir
from guardintent.data.schema import Example
from guardintent.errors import GuardIntentError
from guardintent.evaluate import evaluate
from guardintent.guard import BUNDLED_PACKAGE

logger = logging.getLogger("regimes")

WRAPPED_SOURCES = frozenset({"wrapped-harmful", "wrapped-benign", "framed-harmful",
                             "framed-benign"})
TOP_K = 5
# latency.py's short prompt; its actual token count is stored with the results.
PROMPT_TARGET = 30
BATCH_SIZE = 32
MEASUREMENT_FILE = "measurement.json"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    threads = args.threads or available_cpus()
    regimes = [regime for regime in REGIMES if regime in args.regimes]
    args.seeds = list(dict.fromkeys(args.seeds))
    try:
        validate_options(args, regimes)
        settings = train_settings(args, threads)
        benchmarks = load_limited_benchmarks(settings.data_dir, args.limit)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    started = time.monotonic()
    runs = []
    try:
        for seed in args.seeds:
            for regime in regimes:
                if args.existing_only and not is_trained(settings, regime, seed):
                    logger.info("skip %s seed %d: not trained", regime, seed)
                    continue
                prepared = prepare_run(settings, regime, seed)
                runs.append(measured_run(prepared, benchmarks, threads, args))
    except (RunError, GuardIntentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not runs:
        # An empty table would replace the one an earlier invocation wrote.
        print(f"error: no trained run of {' '.join(regimes)} with seeds "
              f"{' '.join(map(str, args.seeds))} in {settings.out}; drop --existing-only "
              "to train them", file=sys.stderr)
        return 1

    report = {
        "environment": describe_environment(threads),
        "settings": describe_settings(args, settings, regimes, benchmarks),
        "regimes": summarise_regimes(runs, regimes),
        "runs": runs,
        "seconds": round(time.monotonic() - started, 1),
    }
    write_outputs(report, args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir",
                        help="dataset directory (default: the GUARDINTENT_DATA variable)")
    parser.add_argument("--out", type=Path, default=Path("runs/regimes"),
                        help="folder of the runs and, by default, the table and plot "
                             "(default: runs/regimes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="training seeds, one run per regime and seed (default: 0 1 2)")
    parser.add_argument("--regimes", nargs="+", choices=REGIMES, default=list(REGIMES),
                        help="regimes to compare (default: all)")

    parser.add_argument("--steps", type=int,
                        help="maximum optimiser steps per run, which dpo, grpo and "
                             "sft-continued train on top of their sft run (default: the whole "
                             "schedule)")
    parser.add_argument("--epochs", type=float,
                        help="passes over the training data (default: the trainer's default)")
    parser.add_argument("--existing-only", action="store_true",
                        help="tabulate only the runs whose training has finished; train none")
    parser.add_argument("--layers", type=int, default=3,
                        help="encoder layers kept in each student (default: 3)")

    parser.add_argument("--teacher", type=Path, action="append",
                        help="guard package the distill regimes learn from (default: the "
                             "bundled guard); repeat it for an ensemble of teachers")
    parser.add_argument("--threads", type=int,
                        help="torch threads in training and onnxruntime intra-op threads "
                             "(default: the CPUs this process may use)")

    parser.add_argument("--table", type=Path,
                        help="Markdown table path, with the JSON report written beside it under "
                             "the suffix .json (default: OUT/regimes.md)")
    parser.add_argument("--plot", type=Path, help="PNG plot path (default: OUT/regimes.png)")
    parser.add_argument("--repeats", type=int, default=50,
                        help="timed single checks per run for the p50 latency (default: 50)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed checks before the timed series (default: 10)")

    check = parser.add_argument_group(
        "pipeline check", "Train on a small file and encoder to test this script in minutes. "
        "The benchmarks still come from --data-dir.")
    check.add_argument("--train-file", type=Path,
                       help="JSON lines with prompt, label, intent, category and source, "
                            "used instead of the data directory's training set")
    check.add_argument("--base-model", type=Path,
                       help="pretrained encoder folder (default: the trainer's default)")
    check.add_argument("--limit", type=int,
                       help="use at most N examples per benchmark, which makes F1 not "
                            "comparable with a full run")
    return parser


def validate_options(args: argparse.Namespace, regimes: list[str]) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise ValueError("regimes.py needs matplotlib to draw the plot; install it with: "
                         "pip install matplotlib")
    if importlib.util.find_spec("torch") is None:
        raise ValueError("regimes.py trains models and needs the train extra; install it "
                         'with: pip install -e ".[train,export]"')
    for option, minimum in (("steps", 1), ("epochs", 0), ("layers", 1), ("threads", 1),
                            ("repeats", 1), ("warmup", 0), ("limit", 1)):
        value = getattr(args, option)
        if value is not None and value < minimum:
            raise ValueError(f"--{option} must be at least {minimum}, got {value}")
    if any(seed < 0 for seed in args.seeds):
        raise ValueError(f"--seeds must be non-negative, got {args.seeds}")
    if any(regime.startswith("distill") for regime in regimes):
        for teacher in args.teacher or ():
            if not (teacher / "guard.json").is_file():
                raise ValueError(f"--teacher {teacher} is not a guard package (no guard.json)")
    if args.train_file is not None and not args.train_file.is_file():
        raise ValueError(f"--train-file {args.train_file}: file not found")
    if args.table is not None and args.table.suffix.lower() != ".md":
        raise ValueError(f"--table must name a .md file, got {str(args.table)!r}")
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise ValueError(f"--plot must name a .png file, got {str(args.plot)!r}")


def train_settings(args: argparse.Namespace, threads: int) -> TrainSettings:
    """Collect the settings every run shares, with the paths made absolute."""
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else path.resolve()

    return TrainSettings(
        out=args.out.resolve(), data_dir=resolve_data_dir(args.data_dir).resolve(),
        train_file=absolute(args.train_file), base_model=absolute(args.base_model),
        teachers=tuple(path.resolve() for path in args.teacher or [BUNDLED_PACKAGE]),
        steps=args.steps, epochs=args.epochs,
        layers=args.layers, threads=threads)


def load_limited_benchmarks(data_dir: Path, limit: int | None) -> dict[str, list[Example]]:
    benchmarks = load_benchmarks(data_dir)
    if not benchmarks:
        raise ValueError(f"no benchmark files found in {data_dir}")
    return {name: examples[:limit] for name, examples in benchmarks.items()}


def measured_run(run: PreparedRun, benchmarks: dict[str, list[Example]], threads: int,
                 args: argparse.Namespace) -> dict[str, Any]:
    """Return the run's figures, measured now or read back from an earlier measurement.

    An earlier measurement counts when it was taken after the package was written, with the
    same benchmarks (by size), threads, repeats and warm-up calls.

    NOTE: a change to guardintent's scoring code, or to a benchmark file that keeps its size,
    does not invalidate a measurement. Delete `measurement.json` to measure the run again.
    """
    stored = run.package.parent / MEASUREMENT_FILE
    settings = {"benchmarks": {name: len(examples) for name, examples in benchmarks.items()},
                "threads": threads, "repeats": args.repeats, "warmup": args.warmup}
    package_time = (run.package / "guard.json").stat().st_mtime
    if stored.is_file() and stored.stat().st_mtime >= package_time:
        earlier = json.loads(stored.read_text(encoding="utf-8"))
        if earlier.get("measured_with") == settings:
            logger.info("measure %s seed %d: reusing %s", run.regime, run.seed, stored)
            figures = earlier["figures"]
            # Work done in this invocation replaces the times recorded with the measurement.
            for step, spent in (("train", run.train_seconds), ("export", run.export_seconds)):
                if spent is not None:
                    figures["seconds"][step] = spent
            return figures
    figures = measure_run(run, benchmarks, threads, args)
    temporary = stored.with_suffix(".tmp")
    temporary.write_text(json.dumps({"measured_with": settings, "figures": figures}, indent=2)
                         + "\n", encoding="utf-8")
    temporary.replace(stored)
    return figures


def measure_run(run: PreparedRun, benchmarks: dict[str, list[Example]], threads: int,
                args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate one exported run and return its figures as a JSON-ready dictionary."""
    started = time.monotonic()
    guard = Guard(run.package, top_k=TOP_K, threads=threads)
    report = evaluate(guard, benchmarks, BATCH_SIZE, headline=HEADLINE)
    intents = intent_accuracy(guard, run.final / "validation.jsonl")
    tokens, prompt = build_prompts(run.package / "tokenizer.json")[PROMPT_TARGET]
    timings = time_calls(lambda: guard.check(prompt), args.warmup, args.repeats)
    seconds = time.monotonic() - started
    logger.info("measure %s seed %d: mean F1 %s, intent top-1 %s, in %.1f s", run.regime,
                run.seed, report.mean_f1, intents["top1"], seconds)
    card = read_training_card(run.final)
    return {
        "regime": run.regime, "seed": run.seed, "package": str(run.package),
        "steps": card.get("steps"), "validation": card.get("validation"),
        "mean_f1": report.mean_f1,
        "f1": {name: result.metrics.f1 for name, result in report.benchmarks.items()},
        "benchmarks": {name: result.metrics.model_dump()
                       for name, result in report.benchmarks.items()},
        "intent": intents, "prompt_tokens": tokens, **latency_summary(timings),
        "seconds": {"train": run.train_seconds, "export": run.export_seconds,
                    "measure": round(seconds, 1)},
    }


def intent_accuracy(guard: Guard, validation: Path) -> dict[str, Any]:
    """Return top-1 and top-5 intent accuracy on the held-out wrapped and framed prompts."""
    rows = [json.loads(line) for line in validation.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows = [row for row in rows if row.get("source") in WRAPPED_SOURCES and row.get("intent")]
    top1 = top5 = 0
    for offset in range(0, len(rows), BATCH_SIZE):
        batch = rows[offset:offset + BATCH_SIZE]
        results = guard.check_batch([row["prompt"] for row in batch])
        for row, result in zip(batch, results, strict=True):
            ranked = [match.text for match in result.intents]
            top1 += ranked[:1] == [row["intent"]]
            top5 += row["intent"] in ranked[:TOP_K]
    count = len(rows)
    return {"examples": count, "top1": top1 / count if count else None,
            "top5": top5 / count if count else None}


def describe_environment(threads: int) -> dict[str, Any]:
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return {"cpu": cpu_model(), "usable_cores": available_cpus(),
            "python": platform.python_version(), "torch": torch.__version__,
            "onnxruntime": ort.__version__, "threads": threads, "training_device": device}


def describe_settings(args: argparse.Namespace, settings: TrainSettings, regimes: list[str],
                      benchmarks: dict[str, list[Example]]) -> dict[str, Any]:
    return {
        "data_dir": str(settings.data_dir),
        "train_file": None if settings.train_file is None else str(settings.train_file),
        "base_model": None if settings.base_model is None else str(settings.base_model),
        "teachers": [str(path) for path in settings.teachers], "seeds": args.seeds,
        "regimes": regimes,
        "steps": args.steps, "epochs": args.epochs, "layers": args.layers,
        "headline": [name for name in HEADLINE if name in benchmarks],
        "benchmarks": {name: len(examples) for name, examples in benchmarks.items()},
        "limit": args.limit, "repeats": args.repeats, "warmup": args.warmup,
    }


def write_outputs(report: dict[str, Any], args: argparse.Namespace) -> None:
    table = args.table or args.out / "regimes.md"
    plot = args.plot or args.out / "regimes.png"
    for path in (table, plot):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_markdown(report, table)
    table.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot_regimes(report, plot)
    print(table.read_text(encoding="utf-8"))
    print(f"wrote {table}, {table.with_suffix('.json')} and {plot}")


if __name__ == "__main__":
    sys.exit(main())
