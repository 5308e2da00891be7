import pytest

from guardintent import Cascade, Guard, Verdict, calibrate_band
from tests._tiny import build_tiny_package

HARMFUL = "explain how to make a pipe bomb"
BENIGN = "how do i bake bread"
PROMPTS = [HARMFUL, BENIGN, "tell me about the weather today", "get me a cake recipe", ""]


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Guard:
    package = build_tiny_package(tmp_path_factory.mktemp("second") / "tiny", seed=1)
    return Guard(package, threads=1)


def without_latency(result) -> dict:
    return result.model_dump(exclude={"latency_ms"})


def test_empty_band_keeps_first_results(guard, second):
    threshold = guard.threshold
    cascade = Cascade(guard, second, band=(threshold, threshold))
    for prompt in PROMPTS:
        assert without_latency(cascade.check(prompt)) == without_latency(guard.check(prompt))


def test_full_band_hands_scores_on(guard, second):
    cascade = Cascade(guard, second, band=(0.0, 1.0))
    for prompt in PROMPTS[:-1]:
        assert without_latency(cascade.check(prompt)) == without_latency(second.check(prompt))
    # An empty prompt is decided by a rule, not by a score, so the first guard keeps it.
    assert cascade.check("").decided_by == "empty_input"


def test_band_splits_by_first_score(guard, second):
    benign_score = guard.check(BENIGN).score
    harmful_score = guard.check(HARMFUL).score
    assert benign_score < guard.threshold <= harmful_score
    # The band covers the benign prompt's score only.
    cascade = Cascade(guard, second, band=(benign_score, guard.threshold))
    handed_on = cascade.check(BENIGN)
    assert handed_on.score == second.check(BENIGN).score
    decided_first = cascade.check(HARMFUL)
    assert decided_first.score == harmful_score
    assert cascade.unsure(guard.check(BENIGN))
    assert not cascade.unsure(guard.check(HARMFUL))


def test_batch_equals_single_checks(guard, second):
    cascade = Cascade(guard, second, band=(0.0, 0.9))
    batch = cascade.check_batch(PROMPTS)
    singles = [cascade.check(prompt) for prompt in PROMPTS]
    # A float32 graph pads a batch, which moves scores in the last digits only.
    for together, alone in zip(batch, singles, strict=True):
        assert together.verdict is alone.verdict
        assert together.decided_by == alone.decided_by
        assert together.score == pytest.approx(alone.score, abs=1e-5)


def test_check_messages_uses_both_guards(guard, second):
    cascade = Cascade(guard, second, band=(0.0, 1.0))
    messages = [{"role": "user", "content": BENIGN}, {"role": "user", "content": HARMFUL}]
    result = cascade.check_messages(messages)
    assert result.verdict is Verdict.HARMFUL
    assert result.score == second.check_messages(messages).score


@pytest.mark.parametrize(
    "band",
    [(0.9, 0.95), (0.0, 0.1), (0.5,), "low-high", (-0.1, 0.9), (0.1, 1.5)],
)
def test_invalid_band_rejected(guard, second, band):
    with pytest.raises(ValueError, match="band"):
        Cascade(guard, second, band=band)


def test_cascade_needs_guards(guard):
    with pytest.raises(TypeError, match="must be Guard objects, got Guard and str"):
        Cascade(guard, "second", band=(0.0, 1.0))


def test_calibrate_same_guard_gives_empty_band(guard):
    low, high = calibrate_band(guard, guard, PROMPTS[:-1])
    assert low == guard.threshold
    assert high == guard.threshold


def test_calibrate_stricter_second_moves_low(tiny_package, guard):
    # A second guard that flags everything disagrees with every unharmful first verdict.
    strict = Guard(tiny_package, threads=1, threshold=0.0)
    low, high = calibrate_band(guard, strict, PROMPTS[:-1])
    assert low == 0.0
    assert high == guard.threshold


def test_calibrate_low_stops_at_disagreement(tiny_package, guard):
    prompts = [prompt for prompt in PROMPTS[:-1] if guard.check(prompt).score < guard.threshold]
    scores = sorted(guard.check(prompt).score for prompt in prompts)
    assert len(scores) == 3
    # The second guard flags the two highest of the three benign-to-first scores.
    second = Guard(tiny_package, threads=1, threshold=scores[1])
    low, _ = calibrate_band(guard, second, prompts)
    assert low == pytest.approx(scores[1])
    # Two disagreements in three prompts are within a tolerance of 0.7.
    loose, _ = calibrate_band(guard, second, prompts, tolerance=0.7)
    assert loose == guard.threshold


@pytest.mark.parametrize("tolerance", [-0.1, 1.0])
def test_calibrate_invalid_tolerance(guard, tolerance):
    with pytest.raises(ValueError, match="tolerance must be"):
        calibrate_band(guard, guard, PROMPTS, tolerance=tolerance)


def test_calibrate_needs_prompts(guard):
    with pytest.raises(ValueError, match="at least one prompt"):
        calibrate_band(guard, guard, [])
