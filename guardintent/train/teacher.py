"""Teacher targets for the distill regime, read from exported guard packages.

A teacher labels every training prompt with its harm probability (softmax at temperature 1,
before calibration), its hazard-category probabilities and its intent embedding, and embeds
every intent of the training bank with its intent tower. The student then learns the teacher's
harm probability and its intent distribution over the candidates of each batch. A teacher
target is used only where the teacher's verdict agrees with the source label. The verdict is
the guard's own: the calibrated probability (temperature and threshold from its manifest)
against its threshold. `agrees` marks those examples, and their count is logged and stored in
the data card.

Several teachers form an ensemble (`TeacherEnsemble`): the student learns the mean of their harm
probabilities, category probabilities and intent distributions, and the ensemble's verdict is
the mean calibrated probability against the mean threshold. Each member's intent distribution
is computed in its own embedding space before averaging, so members need not share an intent
tower.

A teacher also labels prompts that have no label (`pseudo_label`): those rows take the
teacher's verdict as their label, so they always agree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from guardintent._runtime import encode_windows, reduce_windows, run_model
from guardintent.data.schema import Example
from guardintent.data.unlabelled import UnlabelledPrompt
from guardintent.guard import Guard

logger = logging.getLogger(__name__)

_ROW_FIELDS = ("harm", "categories", "prompt_embeddings", "agrees")
_FIELDS = (*_ROW_FIELDS, "intent_embeddings")
_SCALARS = ("scale", "temperature", "threshold")


@dataclass(frozen=True)
class TeacherTargets:
    """A teacher's view of the training examples (rows) and of the intent bank."""

    harm: np.ndarray  # float32 [examples], P(harmful) before calibration
    categories: np.ndarray  # float32 [examples, categories]
    prompt_embeddings: np.ndarray  # float32 [examples, dim], unit rows
    intent_embeddings: np.ndarray  # float32 [bank intents, dim], unit rows
    agrees: np.ndarray  # bool [examples], teacher verdict equals the source label
    scale: float  # logit scale of the teacher's intent distribution
    temperature: float = 1.0  # the guard's calibration temperature
    threshold: float = 0.5  # the guard's threshold on the calibrated probability

    @property
    def calibrated(self) -> np.ndarray:
        """Return P(harmful) as the guard reports it, after its temperature."""
        return calibrate(self.harm, self.temperature)

    @property
    def verdicts(self) -> np.ndarray:
        """Return the guard's verdicts, True for harmful."""
        return self.calibrated >= self.threshold

    def intent_probabilities(self, rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Return the teacher's distribution over `candidates` (bank rows) for example `rows`."""
        logits = self.scale * self.prompt_embeddings[rows] @ self.intent_embeddings[candidates].T
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def summary(self) -> dict[str, object]:
        """Return counts for the data card: examples, agreeing ones, and the share."""
        return _agreement(self.agrees)

    def save(self, path: Path) -> None:
        """Write the targets as one .npz file, atomically."""
        temporary = path.with_name(path.name + ".partial.npz")
        np.savez(temporary, **{name: np.float32(getattr(self, name)) for name in _SCALARS},
                 **{name: getattr(self, name) for name in _FIELDS})
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> TeacherTargets:
        """Read targets written by `save`.

        Raises KeyError for a file written before the calibration was stored.
        """
        with np.load(path) as values:
            return cls(**{name: float(values[name]) for name in _SCALARS},
                       **{name: values[name] for name in _FIELDS})


@dataclass(frozen=True)
class TeacherEnsemble:
    """Teachers averaged: the mean of their harm, category and intent probabilities.

    `agrees` marks the examples whose averaged verdict equals the source label; only those get
    the ensemble's targets, as with a single teacher.
    """

    members: tuple[TeacherTargets, ...]
    harm: np.ndarray  # float32 [examples], mean P(harmful) of the members before calibration
    categories: np.ndarray  # float32 [examples, categories]
    agrees: np.ndarray  # bool [examples]

    @classmethod
    def average(cls, members: Sequence[TeacherTargets], labels: np.ndarray) -> TeacherEnsemble:
        """Combine `members`, which labelled the same examples, whose labels are `labels`.

        `labels` is a bool array, True for harmful, one entry per example.
        """
        if not members:
            raise ValueError("a teacher ensemble needs at least one member")
        sizes = sorted({len(member.harm) for member in members} | {len(labels)})
        if len(sizes) != 1:
            raise ValueError(f"teachers and labels cover different numbers of examples: {sizes}; "
                             "label the same examples with every teacher")
        harm = np.mean([member.harm for member in members], axis=0).astype(np.float32)
        categories = np.mean([member.categories for member in members], axis=0)
        ensemble = cls(members=tuple(members), harm=harm,
                       categories=categories.astype(np.float32), agrees=np.ones(len(harm), bool))
        return replace(ensemble, agrees=ensemble.verdicts == np.asarray(labels, dtype=bool))

    @property
    def calibrated(self) -> np.ndarray:
        """Return the members' mean calibrated P(harmful)."""
        return np.mean([member.calibrated for member in self.members], axis=0)

    @property
    def threshold(self) -> float:
        """Return the members' mean threshold."""
        return float(np.mean([member.threshold for member in self.members]))

    @property
    def verdicts(self) -> np.ndarray:
        """Return the ensemble's verdicts, True for harmful."""
        return self.calibrated >= self.threshold

    def intent_probabilities(self, rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Return the members' mean distribution over `candidates` for example `rows`."""
        return np.mean([member.intent_probabilities(rows, candidates)
                        for member in self.members], axis=0)

    def summary(self) -> dict[str, object]:
        """Return the ensemble's counts, as `TeacherTargets.summary`, with each member's."""
        return {**_agreement(self.agrees),
                "members": [member.summary() for member in self.members]}


Targets = TeacherTargets | TeacherEnsemble


def calibrate(harm: np.ndarray, temperature: float) -> np.ndarray:
    """Return the calibrated P(harmful) of uncalibrated two-class probabilities `harm`.

    Both come from one softmax over two logits, so the calibrated value is the sigmoid of the
    logit difference divided by `temperature`.
    """
    clipped = np.clip(np.asarray(harm, dtype=np.float64), 1e-7, 1 - 1e-7)
    logits = np.log(clipped) - np.log1p(-clipped)
    return (1.0 / (1.0 + np.exp(-logits / temperature))).astype(np.float32)


def concatenate(parts: Sequence[Targets]) -> Targets:
    """Join the targets of several sets of examples labelled by the same teachers, in order."""
    if all(isinstance(part, TeacherTargets) for part in parts):
        first = parts[0]
        return replace(first, **{name: np.concatenate([getattr(part, name) for part in parts])
                                 for name in _ROW_FIELDS})
    if not all(isinstance(part, TeacherEnsemble) for part in parts):
        raise ValueError("cannot join targets of one teacher with those of an ensemble")
    ensembles = [part for part in parts if isinstance(part, TeacherEnsemble)]
    members = tuple(concatenate([part.members[index] for part in ensembles])
                    for index in range(len(ensembles[0].members)))
    return TeacherEnsemble(
        members=members,  # type: ignore[arg-type]
        harm=np.concatenate([part.harm for part in ensembles]),
        categories=np.concatenate([part.categories for part in ensembles]),
        agrees=np.concatenate([part.agrees for part in ensembles]))


def _agreement(agrees: np.ndarray) -> dict[str, object]:
    """Return the data card's counts: examples, those that agree ("kept") and their share."""
    agreeing = int(agrees.sum())
    return {"examples": len(agrees), "kept": agreeing,
            "kept_share": round(agreeing / max(len(agrees), 1), 4)}


def label_with_guards(packages: Sequence[Path], examples: list[Example], intent_texts: list[str],
                      categories: list[str], cache_dir: Path | None = None,
                      threads: int = 1) -> Targets:
    """Label `examples` with one guard package, or with several averaged as an ensemble.

    Arguments are those of `label_with_guard`; each package is labelled and cached on its own.
    """
    if len(set(packages)) != len(packages):
        raise ValueError(f"a teacher package is given twice in {[str(p) for p in packages]}. "
                         "Give each package once")
    members = [label_with_guard(package, examples, intent_texts, categories,
                                cache_dir=cache_dir, threads=threads) for package in packages]
    if len(members) == 1:
        return members[0]
    labels = np.array([example.label == "harmful" for example in examples])
    return TeacherEnsemble.average(members, labels)


def pseudo_label(packages: Sequence[Path], prompts: list[UnlabelledPrompt],
                 intent_texts: list[str], categories: list[str], cache_dir: Path | None = None,
                 threads: int = 1, chunk: int = 256) -> tuple[list[Example], Targets]:
    """Turn unlabelled prompts into examples labelled by the teacher (or the ensemble).

    The label is the teacher's verdict, the intent is the bank intent it ranks first, and the
    category is its most likely one for a harmful verdict (None otherwise). `Example.source`
    is the folder part of each prompt's id. Returns the examples and the teacher's targets for
    them, which all agree with their labels.
    """
    placeholders = [Example(prompt=item.prompt, label="unharmful", intent=None, category=None,
                            source=item.id.split(":", 1)[0], id=item.id) for item in prompts]
    targets = label_with_guards(packages, placeholders, intent_texts, categories,
                                cache_dir=cache_dir, threads=threads)
    verdicts = targets.verdicts
    bank = np.arange(len(intent_texts))
    examples = []
    for start in range(0, len(placeholders), chunk):
        rows = np.arange(start, min(start + chunk, len(placeholders)))
        top_intents = targets.intent_probabilities(rows, bank).argmax(axis=1)
        for row, intent in zip(rows, top_intents, strict=True):
            harmful = bool(verdicts[row])
            category = categories[int(targets.categories[row].argmax())] if harmful else None
            examples.append(Example(
                prompt=placeholders[row].prompt, label="harmful" if harmful else "unharmful",
                intent=intent_texts[int(intent)], category=category,
                source=placeholders[row].source, id=placeholders[row].id))
    agreeing = np.ones(len(examples), dtype=bool)
    if isinstance(targets, TeacherEnsemble):
        members = tuple(replace(member, agrees=agreeing) for member in targets.members)
        return examples, replace(targets, members=members, agrees=agreeing)
    return examples, replace(targets, agrees=agreeing)


def label_with_guard(package: Path, examples: list[Example], intent_texts: list[str],
                     categories: list[str], cache_dir: Path | None = None, threads: int = 1,
                     log_every: int = 1000) -> TeacherTargets:
    """Label `examples` and embed `intent_texts` with the guard package at `package`.

    Category columns follow `categories`. A category the teacher does not have gets
    probability 0.

    Results are cached in `cache_dir` under a hash of the package's manifest, the examples'
    ids and prompts, and the intents, so a resumed run does not label again.
    """
    guard = Guard(package, threads=threads)
    labels = np.array([example.label == "harmful" for example in examples])
    cache = None
    if cache_dir is not None:
        fingerprint = _fingerprint(guard, examples, intent_texts + ["\0"] + categories)
        cache = cache_dir / f"teacher-{fingerprint}.npz"
        if cache.exists():
            try:
                cached = TeacherTargets.load(cache)
            except KeyError:
                logger.info("teacher cache %s predates stored calibration; labelling again",
                            cache)
            else:
                return replace(cached, agrees=cached.verdicts == labels)

    package_data = guard._package
    harm, category_rows, embeddings = [], [], []
    for number, example in enumerate(examples, start=1):
        # One call per prompt: a dynamically quantised graph's scores depend on its batch.
        windows = encode_windows(package_data.tokenizer, [example.prompt], package_data.pad_id)
        outputs = run_model(package_data.session, windows,
                            ["harm_logits", "category_logits", "intent_embedding"])
        (scores,) = reduce_windows(outputs, windows, 1.0, package_data.harmful_index)
        harm.append(scores.score)
        category_rows.append(scores.category_probabilities)
        embeddings.append(scores.intent_embedding)
        if number % log_every == 0 or number == len(examples):
            logger.info("teacher labelled %d/%d examples", number, len(examples))
    targets = TeacherTargets(
        harm=np.asarray(harm, dtype=np.float32),
        categories=_reorder(np.asarray(category_rows, dtype=np.float32),
                            [spec.id for spec in guard.manifest.categories], categories),
        prompt_embeddings=np.asarray(embeddings, dtype=np.float32),
        intent_embeddings=_embed_one_by_one(guard, intent_texts),
        agrees=np.ones(len(examples), dtype=bool),
        scale=guard.manifest.intent_scale,
        temperature=guard.manifest.temperature,
        threshold=guard.manifest.threshold,
    )
    targets = replace(targets, agrees=targets.verdicts == labels)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        targets.save(cache)
    return targets


def _embed_one_by_one(guard: Guard, texts: list[str]) -> np.ndarray:
    """Embed intents one call each, as the client embeds custom intents.

    One call over thousands of intents pads them all to the longest one, and a dynamically
    quantised graph would also compute its activation scales over the whole batch.
    """
    rows = [guard.embed_intents([text])[0] for text in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)


def _reorder(values: np.ndarray, source: list[str], target: list[str]) -> np.ndarray:
    """Return `values` with columns named by `source` rearranged into `target`'s order."""
    result = np.zeros((len(values), len(target)), dtype=np.float32)
    for column, name in enumerate(target):
        if name in source:
            result[:, column] = values[:, source.index(name)]
    return result


def _fingerprint(guard: Guard, examples: list[Example], intent_texts: list[str]) -> str:
    digest = hashlib.sha256(json.dumps(guard.manifest.files, sort_keys=True).encode())
    for example in examples:
        digest.update(f"{example.id}\0{example.label}\0".encode("utf-8", "surrogatepass"))
        digest.update(example.prompt.encode("utf-8", "surrogatepass") + b"\0")
    for text in intent_texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\1")
    return digest.hexdigest()[:16]
