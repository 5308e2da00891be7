"""The intents the project wrote for public training prompts (guardintent/data/intents.jsonl)."""

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from guardintent.data.intents import OVERRIDES_PATH, IntentOverride, load_overrides
from guardintent.data.schema import LABELS
from guardintent.taxonomy import CATEGORY_IDS


def _rows():
    lines = OVERRIDES_PATH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_annotations_at_least_4000():
    assert len(_rows()) >= 4000


def test_annotation_fields_valid():
    for row in _rows():
        assert set(row) <= {"id", "intent", "category", "label"}, row["id"]
        assert row["label"] in LABELS, row["id"]
        assert row["category"] is None or row["category"] in CATEGORY_IDS, row["id"]
        if row["label"] == "unharmful":
            assert row["category"] is None, row["id"]


def test_annotation_intents_are_sentences():
    for row in _rows():
        words = row["intent"].split()
        assert 2 <= len(words) <= 20, row["id"]
        assert "\n" not in row["intent"], row["id"]
        assert row["intent"][0].isupper(), row["id"]


def test_annotation_ids_unique():
    counts = Counter(row["id"] for row in _rows())
    assert [key for key, count in counts.items() if count > 1] == []


def test_annotation_ids_keyed_by_folder():
    for row in _rows():
        folder, _, rest = row["id"].partition(":")
        assert folder, row["id"]
        assert rest, row["id"]


def test_load_overrides_reads_label():
    overrides = load_overrides()
    assert len(overrides) == len(_rows())
    first = _rows()[0]
    assert overrides[first["id"]] == IntentOverride(first["intent"], first["category"],
                                                    first["label"])


BAD_ROWS = {
    "unknown_label": ({"id": "a:1", "intent": "Do a thing", "label": "unsafe"}, "unknown label"),
    "unknown_category": ({"id": "a:1", "intent": "Do a thing", "category": "weapon"},
                         "unknown category"),
    "benign_with_category": ({"id": "a:1", "intent": "Do a thing", "label": "unharmful",
                              "category": "fraud"}, "needs category null"),
    "no_intent": ({"id": "a:1"}, "needs a string id and intent"),
    "not_object": ([1, 2], "expected a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_load_overrides_rejects_row(case, tmp_path):
    row, message = BAD_ROWS[case]
    path = tmp_path / f"{case}.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=message):
        load_overrides(path)


def test_load_overrides_rejects_repeated_id(tmp_path):
    path = tmp_path / "twice.jsonl"
    row = json.dumps({"id": "a:1", "intent": "Do a thing"})
    path.write_text(row + "\n" + row + "\n")
    with pytest.raises(ValueError, match="appears twice"):
        load_overrides(path)


@pytest.mark.data
def test_annotation_ids_resolve():
    """Every annotated id names a prompt of a training source in the data directory."""
    if not os.environ.get("GUARDINTENT_DATA"):
        pytest.skip("GUARDINTENT_DATA is not set")
    from guardintent.data.sources_benign import BENIGN_SOURCES
    from guardintent.data.sources_harmful import HARMFUL_SOURCES

    root = Path(os.environ["GUARDINTENT_DATA"])
    known = set()
    for source in (*HARMFUL_SOURCES, *BENIGN_SOURCES):
        if source.is_present(root):
            known.update(candidate.example.id for candidate in source.load(root))
    unresolved = [row["id"] for row in _rows() if row["id"] not in known]
    assert unresolved == []
