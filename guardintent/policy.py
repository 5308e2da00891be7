"""Policy rules that turn one prompt's model outputs into a verdict.

The rules apply in this order, and the first one that fires sets the verdict and `decided_by`:

1. `allowlist`: the prompt equals an allowlisted text after whitespace and case
   normalisation, so it is unharmful.
2. `custom_intent:<description>`: the prompt's intent embedding is at least as similar (cosine)
   to a custom intent as that intent's threshold. A matched "block" intent makes the prompt
   harmful and wins over any matched "allow" intent, which makes it unharmful.
3. `category_threshold:<id>`: a hazard category's probability is at or above the threshold
   configured for that category, so the prompt is harmful.
4. `threshold`: the calibrated harm score is at or above the guard's threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from guardintent._runtime import cosine_matrix

__all__ = ["Intent"]

IntentAction = Literal["block", "allow"]
_ACTIONS = ("block", "allow")

# Bounds of the default custom-intent threshold that `default_intent_threshold` derives from a
# package's intent bank, and the value used when the bank has fewer than two intents.
MIN_DEFAULT_INTENT_THRESHOLD = 0.5
MAX_DEFAULT_INTENT_THRESHOLD = 0.9
FALLBACK_INTENT_THRESHOLD = 0.6
_BANK_PERCENTILE = 95.0
# Bank rows used to estimate the default threshold.
_THRESHOLD_SAMPLE = 1000


@dataclass(frozen=True)
class Intent:
    """A user-defined intent that blocks or allows the prompts whose intent matches it.

    `description` is embedded once by the guard's intent tower, so it should read like the
    descriptions of the intent bank ("Ask about a competitor's pricing"). A prompt matches when
    the cosine between its intent embedding and the description's embedding is at least
    `threshold`. None uses the guard's default, `Guard.intent_threshold`, which is derived
    from the package's intent bank.
    """

    description: str
    action: IntentAction = "block"
    threshold: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.description, str):
            raise TypeError(
                f"Intent description must be a str, got {type(self.description).__name__}"
            )
        if not self.description.strip():
            raise ValueError("Intent description is empty; describe the intent in a few words")
        if self.action not in _ACTIONS:
            raise ValueError(f"Intent action must be 'block' or 'allow', got {self.action!r}")
        if self.threshold is not None and not (
            isinstance(self.threshold, (int, float))
            and not isinstance(self.threshold, bool)
            and 0.0 < self.threshold <= 1.0
        ):
            raise ValueError(
                f"Intent threshold must be a cosine similarity above 0 and at most 1, or None "
                f"for the guard's default, got {self.threshold!r}"
            )


def default_intent_threshold(bank: np.ndarray) -> float:
    """Derive the default custom-intent threshold from the cosines between bank intents.

    The bank's descriptions are distinct intents by construction, so the cosine between two of
    them is a similarity at which the intent tower still means a different intent. The default
    is the 95th percentile of those cosines over all pairs: a prompt must be closer to a custom
    intent than 95% of distinct intent pairs are to each other. The result is clipped to 0.5 to
    0.9, so that a small or poorly spread bank cannot make matching trivial or impossible.

    NOTE: this calibrates against intent-to-intent cosines only. Prompt-to-intent cosines of a
    trained package have not been measured against it, so check matches on your own prompts
    and set `Intent.threshold` where they miss.
    """
    count = len(bank)
    if count < 2:
        return FALLBACK_INTENT_THRESHOLD
    if count > _THRESHOLD_SAMPLE:
        # All pairs of a 5,000-intent bank took about 1 s at every load. Evenly spaced rows
        # keep the estimate deterministic at a small fraction of the cost.
        bank = bank[np.linspace(0, count - 1, _THRESHOLD_SAMPLE).round().astype(int)]
        count = _THRESHOLD_SAMPLE
    cosines = bank @ bank.T
    distinct_pairs = cosines[~np.eye(count, dtype=bool)]
    percentile = float(np.percentile(distinct_pairs, _BANK_PERCENTILE))
    return float(np.clip(percentile, MIN_DEFAULT_INTENT_THRESHOLD, MAX_DEFAULT_INTENT_THRESHOLD))


def normalise_allowlist_text(text: str) -> str:
    """Collapse runs of whitespace to one space, strip the ends and casefold."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Decision:
    """Verdict of the policy on one prompt and the rule that set it."""

    harmful: bool
    decided_by: str


class Policy:
    """The compiled rules of one guard, which `decide` applies in the order of this module.

    `intent_embeddings` contains one unit row per custom intent, in the order of `intents`.
    `default_intent_threshold` applies to the intents whose own threshold is None; it may be
    None when there are no such intents.
    """

    def __init__(
        self,
        *,
        threshold: float,
        category_thresholds: Mapping[str, float],
        intents: Sequence[Intent],
        intent_embeddings: np.ndarray,
        default_intent_threshold: float | None,
        allowlist: frozenset[str],
    ) -> None:
        self.threshold = threshold
        self.category_thresholds = dict(category_thresholds)
        self.intents = tuple(intents)
        self.intent_embeddings = intent_embeddings
        unset = [intent.description for intent in intents if intent.threshold is None]
        if default_intent_threshold is None and unset:
            raise ValueError(
                f"missing default_intent_threshold: intent {unset[0]!r} has no threshold of "
                f"its own; pass a float or set Intent.threshold"
            )
        self.intent_thresholds = np.array(
            [
                default_intent_threshold if intent.threshold is None else intent.threshold
                for intent in self.intents
            ],
            dtype=np.float32,
        )
        self.allowlist = allowlist

    def decide(
        self,
        prompt: str,
        score: float,
        categories: Mapping[str, float],
        intent_embedding: np.ndarray,
    ) -> Decision:
        """Apply the rules to one prompt's score, category probabilities and intent embeddings.

        `intent_embedding` is one embedding `[dim]` or one per window `[windows, dim]`; a custom
        intent matches when it is similar enough to any window.
        """
        if self.allowlist and normalise_allowlist_text(prompt) in self.allowlist:
            return Decision(harmful=False, decided_by="allowlist")
        intent_decision = self._match_intents(intent_embedding)
        if intent_decision is not None:
            return intent_decision
        category_decision = self._check_categories(categories)
        if category_decision is not None:
            return category_decision
        return Decision(harmful=score >= self.threshold, decided_by="threshold")

    def _match_intents(self, intent_embedding: np.ndarray) -> Decision | None:
        if not self.intents:
            return None
        window_embeddings = np.atleast_2d(intent_embedding)
        similarities = cosine_matrix(self.intent_embeddings, window_embeddings).max(axis=1)
        best: dict[str, tuple[float, Intent]] = {}
        for intent, similarity, threshold in zip(
            self.intents, similarities, self.intent_thresholds, strict=True
        ):
            if similarity < threshold:
                continue
            if intent.action not in best or similarity > best[intent.action][0]:
                best[intent.action] = (float(similarity), intent)
        for action in ("block", "allow"):
            if action in best:
                intent = best[action][1]
                return Decision(
                    harmful=action == "block", decided_by=f"custom_intent:{intent.description}"
                )
        return None

    def _check_categories(self, categories: Mapping[str, float]) -> Decision | None:
        exceeded = [
            (categories[category_id], category_id)
            for category_id, threshold in self.category_thresholds.items()
            if categories[category_id] >= threshold
        ]
        if not exceeded:
            return None
        _, category_id = max(exceeded)
        return Decision(harmful=True, decided_by=f"category_threshold:{category_id}")


def validate_category_thresholds(
    value: Mapping[str, float] | None, category_ids: Sequence[str]
) -> dict[str, float]:
    """Check per-category thresholds against the package's category ids; None means none."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"category_thresholds must be a dict of category id to threshold, got "
            f"{type(value).__name__}"
        )
    thresholds = {}
    for category_id, threshold in value.items():
        if category_id not in category_ids:
            raise ValueError(
                f"category_thresholds has unknown category id {category_id!r}; this guard's "
                f"category ids are {', '.join(category_ids)}"
            )
        if isinstance(threshold, bool) or not (
            isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0
        ):
            raise ValueError(
                f"category_thresholds[{category_id!r}] must be a probability from 0 to 1, "
                f"got {threshold!r}"
            )
        thresholds[category_id] = float(threshold)
    return thresholds


def validate_custom_intents(value: Sequence[Intent] | None) -> tuple[Intent, ...]:
    """Check that custom intents are `Intent` objects with distinct descriptions."""
    if value is None:
        return ()
    if isinstance(value, (str, Intent)) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"custom_intents must be a list of Intent, got {type(value).__name__}; wrap a "
            "single intent in a list"
        )
    seen: set[str] = set()
    for index, intent in enumerate(value):
        if not isinstance(intent, Intent):
            raise TypeError(
                f"custom_intents[{index}] must be an Intent, got {type(intent).__name__}; "
                "write Intent('description', action='block')"
            )
        if intent.description in seen:
            raise ValueError(
                f"custom_intents[{index}] repeats the description {intent.description!r}; "
                "each custom intent needs a distinct description"
            )
        seen.add(intent.description)
    return tuple(value)


def validate_allowlist(value: Sequence[str] | None) -> frozenset[str]:
    """Normalise allowlisted texts; an empty text is rejected because it would never match."""
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(
            f"allowlist must be a list of str, got {type(value).__name__}; wrap a single "
            "text in a list"
        )
    normalised = set()
    for index, text in enumerate(value):
        if not isinstance(text, str):
            raise TypeError(f"allowlist[{index}] must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(
                f"allowlist[{index}] is empty; empty prompts are already unharmful, so remove it"
            )
        normalised.add(normalise_allowlist_text(text))
    return frozenset(normalised)
