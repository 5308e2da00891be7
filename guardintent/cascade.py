"""Two guards in sequence: a fast guard decides the clear prompts, a stronger one the rest.

A small student guard checks each prompt first. When its harm score falls outside the band
`[low, high)`, its result is final. Inside the band, the prompt goes to the second guard, whose
result replaces the first. The `guard` field of a result names the package that decided, and
its `latency_ms` covers both stages.

`calibrate_band` picks the band on prompts you hold out for it, so that the first guard decides
a prompt only where its verdict agrees with the second guard's on nearly all of them.

    first = Guard("student-package")
    second = Guard()
    band = calibrate_band(first, second, held_out_prompts, tolerance=0.01)
    cascade = Cascade(first, second, band=band)
    cascade.check("How do I kill a Python process that hangs?")
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from guardintent._messages import judge_conversation
from guardintent.guard import Guard
from guardintent.result import CheckResult, Verdict

# Results the first guard's policy decided by a rule other than its harm score (allowlist,
# custom intents, category thresholds, empty input) are final whatever the score.
_SCORE_RULE = "threshold"


class Cascade:
    """A fast `first` guard whose scores in `band` are handed to the `second` guard.

    `band` is `(low, high)` with `0 <= low <= first.threshold <= high <= 1`. A first score
    below `low` is a final unharmful result, one at or above `high` a final harmful result.
    `check_batch` equals `check` on each prompt, as for `Guard`.
    """

    def __init__(self, first: Guard, second: Guard, *, band: tuple[float, float]) -> None:
        if not isinstance(first, Guard) or not isinstance(second, Guard):
            raise TypeError(
                f"first and second must be Guard objects, got {type(first).__name__} and "
                f"{type(second).__name__}"
            )
        low, high = _validate_band(band, first.threshold)
        self.first = first
        self.second = second
        self.band = (low, high)

    def check(self, prompt: str) -> CheckResult:
        """Classify one prompt with the first guard, and with the second when it is unsure."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        return self._check_prompts([prompt])[0]

    def check_batch(self, prompts: Sequence[str]) -> list[CheckResult]:
        """Classify prompts; the results equal `check` on each prompt."""
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
            raise TypeError(f"prompts must be a list of str, got {type(prompts).__name__}")
        return self._check_prompts(list(prompts))

    def check_messages(
        self, messages: Sequence[Mapping[str, Any]], *, context_turns: int = 4
    ) -> CheckResult:
        """Classify the user side of a chat by the rule of `Guard.check_messages`."""
        return judge_conversation(messages, self._check_prompts, context_turns)

    def unsure(self, result: CheckResult) -> bool:
        """Return whether a first-guard result goes on to the second guard."""
        low, high = self.band
        return result.decided_by == _SCORE_RULE and low <= result.score < high

    def _check_prompts(self, prompts: list[str]) -> list[CheckResult]:
        start = time.perf_counter()
        results = self.first.check_batch(prompts)
        handed_on = [index for index, result in enumerate(results) if self.unsure(result)]
        if handed_on:
            second = self.second.check_batch([prompts[index] for index in handed_on])
            for index, result in zip(handed_on, second, strict=True):
                results[index] = result
        latency_ms = (time.perf_counter() - start) * 1000.0
        return [result.model_copy(update={"latency_ms": latency_ms}) for result in results]

    def __repr__(self) -> str:
        return f"Cascade(first={self.first!r}, second={self.second!r}, band={self.band!r})"


def calibrate_band(
    first: Guard, second: Guard, prompts: Sequence[str], *, tolerance: float = 0.01
) -> tuple[float, float]:
    """Return the narrowest band outside which the first guard's verdicts agree with the second's.

    `low` is the highest first-guard score, at most `first.threshold`, such that of the
    prompts scoring below it, at most a `tolerance` share are harmful to the second guard.
    `high` is the lowest score, at least `first.threshold`, such that of the prompts scoring
    at or above it, at most a `tolerance` share are unharmful to the second guard. Use prompts
    that neither guard was trained on and that look like your traffic.

    NOTE: the share is over all prompts beyond an edge, so disagreements may cluster just past
    it. Check the cascade's accuracy on a second held-out set before relying on the band.
    """
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"tolerance must be at least 0 and below 1, got {tolerance!r}")
    if len(prompts) == 0:
        raise ValueError("calibrate_band needs at least one prompt; got none")
    first_scores = np.array([result.score for result in first.check_batch(list(prompts))])
    second_harmful = np.array(
        [result.verdict is Verdict.HARMFUL for result in second.check_batch(list(prompts))]
    )
    threshold = first.threshold
    low = _widest_edge(first_scores, second_harmful, tolerance, threshold, below=True)
    high = _widest_edge(first_scores, ~second_harmful, tolerance, threshold, below=False)
    return low, high


def _widest_edge(
    scores: np.ndarray, disagree: np.ndarray, tolerance: float, threshold: float, below: bool
) -> float:
    """Find the edge nearest `threshold` whose region beyond it agrees with the second guard.

    For `below`, the region is `scores < edge` and the edge runs from `threshold` down to 0.
    Otherwise the region is `scores >= edge` and the edge runs from `threshold` up to 1.
    """
    if below:
        candidates = np.unique(np.append(scores[scores <= threshold], threshold))[::-1]
    else:
        candidates = np.unique(np.append(scores[scores >= threshold], threshold))
    for edge in candidates:
        region = scores < edge if below else scores >= edge
        count = int(region.sum())
        if count == 0:
            # No held-out prompt supports an edge here, so the first guard decides nothing.
            break
        if disagree[region].sum() <= tolerance * count:
            return float(edge)
    return 0.0 if below else 1.0


def _validate_band(band: tuple[float, float], threshold: float) -> tuple[float, float]:
    if not isinstance(band, (tuple, list)) or len(band) != 2:
        raise ValueError(f"band must be a (low, high) pair, got {band!r}")
    low, high = (float(edge) for edge in band)
    if not 0.0 <= low <= threshold <= high <= 1.0:
        raise ValueError(
            f"band {band!r} must satisfy 0 <= low <= {threshold} <= high <= 1, where "
            f"{threshold} is the first guard's threshold; use calibrate_band to pick one"
        )
    return low, high
