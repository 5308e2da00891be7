"""Tokenised training data: length-bucketed batches with their intents resolved to ids."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tokenizers import Tokenizer

from guardintent.data.schema import LABELS, Example

if TYPE_CHECKING:
    from guardintent.train.teacher import TeacherEnsemble, TeacherTargets


@dataclass(frozen=True)
class IntentBank:
    """Distinct intent descriptions seen in training, with their category and harm prior."""

    texts: list[str]
    categories: list[str | None]
    harm_priors: list[float]

    @classmethod
    def from_examples(cls, examples: list[Example]) -> IntentBank:
        """Collect each distinct intent; its category is the most common one among its prompts."""
        labels: dict[str, list[str]] = defaultdict(list)
        categories: dict[str, Counter[str | None]] = defaultdict(Counter)
        for example in examples:
            labels[example.intent].append(example.label)
            categories[example.intent][example.category] += 1
        texts = sorted(labels)
        return cls(
            texts=texts,
            categories=[categories[text].most_common(1)[0][0] for text in texts],
            harm_priors=[round(labels[t].count("harmful") / len(labels[t]), 4) for t in texts],
        )

    def to_json(self) -> list[dict[str, object]]:
        """Return the bank as the package's `intents.json` rows."""
        return [
            {"text": text, "category": category, "harm_prior": prior}
            for text, category, prior in zip(
                self.texts, self.categories, self.harm_priors, strict=True)
        ]


@dataclass(frozen=True)
class TeacherBatch:
    """A teacher's targets for the examples of one batch (see `guardintent.train.teacher`)."""

    harm: torch.Tensor  # [examples] P(harmful)
    categories: torch.Tensor  # [examples, categories]
    intent_probs: torch.Tensor  # [examples, candidates]
    agrees: torch.Tensor  # [examples] bool, teacher verdict equals the label


@dataclass(frozen=True)
class Batch:
    """One training batch of prompt windows.

    `window_owner` maps each window row to its example. The candidate intents in `intent_ids`
    are the batch's distinct intents followed by any intents sampled from the rest of the bank;
    `intent_index` maps each example to the row of its own intent and `intent_priors` holds
    each candidate's harm prior. `judge_similarity[i, j]` is the cosine between example i's
    intent and candidate j under a frozen judge encoder, when the data has judge embeddings.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    window_owner: torch.Tensor
    labels: torch.Tensor
    category_targets: torch.Tensor
    category_mask: torch.Tensor
    intent_ids: torch.Tensor
    intent_mask: torch.Tensor
    intent_index: torch.Tensor
    intent_priors: torch.Tensor
    teacher: TeacherBatch | None = None
    judge_similarity: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        """Return the batch with every tensor on `device`."""
        moved = {}
        for name, value in vars(self).items():
            if isinstance(value, TeacherBatch):
                value = TeacherBatch(**{key: item.to(device) for key, item in vars(value).items()})
            elif value is not None:
                value = value.to(device)
            moved[name] = value
        return Batch(**moved)


def load_tokenizer(path: Path, max_length: int, stride: int = 0) -> Tokenizer:
    """Load a `tokenizers` tokenizer that cuts text into `max_length` windows and does not pad."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length, stride=stride)
    return tokenizer


def pick_windows(windows: list[list[int]], limit: int) -> list[list[int]]:
    """Keep at most `limit` windows: the first, the last and evenly spaced ones between."""
    if len(windows) <= limit:
        return windows
    positions = np.linspace(0, len(windows) - 1, limit).round().astype(int)
    return [windows[i] for i in sorted(set(positions.tolist()))]


class TokenisedExamples:
    """Examples tokenised once, cached on disk by content hash, batched by length.

    A prompt longer than one window becomes several overlapping windows, as at inference, so a
    request placed late in a long jailbreak template is still seen (at most `max_windows`).
    """

    def __init__(self, examples: list[Example], tokenizer: Tokenizer, categories: list[str],
                 intent_texts: list[str], cache_dir: Path | None = None,
                 max_windows: int = 4, *, intent_priors: list[float] | None = None,
                 teacher: TeacherTargets | TeacherEnsemble | None = None,
                 judge_embeddings: np.ndarray | None = None) -> None:
        self.examples = examples
        self.categories = categories
        self.intent_lookup = {text: index for index, text in enumerate(intent_texts)}
        self.intent_priors = np.asarray(
            intent_priors if intent_priors is not None else [0.5] * len(intent_texts),
            dtype=np.float32)
        self.teacher = teacher
        self.judge_embeddings = judge_embeddings
        windows = self._tokenise(tokenizer, [e.prompt for e in examples], cache_dir)
        self.prompt_windows = [pick_windows(w, max_windows) for w in windows]
        self.intent_tokens = [w[0] for w in self._tokenise(tokenizer, intent_texts, cache_dir)]

    @staticmethod
    def _tokenise(tokenizer: Tokenizer, texts: list[str], cache_dir: Path | None
                  ) -> list[list[list[int]]]:
        digest = hashlib.sha256(tokenizer.to_str().encode())
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
        cache = cache_dir / f"tokens-{digest.hexdigest()[:16]}.json" if cache_dir else None
        if cache is not None and cache.exists():
            return json.loads(cache.read_text())
        ids = [[encoding.ids] + [window.ids for window in encoding.overflowing]
               for encoding in tokenizer.encode_batch(texts)]
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache.with_suffix(".tmp")
            temporary.write_text(json.dumps(ids))
            temporary.replace(cache)
        return ids

    def batch_order(self, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
        """Group indices into batches of similar length, in a seeded random order.

        Indices are shuffled, cut into chunks of 50 batches, sorted by length inside each chunk
        and cut into batches. The batches are then shuffled, so padding stays small while the
        order still varies by epoch.
        """
        rng = random.Random(seed * 1_000_003 + epoch)
        indices = list(range(len(self.examples)))
        rng.shuffle(indices)
        chunk = batch_size * 50
        batches = []
        for start in range(0, len(indices), chunk):
            part = sorted(indices[start:start + chunk], key=self._cost)
            batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
        rng.shuffle(batches)
        return batches

    def _cost(self, index: int) -> tuple[int, int]:
        windows = self.prompt_windows[index]
        return len(windows), len(windows[0])

    def collate(self, indices: list[int], extra_intents: int = 0, seed: int = 0) -> Batch:
        """Pad one batch's windows to the longest and gather its candidate intents.

        `extra_intents` intents not in the batch are drawn from the bank as further candidates,
        with a generator seeded by `seed` and the batch's indices, so a resumed run draws the
        same ones.
        """
        windows = [(row, w) for row, i in enumerate(indices) for w in self.prompt_windows[i]]
        input_ids, attention_mask = pad_sequences([w for _, w in windows])
        window_owner = torch.tensor([row for row, _ in windows])
        examples = [self.examples[i] for i in indices]
        labels = torch.tensor([LABELS.index(e.label) for e in examples])
        category_targets = torch.zeros(len(examples), len(self.categories))
        category_mask = torch.ones(len(examples))
        for row, example in enumerate(examples):
            if example.category in self.categories:
                category_targets[row, self.categories.index(example.category)] = 1.0
            elif example.label == "harmful":
                category_mask[row] = 0.0  # a harmful prompt of unknown category teaches nothing

        own = [self.intent_lookup[e.intent] for e in examples]
        candidates = sorted(set(own))
        if extra_intents > 0:
            rng = np.random.default_rng([seed, *indices])
            others = np.setdiff1d(np.arange(len(self.intent_tokens)), candidates)
            count = min(extra_intents, len(others))
            candidates += sorted(rng.choice(others, size=count, replace=False).tolist())
        position = {intent: slot for slot, intent in enumerate(candidates)}
        intent_ids, intent_mask = pad_sequences([self.intent_tokens[i] for i in candidates])
        intent_index = torch.tensor([position[intent] for intent in own])
        candidate_rows = np.asarray(candidates)
        return Batch(input_ids, attention_mask, window_owner, labels, category_targets,
                     category_mask, intent_ids, intent_mask, intent_index,
                     torch.from_numpy(self.intent_priors[candidate_rows]),
                     self._teacher_batch(indices, candidate_rows),
                     self._judge_similarity(np.asarray(own), candidate_rows))

    def _teacher_batch(self, indices: list[int], candidates: np.ndarray) -> TeacherBatch | None:
        if self.teacher is None:
            return None
        rows = np.asarray(indices)
        return TeacherBatch(
            harm=torch.from_numpy(self.teacher.harm[rows]),
            categories=torch.from_numpy(self.teacher.categories[rows]),
            intent_probs=torch.from_numpy(
                self.teacher.intent_probabilities(rows, candidates).astype(np.float32)),
            agrees=torch.from_numpy(self.teacher.agrees[rows]),
        )

    def _judge_similarity(self, own: np.ndarray, candidates: np.ndarray) -> torch.Tensor | None:
        if self.judge_embeddings is None:
            return None
        judge = self.judge_embeddings
        return torch.from_numpy((judge[own] @ judge[candidates].T).astype(np.float32))


def pad_sequences(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token id lists with zeros to the longest one; return the ids and attention mask."""
    width = max(len(sequence) for sequence in sequences)
    ids = np.zeros((len(sequences), width), dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = sequence
        mask[row, :len(sequence)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def split_validation(examples: list[Example], share: float, seed: int, max_group: int = 20
                     ) -> tuple[list[Example], list[Example]]:
    """Hold out about `share` of the examples for calibration, keeping near-copies together.

    Examples that share a specific intent (a request and its jailbreak-wrapped copies) form one
    group and land on the same side, so the held-out split is not a copy of training data. An
    intent shared by more than `max_group` examples is generic ("Solve a grade-school math
    word problem"), and its examples are assigned one by one. Assignment hashes the seed and
    the group key, so adding new examples does not move old ones between the sides. When a
    label would be missing from the held-out side, its group with the lowest hash moves there,
    because calibration needs both labels.
    """
    sizes = Counter(example.intent for example in examples)
    keys = [e.intent if sizes[e.intent] <= max_group else e.id for e in examples]
    ranks = [_unit_hash(f"{seed}:{key}") for key in keys]
    held = {key for key, rank in zip(keys, ranks, strict=True) if rank < share}
    for label in LABELS:
        candidates = [(rank, key) for e, key, rank in zip(examples, keys, ranks, strict=True)
                      if e.label == label]
        if share > 0 and candidates and not any(key in held for _, key in candidates):
            held.add(min(candidates)[1])
    train = [e for e, key in zip(examples, keys, strict=True) if key not in held]
    validation = [e for e, key in zip(examples, keys, strict=True) if key in held]
    return train, validation


def _unit_hash(text: str) -> float:
    """Map text to a number in [0, 1) that is the same on every run and machine."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
