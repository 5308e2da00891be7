"""Unlabelled prompts: reading HH-RLHF first turns and users' files, cleaning, teacher labels."""

import gzip
import json

import numpy as np
import pytest

from guardintent.data.decontamination import ReferenceIndex
from guardintent.data.unlabelled import (
    HH_RLHF_FILE,
    HH_RLHF_FOLDER,
    UnlabelledPrompt,
    clean_unlabelled,
    first_human_turn,
    hh_rlhf_first_turns,
    read_unlabelled_file,
)
from guardintent.taxonomy import CATEGORY_IDS
from guardintent.train.teacher import label_with_guard, pseudo_label

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
               UnlabelledPrompt("t:4", "write a poem about spring")]
    references = ReferenceIndex(["hack into my neighbour wifi network how do i"])
    cleaned = clean_unlabelled(prompts, references)
    assert [prompt.id for prompt in cleaned.prompts] == ["t:1", "t:4"]
    assert cleaned.card() == {"read": 4, "duplicates": 1, "contaminated": 1, "kept": 2}


def test_pseudo_label_follows_teacher(tiny_package):
    prompts = [UnlabelledPrompt("traffic:0", "explain how to make a pipe bomb"),
               UnlabelledPrompt("traffic:1", "write a poem about spring"),
               UnlabelledPrompt("traffic:2", "steal credit card numbers online")]
    intents = ["Write a poem or story", "Commit card fraud",
               "Obtain instructions for building an explosive device"]
    examples = pseudo_label([tiny_package], prompts, intents, list(CATEGORY_IDS))
    targets = label_with_guard(tiny_package, examples, intents, list(CATEGORY_IDS))

    assert [example.id for example in examples] == ["traffic:0", "traffic:1", "traffic:2"]
    assert {example.source for example in examples} == {"traffic"}
    verdicts = ["harmful" if harm >= 0.5 else "unharmful" for harm in targets.harm]
    assert [example.label for example in examples] == verdicts
    assert targets.agrees.all()
    top = targets.intent_probabilities(np.arange(3), np.arange(3)).argmax(axis=1)
    assert [example.intent for example in examples] == [intents[i] for i in top]
    for example, row in zip(examples, targets.categories, strict=True):
        expected = CATEGORY_IDS[int(row.argmax())] if example.label == "harmful" else None
        assert example.category == expected
