"""The distill, dpo and grpo regimes, the intent-free baseline and smaller students."""

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guardintent.taxonomy import CATEGORY_IDS  # noqa: E402
from guardintent.train.cli import main as train_main  # noqa: E402
from guardintent.train.cli import read_train_file  # noqa: E402
from guardintent.train.dataset import (  # noqa: E402
    IntentBank,
    TokenisedExamples,
    load_tokenizer,
)
from guardintent.train.model import IntentGuardModel  # noqa: E402
from guardintent.train.objectives import (  # noqa: E402
    DistillObjective,
    DPOObjective,
    GRPOObjective,
    LossWeights,
    pick_rejected,
    wrong_verdict,
)
from guardintent.train.teacher import (  # noqa: E402
    TeacherEnsemble,
    TeacherTargets,
    label_with_guard,
    label_with_guards,
)
from guardintent.train.trainer import TrainConfig, _judge_embeddings, train  # noqa: E402
from tests._tiny import build_tiny_package  # noqa: E402
from tests._toy_training import TRAIN_SETTINGS  # noqa: E402


def _toy_data(tiny_encoder, toy_train_file, **kwargs):
    examples = read_train_file(toy_train_file)
    tokenizer = load_tokenizer(tiny_encoder / "tokenizer.json", TRAIN_SETTINGS["max_length"],
                               TRAIN_SETTINGS["window_stride"])
    bank = IntentBank.from_examples(examples)
    data = TokenisedExamples(examples, tokenizer, list(CATEGORY_IDS), bank.texts,
                             intent_priors=bank.harm_priors, **kwargs)
    return examples, bank, data


def _card(final):
    return json.loads((final / "data_card.json").read_text())["training"]


def _optimise(objective, data, steps, seed=0, extra_intents=4):
    """Run `steps` Adam steps of `objective` on batches of 16 toy examples."""
    optimizer = torch.optim.Adam(objective.parameters(), lr=3e-3)
    objective.train()
    history = []
    for step in range(steps):
        for indices in data.batch_order(16, seed, step):
            batch = data.collate(indices, extra_intents, step)
            loss, parts = objective(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(parts)
    return history


@pytest.fixture(scope="module")
def teacher_targets(tiny_package, tiny_encoder, toy_train_file, tmp_path_factory):
    examples = read_train_file(toy_train_file)
    bank = IntentBank.from_examples(examples)
    cache = tmp_path_factory.mktemp("teacher")
    targets = label_with_guard(tiny_package, examples, bank.texts, list(CATEGORY_IDS),
                               cache_dir=cache)
    return targets, cache


def test_teacher_targets_shapes(teacher_targets, toy_train_file):
    targets, _ = teacher_targets
    examples = read_train_file(toy_train_file)
    assert targets.harm.shape == (len(examples),)
    assert targets.categories.shape == (len(examples), len(CATEGORY_IDS))
    assert targets.prompt_embeddings.shape[0] == len(examples)
    assert np.all((targets.harm >= 0) & (targets.harm <= 1))
    labels = np.array([e.label == "harmful" for e in examples])
    assert np.array_equal(targets.agrees, (targets.harm >= 0.5) == labels)


def test_teacher_categories_follow_names(teacher_targets, tiny_package):
    from tests._tiny import CATEGORIES

    names = [category["id"] for category in CATEGORIES]
    targets, _ = teacher_targets
    for column, name in enumerate(CATEGORY_IDS):
        if name not in names:
            assert np.all(targets.categories[:, column] == 0.0)
    shared = [CATEGORY_IDS.index(name) for name in names if name in CATEGORY_IDS]
    assert shared
    assert np.any(targets.categories[:, shared] > 0.0)


def test_teacher_summary_counts(teacher_targets):
    targets, _ = teacher_targets
    summary = targets.summary()
    assert summary["examples"] == len(targets.agrees)
    assert summary["kept"] == int(targets.agrees.sum())


def test_teacher_cache_round_trip(teacher_targets, tiny_package, toy_train_file):
    targets, cache = teacher_targets
    files = list(cache.glob("teacher-*.npz"))
    assert len(files) == 1
    loaded = TeacherTargets.load(files[0])
    assert np.array_equal(loaded.harm, targets.harm)
    assert loaded.scale == pytest.approx(targets.scale)


def test_teacher_intent_probabilities_normalised(teacher_targets):
    targets, _ = teacher_targets
    probabilities = targets.intent_probabilities(np.array([0, 3]), np.array([0, 1, 2]))
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def second_package(tmp_path_factory):
    """A tiny guard with other weights, so an ensemble of it and `tiny_package` is not trivial."""
    return build_tiny_package(tmp_path_factory.mktemp("second-guard"), seed=1)


def test_teacher_ensemble_averages_members(teacher_targets, toy_train_file):
    first, _ = teacher_targets
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=first.prompt_embeddings.shape).astype(np.float32)
    second = dataclasses.replace(
        first, harm=(1.0 - first.harm).astype(np.float32), categories=first.categories[::-1].copy(),
        prompt_embeddings=embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True),
        scale=5.0)
    labels = np.array([e.label == "harmful" for e in read_train_file(toy_train_file)])
    ensemble = TeacherEnsemble.average([first, second], labels)

    assert np.allclose(ensemble.harm, 0.5 * (first.harm + second.harm))
    assert np.allclose(ensemble.categories, 0.5 * (first.categories + second.categories))
    assert np.array_equal(ensemble.agrees, (ensemble.harm >= 0.5) == labels)
    rows, candidates = np.array([0, 2, 5]), np.array([1, 0, 3, 2])
    mixed = ensemble.intent_probabilities(rows, candidates)
    expected = 0.5 * (first.intent_probabilities(rows, candidates)
                      + second.intent_probabilities(rows, candidates))
    assert np.allclose(mixed, expected)
    assert np.allclose(mixed.sum(axis=1), 1.0, atol=1e-5)
    summary = ensemble.summary()
    assert summary["kept"] == int(ensemble.agrees.sum())
    assert [member["kept"] for member in summary["members"]] == [
        int(first.agrees.sum()), int(second.agrees.sum())]


def test_teacher_ensemble_rejects_other_examples(teacher_targets):
    targets, _ = teacher_targets
    shorter = dataclasses.replace(targets, harm=targets.harm[:-1])
    with pytest.raises(ValueError, match="different numbers of examples"):
        TeacherEnsemble.average([targets, shorter], targets.agrees)
    with pytest.raises(ValueError, match="at least one member"):
        TeacherEnsemble.average([], targets.agrees)


def test_label_with_two_guards(tiny_package, second_package, toy_train_file, tmp_path):
    examples = read_train_file(toy_train_file)
    bank = IntentBank.from_examples(examples)
    alone = label_with_guards([tiny_package], examples, bank.texts, list(CATEGORY_IDS))
    assert isinstance(alone, TeacherTargets)
    both = label_with_guards([tiny_package, second_package], examples, bank.texts,
                             list(CATEGORY_IDS), cache_dir=tmp_path)
    second = label_with_guard(second_package, examples, bank.texts, list(CATEGORY_IDS))
    assert isinstance(both, TeacherEnsemble)
    assert not np.allclose(alone.harm, second.harm)
    assert np.allclose(both.harm, 0.5 * (alone.harm + second.harm), atol=1e-6)
    assert len(list(tmp_path.glob("teacher-*.npz"))) == 2


def test_collate_extra_intents_deterministic(tiny_encoder, toy_train_file):
    _, bank, data = _toy_data(tiny_encoder, toy_train_file)
    first = data.collate([0, 1, 2], extra_intents=3, seed=7)
    again = data.collate([0, 1, 2], extra_intents=3, seed=7)
    other = data.collate([0, 1, 2], extra_intents=3, seed=8)
    own = len({e for e in (data.examples[i].intent for i in (0, 1, 2))})
    assert first.intent_ids.shape[0] == own + 3
    assert torch.equal(first.intent_ids, again.intent_ids)
    assert len(bank.texts) > own + 3
    assert first.intent_priors.shape == (own + 3,)
    assert not torch.equal(first.intent_ids, other.intent_ids) or len(bank.texts) == own + 3


def test_collate_judge_similarity(tiny_encoder, toy_train_file):
    examples = read_train_file(toy_train_file)
    bank = IntentBank.from_examples(examples)
    judge = np.eye(len(bank.texts), dtype=np.float32)
    _, _, data = _toy_data(tiny_encoder, toy_train_file, judge_embeddings=judge)
    batch = data.collate([0, 1, 2, 3], extra_intents=2, seed=0)
    rows = torch.arange(4)
    # Under an identity judge, each example is similar to its own intent only.
    assert torch.all(batch.judge_similarity[rows, batch.intent_index] == 1.0)
    assert float(batch.judge_similarity.sum()) == 4.0


def test_wrong_verdict_and_rejected(tiny_encoder, toy_train_file):
    _, _, data = _toy_data(tiny_encoder, toy_train_file)
    batch = data.collate(list(range(8)), extra_intents=4, seed=0)
    flips = wrong_verdict(batch)
    harmful = batch.labels == 1
    implies = batch.intent_priors >= 0.5
    assert torch.equal(flips, implies[None, :] != harmful[:, None])
    uniform = torch.zeros(len(batch.labels), batch.intent_ids.shape[0])
    rejected = pick_rejected(uniform, batch)
    assert torch.all(rejected != batch.intent_index)
    # With equal reference scores, an intent of the other verdict is always rejected.
    assert torch.all(flips[torch.arange(len(rejected)), rejected])


def test_distill_loss_falls(tiny_encoder, toy_train_file, teacher_targets):
    targets, _ = teacher_targets
    _, _, data = _toy_data(tiny_encoder, toy_train_file, teacher=targets)
    torch.manual_seed(0)
    model = _fresh_model(tiny_encoder)
    objective = DistillObjective(model, LossWeights())
    history = _optimise(objective, data, steps=12)
    assert history[-1]["harm"] < history[0]["harm"]
    assert history[-1]["intent"] < history[0]["intent"]


def test_distill_verdict_only_parts(tiny_encoder, toy_train_file, teacher_targets):
    targets, _ = teacher_targets
    _, _, data = _toy_data(tiny_encoder, toy_train_file, teacher=targets)
    objective = DistillObjective(_fresh_model(tiny_encoder), LossWeights(), verdict_only=True)
    _, parts = objective(data.collate(list(range(8))))
    assert set(parts) == {"harm"}


def test_distill_needs_teacher(tiny_encoder, toy_train_file):
    _, _, data = _toy_data(tiny_encoder, toy_train_file)
    objective = DistillObjective(_fresh_model(tiny_encoder), LossWeights())
    with pytest.raises(ValueError, match="teacher targets"):
        objective(data.collate([0, 1]))


def test_dpo_prefers_chosen(trained_checkpoint, tiny_encoder, toy_train_file):
    _, _, data = _toy_data(tiny_encoder, toy_train_file)
    torch.manual_seed(0)
    # No anchor, so the margin can only grow through the preference term.
    objective = DPOObjective(IntentGuardModel.load(trained_checkpoint).train(),
                             IntentGuardModel.load(trained_checkpoint), LossWeights(), beta=0.5,
                             anchor=0.0)
    before = _preference_margin(objective, data)
    _optimise(objective, data, steps=15)
    after = _preference_margin(objective, data)
    assert after > before


def _preference_margin(objective, data):
    """Return the mean log-probability margin of chosen over reference-rejected intents."""
    from guardintent.train.objectives import intent_log_probs, most_harmful_window

    objective.eval()
    margins = []
    with torch.no_grad():
        for indices in data.batch_order(16, 0, 0):
            batch = data.collate(indices, 4, 0)
            output = objective.model(batch.input_ids, batch.attention_mask)
            best = most_harmful_window(output.harm_logits, batch.window_owner, len(batch.labels))
            policy = intent_log_probs(objective.model, output.intent_embedding[best], batch)
            rejected = pick_rejected(objective._reference_log_probs(batch), batch)
            rows = torch.arange(len(rejected))
            margins.append((policy[rows, batch.intent_index] - policy[rows, rejected]).mean())
    return float(torch.stack(margins).mean())


def test_grpo_reward_rises(trained_checkpoint, tiny_encoder, toy_train_file):
    examples = read_train_file(toy_train_file)
    bank = IntentBank.from_examples(examples)
    config = TrainConfig(output_dir=tiny_encoder, base_model=tiny_encoder, max_length=16)
    judge = _judge_embeddings(config, bank.texts)
    _, _, data = _toy_data(tiny_encoder, toy_train_file, judge_embeddings=judge)
    torch.manual_seed(0)
    # A fresh policy reads intents poorly, so the reward has room to rise.
    policy = _fresh_model(tiny_encoder)
    # No anchor, so the reward can only rise through the policy gradient.
    objective = GRPOObjective(policy, _fresh_model(tiny_encoder), LossWeights(intent=5.0),
                              group_size=8, kl_weight=0.0, anchor=0.0)
    history = _optimise(objective, data, steps=30)
    early = np.mean([parts["reward"] for parts in history[:8]])
    late = np.mean([parts["reward"] for parts in history[-8:]])
    assert late > early + 0.05


@pytest.mark.parametrize("regime", ["dpo", "grpo"])
def test_anchor_adds_intent_loss(regime, trained_checkpoint, tiny_encoder, toy_train_file):
    examples = read_train_file(toy_train_file)
    config = TrainConfig(output_dir=tiny_encoder, base_model=tiny_encoder, max_length=16)
    judge = _judge_embeddings(config, IntentBank.from_examples(examples).texts)
    _, _, data = _toy_data(tiny_encoder, toy_train_file, judge_embeddings=judge)
    batch = data.collate(list(range(8)), 4, 0)
    weights = LossWeights(intent=2.0)
    losses = {}
    for anchor in (0.0, 1.5):
        model = IntentGuardModel.load(trained_checkpoint).eval()
        reference = IntentGuardModel.load(trained_checkpoint)
        objective = (DPOObjective(model, reference, weights, anchor=anchor) if regime == "dpo"
                     else GRPOObjective(model, reference, weights, anchor=anchor))
        torch.manual_seed(0)
        losses[anchor] = objective(batch)
    (plain, plain_parts), (anchored, parts) = losses[0.0], losses[1.5]
    assert parts["anchor"] > 0
    assert parts["anchor"] == pytest.approx(plain_parts["anchor"])
    assert (anchored - plain).item() == pytest.approx(2.0 * 1.5 * parts["anchor"], rel=1e-4)


def test_grpo_needs_judge(trained_checkpoint, tiny_encoder, toy_train_file):
    _, _, data = _toy_data(tiny_encoder, toy_train_file)
    objective = GRPOObjective(IntentGuardModel.load(trained_checkpoint).train(),
                              IntentGuardModel.load(trained_checkpoint), LossWeights())
    with pytest.raises(ValueError, match="judge"):
        objective(data.collate([0, 1]))


def test_reference_not_trained(trained_checkpoint):
    reference = IntentGuardModel.load(trained_checkpoint)
    objective = DPOObjective(IntentGuardModel.load(trained_checkpoint), reference, LossWeights())
    names = [name for name, _ in objective.named_parameters()]
    assert names
    assert all(name.startswith("model.") for name in names)


def _fresh_model(tiny_encoder):
    from guardintent.train.model import GuardModelConfig

    config = GuardModelConfig(base_model=str(tiny_encoder), embedding_dim=16, max_length=16,
                              window_stride=4)
    return IntentGuardModel.from_pretrained_encoder(tiny_encoder, config)


def test_keep_layers_student(tiny_encoder):
    model = _fresh_model(tiny_encoder)
    kept = model.encoder.encoder.layer[1]
    model.keep_layers(1)
    assert len(model.encoder.encoder.layer) == 1
    assert model.encoder.encoder.layer[0] is kept
    assert model.encoder.config.num_hidden_layers == 1


@pytest.mark.parametrize("count", [0, 3])
def test_keep_layers_rejects_count(tiny_encoder, count):
    with pytest.raises(ValueError, match=f"cannot keep {count} layers"):
        _fresh_model(tiny_encoder).keep_layers(count)


def _run(tiny_encoder, toy_train_file, out, unlabelled=None, **overrides):
    settings = {**TRAIN_SETTINGS, "max_steps": 6, **overrides}
    config = TrainConfig(output_dir=out, base_model=tiny_encoder, **settings)
    return train(config, read_train_file(toy_train_file), {"source": "toy"}, unlabelled)


def test_train_distill_student(tiny_encoder, toy_train_file, tiny_package, tmp_path):
    final = _run(tiny_encoder, toy_train_file, tmp_path / "run", regime="distill",
                 teachers=(tiny_package,), layers=1, extra_intents=4)
    card = _card(final)
    assert card["regime"] == "distill"
    assert card["teachers"] == [str(tiny_package)]
    assert card["teacher_agreement"]["examples"] == card["train_examples"]
    assert json.loads((final / "config.json").read_text())["num_hidden_layers"] == 1
    assert len(IntentGuardModel.load(final).encoder.encoder.layer) == 1


def _distill_cli(tiny_encoder, toy_train_file, out, *options):
    """Run two steps of `guardintent train --regime distill` on the toy set; return its status."""
    return train_main(["--train-file", str(toy_train_file), "--out", str(out),
                       "--base-model", str(tiny_encoder), "--regime", "distill",
                       "--max-steps", "2", "--batch-size", "16", "--max-length", "32",
                       "--window-stride", "8", "--extra-intents", "4", *options])


def test_cli_distill_from_two_teachers(tiny_encoder, toy_train_file, tiny_package,
                                       second_package, tmp_path):
    out = tmp_path / "run"
    assert _distill_cli(tiny_encoder, toy_train_file, out, "--teacher", str(tiny_package),
                        "--teacher", str(second_package)) == 0
    card = _card(out / "final")
    assert card["teachers"] == [str(tiny_package), str(second_package)]
    agreement = card["teacher_agreement"]
    assert len(agreement["members"]) == 2
    assert agreement["examples"] == card["train_examples"]


def test_cli_distill_unlabelled_file(tiny_encoder, toy_train_file, tiny_package, tmp_path,
                                    monkeypatch):
    monkeypatch.delenv("GUARDINTENT_DATA", raising=False)
    traffic = tmp_path / "traffic.jsonl"
    traffic.write_text("".join(json.dumps({"prompt": text}) + "\n" for text in (
        "tell me a story about a dragon please today",  # a toy training prompt: dropped
        "what is the capital city of norway",
        "What is the capital city of Norway?",  # a repeat: dropped
        "hack into my coworker wifi and steal card numbers",
    )))
    out = tmp_path / "run"
    assert _distill_cli(tiny_encoder, toy_train_file, out, "--teacher", str(tiny_package),
                        "--unlabelled-file", str(traffic)) == 0
    card = json.loads((out / "final" / "data_card.json").read_text())
    assert card["unlabelled"] == {"read": 4, "duplicates": 1, "match_evaluation": 0,
                                  "match_labelled": 1, "kept": 2}
    labelled = card["training"]["teacher_labelled"]
    assert labelled["prompts"] == 2
    assert sum(labelled["labels"].values()) == 2
    validation = (out / "final" / "validation.jsonl").read_text().splitlines()
    train_labelled = len(read_train_file(toy_train_file)) - len(validation)
    # Agreement with source labels counts the labelled examples only.
    assert card["training"]["teacher_agreement"]["examples"] == train_labelled
    assert card["training"]["train_examples"] == train_labelled + 2


def test_train_unlabelled_needs_distill(tiny_encoder, toy_train_file, tmp_path):
    from guardintent.data.unlabelled import UnlabelledPrompt

    with pytest.raises(ValueError, match="need the distill regime"):
        _run(tiny_encoder, toy_train_file, tmp_path / "run",
             unlabelled=[UnlabelledPrompt("t:1", "plan a trip")])


def test_cli_intent_weight_reaches_card(tiny_encoder, toy_train_file, tmp_path):
    out = tmp_path / "run"
    assert train_main(["--train-file", str(toy_train_file), "--out", str(out),
                       "--base-model", str(tiny_encoder), "--max-steps", "2",
                       "--batch-size", "16", "--max-length", "32", "--window-stride", "8",
                       "--intent-weight", "0.25"]) == 0
    card = _card(out / "final")
    assert card["intent_weight"] == 0.25
    assert card["category_weight"] == 0.5
    assert card["regime"] == "sft"


def test_train_intent_free_card(tiny_encoder, toy_train_file, tmp_path):
    final = _run(tiny_encoder, toy_train_file, tmp_path / "run", intent_weight=0.0,
                 category_weight=0.0)
    assert _card(final)["regime"] == "sft-intent-free"


@pytest.mark.parametrize("regime", ["dpo", "grpo"])
def test_train_from_init(regime, trained_checkpoint, tiny_encoder, toy_train_file, tmp_path):
    final = _run(tiny_encoder, toy_train_file, tmp_path / "run", regime=regime,
                 init=trained_checkpoint, extra_intents=4)
    assert _card(final)["regime"] == regime
    assert _card(final)["anchor_weight"] == 1.0
    before = IntentGuardModel.load(trained_checkpoint).state_dict()
    after = IntentGuardModel.load(final).state_dict()
    assert any(not torch.equal(before[name], after[name]) for name in before)


CLI_ERRORS = {
    "distill_without_teacher": (["--regime", "distill"], "needs --teacher"),
    "dpo_without_init": (["--regime", "dpo"], "needs --init"),
    "grpo_without_init": (["--regime", "grpo"], "needs --init"),
    "intent_free_distill": (["--regime", "distill", "--teacher", "x", "--intent-free"],
                            "--intent-free applies to --regime sft only"),
    "verdict_only_sft": (["--verdict-only"], "--verdict-only applies to --regime distill"),
    "unlabelled_sft": (["--unlabelled-file", "x.jsonl"],
                       "--unlabelled-file apply to --regime distill only"),
    "unlabelled_with_train_file": (["--regime", "distill", "--teacher", "x", "--unlabelled"],
                                   "with --train-file, pass your prompts with"),
    "anchor_sft": (["--anchor-weight", "0.5"], "applies to --regime dpo and grpo only"),
    "anchor_negative": (["--regime", "dpo", "--init", "x", "--anchor-weight", "-1"],
                        "--anchor-weight -1.0 must be at least 0"),
    "teacher_twice": (["--regime", "distill", "--teacher", "x", "--teacher", "./x"],
                      "given twice"),
    "adversarial_framings_train_file": (["--adversarial-framings"],
                                       "--adversarial-framings adds sources built from"),
    "intent_weight_zero": (["--intent-weight", "0"],
                           "--intent-weight 0.0 must be a finite number above 0"),
    "intent_weight_nan": (["--intent-weight", "nan"], "--intent-weight nan must be a finite"),
    "intent_weight_inf": (["--intent-weight", "inf"], "--intent-weight inf must be a finite"),
    "intent_weight_intent_free": (["--intent-weight", "0.5", "--intent-free"],
                                  "--intent-weight and --intent-free exclude each other"),
    "intent_weight_verdict_only": (["--regime", "distill", "--teacher", "x", "--verdict-only",
                                    "--intent-weight", "0.5"],
                                   "does not apply with --verdict-only"),
}


@pytest.mark.parametrize("case", sorted(CLI_ERRORS))
def test_cli_regime_errors(case, toy_train_file, tmp_path, capsys):
    extra, message = CLI_ERRORS[case]
    with pytest.raises(SystemExit):
        train_main(["--train-file", str(toy_train_file), "--out", str(tmp_path / "o"), *extra])
    assert message in capsys.readouterr().err
