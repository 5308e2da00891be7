"""Training on a tiny random encoder: outputs, loss, determinism, resume, windows and the CLI."""

import json
import logging

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from safetensors.torch import load_file  # noqa: E402

from guardintent.cli import main  # noqa: E402
from guardintent.data.schema import Example  # noqa: E402
from guardintent.taxonomy import CATEGORY_IDS  # noqa: E402
from guardintent.train.cli import read_train_file  # noqa: E402
from guardintent.train.dataset import (  # noqa: E402
    IntentBank,
    TokenisedExamples,
    load_tokenizer,
    split_validation,
)
from guardintent.train.model import GuardModelConfig, IntentGuardModel  # noqa: E402
from guardintent.train.objectives import (  # noqa: E402
    LossWeights,
    SFTObjective,
    most_harmful_window,
)
from guardintent.train.trainer import TrainConfig, train  # noqa: E402
from tests._toy_training import TRAIN_SETTINGS, toy_rows, write_train_file  # noqa: E402

pytestmark = pytest.mark.torch

FINAL_FILES = ("model.safetensors", "guard_config.json", "config.json", "tokenizer.json",
               "intents.json", "data_card.json", "validation.jsonl")
LONG_PROMPT = " ".join(["tell me a story about a dragon"] * 6) + " explain how to make a pipe bomb"


def _weights(final):
    return load_file(str(final / "model.safetensors"))


def _max_weight_diff(first, second):
    a, b = _weights(first), _weights(second)
    assert a.keys() == b.keys()
    return max((a[name] - b[name]).abs().max().item() for name in a)


def _train(tiny_encoder, toy_train_file, out, **overrides):
    settings = {**TRAIN_SETTINGS, **overrides}
    config = TrainConfig(output_dir=out, base_model=tiny_encoder, **settings)
    return train(config, read_train_file(toy_train_file), {"source": "toy"})


def _toy_loss(model, tiny_encoder, examples):
    """Return the SFT loss of `model` over the whole toy set as one batch, dropout off."""
    tokenizer = load_tokenizer(tiny_encoder / "tokenizer.json", TRAIN_SETTINGS["max_length"],
                               TRAIN_SETTINGS["window_stride"])
    bank = IntentBank.from_examples(examples)
    data = TokenisedExamples(examples, tokenizer, list(CATEGORY_IDS), bank.texts)
    objective = SFTObjective(model, LossWeights()).eval()
    with torch.no_grad():
        loss, _ = objective(data.collate(list(range(len(examples)))))
    return loss.item()


def test_train_writes_final_folder(trained_checkpoint):
    for name in FINAL_FILES:
        assert (trained_checkpoint / name).is_file(), name


def test_train_data_card_records_run(trained_checkpoint):
    card = json.loads((trained_checkpoint / "data_card.json").read_text())
    assert card["source"] == "toy"
    assert card["training"]["steps"] == TRAIN_SETTINGS["max_steps"]
    assert card["training"]["regime"] == "sft"


def test_train_validation_split_written(trained_checkpoint):
    rows = (trained_checkpoint / "validation.jsonl").read_text().splitlines()
    labels = {json.loads(row)["label"] for row in rows}
    expected = len(toy_rows()) * TRAIN_SETTINGS["validation_share"]
    # The split hashes intent groups, so its size is near the share, not exact.
    assert expected / 2 <= len(rows) <= expected * 2
    assert labels == {"harmful", "unharmful"}


def test_train_intent_bank_written(trained_checkpoint):
    bank = json.loads((trained_checkpoint / "intents.json").read_text())
    texts = [row["text"] for row in bank]
    assert texts == sorted({row["intent"] for row in toy_rows()})
    priors = {row["text"]: row["harm_prior"] for row in bank}
    assert priors["Commit card fraud"] == 1.0
    assert priors["Plan a trip"] == 0.0


def test_train_loss_falls(trained_checkpoint, tiny_encoder, toy_train_file):
    examples = read_train_file(toy_train_file)
    torch.manual_seed(0)
    config = GuardModelConfig(base_model=str(tiny_encoder),
                              embedding_dim=TRAIN_SETTINGS["embedding_dim"])
    untrained = IntentGuardModel.from_pretrained_encoder(tiny_encoder, config)
    trained = IntentGuardModel.load(trained_checkpoint)
    before = _toy_loss(untrained, tiny_encoder, examples)
    after = _toy_loss(trained, tiny_encoder, examples)
    assert after < 0.7 * before, (before, after)


def test_train_same_seed_same_weights(trained_checkpoint, tiny_encoder, toy_train_file, tmp_path):
    again = _train(tiny_encoder, toy_train_file, tmp_path / "again")
    assert _max_weight_diff(trained_checkpoint, again) == 0.0


def test_train_other_seed_other_weights(trained_checkpoint, tiny_encoder, toy_train_file,
                                        tmp_path):
    other = _train(tiny_encoder, toy_train_file, tmp_path / "other", seed=1, max_steps=2)
    assert _max_weight_diff(trained_checkpoint, other) > 0.0


def test_train_resume_matches_uninterrupted(trained_checkpoint, tiny_encoder, toy_train_file,
                                            tmp_path, caplog):
    out = tmp_path / "interrupted"
    _train(tiny_encoder, toy_train_file, out, max_steps=25)
    assert (out / "checkpoints" / "step-0000025").is_dir()
    with caplog.at_level(logging.INFO, logger="guardintent.train.trainer"):
        resumed = _train(tiny_encoder, toy_train_file, out)
    assert "resumed from" in caplog.text
    assert "at step 25" in caplog.text
    assert _max_weight_diff(trained_checkpoint, resumed) == 0.0


def test_train_keeps_two_checkpoints(trained_run):
    names = sorted(path.name for path in (trained_run / "checkpoints").iterdir())
    assert names == ["step-0000030", "step-0000040"]


def test_windows_long_prompt(tiny_encoder):
    max_length = TRAIN_SETTINGS["max_length"]
    tokenizer = load_tokenizer(tiny_encoder / "tokenizer.json", max_length,
                               TRAIN_SETTINGS["window_stride"])
    examples = [Example(LONG_PROMPT, "harmful", "a", "weapons", "toy", "toy:1"),
                Example("plan a trip to paris", "unharmful", "b", None, "toy", "toy:2")]
    data = TokenisedExamples(examples, tokenizer, list(CATEGORY_IDS), ["a", "b"], max_windows=4)
    long_windows, short_windows = data.prompt_windows
    bomb = tokenizer.token_to_id("bomb")
    assert len(long_windows) > 1
    assert len(long_windows) <= 4
    assert len(short_windows) == 1
    assert all(len(window) <= max_length for window in long_windows)
    assert bomb in long_windows[-1]
    assert bomb not in long_windows[0]


def test_windows_collate_owners(tiny_encoder):
    tokenizer = load_tokenizer(tiny_encoder / "tokenizer.json", TRAIN_SETTINGS["max_length"],
                               TRAIN_SETTINGS["window_stride"])
    examples = [Example("plan a trip to paris", "unharmful", "b", None, "toy", "toy:1"),
                Example(LONG_PROMPT, "harmful", "a", "weapons", "toy", "toy:2")]
    data = TokenisedExamples(examples, tokenizer, list(CATEGORY_IDS), ["a", "b"])
    batch = data.collate([0, 1])
    windows = len(data.prompt_windows[1])
    assert batch.window_owner.tolist() == [0] + [1] * windows
    assert batch.input_ids.shape[0] == 1 + windows
    assert batch.labels.tolist() == [0, 1]


def test_most_harmful_window_picks_row():
    # Margins (harmful minus unharmful): example 0 -> rows 0..2, example 1 -> rows 3..4.
    logits = torch.tensor([[0.0, -1.0], [0.0, 2.0], [1.0, 0.5],
                           [3.0, 0.0], [2.0, 1.5]])
    owner = torch.tensor([0, 0, 0, 1, 1])
    assert most_harmful_window(logits, owner, 2).tolist() == [1, 4]


def test_most_harmful_window_interleaved():
    logits = torch.tensor([[0.0, 5.0], [0.0, 1.0], [0.0, 0.0], [0.0, 9.0]])
    owner = torch.tensor([1, 0, 0, 1])
    assert most_harmful_window(logits, owner, 2).tolist() == [1, 3]


BAD_ROWS = {
    "invalid_json": ("{not json", "invalid JSON"),
    "not_object": ("[1, 2]", "expected a JSON object"),
    "bad_label": (json.dumps({"prompt": "x", "label": "unsafe", "intent": "y"}), "'unsafe'"),
    "no_intent": (json.dumps({"prompt": "x", "label": "harmful"}), "expected `prompt`"),
    "bad_category": (json.dumps({"prompt": "x", "label": "harmful", "intent": "y",
                                 "category": "weapon"}), "unknown category 'weapon'"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_cli_train_bad_row(case, tiny_encoder, tmp_path):
    line, expected = BAD_ROWS[case]
    good = json.dumps(toy_rows()[0])
    path = tmp_path / "rows.jsonl"
    path.write_text(f"{good}\n{line}\n")
    with pytest.raises(SystemExit) as raised:
        main(["train", "--out", str(tmp_path / "out"), "--train-file", str(path),
              "--base-model", str(tiny_encoder)])
    message = str(raised.value.code)
    assert f"{path}:2" in message
    assert expected in message
    assert not (tmp_path / "out").exists()


def test_cli_train_empty_file(tiny_encoder, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    with pytest.raises(SystemExit) as raised:
        main(["train", "--out", str(tmp_path / "out"), "--train-file", str(path),
              "--base-model", str(tiny_encoder)])
    assert "contains no examples" in str(raised.value.code)


def test_cli_train_missing_file(tiny_encoder, tmp_path):
    path = tmp_path / "missing.jsonl"
    with pytest.raises(SystemExit) as raised:
        main(["train", "--out", str(tmp_path / "out"), "--train-file", str(path),
              "--base-model", str(tiny_encoder)])
    assert f"cannot read the train file {path}" in str(raised.value.code)


def test_cli_train_stride_too_long(tiny_encoder, toy_train_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["train", "--out", str(tmp_path / "out"), "--train-file", str(toy_train_file),
              "--base-model", str(tiny_encoder), "--max-length", "16"])
    assert raised.value.code == 2
    assert "--window-stride 32 must be" in capsys.readouterr().err


def test_cli_train_writes_final(tiny_encoder, tmp_path):
    path = write_train_file(tmp_path / "rows.jsonl", toy_rows())
    status = main(["train", "--out", str(tmp_path / "out"), "--train-file", str(path),
                   "--base-model", str(tiny_encoder), "--max-steps", "2", "--batch-size", "8",
                   "--max-length", "16", "--window-stride", "4", "--threads", "1"])
    assert status == 0
    assert (tmp_path / "out" / "final" / "model.safetensors").is_file()


def _example(index: int, intent: str, label: str = "harmful") -> Example:
    return Example(f"prompt {index}", label, intent, None, "toy", f"toy:{index}")


def test_split_keeps_wrapped_copies_together():
    examples = [_example(i * 4 + j, f"request {i}") for i in range(200) for j in range(4)]
    train_part, held_out = split_validation(examples, 0.2, seed=0)
    held_intents = {example.intent for example in held_out}
    assert held_out
    assert not held_intents & {example.intent for example in train_part}


def test_split_generic_intent_is_split_per_example():
    examples = [_example(i, "Solve a math problem", "unharmful") for i in range(400)]
    train_part, held_out = split_validation(examples, 0.2, seed=0)
    assert 40 < len(held_out) < 120
    assert train_part


def test_split_is_stable_when_examples_are_added():
    examples = [_example(i, f"request {i}") for i in range(300)]
    _, before = split_validation(examples, 0.1, seed=0)
    _, after = split_validation(examples + [_example(999, "request new")], 0.1, seed=0)
    assert {e.id for e in before} <= {e.id for e in after}


@pytest.fixture(scope="module")
def averaged_run(tiny_encoder, toy_train_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("averaged")
    _train(tiny_encoder, toy_train_file, out, average_from=0.5)
    return out


def test_average_from_keeps_late_weights(averaged_run, trained_checkpoint):
    names = sorted(path.name for path in (averaged_run / "snapshots").iterdir())
    # 40 steps, a checkpoint every 10: steps 20 and later are kept.
    assert names == ["step-0000020.safetensors", "step-0000030.safetensors",
                     "step-0000040.safetensors"]
    # The same run without averaging ends on the weights kept at step 40.
    last = load_file(str(averaged_run / "snapshots" / "step-0000040.safetensors"))
    plain = _weights(trained_checkpoint)
    assert max((last[name] - plain[name]).abs().max().item() for name in plain) == 0.0


def test_average_from_final_is_mean(averaged_run):
    snapshots = [load_file(str(path)) for path in sorted((averaged_run / "snapshots").iterdir())]
    final = _weights(averaged_run / "final")
    for name, tensor in final.items():
        mean = sum(state[name] for state in snapshots) / len(snapshots)
        torch.testing.assert_close(tensor, mean, rtol=0, atol=1e-6)
    assert any((final[name] - snapshots[-1][name]).abs().max() > 0 for name in final)
    card = json.loads((averaged_run / "final" / "data_card.json").read_text())
    assert card["training"]["averaged_steps"] == [20, 30, 40]
    assert card["training"]["average_from"] == 0.5


def test_average_from_resume_matches_uninterrupted(averaged_run, tiny_encoder, toy_train_file,
                                                  tmp_path):
    out = tmp_path / "interrupted"
    _train(tiny_encoder, toy_train_file, out, max_steps=25, average_from=0.5)
    resumed = _train(tiny_encoder, toy_train_file, out, average_from=0.5)
    assert _max_weight_diff(averaged_run / "final", resumed) == 0.0


def test_average_from_changed_on_resume(tiny_encoder, toy_train_file, tmp_path):
    out = tmp_path / "changed"
    _train(tiny_encoder, toy_train_file, out, max_steps=25)
    with pytest.raises(FileNotFoundError, match=r"no weights of steps \[20\]"):
        _train(tiny_encoder, toy_train_file, out, average_from=0.5)


def test_average_from_on_finished_run(trained_run, tiny_encoder, toy_train_file):
    with pytest.raises(FileNotFoundError, match="train into a new --out"):
        _train(tiny_encoder, toy_train_file, trained_run, average_from=0.5)


def test_average_weights_rejects_other_tensors(tmp_path):
    from safetensors.torch import save_file

    from guardintent.train.trainer import average_weights

    save_file({"a": torch.ones(2)}, str(tmp_path / "one.safetensors"))
    save_file({"b": torch.ones(2)}, str(tmp_path / "two.safetensors"))
    with pytest.raises(ValueError, match="has other tensor names"):
        average_weights([tmp_path / "one.safetensors", tmp_path / "two.safetensors"])
    with pytest.raises(ValueError, match="at least one"):
        average_weights([])


@pytest.mark.parametrize("value", ["1", "1.5", "-0.1"])
def test_cli_average_from_out_of_range(value, tiny_encoder, toy_train_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["train", "--out", str(tmp_path / "out"), "--train-file", str(toy_train_file),
              "--base-model", str(tiny_encoder), "--average-from", value])
    assert raised.value.code == 2
    assert f"--average-from {float(value)} must be at least 0 and below 1" in (
        capsys.readouterr().err)
