import csv
import json
from collections import Counter
from pathlib import Path

from guardintent.data import load_training_set
from guardintent.data.contrast import CONTRAST_NAME, CONTRAST_PATH, load_contrast
from guardintent.data.decontamination import JACCARD_THRESHOLD, normalize_text
from guardintent.taxonomy import CATEGORY_IDS

FIELDS = {"id", "prompt", "label", "intent", "category"}


def read_rows() -> list[dict]:
    lines = CONTRAST_PATH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_contrast_rows_valid():
    for row in read_rows():
        assert set(row) == FIELDS, row
        assert row["id"].startswith(f"{CONTRAST_NAME}:"), row["id"]
        assert row["label"] in ("harmful", "unharmful"), row["id"]
        assert row["prompt"].strip(), row["id"]
        assert row["intent"].strip(), row["id"]
        if row["label"] == "harmful":
            assert row["category"] in CATEGORY_IDS, row["id"]
        else:
            assert row["category"] is None, row["id"]


def test_contrast_ids_and_prompts_unique():
    rows = read_rows()
    ids = Counter(row["id"] for row in rows)
    prompts = Counter(normalize_text(row["prompt"]) for row in rows)
    assert [key for key, count in ids.items() if count > 1] == []
    assert [key for key, count in prompts.items() if count > 1] == []


def test_contrast_counts_and_balance():
    rows = read_rows()
    assert len(rows) >= 1500
    harmful = [row for row in rows if row["label"] == "harmful"]
    assert 0.28 <= len(harmful) / len(rows) <= 0.42
    categories = Counter(row["category"] for row in harmful)
    assert set(categories) == set(CATEGORY_IDS)
    # Roughly even: no category has more than twice the examples of another.
    assert max(categories.values()) <= 2 * min(categories.values())


def test_contrast_no_near_duplicates():
    # The training loader treats token Jaccard >= JACCARD_THRESHOLD as the same prompt.
    rows = read_rows()
    token_sets = [frozenset(normalize_text(row["prompt"]).split()) for row in rows]
    near = []
    for i, tokens in enumerate(token_sets):
        for j in range(i):
            other = token_sets[j]
            if len(tokens & other) / len(tokens | other) >= JACCARD_THRESHOLD:
                near.append((rows[j]["id"], rows[i]["id"]))
    assert near == []


def test_contrast_ids_consecutive():
    numbers = [int(row["id"].rsplit(":", 1)[1]) for row in read_rows()]
    assert numbers == list(range(len(numbers)))


def test_contrast_prompt_lengths_vary():
    lengths = [len(row["prompt"].split()) for row in read_rows()]
    assert min(lengths) >= 2
    assert max(lengths) <= 70
    assert len(set(lengths)) >= 20


def test_load_contrast_examples():
    examples = load_contrast()
    assert len(examples) == len(read_rows())
    assert {example.source for example in examples} == {CONTRAST_NAME}


def test_contrast_in_training_set(tmp_path: Path):
    root = tmp_path / "data"
    root.mkdir()
    result = load_training_set(root)
    contrast = [e for e in result.examples if e.source == CONTRAST_NAME]
    assert len(contrast) == len(read_rows())
    assert result.card["counts"][CONTRAST_NAME] == len(contrast)
    assert result.card["folders"][CONTRAST_NAME] == "Apache-2.0 (written by the project)"
    assert result.dropped[CONTRAST_NAME] == 0


def test_contrast_decontaminated(tmp_path: Path):
    root = tmp_path / "data"
    leaked = read_rows()[0]
    path = root / "xstest/xstest_prompts.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt", "type", "label", "focus", "note"])
        writer.writerow(["1", leaked["prompt"], "homonyms", "safe", "", ""])
    result = load_training_set(root)
    assert leaked["id"] not in {e.id for e in result.examples}
    assert result.dropped[CONTRAST_NAME] == 1
