"""Refit an existing guard package's temperature and threshold on a labelled validation file.

The model files are copied unchanged, so their checksums stay valid, and only guard.json changes.
Use it when the threshold rule changes, or to fit a guard to the traffic of one application.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from tokenizers import Tokenizer

from export.package import (
    MIN_EXAMPLES_PER_LABEL,
    _benchmark,
    _calibrate,
    _check_out,
    _session,
    _write_json_atomic,
    _write_package,
)
from guardintent._manifest import MANIFEST_NAME
from guardintent._package import load_package
from guardintent.data.benchmarks import read_jsonl_benchmark
from guardintent.data.schema import LABELS
from guardintent.errors import GuardIntentError

logger = logging.getLogger(__name__)


def recalibrate_guard(package: str | os.PathLike[str], validation_file: str | os.PathLike[str],
                      out: str | os.PathLike[str], *, overwrite: bool = False,
                      benchmark_dir: Path | None = None, version: str | None = None) -> Path:
    """Write a copy of `package` to `out` calibrated on `validation_file`, and return `out`.

    `validation_file` contains JSON lines with `prompt` and `label` (harmful or unharmful), at
    least `MIN_EXAMPLES_PER_LABEL` of each. Scores are read as the export reads them: the first
    window of each prompt. Benchmark metrics stored in guard.json were measured at the old
    threshold, so they are removed, or measured again when `benchmark_dir` is given. `version`
    replaces the package version. The package is verified against its checksums first, and the
    copy is written beside `out` and renamed into place.
    """
    package, out = Path(package), Path(out)
    _check_paths(package, out, overwrite)
    if benchmark_dir is not None and not Path(benchmark_dir).is_dir():
        raise FileNotFoundError(f"benchmark folder not found: {benchmark_dir}; pass the folder "
                                "that contains the dataset folders")
    load_package(package, threads=1)
    validation = _read_validation(Path(validation_file))

    _write_package(
        out, lambda staging: _recalibrate_into(package, staging, validation, benchmark_dir,
                                               version))
    logger.info("recalibrated guard package written to %s", out)
    return out


def _check_paths(package: Path, out: Path, overwrite: bool) -> None:
    source, target = package.resolve(), out.resolve()
    if target == source or source.is_relative_to(target) or target.is_relative_to(source):
        raise ValueError(f"{out} is, contains or lies inside the package {package}, so writing "
                         "it would replace or nest the package; write to a separate folder")
    _check_out(out, overwrite)


def _read_validation(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise FileNotFoundError(f"labelled file not found: {path}; pass a JSON lines file of "
                                "prompts with `prompt` and `label`")
    rows = [{"prompt": example.prompt, "label": example.label}
            for example in read_jsonl_benchmark(path, "validation")]
    counts = {label: sum(row["label"] == label for row in rows) for label in LABELS}
    if min(counts.values()) < MIN_EXAMPLES_PER_LABEL:
        found = ", ".join(f"{count} {label}" for label, count in counts.items())
        raise ValueError(
            f"{path} has {found} prompts; a threshold needs at least {MIN_EXAMPLES_PER_LABEL} "
            f"of each label, because with fewer the F1 of most thresholds ties with the best")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"rows": rows, "file": path.name, "sha256": digest}


def _recalibrate_into(package: Path, staging: Path, validation: dict[str, object],
                      benchmark_dir: Path | None, version: str | None) -> None:
    manifest = json.loads((package / MANIFEST_NAME).read_text())
    for name in manifest["files"]:
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(package / name, staging / name)

    tokenizer = Tokenizer.from_file(str(staging / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(manifest["max_length"])
    calibration = _calibrate(_session(staging / "model.onnx"), tokenizer, validation["rows"],
                             manifest["labels"])
    calibration["file"] = validation["file"]
    calibration["sha256"] = validation["sha256"]
    logger.info("temperature %s -> %s, threshold %s -> %s", manifest["temperature"],
                calibration["temperature"], manifest["threshold"], calibration["threshold"])

    manifest["threshold"] = calibration["threshold"]
    manifest["temperature"] = calibration["temperature"]
    manifest["calibration"] = calibration
    if version is not None:
        manifest["version"] = version
    manifest.setdefault("metrics", {}).pop("benchmarks", None)
    _write_json_atomic(staging / MANIFEST_NAME, manifest)
    if benchmark_dir is not None:
        manifest["metrics"]["benchmarks"] = _benchmark(staging, benchmark_dir)
        _write_json_atomic(staging / MANIFEST_NAME, manifest)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `guardintent recalibrate`."""
    parser = argparse.ArgumentParser(prog="guardintent recalibrate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, metavar="PACKAGE",
                        help="guard package folder to recalibrate")
    parser.add_argument("validation", type=Path, metavar="LABELLED",
                        help="JSON lines file of labelled prompts (`prompt`, `label`), at least "
                        f"{MIN_EXAMPLES_PER_LABEL} of each label; never an evaluation set")
    parser.add_argument("out", type=Path, metavar="OUT",
                        help="folder to write the recalibrated package to")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT if it is an existing guard package")
    parser.add_argument("--version", help="package version written to guard.json (default: "
                        "the package's own)")
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
                          benchmark_dir=args.benchmark_dir, version=args.version)
    except (OSError, ValueError, GuardIntentError) as error:
        sys.stderr.write(f"guardintent recalibrate: error: {error}\n")
        return 2
    return 0
