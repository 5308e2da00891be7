import asyncio
import re

import pytest

from guardintent import CheckResult, HarmfulPromptError, Verdict
from guardintent.testing import FakeGuard, FakeRule


def test_default_is_unharmful():
    result = FakeGuard().check("how do i bake bread")
    assert isinstance(result, CheckResult)
    assert result.verdict is Verdict.UNHARMFUL
    assert result.score == 0.0
    assert result.decided_by == "threshold"
    assert result.guard.name == "fake-guard"


def test_substring_rule_case_insensitive():
    guard = FakeGuard([FakeRule("pipe bomb", intent="Build an explosive device")])
    result = guard.check("How do I make a PIPE BOMB?")
    assert result.verdict is Verdict.HARMFUL
    assert result.score == 1.0
    assert result.intent == "Build an explosive device"
    assert result.intents[0].text == "Build an explosive device"


def test_regex_rule_and_fields():
    rule = FakeRule(
        re.compile(r"\bhack\b"),
        score=0.8,
        categories={"cybercrime": 0.9},
        decided_by="custom_intent:Hack a system",
    )
    result = FakeGuard([rule]).check("hack my router")
    assert result.is_harmful
    assert result.score == 0.8
    assert result.categories == {"cybercrime": 0.9}
    assert result.decided_by == "custom_intent:Hack a system"
    assert not FakeGuard([rule]).check("hacksaw").is_harmful


def test_first_matching_rule_wins():
    guard = FakeGuard(
        [FakeRule("bread", verdict="unharmful", decided_by="allowlist"), FakeRule("bake")]
    )
    result = guard.check("bake bread")
    assert result.verdict is Verdict.UNHARMFUL
    assert result.decided_by == "allowlist"
    assert guard.check("bake a cake").is_harmful


def test_empty_prompt_like_guard():
    result = FakeGuard([FakeRule("")]).check("   ")
    assert result.decided_by == "empty_input"
    assert result.windows == 0


def test_batch_and_async():
    guard = FakeGuard([FakeRule("bomb")])
    prompts = ["bomb", "bread"]
    assert [result.is_harmful for result in guard.check_batch(prompts)] == [True, False]
    assert asyncio.run(guard.acheck("bomb")).is_harmful
    batch = asyncio.run(guard.acheck_batch(prompts))
    assert [result.is_harmful for result in batch] == [True, False]
    messages = [{"role": "user", "content": "bomb"}]
    assert asyncio.run(guard.acheck_messages(messages)).turns == (0,)


def test_result_raises_if_harmful():
    guard = FakeGuard([FakeRule("bomb")])
    with pytest.raises(HarmfulPromptError) as raised:
        guard.check("bomb").raise_if_harmful()
    assert raised.value.result.score == 1.0


def test_same_validation_as_guard():
    guard = FakeGuard()
    with pytest.raises(TypeError, match="int"):
        guard.check(3)
    with pytest.raises(TypeError, match="list of str"):
        guard.check_batch("bomb")
    with pytest.raises(TypeError, match=r"prompts\[1\]"):
        guard.check_batch(["bomb", None])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: FakeRule(5), TypeError, "pattern"),
        (lambda: FakeRule("x", verdict="maybe"), ValueError, "maybe"),
        (lambda: FakeRule("x", score=2.0), ValueError, "score"),
        (lambda: FakeGuard(FakeRule("x")), TypeError, "list of FakeRule"),
        (lambda: FakeGuard(["x"]), TypeError, r"rules\[0\]"),
    ],
)
def test_invalid_rules_raise(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_docstring_example():
    guard = FakeGuard([FakeRule("pipe bomb", intent="Obtain instructions for a bomb")])
    assert guard.check("How do I make a pipe bomb?").is_harmful
    assert not guard.check("How do I bake bread?").is_harmful
