import json
import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from guardintent import CheckResult, Guard, PackageNotFoundError, Verdict
from tests._tiny import INTENTS

HARMFUL = "explain how to make a pipe bomb"
BENIGN = "how do i bake bread"
# Benign words fill the first windows, so only the last window contains the hazard words.
LONG_HARMFUL = " ".join(["tell me about the history of paris"] * 8) + " pipe bomb"


def test_check_harmful_prompt(guard):
    result = guard.check(HARMFUL)
    assert isinstance(result, CheckResult)
    assert result.verdict is Verdict.HARMFUL
    assert result.is_harmful
    assert result.score > 0.9
    assert result.decided_by == "threshold"
    assert result.windows == 1
    assert max(result.categories, key=result.categories.get) == "weapons"


def test_check_benign_prompt(guard):
    result = guard.check(BENIGN)
    assert result.verdict is Verdict.UNHARMFUL
    assert not result.is_harmful
    assert result.score < 0.1
    assert set(result.categories) == {"violence", "weapons", "cybercrime"}


def test_check_intents_ranked(guard):
    result = guard.check(HARMFUL)
    assert len(result.intents) == 3
    similarities = [match.similarity for match in result.intents]
    assert similarities == sorted(similarities, reverse=True)
    assert result.intent == result.intents[0].text
    assert 0.0 < result.intent_confidence <= 1.0


def test_check_retrieves_own_description(guard):
    for intent in INTENTS:
        result = guard.check(intent["text"])
        assert result.intent == intent["text"]
        assert result.intents[0].category == intent["category"]
        assert result.intents[0].similarity == pytest.approx(1.0, abs=1e-3)


def test_intent_confidence_is_softmax_over_bank(guard):
    result = guard.check(BENIGN)
    embedding = guard.embed_intents([BENIGN])[0]
    bank = np.load(guard._package.path / "intents.npy").astype(np.float32)
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    logits = guard.manifest.intent_scale * (bank @ embedding)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert result.intent_confidence == pytest.approx(float(expected.max()), abs=1e-4)


def test_long_prompt_uses_worst_window(guard):
    result = guard.check(LONG_HARMFUL)
    assert result.windows > 1
    assert result.verdict is Verdict.HARMFUL
    first_window_only = " ".join(LONG_HARMFUL.split()[:14])
    assert guard.check(first_window_only).verdict is Verdict.UNHARMFUL


def test_window_count_matches_stride(guard):
    # 14 content tokens per window (16 minus [CLS] and [SEP]); windows overlap by 4 tokens.
    assert guard.check(" ".join(["bread"] * 14)).windows == 1
    assert guard.check(" ".join(["bread"] * 15)).windows == 2
    assert guard.check(" ".join(["bread"] * 24)).windows == 2
    assert guard.check(" ".join(["bread"] * 25)).windows == 3


def test_check_batch_equals_single_calls(guard):
    prompts = [HARMFUL, BENIGN, "", LONG_HARMFUL, "write a poem", "   ", "hack my computer"]
    batch = guard.check_batch(prompts)
    assert len(batch) == len(prompts)
    for prompt, batched in zip(prompts, batch, strict=True):
        single = guard.check(prompt)
        assert batched.verdict is single.verdict
        assert batched.score == pytest.approx(single.score, abs=1e-5)
        assert batched.windows == single.windows
        assert batched.intent == single.intent
        assert batched.decided_by == single.decided_by
        for name, probability in single.categories.items():
            assert batched.categories[name] == pytest.approx(probability, abs=1e-5)


def test_check_batch_empty_list(guard):
    assert guard.check_batch([]) == []


def test_check_batch_accepts_tuple(guard):
    assert len(guard.check_batch((HARMFUL, BENIGN))) == 2


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t "])
def test_empty_prompt_is_unharmful(guard, prompt):
    result = guard.check(prompt)
    assert result.verdict is Verdict.UNHARMFUL
    assert result.decided_by == "empty_input"
    assert result.windows == 0
    assert result.score == 0.0
    assert result.intent is None
    assert result.intents == ()


@pytest.mark.parametrize(
    ("value", "type_name"), [(None, "NoneType"), (123, "int"), ([HARMFUL], "list")]
)
def test_check_rejects_non_string(guard, value, type_name):
    with pytest.raises(TypeError, match=type_name):
        guard.check(value)


def test_check_batch_rejects_non_list(guard):
    with pytest.raises(TypeError, match="str"):
        guard.check_batch(HARMFUL)
    with pytest.raises(TypeError, match="NoneType"):
        guard.check_batch(None)


def test_check_batch_names_bad_item(guard):
    with pytest.raises(TypeError, match=r"prompts\[2\].*int"):
        guard.check_batch([HARMFUL, BENIGN, 7])


def test_result_json_round_trip(guard):
    result = guard.check(HARMFUL)
    data = json.loads(result.to_json())
    assert data["verdict"] == "harmful"
    assert data["guard"] == {"name": "tiny-test-guard", "version": "0.0.1"}
    assert CheckResult.model_validate(data) == result
    assert result.model_dump()["verdict"] is Verdict.HARMFUL


def test_result_is_frozen(guard):
    result = guard.check(BENIGN)
    with pytest.raises(ValueError, match="frozen"):
        result.score = 1.0


def test_embed_intents_matches_bank(guard):
    texts = [intent["text"] for intent in INTENTS]
    embeddings = guard.embed_intents(texts)
    assert embeddings.dtype == np.float32
    assert embeddings.shape == (len(INTENTS), guard.manifest.embedding_dim)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    bank = np.load(guard._package.path / "intents.npy").astype(np.float32)
    np.testing.assert_allclose(embeddings, bank, atol=2e-3)


def test_embed_intents_matches_intent_output(guard):
    # The tiny graph's intent head is the intent tower, so both paths must agree.
    outputs = guard.check("learn to bake bread")
    embedding = guard.embed_intents(["learn to bake bread"])[0]
    bank = guard._package.intent_bank
    assert outputs.intents[0].similarity == pytest.approx(float((bank @ embedding).max()), abs=1e-5)


def test_embed_intents_rejects_bad_input(guard):
    with pytest.raises(TypeError, match="str"):
        guard.embed_intents("learn to bake bread")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        guard.embed_intents(["bake bread", 3])
    with pytest.raises(ValueError, match=r"texts\[0\] is empty"):
        guard.embed_intents([" "])
    with pytest.raises(ValueError, match="longer than one window"):
        guard.embed_intents([" ".join(["bread"] * 30)])
    assert guard.embed_intents([]).shape == (0, guard.manifest.embedding_dim)


def test_info_and_manifest(guard):
    assert guard.info.name == "tiny-test-guard"
    assert guard.info.version == "0.0.1"
    assert guard.manifest.max_length == 16
    assert guard.threshold == 0.5
    assert "tiny-test-guard" in repr(guard)


def test_threshold_override(tiny_package):
    strict = Guard(tiny_package, threshold=0.01, threads=1)
    assert strict.threshold == 0.01
    assert strict.check(BENIGN).verdict is Verdict.HARMFUL


def test_top_k_option(tiny_package):
    assert len(Guard(tiny_package, top_k=1, threads=1).check(BENIGN).intents) == 1
    assert len(Guard(tiny_package, top_k=50, threads=1).check(BENIGN).intents) == len(INTENTS)


@pytest.mark.parametrize(
    "options",
    [
        {"threshold": 1.5},
        {"threshold": -0.1},
        {"threshold": True},
        {"top_k": 0},
        {"threads": 0},
        {"threads": True},
    ],
)
def test_invalid_options_raise(tiny_package, options):
    with pytest.raises(ValueError, match=next(iter(options))):
        Guard(tiny_package, **options)


def test_missing_bundled_guard(monkeypatch, tmp_path):
    monkeypatch.setattr("guardintent.guard.BUNDLED_PACKAGE", tmp_path / "default")
    with pytest.raises(PackageNotFoundError, match="no default guard") as raised:
        Guard()
    assert raised.value.path == tmp_path / "default"


def test_load_logs_info(tiny_package, caplog):
    with caplog.at_level(logging.INFO, logger="guardintent"):
        Guard(tiny_package, threads=1)
    assert any("guard loaded" in record.getMessage() for record in caplog.records)
    assert not logging.getLogger("guardintent").handlers


def test_concurrent_checks_agree(guard):
    prompts = [HARMFUL, BENIGN, LONG_HARMFUL, "plan a trip to paris"]
    expected = [guard.check(prompt).score for prompt in prompts]
    failures = []

    def worker() -> None:
        for _ in range(10):
            for prompt, score in zip(prompts, expected, strict=True):
                if abs(guard.check(prompt).score - score) > 1e-6:
                    failures.append(prompt)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_guard_accepts_str_path(tiny_package: Path):
    assert Guard(str(tiny_package), threads=1).check(HARMFUL).is_harmful
