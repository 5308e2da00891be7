"""Adapters for the benign training sources."""

from __future__ import annotations

from pathlib import Path

from guardintent.data._clinc_intents import CLINC_INTENTS
from guardintent.data._io import iter_jsonl, read_csv, read_json
from guardintent.data._sources import Candidate, Source
from guardintent.data.intents import (
    ARENA_SUBCATEGORY_INTENTS,
    COCONOT_SUBCATEGORY_INTENTS,
    label_to_phrase,
)
from guardintent.data.schema import Example

GSM8K_INTENT = "Solve a grade-school math word problem"
ROLEPLAY_INTENT = "Have the assistant play a character or persona"


def unharmful(prompt: str, source: str, example_id: str, intent: str) -> Example:
    """Build an unharmful example (benign examples carry no hazard category)."""
    return Example(prompt, "unharmful", intent, None, source, example_id)


def _join(instruction: str, extra: str) -> str:
    return f"{instruction}\n\n{extra}" if extra.strip() else instruction


def _load_clinc150(root: Path) -> list[Candidate]:
    splits = read_json(root / "clinc150/data_full.json")
    return [
        Candidate(
            unharmful(
                utterance,
                "clinc150",
                f"clinc150:{split}/{position}",
                CLINC_INTENTS.get(label, f"Ask a voice assistant to {label_to_phrase(label)}"),
            )
        )
        for split in sorted(splits)
        for position, (utterance, label) in enumerate(splits[split])
    ]


def _load_gsm8k(root: Path) -> list[Candidate]:
    candidates = []
    for split in ("train", "test"):
        path = root / f"gsm8k/{split}.jsonl"
        if path.is_file():
            candidates += [
                Candidate(
                    unharmful(row["question"], "gsm8k", f"gsm8k:{split}/{position}", GSM8K_INTENT)
                )
                for position, row in enumerate(iter_jsonl(path))
            ]
    return candidates


def _load_truthfulqa(root: Path) -> list[Candidate]:
    rows = read_csv(root / "truthfulqa/TruthfulQA.csv")
    return [
        Candidate(
            unharmful(
                row["Question"],
                "truthfulqa",
                f"truthfulqa:{position}",
                f"Get a truthful answer to a question about {label_to_phrase(row['Category'])}",
            )
        )
        for position, row in enumerate(rows)
    ]


def _load_self_instruct(root: Path) -> list[Candidate]:
    candidates = []
    for row in iter_jsonl(root / "self-instruct/seed_tasks.jsonl"):
        instances = row.get("instances") or [{}]
        prompt = _join(row["instruction"], instances[0].get("input", ""))
        intent = f"Get help with a task: {label_to_phrase(row['name'])}"
        candidates.append(
            Candidate(unharmful(prompt, "self-instruct", f"self-instruct:{row['id']}", intent))
        )
    user_path = root / "self-instruct/user_oriented_instructions.jsonl"
    if user_path.is_file():
        for row in iter_jsonl(user_path):
            instances = row.get("instances") or [{}]
            prompt = _join(row["instruction"], instances[0].get("input", ""))
            intent = f"Get help with a task done in an app like {row['motivation_app']}"
            candidates.append(
                Candidate(unharmful(prompt, "self-instruct", f"self-instruct:{row['id']}", intent))
            )
    return candidates


def _load_arena_hard(root: Path) -> list[Candidate]:
    candidates = []
    for row in iter_jsonl(root / "arena-hard/arena-hard-v0.1_question.jsonl"):
        intent = f"Get expert help with {row['cluster']}"
        candidates.append(
            Candidate(
                unharmful(row["prompt"], "arena-hard", f"arena-hard:v0.1/{row['uid']}", intent)
            )
        )
    v2_path = root / "arena-hard/arena-hard-v2.0_question.jsonl"
    if v2_path.is_file():
        for row in iter_jsonl(v2_path):
            subcategory = row.get("subcategory", "")
            intent = ARENA_SUBCATEGORY_INTENTS.get(
                subcategory, f"Get help with {label_to_phrase(subcategory or row['category'])}"
            )
            candidates.append(
                Candidate(
                    unharmful(row["prompt"], "arena-hard", f"arena-hard:v2.0/{row['uid']}", intent)
                )
            )
    return candidates


def _load_gpteacher_roleplay(root: Path) -> list[Candidate]:
    rows = read_json(root / "gpteacher-roleplay/roleplay-simple-deduped-roleplay-instruct.json")
    return [
        Candidate(
            unharmful(
                _join(row["instruction"], row.get("input", "")),
                "gpteacher-roleplay",
                f"gpteacher-roleplay:{position}",
                ROLEPLAY_INTENT,
            )
        )
        for position, row in enumerate(rows)
    ]


def _load_coconot_pref(root: Path) -> list[Candidate]:
    candidates = []
    for row in iter_jsonl(root / "coconot/coconot_pref.jsonl"):
        subcategory = row.get("subcategory", "")
        intent = COCONOT_SUBCATEGORY_INTENTS.get(
            subcategory, f"Make a request about {label_to_phrase(subcategory)}"
        )
        candidates.append(
            Candidate(unharmful(row["prompt"], "coconot-pref", f"coconot:{row['id']}", intent))
        )
    return candidates


BENIGN_SOURCES: tuple[Source, ...] = (
    Source(
        "clinc150",
        "clinc150",
        ("data_full.json",),
        "CC BY 3.0",
        "CLINC150 intent label mapped to a hand-written sentence",
        "none (unharmful)",
        _load_clinc150,
    ),
    Source(
        "gsm8k",
        "gsm8k",
        ("train.jsonl",),
        "MIT",
        "one fixed sentence",
        "none (unharmful)",
        _load_gsm8k,
    ),
    Source(
        "truthfulqa",
        "truthfulqa",
        ("TruthfulQA.csv",),
        "Apache-2.0",
        "TruthfulQA category in a sentence",
        "none (unharmful)",
        _load_truthfulqa,
    ),
    Source(
        "self-instruct",
        "self-instruct",
        ("seed_tasks.jsonl",),
        "Apache-2.0",
        "task name or motivating app in a sentence",
        "none (unharmful)",
        _load_self_instruct,
    ),
    Source(
        "arena-hard",
        "arena-hard",
        ("arena-hard-v0.1_question.jsonl",),
        "Apache-2.0",
        "topic cluster (v0.1) or subcategory (v2.0) in a sentence",
        "none (unharmful)",
        _load_arena_hard,
    ),
    Source(
        "gpteacher-roleplay",
        "gpteacher-roleplay",
        ("roleplay-simple-deduped-roleplay-instruct.json",),
        "MIT",
        "one fixed sentence",
        "none (unharmful)",
        _load_gpteacher_roleplay,
    ),
    Source(
        "coconot-pref",
        "coconot",
        ("coconot_pref.jsonl",),
        "MIT / ODC-BY",
        "CoCoNot subcategory mapped to a hand-written sentence",
        "none (unharmful)",
        _load_coconot_pref,
    ),
)
