"""Tokenisation into windows, the onnxruntime session and the arithmetic on its outputs."""

from __future__ import annotations

import itertools
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

# Special tokens tried, in order, for the padding id. Padded positions are masked out by
# attention_mask, so the id only has to be a valid row of the embedding table.
_PAD_TOKENS = ("[PAD]", "<pad>", "<|padding|>")

# Maximum characters of a text that are scored. A longer text keeps only TOKENISED_SPANS
# spans of it (its head, its tail and evenly spaced spans between), because tokenising,
# normalising and scoring cost time linear in the characters. Normalising a whole 10 MB
# prompt took up to 9 s on one core of a 2-core AMD EPYC VM.
MAX_TOKENISED_CHARS = 32_768
TOKENISED_SPANS = 16
# Kept spans are joined by this separator, which ends a sentence for `split_sentences` and a
# word for whitespace-splitting tokenizers.
_SPAN_SEPARATOR = "\n"
_SEPARATOR_CHARS = (TOKENISED_SPANS - 1) * len(_SPAN_SEPARATOR)
_SPAN_CHARS = (MAX_TOKENISED_CHARS - _SEPARATOR_CHARS) // TOKENISED_SPANS

# Maximum windows in one onnxruntime call. A text with more windows is scored in several
# calls, which bounds the activation memory of one call.
MAX_ROWS_PER_CALL = 64

# How far a span boundary may move to land on a space.
_SNAP_CHARS = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    # Idle intra-op threads otherwise spin after each call and take the cores from the
    # intent look-up that follows (a numpy matrix product): with 2 threads on 2 cores a
    # 30-token check took 10.4 ms with spinning and far less without.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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

    Rows `offsets[i]` up to `offsets[i + 1]` belong to text `i`. `capped[i]` is True when
    text `i` was only partly scored: it was longer than `MAX_TOKENISED_CHARS` characters or
    gave more windows than the window cap, so some of its tokens are in no row.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    offsets: tuple[int, ...]
    capped: tuple[bool, ...]

    def count(self, index: int) -> int:
        """Return the number of windows of text `index`."""
        return self.offsets[index + 1] - self.offsets[index]

    def row(self, row: int) -> Windows:
        """Return window `row` alone, as one text with one unpadded window."""
        length = max(1, int(self.attention_mask[row].sum()))
        return Windows(
            self.input_ids[row : row + 1, :length],
            self.attention_mask[row : row + 1, :length],
            (0, 1),
            (False,),
        )


def window_cap(tokenizer: Tokenizer) -> int:
    """Return the most windows kept per text: enough for `MAX_TOKENISED_CHARS` tokens.

    So every window of the kept characters is scored unless they give more tokens than
    characters. On sample sentences, the default guard's WordPiece tokenizer gave 0.3 tokens
    per character on English and 1.0 on Chinese, but 1.6 on Korean, whose syllables it
    splits into letters. The tokenizer must have truncation enabled with the window stride.
    """
    truncation = tokenizer.truncation
    if truncation is None:
        raise ValueError("the tokenizer has no truncation; enable it with the window stride")
    content = truncation["max_length"] - tokenizer.num_special_tokens_to_add(False)
    step = max(1, content - truncation["stride"])
    # The first window takes `content` tokens and each further one `step` new tokens.
    return max(2, math.ceil(max(0, MAX_TOKENISED_CHARS - content) / step) + 1)


def encode_windows(
    tokenizer: Tokenizer, texts: list[str], pad_id: int, *, max_windows: int | None = None
) -> Windows:
    """Tokenise texts into overlapping windows and pad them to the longest window.

    The tokenizer must have truncation enabled with the window stride: each text then yields
    its first window plus one overflowing window per further stretch of tokens.

    A text longer than `MAX_TOKENISED_CHARS` characters is first cut to `kept_text`. Every
    window of the kept text is scored, up to `max_windows` per text (default: `window_cap`,
    which the kept text reaches only at more than one token per character). Beyond the cap,
    the first windows, the last one and evenly spaced ones between are kept. `Windows.capped`
    records which texts lost anything to either cap.
    """
    kept = [kept_text(text) for text in texts]
    return encode_pieces(
        tokenizer,
        [[text] for text, _ in kept],
        pad_id,
        max_windows=window_cap(tokenizer) if max_windows is None else max_windows,
        cut=[cut for _, cut in kept],
    )


def encode_pieces(
    tokenizer: Tokenizer,
    pieces: list[list[str]],
    pad_id: int,
    *,
    max_windows: int | None,
    cut: list[bool] | None = None,
) -> Windows:
    """Tokenise each text's pieces into windows; a text's rows are the windows of all its pieces.

    Pieces are tokenised as they are, so the caller bounds their length. `max_windows` caps
    the windows of each text as in `encode_windows`; None keeps them all. `cut[i]` marks
    text `i` as capped already.
    """
    if max_windows is not None and (
        isinstance(max_windows, bool) or not isinstance(max_windows, int) or max_windows < 2
    ):
        raise ValueError(f"max_windows must be an int of at least 2, got {max_windows!r}")

    flat = [_replace_lone_surrogates(piece) for text_pieces in pieces for piece in text_pieces]
    encodings = iter(tokenizer.encode_batch(flat))
    rows: list[list[int]] = []
    offsets = [0]
    capped = []
    for index, text_pieces in enumerate(pieces):
        text_rows = []
        for encoding in itertools.islice(encodings, len(text_pieces)):
            text_rows.append(encoding.ids)
            text_rows.extend(overflow.ids for overflow in encoding.overflowing)
        cap = len(text_rows) if max_windows is None else max_windows
        kept = _kept_window_indices(len(text_rows), cap)
        rows.extend(text_rows[position] for position in kept)
        offsets.append(len(rows))
        capped.append((cut is not None and cut[index]) or len(kept) < len(text_rows))

    # At least one column, so that a text with no tokens still gives a valid model input.
    longest = max(1, max((len(row) for row in rows), default=0))
    input_ids = np.full((len(rows), longest), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), longest), dtype=np.int64)
    for index, row in enumerate(rows):
        input_ids[index, : len(row)] = row
        attention_mask[index, : len(row)] = 1
    return Windows(input_ids, attention_mask, tuple(offsets), tuple(capped))


def _replace_lone_surrogates(text: str) -> str:
    """Replace unpaired UTF-16 surrogates with U+FFFD, which `tokenizers` rejects otherwise.

    Such code points come from `surrogateescape` decoding or from JSON with escaped halves.
    A high and low surrogate in order become the one character they encode.
    """
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def kept_text(text: str) -> tuple[str, bool]:
    """Return the part of a text that is scored, and whether anything was left out.

    A text of at most `MAX_TOKENISED_CHARS` characters is kept whole. A longer one keeps
    `TOKENISED_SPANS` spans (its head, its tail and evenly spaced spans between), joined by
    newlines into at most `MAX_TOKENISED_CHARS` characters. Each span starts after and ends
    before a space where one lies within `_SNAP_CHARS` of the cut, so that few words are split.
    """
    if len(text) <= MAX_TOKENISED_CHARS:
        return text, False
    last_start = len(text) - _SPAN_CHARS
    spans = []
    for number in range(TOKENISED_SPANS):
        start = round(number * last_start / (TOKENISED_SPANS - 1))
        end = start + _SPAN_CHARS
        if start > 0:
            after = text.find(" ", start, start + _SNAP_CHARS)
            if after >= 0:
                start = after + 1
        if end < len(text):
            before = text.rfind(" ", end - _SNAP_CHARS, end)
            if before > start:
                end = before
        spans.append(text[start:end])
    return _SPAN_SEPARATOR.join(spans), True


def _kept_window_indices(count: int, max_windows: int) -> list[int]:
    """Pick at most `max_windows` of `count` windows: the first half, the last, and spaced ones."""
    if count <= max_windows:
        return list(range(count))
    head = max_windows // 2
    spaced = max_windows - head - 1
    # Consecutive points are at least one apart because count > max_windows, so rounding
    # gives distinct indices.
    middle = np.rint(np.linspace(head, count - 2, spaced)).astype(int).tolist()
    return [*range(head), *middle, count - 1]


def run_model(
    session: ort.InferenceSession, windows: Windows, output_names: list[str]
) -> dict[str, np.ndarray]:
    """Run the graph on all windows and return the requested outputs by name, a row per window.

    Identical windows, as in repeated padding, are run once. The distinct windows go to the
    graph shortest first, in calls of at most `MAX_ROWS_PER_CALL` rows. Each call is cut to
    its longest window, so short windows are not padded to long ones, and the memory of one
    call does not grow with the text.
    """
    if len(windows.input_ids) == 0:
        feeds = {"input_ids": windows.input_ids, "attention_mask": windows.attention_mask}
        values = session.run(output_names, feeds)
        return {
            name: np.asarray(value, dtype=np.float32)
            for name, value in zip(output_names, values, strict=True)
        }

    first, inverse = _distinct_rows(windows)
    # Distinct rows by length, and in the order they first occur among rows of one length.
    lengths = windows.attention_mask[first].sum(axis=1)
    order = np.lexsort((first, lengths))
    distinct = first[order]
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    back = rank[inverse]

    chunks: dict[str, list[np.ndarray]] = {name: [] for name in output_names}
    for start in range(0, len(distinct), MAX_ROWS_PER_CALL):
        selected = distinct[start : start + MAX_ROWS_PER_CALL]
        mask = windows.attention_mask[selected]
        width = max(1, int(mask.sum(axis=1).max()))
        feeds = {
            "input_ids": windows.input_ids[selected, :width],
            "attention_mask": mask[:, :width],
        }
        for name, value in zip(output_names, session.run(output_names, feeds), strict=True):
            chunks[name].append(np.asarray(value, dtype=np.float32))
    return {name: np.concatenate(values)[back] for name, values in chunks.items()}


def _distinct_rows(windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """Find repeated windows.

    Returns, in order of occurrence, the row where each distinct window first appears, and for
    each row the position of its window in that list. A dictionary of row bytes does this in
    microseconds for the one or two rows of a typical check. `np.unique(axis=0)` took about
    0.25 ms for one row on a 2-core AMD EPYC VM.
    """
    seen: dict[bytes, int] = {}
    first: list[int] = []
    inverse = np.empty(len(windows.input_ids), dtype=np.intp)
    for row, (ids, mask) in enumerate(zip(windows.input_ids, windows.attention_mask, strict=True)):
        key = ids.tobytes() + mask.tobytes()
        index = seen.get(key)
        if index is None:
            index = seen[key] = len(first)
            first.append(row)
        inverse[row] = index
    return np.array(first, dtype=np.intp), inverse


def cosine_matrix(rows: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Return `rows @ bank.T` for L2-normalised rows, computed on the calling thread alone.

    A BLAS matrix product splits this work across BLAS threads and waits for all of them. On
    a host whose cores are busy, that wait is a scheduler time slice. With both cores of a
    2-core AMD EPYC VM loaded, one prompt against a 4,983-intent bank took 9.6 ms at the
    median through OpenBLAS and 0.25 ms through `np.einsum`, which uses no BLAS threads. On an
    idle machine the two took 0.05 ms and 0.19 ms.
    """
    return np.einsum("kd,nd->kn", rows, bank)


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
    """Model outputs for one prompt.

    `score` and `intent_embedding` come from the most harmful window; `category_probabilities`
    is the maximum per category over all windows, and `window_embeddings` holds every window's
    intent embedding, so policy rules see a hazard in any window. `worst_window` is the index
    of the most harmful window among the prompt's windows.
    """

    score: float
    category_probabilities: np.ndarray
    intent_embedding: np.ndarray
    window_embeddings: np.ndarray
    windows: int
    truncated: bool
    worst_window: int


def reduce_windows(
    outputs: dict[str, np.ndarray], windows: Windows, temperature: float, harmful_index: int
) -> list[PromptScores]:
    """Score each prompt by its most harmful window.

    The harm probability is the calibrated softmax of `harm_logits / temperature`. The intent
    embedding comes from the window with the maximum harm; category probabilities are the
    maximum over all windows.
    """
    harm = softmax(outputs["harm_logits"] / temperature)[:, harmful_index]
    categories = sigmoid(outputs["category_logits"])
    intents = l2_normalise(outputs["intent_embedding"])

    scores = []
    for index in range(len(windows.offsets) - 1):
        start, end = windows.offsets[index], windows.offsets[index + 1]
        worst = start + int(np.argmax(harm[start:end]))
        scores.append(
            PromptScores(
                score=float(harm[worst]),
                category_probabilities=categories[start:end].max(axis=0),
                intent_embedding=intents[worst],
                window_embeddings=intents[start:end],
                windows=end - start,
                truncated=windows.capped[index],
                worst_window=worst - start,
            )
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
    cosines = np.clip(cosine_matrix(embeddings, bank), -1.0, 1.0)
    # Select the top k first, then sort only those: the bank holds thousands of intents.
    top_k = min(top_k, cosines.shape[1])
    candidates = np.argpartition(-cosines, top_k - 1, axis=1)[:, :top_k]
    ranked = np.argsort(-np.take_along_axis(cosines, candidates, axis=1), axis=1, kind="stable")
    order = np.take_along_axis(candidates, ranked, axis=1)
    similarities = np.take_along_axis(cosines, order, axis=1)
    confidence = softmax(scale * cosines)[np.arange(len(cosines)), order[:, 0]]
    return order, similarities, confidence
