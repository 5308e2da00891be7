"""Measure fusing the attention layers before int8 quantisation, against the export's int8 graph.

`guardintent export` quantises the plain fp32 graph. onnxruntime fuses an fp32 BERT graph into
Attention, SkipLayerNormalization and BiasGelu nodes when it creates a session, but it cannot
fuse the int8 graph, whose matrix products are MatMulInteger nodes by then. This script fuses
first, with `onnxruntime.transformers.optimizer.optimize_model(model_type="bert")`, and then
quantises as the export does (dynamic, per channel, int8 weights), so attention runs as
onnxruntime's QAttention kernel.

It needs two packages of the same checkpoint, one exported with `--fp32` and one as int8:

    guardintent export RUN/final FP32_PACKAGE --fp32
    guardintent export RUN/final INT8_PACKAGE
    python benchmarks/fused_attention.py --fp32 FP32_PACKAGE --int8 INT8_PACKAGE \\
        [--repeats 150] [--threads 2] [--out FUSED_PACKAGE]

It prints, for prompts of about 30 and 200 tokens, each graph's maximum output difference from
the fp32 graph and its p50 and p95 latency of one `session.run`, over two rounds. `--out`
writes a copy of the int8 package with the fused graph, for `guardintent eval --guard`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from latency import cpu_model
from tokenizers import Tokenizer

TARGET_TOKENS = (30, 200)
ROUNDS = 2
# Benign text written for this benchmark; prompts are cut from it to a token count.
FILLER = (
    "Please summarise the quarterly report for the marketing team and list the three main "
    "risks that the finance team raised about next year's budget, with the dates of each "
    "meeting and the names of the people who will follow up on them. "
) * 10


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fp32_path = Path(args.fp32) / "model.onnx"
    int8_path = Path(args.int8) / "model.onnx"
    for path in (fp32_path, int8_path):
        if not path.is_file():
            print(f"error: {path} not found; pass guard package folders", file=sys.stderr)
            return 2

    print(f"cpu: {cpu_model()}, usable cores: {len(os.sched_getaffinity(0))}, "
          f"intra-op threads {args.threads}")
    print(f"python {platform.python_version()}, onnxruntime {ort.__version__}, "
          f"onnx {onnx.__version__}")

    with tempfile.TemporaryDirectory() as scratch:
        fused_path = Path(scratch) / "fused_int8.onnx"
        statistics_by_op = fuse_and_quantise(fp32_path, fused_path, Path(scratch))
        print("fused nodes:", {op: count for op, count in statistics_by_op.items() if count})
        if not statistics_by_op.get("Attention"):
            print("error: no attention layer was fused; the graph is not a BERT encoder "
                  "that onnxruntime's optimizer recognises", file=sys.stderr)
            return 1
        graphs = {"fp32": fp32_path, "int8": int8_path, "fused int8": fused_path}
        sessions = {name: open_session(path, args.threads) for name, path in graphs.items()}
        tokenizer = Tokenizer.from_file(str(Path(args.int8) / "tokenizer.json"))
        for target in TARGET_TOKENS:
            measure(sessions, tokenizer, target, args.repeats)
        if args.out:
            write_package(Path(args.int8), fused_path, Path(args.out))
            print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32", required=True, help="package exported with --fp32")
    parser.add_argument("--int8", required=True,
                        help="package exported as int8 from the same checkpoint")
    parser.add_argument("--repeats", type=int, default=150,
                        help="timed runs per graph, prompt length and round")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="onnxruntime intra-op threads (default: the usable cores)")
    parser.add_argument("--out", help="write the int8 package with the fused graph here")
    return parser


def fuse_and_quantise(fp32_path: Path, out_path: Path, scratch: Path) -> dict[str, int]:
    """Write the fused, int8-quantised graph to `out_path`; return the fused node counts."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from onnxruntime.transformers import optimizer

    # num_heads and hidden_size 0 let the optimizer read them from the graph.
    fused = optimizer.optimize_model(
        str(fp32_path), model_type="bert", num_heads=0, hidden_size=0, opt_level=1
    )
    fused_fp32 = scratch / "fused_fp32.onnx"
    fused.save_model_to_file(str(fused_fp32))
    prepared = scratch / "prepared.onnx"
    quant_pre_process(str(fused_fp32), str(prepared), skip_symbolic_shape=True,
                      skip_optimization=True)
    # Shape inference does not type the outputs of the fused com.microsoft nodes, so
    # DefaultTensorType makes the quantiser treat untyped tensors as float.
    quantize_dynamic(str(prepared), str(out_path), per_channel=True,
                     weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return fused.get_fused_operator_statistics()


def open_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def measure(sessions: dict[str, ort.InferenceSession], tokenizer: Tokenizer, target: int,
            repeats: int) -> None:
    ids = tokenizer.encode(FILLER).ids[:target]
    feeds = {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
    }
    outputs = {name: session.run(None, feeds) for name, session in sessions.items()}
    names = [output.name for output in sessions["fp32"].get_outputs()]
    print(f"\n{len(ids)} tokens: maximum absolute difference from fp32")
    for name in ("int8", "fused int8"):
        differences = [
            f"{output} {float(np.abs(got - expected).max()):.4f}"
            for output, got, expected in zip(names, outputs[name], outputs["fp32"], strict=True)
        ]
        print(f"  {name:10s} {', '.join(differences)}")

    print(f"{len(ids)} tokens: latency of one run (ms), {repeats} runs per round")
    for round_number in range(1, ROUNDS + 1):
        for name, session in sessions.items():
            session.run(None, feeds)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                session.run(None, feeds)
                times.append((time.perf_counter() - start) * 1000.0)
            times.sort()
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            print(f"  round {round_number} {name:10s} p50 {statistics.median(times):6.2f}  "
                  f"p95 {p95:6.2f}")


def write_package(int8_package: Path, fused_path: Path, out: Path) -> None:
    """Copy the int8 package to `out` with the fused graph and its sha256 in guard.json."""
    if out.exists():
        raise SystemExit(f"error: {out} exists; pass a new folder to --out")
    shutil.copytree(int8_package, out)
    shutil.copyfile(fused_path, out / "model.onnx")
    manifest_path = out / "guard.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"]["model.onnx"] = hashlib.sha256(
        (out / "model.onnx").read_bytes()
    ).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
