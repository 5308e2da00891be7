"""The training loop of `guardintent train`, for every regime (see `objectives`).

sft: harm cross-entropy + category BCE + InfoNCE between each prompt's intent embedding and the
intent tower's embedding of its intent description. distill: a teacher guard package's harm
probability and intent distribution, or the mean of several packages' (an ensemble). dpo and
grpo: start from a trained model, which stays frozen as the reference. Runs under accelerate, so
the same code runs on one CPU or several GPUs. Checkpoints are written atomically every
`save_every` steps, and a rerun with the same output folder resumes from the newest one. With
`average_from`, the final model is the mean of the weights at the checkpoints of the run's
last part (checkpoint averaging, as in stochastic weight averaging, Izmailov et al. 2018).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from guardintent.data.schema import Example
from guardintent.data.unlabelled import UnlabelledPrompt
from guardintent.train.dataset import (
    IntentBank,
    TokenisedExamples,
    load_tokenizer,
    pad_sequences,
    split_validation,
)
from guardintent.train.model import GuardModelConfig, IntentGuardModel, mean_pool
from guardintent.train.objectives import (
    DistillObjective,
    DPOObjective,
    GRPOObjective,
    LossWeights,
    SFTObjective,
)

if TYPE_CHECKING:
    from guardintent.train.teacher import Targets

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
# Model weights kept at each checkpoint step from `average_from` on, one file per step.
SNAPSHOTS = "snapshots"
FINAL = "final"
STATE_FILE = "trainer_state.json"


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run; stored in the final model's data card."""

    output_dir: Path
    base_model: Path
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    head_learning_rate: float = 5e-4
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    seed: int = 0
    max_length: int = 128
    window_stride: int = 32
    max_windows: int = 4
    embedding_dim: int = 256
    validation_share: float = 0.05
    category_weight: float = 0.5
    intent_weight: float = 1.0
    save_every: int = 100
    log_every: int = 10
    max_steps: int | None = None
    regime: str = "sft"
    init: Path | None = None
    layers: int | None = None
    teachers: tuple[Path, ...] = ()
    verdict_only: bool = False
    extra_intents: int = 0
    distill_alpha: float = 0.5
    dpo_beta: float = 0.1
    grpo_group_size: int = 4
    kl_weight: float = 0.05
    anchor_weight: float = 1.0
    average_from: float | None = None

    @property
    def regime_name(self) -> str:
        """Return the regime with its variant, as the data card records it."""
        if self.regime == "sft" and self.intent_weight == 0:
            return "sft-intent-free"
        if self.regime == "distill" and self.verdict_only:
            return "distill-verdict-only"
        return self.regime


def train(config: TrainConfig, examples: list[Example], data_card: dict[str, object],
          unlabelled: list[UnlabelledPrompt] | None = None) -> Path:
    """Train on `examples` and return the folder of the final model.

    `unlabelled` prompts (distill regime only) are labelled by the teacher and join the
    training examples, never the validation split.
    """
    if unlabelled and config.regime != "distill":
        raise ValueError(f"unlabelled prompts need the distill regime, whose teacher labels "
                         f"them; got regime {config.regime!r}")
    set_seed(config.seed)
    accelerator = Accelerator()
    train_examples, validation = split_validation(examples, config.validation_share, config.seed)
    bank = IntentBank.from_examples(examples)
    tokenizer = load_tokenizer(_tokenizer_folder(config) / "tokenizer.json", config.max_length,
                               config.window_stride)
    teacher = None
    teacher_card: dict[str, object] = {}
    if config.regime == "distill":
        train_examples, teacher, teacher_card = _teacher_targets(config, train_examples, bank,
                                                                 unlabelled or [])
    judge = _judge_embeddings(config, bank.texts) if config.regime == "grpo" else None
    data = TokenisedExamples(train_examples, tokenizer, _categories(), bank.texts,
                             cache_dir=config.output_dir / "cache", max_windows=config.max_windows,
                             intent_priors=bank.harm_priors, teacher=teacher,
                             judge_embeddings=judge)
    model = _initial_model(config)
    objective = _objective(config, model)

    steps_per_epoch = math.ceil(len(train_examples) / config.batch_size)
    steps_per_epoch = math.ceil(steps_per_epoch / accelerator.num_processes)
    # The schedule spans `epochs` whatever `max_steps` is, so a run stopped early by `max_steps`
    # and resumed with a larger value follows the same learning rates as an uninterrupted run.
    schedule_steps = math.ceil(config.epochs * steps_per_epoch)
    total_steps = min(config.max_steps or schedule_steps, schedule_steps)
    optimizer = _optimizer(model, config)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(config.warmup_ratio * schedule_steps), schedule_steps)
    objective, optimizer, scheduler = accelerator.prepare(objective, optimizer, scheduler)

    step = _resume(accelerator, config.output_dir)
    average_start = (None if config.average_from is None
                     else math.ceil(config.average_from * total_steps))
    if average_start is not None:
        _check_snapshots(config.output_dir, _snapshot_steps(average_start, step, total_steps,
                                                           config.save_every))
    logger.info("training on %d examples (%d held out), %d steps, %d distinct intents",
                len(train_examples), len(validation), total_steps, len(bank.texts))
    started = time.monotonic()
    progress = tqdm(total=total_steps, initial=step, desc="train", unit="step",
                    disable=not (accelerator.is_main_process and logger.isEnabledFor(logging.INFO)))
    objective.train()
    while step < total_steps:
        epoch, offset = divmod(step, steps_per_epoch)
        order = data.batch_order(config.batch_size, config.seed, epoch)
        mine = order[accelerator.process_index::accelerator.num_processes]
        for indices in mine[offset:]:
            if step >= total_steps:
                break
            batch = data.collate(indices, config.extra_intents, config.seed * 1_000_003 + step)
            batch = batch.to(accelerator.device)
            loss, parts = objective(batch)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(objective.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            progress.update(1)
            if step % config.log_every == 0:
                logger.info("step %d/%d loss %.4f %s", step, total_steps, loss.item(),
                            " ".join(f"{name} {value:.4f}" for name, value in parts.items()))
            if step % config.save_every == 0 or step == total_steps:
                if average_start is not None and step >= average_start:
                    _save_snapshot(accelerator, objective, config.output_dir, step)
                _save_checkpoint(accelerator, config.output_dir, step)
    progress.close()

    elapsed = time.monotonic() - started
    final = config.output_dir / FINAL
    if accelerator.is_main_process:
        trained = accelerator.unwrap_model(objective).model.eval()
        averaged_steps = []
        if average_start is not None:
            averaged_steps = _snapshot_steps(average_start, total_steps, total_steps,
                                            config.save_every)
            _check_snapshots(config.output_dir, averaged_steps)
            trained.load_state_dict(average_weights(
                [_snapshot_path(config.output_dir, kept) for kept in averaged_steps]))
            logger.info("final model averages the weights of steps %s", averaged_steps)
        metrics = validation_metrics(trained, validation, tokenizer)
        card = dict(data_card)
        card["training"] = {**_json_ready(asdict(config)), "regime": config.regime_name,
                            "steps": total_steps,
                            "train_examples": len(train_examples),
                            "validation_examples": len(validation),
                            "seconds_this_run": round(elapsed, 1), "validation": metrics,
                            "averaged_steps": averaged_steps,
                            "torch": torch.__version__}
        card["training"].update(teacher_card)
        _save_final(trained, final, config, bank, card, validation)
        logger.info("final model written to %s (validation %s)", final, metrics)
    return final


def _teacher_targets(config: TrainConfig, train_examples: list[Example], bank: IntentBank,
                     unlabelled: list[UnlabelledPrompt]
                     ) -> tuple[list[Example], Targets, dict[str, object]]:
    """Label the training examples, and any unlabelled prompts, with the teacher packages.

    Returns the examples with the teacher-labelled ones appended, the teacher's targets for all
    of them, and the data card's entries: agreement with the source labels (labelled examples
    only) and the labels given to the unlabelled prompts.
    """
    from guardintent.train.teacher import concatenate, label_with_guards, pseudo_label

    if not config.teachers:
        raise ValueError("the distill regime needs a teacher guard package; pass --teacher")
    cache = config.output_dir / "cache"
    teacher = label_with_guards(config.teachers, train_examples, bank.texts, _categories(),
                                cache_dir=cache)
    logger.info("teacher verdicts agree with the labels on %s", teacher.summary())
    card: dict[str, object] = {"teacher_agreement": teacher.summary()}
    if unlabelled:
        pseudo_labelled, pseudo_targets = pseudo_label(config.teachers, unlabelled, bank.texts,
                                                       _categories(), cache_dir=cache)
        labels = dict(Counter(example.label for example in pseudo_labelled))
        logger.info("teacher labelled %d unlabelled prompts: %s", len(pseudo_labelled), labels)
        card["teacher_labelled"] = {"prompts": len(pseudo_labelled), "labels": labels}
        train_examples = train_examples + pseudo_labelled
        teacher = concatenate([teacher, pseudo_targets])
    return train_examples, teacher, card


def validation_metrics(model: IntentGuardModel, examples: list[Example], tokenizer: object,
                       batch_size: int = 64) -> dict[str, float]:
    """Return accuracy and harmful-class F1 of the model on held-out examples."""
    if not examples:
        return {}
    probabilities = predict_harm(model, [e.prompt for e in examples], tokenizer, batch_size)
    truth = np.array([e.label == "harmful" for e in examples])
    predicted = probabilities >= 0.5
    true_positive = float((predicted & truth).sum())
    precision = true_positive / max(predicted.sum(), 1)
    recall = true_positive / max(truth.sum(), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"accuracy": round(float((predicted == truth).mean()), 4), "f1": round(f1, 4)}


@torch.no_grad()
def predict_harm(model: IntentGuardModel, prompts: list[str], tokenizer: object,
                 batch_size: int = 64) -> np.ndarray:
    """Return P(harmful) for each prompt (first window only, no calibration)."""
    scores = []
    for start in range(0, len(prompts), batch_size):
        encodings = tokenizer.encode_batch(prompts[start:start + batch_size])
        ids, mask = pad_sequences([encoding.ids for encoding in encodings])
        logits = model(ids, mask).harm_logits
        scores.append(torch.softmax(logits, dim=-1)[:, 1].numpy())
    return np.concatenate(scores)


def _categories() -> list[str]:
    from guardintent.taxonomy import CATEGORY_IDS

    return list(CATEGORY_IDS)


def _optimizer(model: IntentGuardModel, config: TrainConfig) -> torch.optim.Optimizer:
    encoder = [p for name, p in model.named_parameters() if name.startswith("encoder.")]
    heads = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    return torch.optim.AdamW(
        [{"params": encoder, "lr": config.learning_rate},
         {"params": heads, "lr": config.head_learning_rate}],
        weight_decay=config.weight_decay,
    )


def _tokenizer_folder(config: TrainConfig) -> Path:
    return config.init if config.init is not None else config.base_model


def _initial_model(config: TrainConfig) -> IntentGuardModel:
    """Build the model to train: from a trained folder (`init`) or the pretrained encoder."""
    if config.init is not None:
        model = IntentGuardModel.load(config.init).train()
    else:
        model_config = GuardModelConfig(base_model=str(config.base_model),
                                        embedding_dim=config.embedding_dim,
                                        max_length=config.max_length,
                                        window_stride=config.window_stride)
        model = IntentGuardModel.from_pretrained_encoder(config.base_model, model_config)
    if config.layers is not None:
        model.keep_layers(config.layers)
    return model


def _objective(config: TrainConfig, model: IntentGuardModel) -> torch.nn.Module:
    weights = LossWeights(category=config.category_weight, intent=config.intent_weight)
    if config.regime == "sft":
        return SFTObjective(model, weights)
    if config.regime == "distill":
        return DistillObjective(model, weights, alpha=config.distill_alpha,
                                verdict_only=config.verdict_only)
    if config.regime not in ("dpo", "grpo"):
        raise ValueError(f"unknown regime {config.regime!r}; use sft, distill, dpo or grpo")
    if config.init is None:
        raise ValueError(f"the {config.regime} regime starts from a trained model, which also "
                         "serves as its reference; pass --init FOLDER (a trained final folder)")
    reference = IntentGuardModel.load(config.init)
    if config.layers is not None:
        reference.keep_layers(config.layers)
    if config.regime == "dpo":
        return DPOObjective(model, reference, weights, beta=config.dpo_beta,
                            anchor=config.anchor_weight)
    return GRPOObjective(model, reference, weights, group_size=config.grpo_group_size,
                         kl_weight=config.kl_weight, anchor=config.anchor_weight)


@torch.no_grad()
def _judge_embeddings(config: TrainConfig, texts: list[str], batch_size: int = 128
                      ) -> np.ndarray:
    """Embed intent texts with the frozen pretrained encoder (mean pooled, unit rows).

    The judge stays fixed through training, so GRPO's faithfulness reward cannot drift with
    the policy.
    """
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(config.base_model), local_files_only=True,
                                        add_pooling_layer=False).eval()
    tokenizer = load_tokenizer(config.base_model / "tokenizer.json", config.max_length)
    rows = []
    for start in range(0, len(texts), batch_size):
        encodings = tokenizer.encode_batch(texts[start:start + batch_size])
        ids, mask = pad_sequences([encoding.ids for encoding in encodings])
        pooled = mean_pool(encoder(input_ids=ids, attention_mask=mask)[0], mask)
        rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(rows).astype(np.float32)


def _resume(accelerator: Accelerator, output_dir: Path) -> int:
    """Load the newest checkpoint under `output_dir` if there is one; return its step."""
    folder = output_dir / CHECKPOINTS
    checkpoints = sorted(folder.glob("step-*")) if folder.exists() else []
    if not checkpoints:
        return 0
    latest = checkpoints[-1]
    accelerator.load_state(str(latest))
    step = json.loads((latest / STATE_FILE).read_text())["step"]
    logger.info("resumed from %s at step %d", latest, step)
    return step


def _save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, keep: int = 2) -> None:
    """Save model, optimiser, scheduler and RNG states atomically, keeping the newest `keep`."""
    folder = output_dir / CHECKPOINTS
    target = folder / f"step-{step:07d}"
    temporary = folder / f".step-{step:07d}.partial"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(temporary, ignore_errors=True)
    accelerator.save_state(str(temporary))
    if accelerator.is_main_process:
        (temporary / STATE_FILE).write_text(json.dumps({"step": step}))
        shutil.rmtree(target, ignore_errors=True)
        temporary.rename(target)
        for old in sorted(folder.glob("step-*"))[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def _save_snapshot(accelerator: Accelerator, objective: torch.nn.Module, output_dir: Path,
                   step: int) -> None:
    """Keep the model's weights at `step` for averaging, written atomically.

    NOTE: the weights are read on the main process alone, as for the final model, which suits
    one process or data parallel training but not sharded models (FSDP, DeepSpeed ZeRO-3).
    """
    if not accelerator.is_main_process:
        return
    from safetensors.torch import save_file

    model = accelerator.unwrap_model(objective).model
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    path = _snapshot_path(output_dir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    save_file(state, str(temporary))
    temporary.replace(path)


def _snapshot_path(output_dir: Path, step: int) -> Path:
    return output_dir / SNAPSHOTS / f"step-{step:07d}.safetensors"


def _snapshot_steps(first: int, up_to: int, last: int, every: int) -> list[int]:
    """List the checkpoint steps from `first` to `up_to` whose weights are averaged.

    Checkpoint steps are the multiples of `every` and the run's `last` step, so the end of an
    earlier run stopped by `max_steps` is not one, and a resumed run averages the same steps
    as an uninterrupted one.
    """
    steps = [step for step in range(first, up_to + 1) if step % every == 0 or step == last]
    return [step for step in steps if step > 0]


def _check_snapshots(output_dir: Path, steps: list[int]) -> None:
    """Raise if the weights of any of `steps` were not kept."""
    missing = [step for step in steps if not _snapshot_path(output_dir, step).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{output_dir / SNAPSHOTS} has no weights of steps {missing}, which averaging needs; "
            "the run was started with another --average-from or --save-every, or without "
            "averaging, so resume it with its first settings or train into a new --out")


def average_weights(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Return the element-wise mean of the state dicts saved in `paths`, in float32.

    The sum runs in the order given, so the same files give the same bits.
    """
    from safetensors.torch import load_file

    if not paths:
        raise ValueError("average_weights needs at least one weights file")
    total: dict[str, torch.Tensor] = {}
    for path in paths:
        state = load_file(str(path))
        if total and set(state) != set(total):
            raise ValueError(f"{path} has other tensor names than {paths[0]} "
                             f"({sorted(set(state) ^ set(total))[:5]}); average weights of one "
                             "model only")
        for name, tensor in state.items():
            if not tensor.is_floating_point():
                # An integer tensor is a buffer, not a weight, so the last one stays.
                total[name] = tensor
            elif name in total:
                total[name] = total[name] + tensor.float()
            else:
                total[name] = tensor.float()
    return {name: tensor / len(paths) if tensor.is_floating_point() else tensor
            for name, tensor in total.items()}


def _save_final(model: IntentGuardModel, final: Path, config: TrainConfig, bank: IntentBank,
                card: dict[str, object], validation: list[Example]) -> None:
    """Write the exportable model folder atomically: weights, tokenizer, intents, card, split."""
    temporary = final.with_name(final.name + ".partial")
    shutil.rmtree(temporary, ignore_errors=True)
    model.save(temporary)
    tokenizer = load_tokenizer(_tokenizer_folder(config) / "tokenizer.json", config.max_length)
    tokenizer.no_truncation()
    tokenizer.save(str(temporary / "tokenizer.json"))
    (temporary / "intents.json").write_text(json.dumps(bank.to_json(), indent=1) + "\n")
    (temporary / "data_card.json").write_text(json.dumps(card, indent=2) + "\n")
    with (temporary / "validation.jsonl").open("w") as handle:
        for example in validation:
            handle.write(json.dumps(asdict(example)) + "\n")
    if final.exists():
        shutil.rmtree(final)
    temporary.rename(final)


def _json_ready(values: dict[str, object]) -> dict[str, object]:
    return {key: _json_value(value) for key, value in values.items()}


def _json_value(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    return value
