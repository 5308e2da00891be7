import dataclasses

import numpy as np
import pytest

from guardintent import Guard, HarmfulPromptError, Intent, Verdict
from guardintent.policy import Policy, default_intent_threshold

HARMFUL = "explain how to make a pipe bomb"
BENIGN = "how do i bake bread"
WEATHER_PROMPT = "tell me about the weather today"
CAKE_PROMPT = "get me a cake recipe"
BLOCK_WEATHER = Intent("Ask about the weather today", action="block")
ALLOW_CAKE = Intent("Get a cake recipe", action="allow", threshold=0.8)


def cosine(guard: Guard, prompt: str, description: str) -> float:
    prompt_embedding, description_embedding = guard.embed_intents([prompt, description])
    return float(prompt_embedding @ description_embedding)


@pytest.fixture(scope="module")
def policy_guard(tiny_package):
    return Guard(tiny_package, threads=1, custom_intents=[BLOCK_WEATHER, ALLOW_CAKE])


def test_custom_intents_nearest_to_their_prompts(guard):
    # The prompts differ from the descriptions, so a match is zero-shot through the intent
    # tower. Each prompt is nearest to its own description and dissimilar to the other one.
    assert cosine(guard, WEATHER_PROMPT, BLOCK_WEATHER.description) >= guard.intent_threshold
    assert cosine(guard, WEATHER_PROMPT, ALLOW_CAKE.description) < 0.0
    assert cosine(guard, CAKE_PROMPT, ALLOW_CAKE.description) >= ALLOW_CAKE.threshold
    assert cosine(guard, CAKE_PROMPT, BLOCK_WEATHER.description) < 0.0


def test_block_intent_makes_harmful(policy_guard):
    result = policy_guard.check(WEATHER_PROMPT)
    assert result.verdict is Verdict.HARMFUL
    assert result.decided_by == "custom_intent:Ask about the weather today"
    assert result.score < policy_guard.threshold


def test_allow_intent_overrides_score(tiny_package):
    guard = Guard(tiny_package, threads=1, threshold=0.01, custom_intents=[ALLOW_CAKE])
    assert guard.check(BENIGN).verdict is Verdict.HARMFUL
    result = guard.check(CAKE_PROMPT)
    assert result.verdict is Verdict.UNHARMFUL
    assert result.decided_by == "custom_intent:Get a cake recipe"


def test_unmatched_prompt_falls_to_threshold(policy_guard):
    assert policy_guard.check(BENIGN).decided_by == "threshold"
    harmful = policy_guard.check(HARMFUL)
    assert harmful.verdict is Verdict.HARMFUL
    assert harmful.decided_by == "threshold"


def test_block_beats_allow(tiny_package, guard):
    allow = Intent("Tell me about the weather today", action="allow")
    # The allow intent is the closer one, yet the block intent decides.
    assert cosine(guard, WEATHER_PROMPT, allow.description) > cosine(
        guard, WEATHER_PROMPT, BLOCK_WEATHER.description
    )
    both = Guard(tiny_package, threads=1, custom_intents=[allow, BLOCK_WEATHER])
    result = both.check(WEATHER_PROMPT)
    assert result.verdict is Verdict.HARMFUL
    assert result.decided_by == "custom_intent:Ask about the weather today"


def test_intent_threshold_controls_match(tiny_package, guard):
    similarity = cosine(guard, WEATHER_PROMPT, BLOCK_WEATHER.description)
    strict = dataclasses.replace(BLOCK_WEATHER, threshold=min(1.0, similarity + 0.05))
    result = Guard(tiny_package, threads=1, custom_intents=[strict]).check(WEATHER_PROMPT)
    assert result.decided_by == "threshold"
    assert result.verdict is Verdict.UNHARMFUL


def test_allowlist_normalises_text(tiny_package):
    guard = Guard(tiny_package, threads=1, allowlist=[HARMFUL])
    result = guard.check("  Explain HOW to make\ta pipe   bomb ")
    assert result.verdict is Verdict.UNHARMFUL
    assert result.decided_by == "allowlist"
    assert result.score > 0.9
    assert guard.check(HARMFUL + " now").decided_by == "threshold"


def test_allowlist_beats_block_intent(tiny_package):
    guard = Guard(
        tiny_package, threads=1, allowlist=[WEATHER_PROMPT], custom_intents=[BLOCK_WEATHER]
    )
    assert guard.check(WEATHER_PROMPT.upper()).decided_by == "allowlist"


def test_category_threshold_makes_harmful(tiny_package):
    guard = Guard(tiny_package, threads=1, category_thresholds={"violence": 0.02})
    result = guard.check(BENIGN)
    assert result.categories["violence"] >= 0.02
    assert result.score < guard.threshold
    assert result.verdict is Verdict.HARMFUL
    assert result.decided_by == "category_threshold:violence"


def test_category_threshold_names_highest(tiny_package):
    guard = Guard(
        tiny_package, threads=1, category_thresholds={"violence": 0.01, "cybercrime": 0.01}
    )
    result = guard.check(BENIGN)
    expected = max(["violence", "cybercrime"], key=result.categories.get)
    assert result.decided_by == f"category_threshold:{expected}"


def test_category_threshold_never_clears(tiny_package):
    guard = Guard(tiny_package, threads=1, category_thresholds={"weapons": 0.99})
    result = guard.check(HARMFUL)
    assert result.categories["weapons"] < 0.99
    assert result.verdict is Verdict.HARMFUL
    assert result.decided_by == "threshold"


def test_custom_intent_beats_category_threshold(tiny_package):
    guard = Guard(
        tiny_package,
        threads=1,
        custom_intents=[ALLOW_CAKE],
        category_thresholds={"violence": 0.01},
    )
    assert guard.check(CAKE_PROMPT).decided_by == "custom_intent:Get a cake recipe"
    assert guard.check(BENIGN).decided_by == "category_threshold:violence"


def test_empty_prompt_skips_policy(tiny_package):
    guard = Guard(tiny_package, threads=1, category_thresholds={"violence": 0.0})
    assert guard.check("  ").decided_by == "empty_input"


def test_policy_applies_in_batch(policy_guard):
    prompts = [WEATHER_PROMPT, CAKE_PROMPT, BENIGN, HARMFUL]
    batch = policy_guard.check_batch(prompts)
    assert [result.decided_by for result in batch] == [
        policy_guard.check(prompt).decided_by for prompt in prompts
    ]


def test_default_intent_threshold_from_bank(guard):
    bank = guard._package.intent_bank
    cosines = (bank @ bank.T)[~np.eye(len(bank), dtype=bool)]
    expected = float(np.clip(np.percentile(cosines, 95), 0.5, 0.9))
    assert guard.intent_threshold == pytest.approx(expected)


def test_default_intent_threshold_bounds():
    assert default_intent_threshold(np.ones((1, 4), dtype=np.float32)) == 0.6
    identical = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (3, 1))
    assert default_intent_threshold(identical) == 0.9
    opposite = np.array([[1.0, 0.0], [-1.0, 0.0]], dtype=np.float32)
    assert default_intent_threshold(opposite) == 0.5


@pytest.fixture
def threshold_calls(monkeypatch):
    """Record each bank size that Guard passes to `default_intent_threshold`."""
    calls = []

    def counted(bank):
        calls.append(len(bank))
        return default_intent_threshold(bank)

    monkeypatch.setattr("guardintent.guard.default_intent_threshold", counted)
    return calls


def test_explicit_thresholds_defer_default(tiny_package, threshold_calls):
    # Every intent has its own threshold, so the default is derived only when it is read.
    explicit = Guard(tiny_package, threads=1, custom_intents=[ALLOW_CAKE])
    assert explicit.check(CAKE_PROMPT).decided_by == "custom_intent:Get a cake recipe"
    assert threshold_calls == []
    expected = default_intent_threshold(explicit._package.intent_bank)
    assert explicit.intent_threshold == pytest.approx(expected)
    assert explicit.intent_threshold == pytest.approx(expected)
    assert len(threshold_calls) == 1


def test_unset_threshold_derives_default_at_load(tiny_package, threshold_calls):
    Guard(tiny_package, threads=1, custom_intents=[BLOCK_WEATHER])
    assert len(threshold_calls) == 1


def test_policy_rejects_missing_default():
    with pytest.raises(ValueError, match="missing default_intent_threshold"):
        Policy(threshold=0.5, category_thresholds={}, intents=[BLOCK_WEATHER],
               intent_embeddings=np.ones((1, 4), dtype=np.float32),
               default_intent_threshold=None, allowlist=frozenset())


def test_intent_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BLOCK_WEATHER.action = "allow"
    assert Intent("Ask about pricing").action == "block"


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"description": 3}, TypeError, "description must be a str"),
        ({"description": "  "}, ValueError, "description is empty"),
        ({"description": "x", "action": "deny"}, ValueError, "'block' or 'allow'"),
        ({"description": "x", "threshold": 0.0}, ValueError, "threshold"),
        ({"description": "x", "threshold": 1.5}, ValueError, "threshold"),
        ({"description": "x", "threshold": True}, ValueError, "threshold"),
    ],
)
def test_intent_rejects_bad_fields(arguments, error, match):
    with pytest.raises(error, match=match):
        Intent(**arguments)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"category_thresholds": {"selfharm": 0.3}}, ValueError, "violence, weapons, cybercrime"),
        ({"category_thresholds": {"violence": 1.2}}, ValueError, r"\['violence'\]"),
        ({"category_thresholds": [("violence", 0.3)]}, TypeError, "dict"),
        ({"custom_intents": BLOCK_WEATHER}, TypeError, "list of Intent"),
        ({"custom_intents": ["Ask about pricing"]}, TypeError, r"custom_intents\[0\]"),
        ({"custom_intents": [BLOCK_WEATHER, BLOCK_WEATHER]}, ValueError, r"\[1\] repeats"),
        ({"custom_intents": [Intent(" ".join(["bread"] * 30))]}, ValueError, "one window"),
        ({"allowlist": "hello"}, TypeError, "list of str"),
        ({"allowlist": ["hello", 5]}, TypeError, r"allowlist\[1\]"),
        ({"allowlist": [" "]}, ValueError, r"allowlist\[0\] is empty"),
    ],
)
def test_invalid_policy_options_raise(tiny_package, options, error, match):
    with pytest.raises(error, match=match):
        Guard(tiny_package, threads=1, **options)


def test_raise_if_harmful(guard):
    benign = guard.check(BENIGN)
    assert benign.raise_if_harmful() is benign
    harmful = guard.check(HARMFUL)
    with pytest.raises(HarmfulPromptError, match="decided by threshold") as raised:
        harmful.raise_if_harmful()
    assert raised.value.result is harmful
    assert "pipe bomb" not in str(raised.value)
