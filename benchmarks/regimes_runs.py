"""Training and export for benchmarks/regimes.py: one subprocess per step, resumable.

A run lives in `OUT/<regime>-seed<k>/`: the trainer's checkpoints and `final` folder, the fp32
guard package in `package-fp32`, and `commands.log` with the output of every command run there.
A run whose `final` folder exists is loaded, not trained again.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("regimes")

REPOSITORY = Path(__file__).resolve().parent.parent
REGIMES = ("sft", "sft-intent-free", "distill", "distill-verdict-only", "dpo", "grpo",
           "sft-continued")
# `guardintent train` options of each regime. The distill regimes also get --teacher, and dpo,
# grpo and sft-continued get --init. sft-continued is the control for dpo and grpo: as many
# more sft steps from the same starting point.
REGIME_OPTIONS = {
    "sft": ("--regime", "sft"),
    "sft-intent-free": ("--regime", "sft", "--intent-free"),
    "distill": ("--regime", "distill"),
    "distill-verdict-only": ("--regime", "distill", "--verdict-only"),
    "dpo": ("--regime", "dpo"),
    "grpo": ("--regime", "grpo"),
    "sft-continued": ("--regime", "sft"),
}
FROM_SFT = frozenset({"dpo", "grpo", "sft-continued"})
# The regime that a run's data card records, where it differs from the name here.
CARD_REGIME = {"sft-continued": "sft"}
PACKAGE_FOLDER = "package-fp32"
LOG_FILE = "commands.log"
LOG_TAIL_LINES = 20


class RunError(Exception):
    """A training or export command failed, or a run folder belongs to another run."""


@dataclass(frozen=True)
class TrainSettings:
    """Settings that every training run of one comparison shares."""

    out: Path
    data_dir: Path
    train_file: Path | None
    base_model: Path | None
    teachers: tuple[Path, ...]
    steps: int | None
    epochs: float | None
    layers: int | None
    threads: int


@dataclass(frozen=True)
class PreparedRun:
    """A trained and exported run, with the seconds each step took (None when reused)."""

    regime: str
    seed: int
    final: Path
    package: Path
    train_seconds: float | None
    export_seconds: float | None


def run_folder(settings: TrainSettings, regime: str, seed: int) -> Path:
    """Return the folder of one regime and seed."""
    return settings.out / f"{regime}-seed{seed}"


def prepare_run(settings: TrainSettings, regime: str, seed: int) -> PreparedRun:
    """Train (or load) one run and export it as an fp32 guard package.

    dpo, grpo and sft-continued start from the same seed's sft run, which is trained first if
    it is missing.
    """
    folder = run_folder(settings, regime, seed)
    init = None
    if regime in FROM_SFT:
        init = prepare_final(settings, "sft", seed, None)[0]
    final, train_seconds = prepare_final(settings, regime, seed, init)
    label = f"{regime}-seed{seed}"
    package, export_seconds = prepare_package(final, folder / PACKAGE_FOLDER, label)
    return PreparedRun(regime, seed, final, package, train_seconds, export_seconds)


def is_trained(settings: TrainSettings, regime: str, seed: int) -> bool:
    """Return whether `prepare_run` would train nothing for this regime and seed.

    That needs the run's `final` folder and, for dpo, grpo and sft-continued, that of the sft
    run they start from, which `prepare_run` would otherwise train.
    """
    needed = [regime, "sft"] if regime in FROM_SFT else [regime]
    return all((run_folder(settings, name, seed) / "final" / "model.safetensors").is_file()
               for name in needed)


def prepare_final(settings: TrainSettings, regime: str, seed: int, init: Path | None
                  ) -> tuple[Path, float | None]:
    """Return the run's `final` folder and the training seconds, or None when it was reused."""
    folder = run_folder(settings, regime, seed)
    final = folder / "final"
    if (final / "model.safetensors").is_file():
        check_card(final, settings, regime, seed)
        logger.info("train %s seed %d: reusing %s", regime, seed, final)
        return final, None
    folder.mkdir(parents=True, exist_ok=True)
    logger.info("train %s seed %d: started, output in %s", regime, seed, folder / LOG_FILE)
    seconds = run_logged(train_command(settings, regime, seed, init), folder / LOG_FILE,
                         f"training {regime} seed {seed}")
    logger.info("train %s seed %d: done in %.1f s", regime, seed, seconds)
    return final, seconds


def prepare_package(final: Path, package: Path, label: str) -> tuple[Path, float | None]:
    """Export `final` as an fp32 package unless a package newer than its weights exists."""
    manifest = package / "guard.json"
    weights = final / "model.safetensors"
    if manifest.is_file() and manifest.stat().st_mtime >= weights.stat().st_mtime:
        logger.info("export %s: reusing %s", label, package)
        return package, None
    command = [sys.executable, "-m", "guardintent.cli", "export", str(final), str(package),
               "--fp32", "--overwrite", "--name", f"regimes-{label}"]
    seconds = run_logged(command, final.parent / LOG_FILE, f"export of {label}")
    logger.info("export %s: done in %.1f s", label, seconds)
    return package, seconds


def train_command(settings: TrainSettings, regime: str, seed: int, init: Path | None
                  ) -> list[str]:
    """Build the `guardintent train` command line of one run."""
    command = [sys.executable, "-m", "guardintent.cli", "train", *REGIME_OPTIONS[regime],
               "--out", str(run_folder(settings, regime, seed)), "--seed", str(seed),
               "--threads", str(settings.threads)]
    if settings.train_file is not None:
        command += ["--train-file", str(settings.train_file)]
    else:
        command += ["--data-dir", str(settings.data_dir)]
    if settings.base_model is not None:
        command += ["--base-model", str(settings.base_model)]
    if regime.startswith("distill"):
        for teacher in settings.teachers:
            command += ["--teacher", str(teacher)]
    if init is not None:
        command += ["--init", str(init)]
    elif settings.layers is not None:
        # Runs from an sft run inherit its encoder size, so only fresh runs cut layers.
        command += ["--layers", str(settings.layers)]
    if settings.steps is not None:
        command += ["--max-steps", str(settings.steps)]
    if settings.epochs is not None:
        command += ["--epochs", str(settings.epochs)]
    return command


def run_logged(command: list[str], log_path: Path, description: str) -> float:
    """Run `command` from the repository root with its output appended to `log_path`.

    Returns the wall time in seconds. Raises RunError with the end of the log on a non-zero
    exit status.
    """
    environment = dict(os.environ)
    # The `export` package sits at the repository root, next to `guardintent`.
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPOSITORY), environment.get("PYTHONPATH")) if part)
    started = time.monotonic()
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {shlex.join(command)}\n")
        log.flush()
        completed = subprocess.run(command, cwd=REPOSITORY, env=environment, stdout=log,
                                   stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        lines = log_path.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        tail = "\n".join(line for line in lines.splitlines() if line.strip())
        tail = "\n".join(tail.splitlines()[-LOG_TAIL_LINES:])
        raise RunError(f"{description} failed with exit status {completed.returncode}. "
                       f"The end of {log_path}:\n{tail}")
    return time.monotonic() - started


def check_card(final: Path, settings: TrainSettings, regime: str, seed: int) -> None:
    """Reject a reused run of another regime or seed, and warn when its steps or size differ."""
    card = json.loads((final / "data_card.json").read_text(encoding="utf-8"))["training"]
    if card.get("regime") != CARD_REGIME.get(regime, regime) or card.get("seed") != seed:
        raise RunError(
            f"{final} was trained as regime {card.get('regime')!r} with seed {card.get('seed')}, "
            f"not {regime!r} with seed {seed}; move it away or choose another --out")
    expected: dict[str, object] = {"max_steps": settings.steps}
    actual = dict(card)
    if settings.epochs is not None:
        expected["epochs"] = settings.epochs
    if regime not in FROM_SFT:
        expected["layers"] = settings.layers
    if regime.startswith("distill"):
        # Cards written before ensembles name one teacher.
        expected["teachers"] = [str(path) for path in settings.teachers]
        actual["teachers"] = card.get("teachers") or [card.get("teacher")]
    if regime in ("dpo", "grpo"):
        # Runs trained before the anchor existed had none, which is a weight of 0.
        expected["anchor_weight"] = 1.0
        actual["anchor_weight"] = card.get("anchor_weight", 0.0)
    for key, value in expected.items():
        if actual.get(key) != value:
            logger.warning("%s was trained with %s=%s, not %s, and is reused as it is. Delete "
                           "its run folder to train it again.", final, key, actual.get(key),
                           value)


def read_training_card(final: Path) -> dict[str, object]:
    """Return the `training` section of a final folder's data card."""
    card = json.loads((final / "data_card.json").read_text(encoding="utf-8"))
    return dict(card["training"])
