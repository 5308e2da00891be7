"""Test doubles for code that uses a guard: `FakeGuard` classifies by rules, with no model.

Example::

    from guardintent.testing import FakeGuard, FakeRule

    guard = FakeGuard([FakeRule("pipe bomb", intent="Obtain instructions for a bomb")])
    assert guard.check("How do I make a pipe bomb?").is_harmful
    assert not guard.check("How do I bake bread?").is_harmful
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guardintent._messages import judge_conversation
from guardintent.result import CheckResult, GuardInfo, IntentMatch, Verdict

__all__ = ["FakeGuard", "FakeRule"]


@dataclass(frozen=True)
class FakeRule:
    """A rule of `FakeGuard`: prompts that match `pattern` get this verdict, score and intent.

    A str pattern matches as a case-insensitive substring, a compiled `re.Pattern` by
    `search`. `score` defaults to 1.0 for a harmful verdict and 0.0 for an unharmful one.
    """

    pattern: str | re.Pattern[str]
    verdict: Verdict | str = Verdict.HARMFUL
    score: float | None = None
    intent: str | None = None
    categories: Mapping[str, float] = field(default_factory=dict)
    decided_by: str = "threshold"

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, (str, re.Pattern)):
            raise TypeError(
                f"FakeRule pattern must be a str or re.Pattern, got {type(self.pattern).__name__}"
            )
        # Verdict() raises ValueError naming the value for anything but the two labels.
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"FakeRule score must be from 0 to 1, got {self.score!r}")

    def matches(self, prompt: str) -> bool:
        """Return whether `prompt` contains the pattern."""
        if isinstance(self.pattern, str):
            return self.pattern.casefold() in prompt.casefold()
        return self.pattern.search(prompt) is not None


class FakeGuard:
    """A deterministic stand-in for `Guard` that returns real `CheckResult` objects.

    The first rule that matches a prompt sets its result. A prompt that no rule matches is
    unharmful with score 0.0, and an empty or blank prompt gets the empty-input result, as
    with `Guard`. `check_messages` applies the same conversation rule as `Guard`.
    """

    def __init__(
        self,
        rules: Sequence[FakeRule] = (),
        *,
        name: str = "fake-guard",
        version: str = "0.0.0",
    ) -> None:
        if isinstance(rules, FakeRule) or not isinstance(rules, (list, tuple)):
            raise TypeError(f"rules must be a list of FakeRule, got {type(rules).__name__}")
        for index, rule in enumerate(rules):
            if not isinstance(rule, FakeRule):
                raise TypeError(f"rules[{index}] must be a FakeRule, got {type(rule).__name__}")
        self.rules = tuple(rules)
        self.info = GuardInfo(name=name, version=version)

    def check(self, prompt: str) -> CheckResult:
        """Classify one prompt by the first matching rule."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        return self._result(prompt)

    def check_batch(self, prompts: Sequence[str]) -> list[CheckResult]:
        """Classify each prompt as `check` would."""
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
            raise TypeError(f"prompts must be a list of str, got {type(prompts).__name__}")
        for index, prompt in enumerate(prompts):
            if not isinstance(prompt, str):
                raise TypeError(f"prompts[{index}] must be a str, got {type(prompt).__name__}")
        return [self._result(prompt) for prompt in prompts]

    def check_messages(
        self, messages: Sequence[Mapping[str, Any]], *, context_turns: int = 4
    ) -> CheckResult:
        """Classify the user side of a chat with the rule of `Guard.check_messages`."""
        return judge_conversation(messages, self.check_batch, context_turns)

    async def acheck(self, prompt: str) -> CheckResult:
        """Return `check(prompt)` from a coroutine."""
        await asyncio.sleep(0)
        return self.check(prompt)

    async def acheck_batch(self, prompts: Sequence[str]) -> list[CheckResult]:
        """Return `check_batch(prompts)` from a coroutine."""
        await asyncio.sleep(0)
        return self.check_batch(prompts)

    async def acheck_messages(
        self, messages: Sequence[Mapping[str, Any]], *, context_turns: int = 4
    ) -> CheckResult:
        """Return `check_messages(messages)` from a coroutine."""
        await asyncio.sleep(0)
        return self.check_messages(messages, context_turns=context_turns)

    def _result(self, prompt: str) -> CheckResult:
        start = time.perf_counter()
        if not prompt.strip():
            return self._build(Verdict.UNHARMFUL, 0.0, None, {}, "empty_input", 0, start)
        for rule in self.rules:
            if rule.matches(prompt):
                score = rule.score
                if score is None:
                    score = 1.0 if rule.verdict is Verdict.HARMFUL else 0.0
                return self._build(
                    Verdict(rule.verdict),
                    score,
                    rule.intent,
                    dict(rule.categories),
                    rule.decided_by,
                    1,
                    start,
                )
        return self._build(Verdict.UNHARMFUL, 0.0, None, {}, "threshold", 1, start)

    def _build(
        self,
        verdict: Verdict,
        score: float,
        intent: str | None,
        categories: dict[str, float],
        decided_by: str,
        windows: int,
        start: float,
    ) -> CheckResult:
        intents = (
            () if intent is None else (IntentMatch(text=intent, similarity=1.0, category=None),)
        )
        return CheckResult(
            verdict=verdict,
            score=score,
            intent=intent,
            intent_confidence=0.0 if intent is None else 1.0,
            intents=intents,
            categories=categories,
            decided_by=decided_by,
            windows=windows,
            normalizations=(),
            latency_ms=(time.perf_counter() - start) * 1000.0,
            guard=self.info,
        )

    def __repr__(self) -> str:
        return f"FakeGuard(rules={len(self.rules)})"
