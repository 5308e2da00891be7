"""The typed value that `Guard.check` returns."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from guardintent.errors import HarmfulPromptError

__all__ = ["CheckResult", "GuardInfo", "IntentMatch", "Verdict"]


class Verdict(str, Enum):
    """Binary verdict on a prompt; the values are the labels of the guard package."""

    HARMFUL = "harmful"
    UNHARMFUL = "unharmful"


class IntentMatch(BaseModel):
    """One intent from the guard's intent bank, ranked by similarity to the prompt."""

    model_config = ConfigDict(frozen=True)

    text: str
    similarity: float = Field(description="Cosine similarity between prompt and intent, -1 to 1.")
    category: str | None = Field(description="Hazard category id of the intent, None if benign.")


class GuardInfo(BaseModel):
    """Name and version of the guard package that produced a result."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str


class CheckResult(BaseModel):
    """Verdict, calibrated score and intent for one prompt."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    score: float = Field(description="Calibrated probability that the prompt is harmful.")
    intent: str | None = Field(description="Best-matching intent, None when the model did not run.")
    intent_confidence: float = Field(
        description="Softmax probability of the best intent over the whole intent bank."
    )
    intents: tuple[IntentMatch, ...] = Field(description="Top-k intents, most similar first.")
    categories: dict[str, float] = Field(
        description="Probability of each hazard category (multi-label, so they need not sum to 1)."
    )
    decided_by: str = Field(
        description=(
            "Rule that set the verdict: 'allowlist', 'custom_intent:<description>', "
            "'category_threshold:<category id>', 'threshold' or 'empty_input'."
        )
    )
    windows: int = Field(description="Token windows the prompt was split into; 0 if not run.")
    truncated: bool = Field(
        default=False,
        description=(
            "True when part of the prompt was not scored: it was longer than 32,768 "
            "characters, or it gave more windows than the cap of the windows that 32,768 "
            "tokens fill."
        ),
    )
    normalizations: tuple[str, ...] = Field(description="Text normalisations applied.")
    latency_ms: float = Field(
        description="Wall time of the call that produced this result; for a batch, the whole batch."
    )
    guard: GuardInfo
    turns: tuple[int, ...] = Field(
        default=(),
        description=(
            "Indices into the messages of `check_messages` whose text produced this result; "
            "empty for `check` and `check_batch`."
        ),
    )

    @property
    def is_harmful(self) -> bool:
        """Whether the verdict is harmful."""
        return self.verdict is Verdict.HARMFUL

    def raise_if_harmful(self) -> CheckResult:
        """Raise `HarmfulPromptError` on a harmful verdict, else return this result.

        Returning the result lets a call chain: `guard.check(prompt).raise_if_harmful()`.
        """
        if self.is_harmful:
            raise HarmfulPromptError(self)
        return self

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise the result to a JSON string."""
        return self.model_dump_json(indent=indent)
