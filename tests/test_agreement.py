import json
from pathlib import Path

import pytest

from guardintent.data.agreement import SECOND_PASS_PATH, cohen_kappa, compute_agreement


def test_cohen_kappa_known_value():
    # 2x2 table with 20/5/10/15: observed 0.70, chance 0.50, kappa 0.40.
    first = ["a"] * 25 + ["b"] * 25
    second = ["a"] * 20 + ["b"] * 5 + ["a"] * 10 + ["b"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_cohen_kappa_single_label():
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0


def test_cohen_kappa_length_mismatch():
    with pytest.raises(ValueError):
        cohen_kappa(["a"], ["a", "b"])


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_compute_agreement_lists_disagreements(tmp_path: Path):
    first = write_jsonl(
        tmp_path / "first.jsonl",
        [
            {"id": "c:0", "prompt": "p", "label": "harmful", "category": "fraud", "intent": "x"},
            {"id": "c:1", "prompt": "p", "label": "harmful", "category": "privacy", "intent": "x"},
            {"id": "c:2", "prompt": "p", "label": "unharmful", "category": None, "intent": "x"},
        ],
    )
    second = write_jsonl(
        tmp_path / "second.jsonl",
        [
            {"id": "c:0", "label": "harmful", "category": "fraud", "intent": "y"},
            {"id": "c:1", "label": "harmful", "category": "cybercrime", "intent": "y"},
            {"id": "c:2", "label": "harmful", "category": "fraud", "intent": "y"},
        ],
    )
    report = compute_agreement(first, second)
    assert report.items == 3
    assert report.label_agreement == pytest.approx(2 / 3)
    assert report.both_harmful == 2
    assert report.category_agreement == pytest.approx(0.5)
    assert [(d.id, d.field_name) for d in report.disagreements] == [
        ("c:1", "category"),
        ("c:2", "label"),
    ]


def test_compute_agreement_unknown_id(tmp_path: Path):
    first = write_jsonl(tmp_path / "first.jsonl", [])
    second = write_jsonl(
        tmp_path / "second.jsonl",
        [{"id": "c:9", "label": "harmful", "category": None, "intent": "y"}],
    )
    with pytest.raises(ValueError, match="c:9"):
        compute_agreement(first, second)


def test_second_pass_covers_200_ids():
    rows = [json.loads(line) for line in SECOND_PASS_PATH.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 200
    assert len({row["id"] for row in rows}) == 200
