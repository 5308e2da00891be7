"""Tokenisation into windows, the onnxruntime session and the arithmetic on its outputs."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

# Special tokens tried, in order, for the padding id. Padded positions are masked out by
# attention_mask, so the id only has to be a valid row of the embedding table.
_PAD_TOKENS = ("[PAD]", "<pad>", "<|padding|>")


def available_cpus() -> int:
    """Count the CPUs this process may use: its affinity mask, capped by a cgroup CPU quota."""
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """Read the cgroup CPU quota in CPUs (v2 `cpu.max`, else v1 CFS files); None if unlimited."""
    try:
        # cgroup v2: "<quota> <period>" in microseconds, or "max <period>" without a limit.
        fields = (root / "cpu.max").read_text().split()
    except OSError:
        fields = None
    if fields is not None:
        return _quota_in_cpus(*fields) if len(fields) == 2 else None
    try:
        quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
        period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return _quota_in_cpus(quota, period)


def _quota_in_cpus(quota: str, period: str) -> float | None:
    """Divide a CFS quota by its period; None for "max", -1 or anything unparsable."""
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return quota_us / period_us


def create_session(model_path: Path, threads: int) -> ort.InferenceSession:
    """Open an onnxruntime CPU session that runs each call on `threads` intra-op threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # One graph runs at a time per call, so parallelism between operators buys nothing.
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def find_pad_id(tokenizer: Tokenizer) -> int:
    """Return the id of the tokenizer's padding token, or 0 when it has none of the usual ones."""
    for token in _PAD_TOKENS:
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return token_id
    return 0


@dataclass(frozen=True)
class Windows:
    """Token windows of several texts, padded to the longest window, ready for the model.

    Rows `offsets[i]` up to `offsets[i + 1]` belong to text `i`.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    offsets: tuple[int, ...]

    def count(self, index: int) -> int:
        """Return the number of windows of text `index`."""
        return self.offsets[index + 1] - self.offsets[index]


def encode_windows(tokenizer: Tokenizer, texts: list[str], pad_id: int) -> Windows:
    """Tokenise texts into overlapping windows and pad them to the longest window.

    The tokenizer must have truncation enabled with the window stride: each text then yields
    its first window plus one overflowing window per further stretch of tokens.
    """
    rows: list[list[int]] = []
    offsets = [0]
    for encoding in tokenizer.encode_batch(texts):
        rows.append(encoding.ids)
        rows.extend(overflow.ids for overflow in encoding.overflowing)
        offsets.append(len(rows))

    # At least one column, so that a text with no tokens still gives a valid model input.
    longest = max(1, max(len(row) for row in rows))
    input_ids = np.full((len(rows), longest), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), longest), dtype=np.int64)
    for index, row in enumerate(rows):
        input_ids[index, : len(row)] = row
        attention_mask[index, : len(row)] = 1
    return Windows(input_ids, attention_mask, tuple(offsets))


def run_model(
    session: ort.InferenceSession, windows: Windows, output_names: list[str]
) -> dict[str, np.ndarray]:
    """Run the graph once on all windows and return the requested outputs by name."""
    feeds = {"input_ids": windows.input_ids, "attention_mask": windows.attention_mask}
    values = session.run(output_names, feeds)
    return {
        name: np.asarray(value, dtype=np.float32)
        for name, value in zip(output_names, values, strict=True)
    }


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum for numerical stability."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function."""
    return 1.0 / (1.0 + np.exp(-logits))


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit L2 norm; all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass(frozen=True)
class PromptScores:
    """Model outputs for one prompt, taken from its most harmful window."""

    score: float
    category_probabilities: np.ndarray
    intent_embedding: np.ndarray
    windows: int


def reduce_windows(
    outputs: dict[str, np.ndarray], windows: Windows, temperature: float, harmful_index: int
) -> list[PromptScores]:
    """Score each prompt by its most harmful window.

    The harm probability is the calibrated softmax of `harm_logits / temperature`. Category
    probabilities and the intent embedding come from the same window as the maximum harm.
    """
    harm = softmax(outputs["harm_logits"] / temperature)[:, harmful_index]
    categories = sigmoid(outputs["category_logits"])
    intents = l2_normalise(outputs["intent_embedding"])

    scores = []
    for index in range(len(windows.offsets) - 1):
        start, end = windows.offsets[index], windows.offsets[index + 1]
        worst = start + int(np.argmax(harm[start:end]))
        scores.append(
            PromptScores(float(harm[worst]), categories[worst], intents[worst], end - start)
        )
    return scores


def rank_intents(
    embeddings: np.ndarray, bank: np.ndarray, top_k: int, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Find the `top_k` nearest intents by cosine for each row of `embeddings`.

    Both arguments hold L2-normalised rows, so a matrix product gives cosines. Returns the
    indices `[n, k]`, their cosines `[n, k]`, and the confidence of the top match `[n]`: its
    softmax probability over the whole bank at logit scale `scale`.
    """
    # Rounding can push the cosine of a vector with itself just past 1.
    cosines = np.clip(embeddings @ bank.T, -1.0, 1.0)
    order = np.argsort(-cosines, axis=1, kind="stable")[:, :top_k]
    similarities = np.take_along_axis(cosines, order, axis=1)
    confidence = softmax(scale * cosines)[np.arange(len(cosines)), order[:, 0]]
    return order, similarities, confidence
