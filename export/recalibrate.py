"""Refit an existing guard package's temperature and threshold on a labelled validation file.

The model files are copied unchanged, so their checksums stay valid, and only guard.json changes.
Useful when the threshold rule changes, or to fit a guard to the traffic of one application.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tokenizers import Tokenizer

from export.package import (
    _benchmark,
    _calibrate,
    _replace,
    _session,
    _write_json_atomic,
)
from guardintent._manifest import MANIFEST_NAME
from guardintent._package import load_package
from guardintent.data.benchmarks import read_jsonl_benchmark
from guardintent.errors import GuardIntentError

logger = logging.getLogger(__name__)


def recalibrate_guard(package: str | os.PathLike[str], validation_file: str | os.PathLike[str],
                      out: str | os.PathLike[str], *, overwrite: bool = False,
                      benchmark_dir: Path | None = None) -> Path:
    """Write a copy of `package` to `out` calibrated on `validation_file`, and return `out`.

    `validation_file` contains JSON lines with `prompt` and `label` (harmful or unharmful), both
    labels present. Scores are read as the export reads them: the first window of each prompt.
    Benchmark metrics stored in guard.json were measured at the old threshold, so they are
    removed, or measured again when `benchmark_dir` is given. The package is verified against
    its checksums first, and the copy is written beside `out` and renamed into place.
    """
    package, out = Path(package), Path(out)
    if out.resolve() == package.resolve():
        raise ValueError(f"{out} is the package being recalibrated; write to another folder")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; remove it or pass --overwrite")
    load_package(package, threads=1)
    validation = [{"prompt": example.prompt, "label": example.label}
                  for example in read_jsonl_benchmark(validation_file, "validation")]
    labels = {row["label"] for row in validation}
    if len(labels) < 2:
        found = f"all {len(validation)} are {labels.pop()}" if labels else "it has no prompts"
        raise ValueError(
            f"{validation_file} needs prompts of both labels (harmful and unharmful) to fit a "
            f"threshold, but {found}; add labelled prompts of the missing label")

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        staging.chmod(0o755)
        _recalibrate_into(package, staging, validation, benchmark_dir)
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("recalibrated guard package written to %s", out)
    return out


def _recalibrate_into(package: Path, staging: Path, validation: list[dict],
                      benchmark_dir: Path | None) -> None:
    manifest = json.loads((package / MANIFEST_NAME).read_text())
    for name in manifest["files"]:
        shutil.copy2(package / name, staging / name)

    tokenizer = Tokenizer.from_file(str(staging / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(manifest["max_length"])
    calibration = _calibrate(_session(staging / "model.onnx"), tokenizer, validation)
    logger.info("temperature %s -> %s, threshold %s -> %s", manifest["temperature"],
                calibration["temperature"], manifest["threshold"], calibration["threshold"])

    manifest["threshold"] = calibration["threshold"]
    manifest["temperature"] = calibration["temperature"]
    manifest["calibration"] = calibration
    manifest.setdefault("metrics", {}).pop("benchmarks", None)
    _write_json_atomic(staging / MANIFEST_NAME, manifest)
    if benchmark_dir is not None:
        manifest["metrics"]["benchmarks"] = _benchmark(staging, benchmark_dir)
        _write_json_atomic(staging / MANIFEST_NAME, manifest)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `guardintent recalibrate`."""
    parser = argparse.ArgumentParser(prog="guardintent recalibrate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="guard package folder to recalibrate")
    parser.add_argument("validation", type=Path,
                        help="JSON lines file of labelled prompts (`prompt`, `label`), never an "
                        "evaluation set")
    parser.add_argument("out", type=Path, help="folder to write the recalibrated package to")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing package")
    parser.add_argument("--benchmark-dir", type=Path,
                        help="folder of public datasets; the benchmarks found there are run on "
                        "the new package and their metrics stored in guard.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `guardintent recalibrate`."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        recalibrate_guard(args.package, args.validation, args.out, overwrite=args.overwrite,
                          benchmark_dir=args.benchmark_dir)
    except (OSError, ValueError, GuardIntentError) as error:
        sys.stderr.write(f"guardintent recalibrate: error: {error}\n")
        return 2
    return 0
