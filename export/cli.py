"""`guardintent export CHECKPOINT OUT`: write a guard package from a trained checkpoint."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from export.package import ExportOptions, export_guard


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `guardintent export`."""
    parser = argparse.ArgumentParser(prog="guardintent export", description=__doc__)
    parser.add_argument("checkpoint", type=Path, help="the `final` folder of a training run")
    parser.add_argument("out", type=Path, help="folder to write the guard package to")
    parser.add_argument("--fp32", action="store_true",
                        help="keep fp32 weights instead of int8 dynamic quantisation")
    parser.add_argument("--name", default="guardintent-custom", help="package name in guard.json")
    parser.add_argument("--version", default="0.1.0", help="package version in guard.json")
    parser.add_argument("--base-model", help="base model name recorded in guard.json")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing package")
    parser.add_argument("--allow-uncalibrated", action="store_true",
                        help="write temperature 1 and threshold 0.5 when the checkpoint has no "
                        "two-class validation split")
    parser.add_argument("--benchmark-dir", type=Path,
                        help="folder of public datasets; the benchmarks found there are run on "
                        "the package and their metrics stored in guard.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `guardintent export`."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = ExportOptions(quantize=not args.fp32, opset=args.opset, name=args.name,
                            version=args.version, base_model=args.base_model,
                            overwrite=args.overwrite, benchmark_dir=args.benchmark_dir,
                            allow_uncalibrated=args.allow_uncalibrated)
    try:
        out = export_guard(args.checkpoint, args.out, options)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        sys.stderr.write(f"guardintent export: error: {error}\n")
        return 2
    logging.getLogger(__name__).info("done: %s", out)
    return 0
