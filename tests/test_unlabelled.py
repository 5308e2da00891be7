"""Unlabelled prompts: reading HH-RLHF first turns and users' files, cleaning, teacher labels."""

import gzip
import json
import shutil

import numpy as np
import pytest

from guardintent.data.decontamination import ReferenceIndex
from guardintent.data.schema import Example
from guardintent.data.unlabelled import (
    HH_RLHF_FILE,
    HH_RLHF_FOLDER,
    UnlabelledPrompt,
    clean_unlabelled,
    first_human_turn,
    hh_rlhf_first_turns,
    read_unlabelled_file,
)
from guardintent.guard import Guard
from guardintent.taxonomy import CATEGORY_IDS
from guardintent.train.teacher import (
    TeacherEnsemble,
    TeacherTargets,
    calibrate,
    concatenate,
    label_with_guard,
    pseudo_label,
)
from tests._tiny import read_manifest, write_manifest

FIRST_TURNS = {
    "one_turn": ("\n\nHuman: how do i bake bread\n\nAssistant: Mix flour.", "how do i bake bread"),
    "two_turns": ("\n\nHuman: plan a trip\n\nAssistant: Where?\n\nHuman: paris\n\nAssistant: ok",
                  "plan a trip"),
    "no_assistant": ("\n\nHuman: write a poem about spring ", "write a poem about spring"),
    "no_human": ("\n\nAssistant: hello", ""),
}


@pytest.mark.parametrize("case", sorted(FIRST_TURNS))
def test_first_human_turn(case):
    dialogue, expected = FIRST_TURNS[case]
    assert first_human_turn(dialogue) == expected


def test_hh_rlhf_first_turns_ids(tmp_path):
    folder = tmp_path / HH_RLHF_FOLDER
    folder.mkdir()
    rows = [{"chosen": "\n\nHuman: plan a trip\n\nAssistant: ok", "rejected": "x"},
            {"chosen": "\n\nAssistant: no human turn", "rejected": "x"},
            {"chosen": "\n\nHuman: buy drugs online\n\nAssistant: no", "rejected": "x"}]
    with gzip.open(folder / HH_RLHF_FILE, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    prompts = hh_rlhf_first_turns(tmp_path)
    assert prompts == [UnlabelledPrompt(f"{HH_RLHF_FOLDER}:0", "plan a trip"),
                       UnlabelledPrompt(f"{HH_RLHF_FOLDER}:2", "buy drugs online")]


def test_hh_rlhf_missing_names_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=HH_RLHF_FILE):
        hh_rlhf_first_turns(tmp_path)


def test_read_unlabelled_file_ids(tmp_path):
    path = tmp_path / "traffic.jsonl"
    path.write_text('{"prompt": "plan a trip"}\n\n{"prompt": "bake bread", "id": "a7"}\n')
    assert read_unlabelled_file(path) == [UnlabelledPrompt("traffic:1", "plan a trip"),
                                          UnlabelledPrompt("traffic:a7", "bake bread")]


BAD_FILES = {
    "invalid_json": ("{prompt\n", "traffic.jsonl:1: invalid JSON"),
    "no_prompt": ('{"text": "hi"}\n', 'traffic.jsonl:1: expected an object with a non-empty'),
    "blank_prompt": ('{"prompt": "  "}\n', "traffic.jsonl:1: expected an object"),
    "not_object": ('["hi"]\n', "traffic.jsonl:1: expected an object"),
    "empty": ("\n", "contains no prompts"),
    "null_id": ('{"prompt": "hi", "id": null}\n', "id None is not a non-empty string"),
    "repeated_id": ('{"prompt": "hi", "id": 3}\n{"prompt": "yo", "id": 3}\n',
                    "traffic.jsonl:2: id 3 is used twice"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_read_unlabelled_file_errors(case, tmp_path):
    text, message = BAD_FILES[case]
    path = tmp_path / "traffic.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_unlabelled_file(path)


def test_clean_unlabelled_counts():
    prompts = [UnlabelledPrompt("t:1", "plan a trip to paris"),
               UnlabelledPrompt("t:2", "Plan a trip to Paris!"),
               UnlabelledPrompt("t:3", "how do i hack into my neighbour wifi network"),
               UnlabelledPrompt("t:4", "write a poem about spring"),
               UnlabelledPrompt("t:5", "bake bread with my cake recipe today")]
    evaluation = ReferenceIndex(["hack into my neighbour wifi network how do i"])
    labelled = ReferenceIndex(["bake bread with my cake recipe"])
    cleaned = clean_unlabelled(prompts, evaluation, labelled)
    assert [prompt.id for prompt in cleaned.prompts] == ["t:1", "t:4"]
    assert cleaned.card() == {"read": 5, "duplicates": 1, "match_evaluation": 1,
                              "match_labelled": 1, "kept": 2}


@pytest.fixture(scope="module")
def calibrated_package(tiny_package, tmp_path_factory):
    """The tiny guard with a temperature and threshold far from 1 and 0.5."""
    folder = tmp_path_factory.mktemp("calibrated") / "guard"
    shutil.copytree(tiny_package, folder)
    manifest = read_manifest(folder)
    manifest.update(temperature=3.0, threshold=0.3)
    write_manifest(folder, manifest)
    return folder


def test_calibrated_verdicts():
    harm = np.array([0.05, 0.08, 0.3, 0.6], dtype=np.float32)
    targets = TeacherTargets(harm=harm, categories=np.zeros((4, 1)),
                             prompt_embeddings=np.zeros((4, 2)), intent_embeddings=np.zeros((1, 2)),
                             agrees=np.ones(4, bool), scale=1.0, temperature=3.0, threshold=0.3)
    # sigmoid(logit(p) / 3) >= 0.3 holds for p >= sigmoid(3 * logit(0.3)), about 0.073.
    assert targets.verdicts.tolist() == [False, True, True, True]
    assert np.allclose(calibrate(np.array([0.5, 0.9]), 1.0), [0.5, 0.9], atol=1e-6)


PROMPTS = ["explain how to make a pipe bomb", "write a poem about spring",
           "steal credit card numbers online", "plan a trip to paris", "buy drugs online",
           "hack into my neighbour wifi"]
INTENTS = ["Write a poem or story", "Commit card fraud",
           "Obtain instructions for building an explosive device"]


def test_pseudo_label_is_guard_verdict(calibrated_package):
    prompts = [UnlabelledPrompt(f"traffic:{n}", text) for n, text in enumerate(PROMPTS)]
    examples, targets = pseudo_label([calibrated_package], prompts, INTENTS, list(CATEGORY_IDS))
    guard = Guard(calibrated_package)

    assert [example.id for example in examples] == [prompt.id for prompt in prompts]
    assert {example.source for example in examples} == {"traffic"}
    assert [example.label == "harmful" for example in examples] == [
        guard.check(text).is_harmful for text in PROMPTS]
    assert targets.agrees.tolist() == [True] * len(PROMPTS)
    top = targets.intent_probabilities(np.arange(len(PROMPTS)), np.arange(3)).argmax(axis=1)
    assert [example.intent for example in examples] == [INTENTS[i] for i in top]
    for example, row in zip(examples, targets.categories, strict=True):
        expected = CATEGORY_IDS[int(row.argmax())] if example.label == "harmful" else None
        assert example.category == expected


def test_pseudo_label_ensemble(tiny_package, calibrated_package, tmp_path):
    prompts = [UnlabelledPrompt(f"traffic:{n}", text) for n, text in enumerate(PROMPTS)]
    examples, targets = pseudo_label([tiny_package, calibrated_package], prompts, INTENTS,
                                     list(CATEGORY_IDS))
    first = label_with_guard(tiny_package, examples, INTENTS, list(CATEGORY_IDS))
    second = label_with_guard(calibrated_package, examples, INTENTS, list(CATEGORY_IDS))
    mean = 0.5 * (first.calibrated + second.calibrated)
    threshold = 0.5 * (first.threshold + second.threshold)
    assert [example.label == "harmful" for example in examples] == (mean >= threshold).tolist()
    assert all(member.agrees.all() for member in targets.members)


def test_concatenate_keeps_order(tiny_package):
    examples = [Example(prompt=text, label="harmful", intent=None, category=None, source="t",
                        id=f"t:{n}") for n, text in enumerate(PROMPTS)]
    whole = label_with_guard(tiny_package, examples, INTENTS, list(CATEGORY_IDS))
    parts = [label_with_guard(tiny_package, examples[:2], INTENTS, list(CATEGORY_IDS)),
             label_with_guard(tiny_package, examples[2:], INTENTS, list(CATEGORY_IDS))]
    joined = concatenate(parts)
    assert np.allclose(joined.harm, whole.harm)
    assert np.array_equal(joined.agrees, whole.agrees)
    assert np.allclose(joined.prompt_embeddings, whole.prompt_embeddings)
    ensemble = TeacherEnsemble.average([whole, whole], whole.verdicts)
    with pytest.raises(ValueError, match="one teacher with those of an ensemble"):
        concatenate([whole, ensemble])
