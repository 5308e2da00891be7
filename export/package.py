"""Write a guard package from a trained checkpoint: export, quantise, prove, calibrate, manifest."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from export.calibrate import THRESHOLD_GRID, choose_threshold, fit_temperature
from export.onnx_graph import export_onnx, quantize_int8
from export.parity import ParityTolerance, check_parity
from guardintent.data.schema import LABELS
from guardintent.taxonomy import CATEGORIES
from guardintent.train.model import IntentGuardModel

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
PROBE_COUNT = 64
THRESHOLD_METHOD = (
    "temperature by validation NLL, then the lowest threshold of tied_thresholds: the run of "
    "thresholds around the best whose validation harmful-class F1 is within one bootstrap "
    "standard error of the best")
# Below this many examples of a label, the bootstrap band spans most of the threshold grid.
MIN_EXAMPLES_PER_LABEL = 50
# The widest tied band among the project's packages, each refitted on about 1,000 held-out
# training prompts, was 0.34 wide.
MAX_TIED_WIDTH = 0.4


@dataclass(frozen=True)
class ExportOptions:
    """How to export: precision, names written into guard.json, and the parity limits."""

    quantize: bool = True
    opset: int = 17
    name: str = "guardintent-custom"
    version: str = "0.1.0"
    base_model: str | None = None
    tolerance: ParityTolerance = field(default_factory=ParityTolerance)
    overwrite: bool = False
    allow_uncalibrated: bool = False
    benchmark_dir: Path | None = None


def export_guard(checkpoint: str | os.PathLike[str], out: str | os.PathLike[str],
                 options: ExportOptions | None = None) -> Path:
    """Export the checkpoint folder to a guard package at `out` and return its path.

    Everything is written to a temporary folder beside `out` and renamed into place only after
    parity and calibration pass, so a failed export leaves nothing half-written.
    """
    options = options or ExportOptions()
    checkpoint, out = Path(checkpoint), Path(out)
    if not (checkpoint / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"{checkpoint} is not a trained checkpoint (no model.safetensors); pass the `final` "
            "folder that `guardintent train` wrote")
    _check_out(out, options.overwrite)
    _write_package(out, lambda staging: _build(checkpoint, staging, options))
    logger.info("guard package written to %s", out)
    return out


def _check_out(out: Path, overwrite: bool) -> None:
    """Raise unless `out` is free, or is a guard package and `overwrite` allows replacing it."""
    if not out.exists():
        return
    if not (out / "guard.json").is_file():
        raise FileExistsError(f"{out} exists and is not a guard package (no guard.json); "
                              "remove it yourself or choose another folder, because "
                              "--overwrite replaces only a guard package")
    if not overwrite:
        raise FileExistsError(f"{out} already exists; remove it or pass --overwrite")


def _write_package(out: Path, build: Callable[[Path], None]) -> None:
    """Run `build` on a staging folder beside `out`, then rename it to `out`.

    A failure removes the staging folder, so nothing half-written is left at `out`.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        staging.chmod(0o755)
        build(staging)
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _build(checkpoint: Path, staging: Path, options: ExportOptions) -> None:
    model = IntentGuardModel.load(checkpoint)
    config = model.config
    tokenizer = Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    intents = json.loads((checkpoint / "intents.json").read_text())
    validation = _read_jsonl(checkpoint / "validation.jsonl")

    fp32_path = staging / "model.onnx"
    export_onnx(model, fp32_path, options.opset)
    fp32 = _session(fp32_path)
    session = fp32
    int8 = None
    if options.quantize:
        int8_path = staging / "model.int8.onnx"
        quantize_int8(fp32_path, int8_path)
        int8 = _session(int8_path)

    tower = {"weight": model.intent_projection.weight.detach().numpy().T.astype(np.float32),
             "bias": model.intent_projection.bias.detach().numpy().astype(np.float32)}
    truncating = Tokenizer.from_str(tokenizer.to_str())
    truncating.enable_truncation(config.max_length)
    reference_bank = _embed(fp32, truncating, [row["text"] for row in intents], tower)
    probes = [row["prompt"] for row in validation[:PROBE_COUNT]] or [row["text"] for row in intents]
    parity = check_parity(model, tokenizer, probes, reference_bank, fp32, int8, options.tolerance)

    if int8 is not None:
        os.replace(staging / "model.int8.onnx", fp32_path)
        session = int8
    bank = _embed(session, truncating, [row["text"] for row in intents], tower)
    calibration = _calibrate(session, truncating, validation)
    if calibration["method"].startswith("none") and not options.allow_uncalibrated:
        raise ValueError(
            f"{checkpoint} has no validation split with both labels, so the threshold and "
            "temperature cannot be calibrated; train on data with both labels, or pass "
            "--allow-uncalibrated to write temperature 1 and threshold 0.5")

    tokenizer.save(str(staging / "tokenizer.json"))
    (staging / "intents.json").write_text(json.dumps(intents, indent=1) + "\n")
    np.save(staging / "intents.npy", bank.astype(np.float16))
    np.savez(staging / "intent_tower.npz", **tower)
    card = json.loads((checkpoint / "data_card.json").read_text())
    manifest = _manifest(model, options, staging, calibration, parity, card)
    _write_json_atomic(staging / "guard.json", manifest)
    if options.benchmark_dir is not None:
        manifest["metrics"]["benchmarks"] = _benchmark(staging, options.benchmark_dir)
        _write_json_atomic(staging / "guard.json", manifest)


def _benchmark(package: Path, data_dir: Path) -> dict[str, object]:
    """Evaluate the finished package on every benchmark found in `data_dir`."""
    from guardintent import Guard
    from guardintent.data import load_benchmarks
    from guardintent.evaluate import evaluate

    report = evaluate(Guard(package), load_benchmarks(data_dir))
    return json.loads(report.to_json())


def _calibrate(session: ort.InferenceSession, tokenizer: Tokenizer, validation: list[dict],
               labels: Sequence[str] = LABELS) -> dict[str, object]:
    """Fit temperature and threshold on `validation`; `labels` is the order of `harm_logits`.

    NOTE: each prompt is read as one window, truncated to the tokenizer's limit, with no
    normalisation or sentence reading. `Guard.check` takes the most harmful of all these
    readings, so prompts longer than a window can score lower here than in use. Their count
    is recorded as `truncated_examples`.
    """
    if not validation or len({row["label"] for row in validation}) < 2:
        return {"temperature": 1.0, "threshold": 0.5,
                "method": "none: the checkpoint has no two-class validation split"}
    prompts = [row["prompt"] for row in validation]
    logits = _run(session, tokenizer, prompts)[0]
    targets = np.array([labels.index(row["label"]) for row in validation])
    harmful = labels.index("harmful")
    temperature = fit_temperature(logits, targets)
    scaled = logits / temperature
    scaled = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    scores = scaled[:, harmful] / scaled.sum(axis=1)
    choice = choose_threshold(scores, (targets == harmful).astype(int))
    counts = {label: int((targets == labels.index(label)).sum()) for label in labels}
    truncated = sum(bool(encoding.overflowing) for encoding in tokenizer.encode_batch(prompts))
    calibration = {"temperature": temperature, "threshold": choice.threshold,
                   "examples": len(validation), "examples_per_label": counts,
                   "truncated_examples": truncated, "best_f1": choice.best_f1,
                   "f1_standard_error": choice.standard_error,
                   "tied_thresholds": list(choice.tied), "method": THRESHOLD_METHOD}
    logger.info("calibration: %d of %d prompts are longer than one window and were truncated "
                "to its %d tokens", truncated, len(validation), tokenizer.truncation["max_length"])
    warnings = _calibration_warnings(calibration)
    if warnings:
        calibration["warnings"] = warnings
    for warning in warnings:
        logger.warning("calibration: %s", warning)
    return calibration


def _calibration_warnings(calibration: dict) -> list[str]:
    warnings = []
    for label, count in calibration["examples_per_label"].items():
        if count < MIN_EXAMPLES_PER_LABEL:
            warnings.append(f"only {count} {label} examples: below {MIN_EXAMPLES_PER_LABEL} "
                            "per label the tied band spans most thresholds")
    if calibration["threshold"] <= THRESHOLD_GRID[0]:
        warnings.append(f"the threshold is the lowest the grid allows ({THRESHOLD_GRID[0]}), "
                        "so the guard flags almost every prompt")
    if not 0.1 * 1.08 < calibration["temperature"] < 10 / 1.08:
        warnings.append(f"the temperature {calibration['temperature']} is at the edge of the "
                        "searched range (0.1 to 10, refined to 0.093 to 10.8), so the scores "
                        "are poorly calibrated")
    low, high = calibration["tied_thresholds"]
    if high - low > MAX_TIED_WIDTH:
        warnings.append(f"thresholds from {low} to {high} tie with the best, so these examples "
                        "do not pin the threshold down; add borderline prompts like your traffic")
    return warnings


def _manifest(model: IntentGuardModel, options: ExportOptions, staging: Path,
              calibration: dict[str, object], parity: dict[str, object], card: dict
              ) -> dict[str, object]:
    import onnx
    import torch
    import transformers

    config = model.config
    files = sorted(path.name for path in staging.iterdir() if path.name != "guard.json")
    return {
        "format_version": FORMAT_VERSION,
        "name": options.name,
        "version": options.version,
        "base_model": options.base_model or config.base_model,
        "labels": list(config.labels),
        "categories": [{"id": i, "description": d} for i, d in CATEGORIES
                       if i in config.categories],
        "threshold": calibration["threshold"],
        "temperature": calibration["temperature"],
        "calibration": calibration,
        "max_length": config.max_length,
        "window_stride": config.window_stride,
        "embedding_dim": config.embedding_dim,
        "hidden_size": model.encoder.config.hidden_size,
        "intent_scale": config.intent_scale,
        "opset": options.opset,
        "quantization": "int8-dynamic-per-channel" if options.quantize else "none",
        "libraries": {"torch": torch.__version__, "transformers": transformers.__version__,
                      "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "files": {name: _sha256(staging / name) for name in files},
        "data_card": card,
        "metrics": {"validation": card.get("training", {}).get("validation", {})},
        "parity": parity,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, tokenizer: Tokenizer, texts: list[str],
         batch_size: int = 64) -> list[np.ndarray]:
    """Run the graph over `texts` (first window of each) and concatenate every output."""
    outputs: list[list[np.ndarray]] = []
    for start in range(0, len(texts), batch_size):
        encodings = tokenizer.encode_batch(texts[start:start + batch_size])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        outputs.append(session.run(None, {"input_ids": ids, "attention_mask": mask}))
    return [np.concatenate(parts) for parts in zip(*outputs, strict=True)]


def _embed(session: ort.InferenceSession, tokenizer: Tokenizer, texts: list[str],
           tower: dict[str, np.ndarray]) -> np.ndarray:
    """Embed intent descriptions the way the client does: pooled state through the tower."""
    pooled = _run(session, tokenizer, texts)[3]
    projected = pooled @ tower["weight"] + tower["bias"]
    return projected / np.linalg.norm(projected, axis=1, keepdims=True).clip(min=1e-12)


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json_atomic(path: Path, value: dict[str, object]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(temporary, path)


def _replace(staging: Path, out: Path) -> None:
    """Move the finished package into place; an existing one is swapped out, then deleted."""
    if out.exists():
        retired = out.with_name(f".{out.name}.old")
        shutil.rmtree(retired, ignore_errors=True)
        out.rename(retired)
        staging.rename(out)
        shutil.rmtree(retired)
    else:
        staging.rename(out)


