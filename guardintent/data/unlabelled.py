"""Prompts without a harm label, for a teacher to label in the distill regime.

HH-RLHF harmless-base (Bai et al. 2022) contains red-team conversations. Their first human turns
carry no per-prompt label: most are harmful or borderline, some are innocuous. A teacher labels
them, and the student learns the teacher's view of them along with the labelled set. Users can
add their own unlabelled traffic the same way, as a JSON lines file.

NOTE: Aegis 1.0 was also built from HH-RLHF red-team prompts. Of the 2,175 distinct first
turns, 77 match an evaluation item (58 of them an Aegis 1.0 test item) and are dropped. The rest
come from the same pool, so a run that trains on them may score higher on Aegis than elsewhere.
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
    """Unlabelled prompts that remain for training, and how many were read and dropped."""

    prompts: list[UnlabelledPrompt]
    read: int
    duplicates: int
    match_evaluation: int
    match_labelled: int

    def card(self) -> dict[str, int]:
        """Return the counts for the data card."""
        return {"read": self.read, "duplicates": self.duplicates,
                "match_evaluation": self.match_evaluation,
                "match_labelled": self.match_labelled, "kept": len(self.prompts)}


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
    ids: set[str] = set()
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
                found = sorted(row) if isinstance(row, dict) else type(row).__name__
                raise ValueError(f"{path}:{number}: expected an object with a non-empty "
                                 f'"prompt" string, found {found}')
            local_id = row.get("id", number)
            if isinstance(local_id, bool) or not isinstance(local_id, str | int) or (
                    str(local_id).strip() == ""):
                raise ValueError(f"{path}:{number}: id {local_id!r} is not a non-empty string "
                                 "or integer; give a unique id or leave it out")
            prompt_id = f"{path.stem}:{local_id}"
            if prompt_id in ids:
                raise ValueError(f"{path}:{number}: id {local_id!r} is used twice; ids must be "
                                 "unique")
            ids.add(prompt_id)
            prompts.append(UnlabelledPrompt(prompt_id, row["prompt"]))
    if not prompts:
        raise ValueError(f"{path} contains no prompts; write one JSON object per line")
    return prompts


def clean_unlabelled(prompts: Iterable[UnlabelledPrompt], evaluation: ReferenceIndex,
                     labelled: ReferenceIndex) -> UnlabelledSet:
    """Drop repeated prompts and those that match an evaluation or a labelled training prompt.

    An evaluation item must never be trained on, and a labelled prompt already has a better
    label than a teacher's.
    """
    remaining: list[UnlabelledPrompt] = []
    seen: set[str] = set()
    read = duplicates = match_evaluation = match_labelled = 0
    for prompt in prompts:
        read += 1
        key = normalize_text(prompt.prompt)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        if evaluation.matches(prompt.prompt):
            match_evaluation += 1
        elif labelled.matches(prompt.prompt):
            match_labelled += 1
        else:
            remaining.append(prompt)
    return UnlabelledSet(remaining, read, duplicates, match_evaluation, match_labelled)
