"""Prompts without a harm label, for a teacher to label in the distill regime.

HH-RLHF harmless-base (Bai et al. 2022) holds red-team conversations. Their first human turns
carry no per-prompt label: most are harmful or borderline, some are innocuous. A teacher labels
them, and the student learns the teacher's view of them along with the labelled set. Users can
add their own unlabelled traffic the same way, as a JSON lines file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from guardintent.data._io import iter_jsonl
from guardintent.data.decontamination import ReferenceIndex, normalize_text

HH_RLHF_FOLDER = "hh-rlhf-harmless"
HH_RLHF_FILE = "harmless-base_test.jsonl.gz"
HH_RLHF_LICENCE = "MIT"
_HUMAN = "\n\nHuman:"
_ASSISTANT = "\n\nAssistant:"


@dataclass(frozen=True)
class UnlabelledPrompt:
    """A prompt with a stable `folder:local-id` id and no label."""

    id: str
    prompt: str


@dataclass(frozen=True)
class UnlabelledSet:
    """Unlabelled prompts kept for training, and how many were read and dropped."""

    prompts: list[UnlabelledPrompt]
    read: int
    duplicates: int
    contaminated: int

    def card(self) -> dict[str, int]:
        """Return the counts for the data card."""
        return {"read": self.read, "duplicates": self.duplicates,
                "contaminated": self.contaminated, "kept": len(self.prompts)}


def hh_rlhf_first_turns(root: Path) -> list[UnlabelledPrompt]:
    """Read the first human turn of every HH-RLHF harmless-base conversation under `root`.

    Raises FileNotFoundError naming the file when the folder is missing.
    """
    path = root / HH_RLHF_FOLDER / HH_RLHF_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; the unlabelled prompts come from HH-RLHF harmless-base, so put "
            f"{HH_RLHF_FILE} in {root / HH_RLHF_FOLDER} or pass a file of your own prompts")
    prompts = []
    for number, row in enumerate(iter_jsonl(path)):
        turn = first_human_turn(str(row.get("chosen", "")))
        if turn:
            prompts.append(UnlabelledPrompt(f"{HH_RLHF_FOLDER}:{number}", turn))
    return prompts


def first_human_turn(dialogue: str) -> str:
    """Return the text of the first `Human:` turn of an HH-RLHF dialogue, or "" if none."""
    start = dialogue.find(_HUMAN)
    if start < 0:
        return ""
    text = dialogue[start + len(_HUMAN):]
    end = text.find(_ASSISTANT)
    following = text.find(_HUMAN)
    ends = [position for position in (end, following) if position >= 0]
    return (text[:min(ends)] if ends else text).strip()


def read_unlabelled_file(path: Path) -> list[UnlabelledPrompt]:
    """Read JSON lines with a `prompt` string each (an `id` is optional).

    Raises ValueError naming the file and line for a line that is not an object with a
    non-empty prompt, and for a file with no prompts.
    """
    prompts = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: invalid JSON ({error}); write one object "
                                 "per line") from error
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not (
                    row["prompt"].strip()):
                raise ValueError(f"{path}:{number}: expected an object with a non-empty "
                                 '"prompt" string')
            local_id = row.get("id", number)
            prompts.append(UnlabelledPrompt(f"{path.stem}:{local_id}", row["prompt"]))
    if not prompts:
        raise ValueError(f"{path} contains no prompts; write one JSON object per line")
    return prompts


def clean_unlabelled(prompts: Iterable[UnlabelledPrompt], references: ReferenceIndex
                     ) -> UnlabelledSet:
    """Drop repeated prompts and those that match `references`.

    `references` should hold every evaluation prompt and every labelled training prompt: an
    evaluation item must never be trained on, and a labelled prompt already has a better label.
    """
    kept: list[UnlabelledPrompt] = []
    seen: set[str] = set()
    read = duplicates = contaminated = 0
    for prompt in prompts:
        read += 1
        key = normalize_text(prompt.prompt)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        if references.matches(prompt.prompt):
            contaminated += 1
            continue
        kept.append(prompt)
    return UnlabelledSet(kept, read, duplicates, contaminated)
