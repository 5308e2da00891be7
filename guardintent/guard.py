"""`Guard`: load a guard package once, then check prompts against it."""

from __future__ import annotations

import dataclasses
import logging
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from guardintent._contents import check_output_shapes
from guardintent._manifest import MANIFEST_NAME, Manifest
from guardintent._messages import judge_conversation
from guardintent._package import GuardPackage, load_package
from guardintent._readings import combine_scores, gate_sentences, read_prompts
from guardintent._runtime import (
    PromptScores,
    Windows,
    available_cpus,
    encode_pieces,
    encode_windows,
    l2_normalise,
    rank_intents,
    reduce_windows,
    run_model,
)
from guardintent.errors import PackageNotFoundError
from guardintent.policy import (
    Intent,
    Policy,
    default_intent_threshold,
    validate_allowlist,
    validate_category_thresholds,
    validate_custom_intents,
)
from guardintent.result import CheckResult, GuardInfo, IntentMatch, Verdict

__all__ = ["Guard"]

logger = logging.getLogger(__name__)

BUNDLED_PACKAGE = Path(__file__).parent / "bundled" / "default"
_CHECK_OUTPUTS = ["harm_logits", "category_logits", "intent_embedding"]
# The input of one reading: a text, or a list of sentences scored one by one.
_Item = TypeVar("_Item", str, list[str])
_T = TypeVar("_T")


class Guard:
    """An intent-aware prompt-safety guard backed by one guard package.

    `package` is a package directory; None loads the default guard bundled with guardintent.
    `threshold` overrides the package's calibrated threshold, `top_k` sets how many intents
    each result lists, and `threads` sets onnxruntime's intra-op threads (default: the CPUs
    this process may use, honouring a cgroup CPU limit).

    Prompts of 600 characters or more are also read sentence by sentence when their most
    harmful window scores at least `sentence_gate`, or when a category listed in
    `category_thresholds` reaches half its threshold there. `sentence_gate` None sets half of
    the lowest of `threshold` and the category thresholds, and 0 reads every such prompt.
    `score_sentences` False turns that reading off: prompts that reach the gate then take
    about half as long and fewer long benign prompts are flagged, but a request placed among
    benign sentences is diluted by them and can pass (README.md, "Obfuscated and long
    prompts", has the measured trade-off). Passing `sentence_gate` together with
    `score_sentences=False` raises ValueError.

    Policy options, applied in this order (see `guardintent.policy`):

    - `allowlist`: texts that are always unharmful, matched exactly after collapsing
      whitespace and casefolding.
    - `custom_intents`: `Intent` objects that block or allow prompts whose intent matches;
      their descriptions are embedded once here by the intent tower, with no retraining.
    - `category_thresholds`: category id to probability; a category at or above its
      threshold makes the prompt harmful, whatever the harm score.
    - then the harm score against `threshold`.

    After loading, a Guard changes no state except the cached `intent_threshold`, which every
    thread computes to the same value, so one instance may serve many threads.
    """

    def __init__(
        self,
        package: str | PathLike[str] | None = None,
        *,
        threshold: float | None = None,
        top_k: int = 3,
        threads: int | None = None,
        category_thresholds: Mapping[str, float] | None = None,
        custom_intents: Sequence[Intent] | None = None,
        allowlist: Sequence[str] | None = None,
        score_sentences: bool = True,
        sentence_gate: float | None = None,
    ) -> None:
        _validate_options(threshold, top_k, threads)
        if not isinstance(score_sentences, bool):
            raise TypeError(
                f"score_sentences must be True or False, got {score_sentences!r}"
            )
        _validate_score("sentence_gate", sentence_gate)
        if sentence_gate is not None and not score_sentences:
            raise ValueError(
                f"sentence_gate={sentence_gate!r} has no effect with score_sentences=False, "
                "which turns the sentence reading off; pass only one of them"
            )
        self._score_sentences_enabled = score_sentences
        intents = validate_custom_intents(custom_intents)
        allowed = validate_allowlist(allowlist)
        path = _resolve_package_path(package)
        self._threads = threads if threads is not None else available_cpus()
        self._package: GuardPackage = load_package(path, threads=self._threads)
        manifest = self._package.manifest
        self._threshold = manifest.threshold if threshold is None else float(threshold)
        self._top_k = min(top_k, len(self._package.intents))
        self._info = GuardInfo(name=manifest.name, version=manifest.version)
        self._batch_dependent = (manifest.quantization or "").startswith("int8-dynamic")
        # The default threshold costs tens of milliseconds, a large share of a cold start, so
        # it is derived only when a custom intent needs it or `intent_threshold` is read.
        self._intent_threshold: float | None = None
        if any(intent.threshold is None for intent in intents):
            self._intent_threshold = default_intent_threshold(self._package.intent_bank)
        category_ids = [category.id for category in manifest.categories]
        checked_category_thresholds = validate_category_thresholds(
            category_thresholds, category_ids
        )
        # A hidden request dilutes every output of its window, so the gate sits at half of the
        # lowest bar that could flag the prompt.
        # NOTE: custom intents do not open the sentence gate, so below it a long prompt's
        # sentences are never compared with them, only its windows.
        self._sentence_gate: float | None = None
        self._category_gates: dict[int, float] = {}
        if score_sentences:
            lowest_bar = min([self._threshold, *checked_category_thresholds.values()])
            self._sentence_gate = (
                lowest_bar / 2 if sentence_gate is None else float(sentence_gate)
            )
            self._category_gates = {
                category_ids.index(category_id): value / 2
                for category_id, value in checked_category_thresholds.items()
            }
        self._policy = Policy(
            threshold=self._threshold,
            category_thresholds=checked_category_thresholds,
            intents=intents,
            intent_embeddings=self._embed_custom_intents(intents),
            default_intent_threshold=self._intent_threshold,
            allowlist=allowed,
        )
        logger.info(
            "guard loaded: %s %s from %s (%d intents, %d custom intents, %d threads)",
            manifest.name,
            manifest.version,
            path,
            len(self._package.intents),
            len(intents),
            self._threads,
        )

    @property
    def info(self) -> GuardInfo:
        """Name and version of the loaded guard package."""
        return self._info

    @property
    def manifest(self) -> Manifest:
        """The package's validated guard.json."""
        return self._package.manifest

    @property
    def threshold(self) -> float:
        """Score at or above which a prompt is judged harmful."""
        return self._threshold

    @property
    def sentence_gate(self) -> float | None:
        """Window score from which a long prompt is also read sentence by sentence.

        None when the sentence reading is off (`score_sentences=False`).
        """
        return self._sentence_gate

    @property
    def intent_threshold(self) -> float:
        """Cosine at or above which a custom `Intent` without its own threshold matches.

        It is derived from the package's intent bank by
        `guardintent.policy.default_intent_threshold`.
        """
        if self._intent_threshold is None:
            # Idempotent, so threads that race here store the same value.
            self._intent_threshold = default_intent_threshold(self._package.intent_bank)
        return self._intent_threshold

    def check(self, prompt: str) -> CheckResult:
        """Classify one prompt; a prompt longer than one window is scored by its worst window."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        return self._check_prompts([prompt])[0]

    def check_batch(self, prompts: Sequence[str]) -> list[CheckResult]:
        """Classify prompts; the results equal `check` on each prompt.

        A float32 or weight-only graph runs the whole list in one padded call. A graph with
        dynamic int8 quantisation (the default export) runs one call per prompt, because its
        activation scales would otherwise depend on the other prompts in the batch.
        """
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
            raise TypeError(f"prompts must be a list of str, got {type(prompts).__name__}")
        for index, prompt in enumerate(prompts):
            if not isinstance(prompt, str):
                raise TypeError(f"prompts[{index}] must be a str, got {type(prompt).__name__}")
        return self._check_prompts(list(prompts))

    def check_messages(
        self, messages: Sequence[Mapping[str, Any]], *, context_turns: int = 4
    ) -> CheckResult:
        """Classify the user side of an OpenAI-style chat; `turns` names the deciding messages.

        `messages` is a list of `{"role": ..., "content": ...}` dicts, where content is a str
        or a list of parts such as `{"type": "text", "text": ...}`. Only "user" messages are
        judged, and parts other than text are skipped.

        The rule: the latest user turn is checked alone, and so is each join of it with the
        user turns before it, up to `context_turns` turns in all, so a request split across
        turns is caught. A join counts only when its earlier turns alone are unharmful, so an
        earlier harmful turn never makes a later benign turn harmful. That earlier turn was
        judged when it was the latest. The result is the harmful candidate with the highest
        score, else the unharmful one with the highest score, with the latest turn alone
        winning ties. A chat without user messages gives the empty-input result with no turns.

        NOTE: a benign follow-up to a harmful turn ("go on") is judged on its own text, so
        block the harmful turn itself when it arrives.
        """
        return judge_conversation(messages, self._check_prompts, context_turns)

    async def acheck(self, prompt: str) -> CheckResult:
        """Run `check` in a worker thread, so the event loop keeps running meanwhile."""
        return await _in_thread(self.check, prompt)

    async def acheck_batch(self, prompts: Sequence[str]) -> list[CheckResult]:
        """Run `check_batch` in a worker thread, so the event loop keeps running meanwhile."""
        return await _in_thread(self.check_batch, prompts)

    async def acheck_messages(
        self, messages: Sequence[Mapping[str, Any]], *, context_turns: int = 4
    ) -> CheckResult:
        """Run `check_messages` in a worker thread, so the event loop keeps running meanwhile."""
        return await _in_thread(self.check_messages, messages, context_turns=context_turns)

    def embed_intents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed intent descriptions with the intent tower: float32 `[len(texts), dim]`, unit rows.

        Each description must fit in one window of the package's `max_length` tokens.
        """
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
            raise TypeError(f"texts must be a list of str, got {type(texts).__name__}")
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] must be a str, got {type(text).__name__}")
            if not text.strip():
                raise ValueError(f"texts[{index}] is empty; an intent needs a description")
        if not texts:
            return np.empty((0, self.manifest.embedding_dim), dtype=np.float32)

        windows = self._encode(list(texts))
        for index in range(len(texts)):
            if windows.count(index) > 1:
                raise ValueError(
                    f"texts[{index}] is longer than one window of {self.manifest.max_length} "
                    "tokens; shorten the intent description"
                )
        pooled = self._run(windows, ["pooled_embedding"])["pooled_embedding"]
        projected = pooled @ self._package.tower_weight + self._package.tower_bias
        return l2_normalise(projected).astype(np.float32)

    def _embed_custom_intents(self, intents: Sequence[Intent]) -> np.ndarray:
        embeddings = []
        for index, intent in enumerate(intents):
            try:
                embeddings.append(self.embed_intents([intent.description])[0])
            except ValueError as error:
                raise ValueError(f"custom_intents[{index}] cannot be embedded: {error}") from error
        if not embeddings:
            return np.empty((0, self.manifest.embedding_dim), dtype=np.float32)
        return np.stack(embeddings)

    def _check_prompts(self, prompts: list[str]) -> list[CheckResult]:
        start = time.perf_counter()
        readings = read_prompts(prompts, sentences=self._score_sentences_enabled)
        text_scores = self._score_in_calls(readings.texts, self._score)
        if self._sentence_gate is not None:
            readings = gate_sentences(
                readings, text_scores, self._sentence_gate, self._category_gates
            )
        sentence_scores = self._score_in_calls(readings.sentences, self._score_sentences)
        scored = combine_scores(readings, text_scores, sentence_scores)
        latency_ms = (time.perf_counter() - start) * 1000.0
        logger.debug("checked %d prompts in %.1f ms", len(prompts), latency_ms)

        results = []
        for index, prompt in enumerate(prompts):
            if index in scored:
                normalizations = readings.applied.get(index, ())
                results.append(self._result(prompt, scored[index], normalizations, latency_ms))
            else:
                results.append(self._empty_result(latency_ms))
        return results

    def _score_in_calls(
        self, items: list[_Item], score: Callable[[list[_Item]], list[PromptScores]]
    ) -> list[PromptScores]:
        """Score items with `score`, all together or one by one.

        A graph with dynamic int8 quantisation computes its activation scales over the whole
        input tensor, so a text's scores would depend on the other texts in its batch. Such a
        graph scores each item on its own (all windows of it together, split into calls of at
        most `MAX_ROWS_PER_CALL` windows), which keeps `check_batch` equal to `check`, and
        makes a normalised variant score exactly as the same text typed plainly. For 32 short
        prompts on one thread this took about 1.4 times as long as one padded call. Other
        graphs score all items together.
        """
        if not items:
            return []
        if not self._batch_dependent:
            return score(items)
        return [scores for item in items for scores in score([item])]

    def _score(self, texts: list[str]) -> list[PromptScores]:
        return self._reduce(self._encode(texts))

    def _score_sentences(self, sentence_lists: list[list[str]]) -> list[PromptScores]:
        """Score each list of sentences by its most harmful sentence.

        On a graph with dynamic int8 quantisation, the most harmful window is then scored
        again alone, so that its score and intent are those of the sentence checked alone,
        not of the sentence among its neighbours.
        """
        windows = encode_pieces(
            self._package.tokenizer, sentence_lists, self._package.pad_id, max_windows=None
        )
        scores = self._reduce(windows)
        if not self._batch_dependent:
            return scores
        rescored = []
        for index, text_scores in enumerate(scores):
            if windows.count(index) == 1:
                rescored.append(text_scores)
                continue
            (alone,) = self._reduce(windows.row(windows.offsets[index] + text_scores.worst_window))
            rescored.append(
                dataclasses.replace(
                    text_scores, score=alone.score, intent_embedding=alone.intent_embedding
                )
            )
        return rescored

    def _reduce(self, windows: Windows) -> list[PromptScores]:
        outputs = self._run(windows, _CHECK_OUTPUTS)
        return reduce_windows(
            outputs, windows, self.manifest.temperature, self._package.harmful_index
        )

    def _encode(self, texts: list[str]) -> Windows:
        return encode_windows(self._package.tokenizer, texts, self._package.pad_id)

    def _run(self, windows: Windows, output_names: list[str]) -> dict[str, np.ndarray]:
        outputs = run_model(self._package.session, windows, output_names)
        check_output_shapes(outputs, self.manifest, self._package.path / "model.onnx")
        return outputs

    def _result(
        self,
        prompt: str,
        scores: PromptScores,
        normalizations: tuple[str, ...],
        latency_ms: float,
    ) -> CheckResult:
        package = self._package
        order, similarities, confidence = rank_intents(
            scores.intent_embedding[None, :],
            package.intent_bank,
            self._top_k,
            self.manifest.intent_scale,
        )
        matches = tuple(
            IntentMatch(
                text=package.intents[index].text,
                similarity=float(similarity),
                category=package.intents[index].category,
            )
            for index, similarity in zip(order[0], similarities[0], strict=True)
        )
        categories = {
            category.id: float(probability)
            for category, probability in zip(
                self.manifest.categories, scores.category_probabilities, strict=True
            )
        }
        decision = self._policy.decide(prompt, scores.score, categories, scores.window_embeddings)
        return CheckResult(
            verdict=Verdict.HARMFUL if decision.harmful else Verdict.UNHARMFUL,
            score=scores.score,
            intent=matches[0].text,
            intent_confidence=float(confidence[0]),
            intents=matches,
            categories=categories,
            decided_by=decision.decided_by,
            windows=scores.windows,
            truncated=scores.truncated,
            normalizations=normalizations,
            latency_ms=latency_ms,
            guard=self._info,
        )

    def _empty_result(self, latency_ms: float) -> CheckResult:
        return CheckResult(
            verdict=Verdict.UNHARMFUL,
            score=0.0,
            intent=None,
            intent_confidence=0.0,
            intents=(),
            categories={},
            decided_by="empty_input",
            windows=0,
            normalizations=(),
            latency_ms=latency_ms,
            guard=self._info,
        )

    def __repr__(self) -> str:
        return f"Guard(name={self._info.name!r}, version={self._info.version!r})"


def _validate_options(threshold: float | None, top_k: int, threads: int | None) -> None:
    _validate_score("threshold", threshold)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int, got {top_k!r}")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")


def _validate_score(name: str, value: float | None) -> None:
    if value is not None and (
        isinstance(value, bool) or not (isinstance(value, numbers.Real) and 0.0 <= value <= 1.0)
    ):
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")


def _resolve_package_path(package: str | PathLike[str] | None) -> Path:
    if package is not None:
        return Path(package).expanduser()
    if not (BUNDLED_PACKAGE / MANIFEST_NAME).is_file():
        raise PackageNotFoundError(
            f"this guardintent build ships no default guard yet ({BUNDLED_PACKAGE} has no "
            f"{MANIFEST_NAME}); pass the path of a guard package: Guard('path/to/package')",
            path=BUNDLED_PACKAGE,
        )
    return BUNDLED_PACKAGE


async def _in_thread(function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Await `function(*args, **kwargs)` run in a worker thread of the running event loop."""
    # Imported here because importing asyncio took about 35 ms (python -X importtime), close
    # to a tenth of a cold start, and many guards never run from async code.
    import asyncio

    return await asyncio.to_thread(function, *args, **kwargs)
