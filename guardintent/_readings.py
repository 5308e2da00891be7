"""The readings of a prompt that `Guard` scores, and how their scores combine.

A prompt is scored as written and, when normalisation changes it, as normalised too. A long
prompt whose windows reach the sentence gate is also scored sentence by sentence
(`guardintent.normalize.split_sentences`), because a window mean-pools a request together
with the benign text around it. The most harmful reading decides, so a request that
obfuscation or surrounding text hides from one reading is still scored by another.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from guardintent._runtime import PromptScores, kept_text
from guardintent.normalize import normalize_prompt, split_sentences


@dataclass
class Readings:
    """The texts to score for a list of prompts, each with the index of its prompt.

    Each of `texts` is scored in overlapping windows, and the first text of a prompt is the
    prompt as written. Each of `sentences` contains one prompt's sentences, each scored alone.
    `applied` maps a prompt's index to the normalisation steps that changed it.
    """

    texts: list[str] = field(default_factory=list)
    text_owners: list[int] = field(default_factory=list)
    sentences: list[list[str]] = field(default_factory=list)
    sentence_owners: list[int] = field(default_factory=list)
    applied: dict[int, tuple[str, ...]] = field(default_factory=dict)


def read_prompts(prompts: Sequence[str], *, sentences: bool = True) -> Readings:
    """Collect the readings of each prompt; a blank prompt has none.

    With `sentences` False, long prompts get no sentence-by-sentence reading.
    """
    readings = Readings()
    for index, prompt in enumerate(prompts):
        if not prompt.strip():
            continue
        readings.texts.append(prompt)
        readings.text_owners.append(index)

        # Normalisation and sentence splitting see only the characters that are scored, so
        # their cost is bounded by the character cap as well.
        normalized = normalize_prompt(kept_text(prompt)[0])
        if normalized.applied:
            readings.applied[index] = normalized.applied
            if normalized.text.strip():
                readings.texts.append(normalized.text)
                readings.text_owners.append(index)

        if not sentences:
            continue
        # NFKC can lengthen the text, so it is cut to the kept characters again.
        parts = split_sentences(kept_text(normalized.text)[0])
        if parts:
            readings.sentences.append(parts)
            readings.sentence_owners.append(index)
    return readings


def gate_sentences(
    readings: Readings,
    text_scores: Sequence[PromptScores],
    gate: float,
    category_gates: Mapping[int, float] | None = None,
) -> Readings:
    """Keep the sentences of prompts whose text readings reach the gate.

    A prompt reaches it when the harm score of one of its text readings is at least `gate`, or
    when a category probability is at least its entry in `category_gates` (category index to
    probability). A request hidden among benign sentences still raises the score of its window,
    so a prompt whose windows all score far below the threshold seldom hides one
    (benchmarks/README.md, "The sentence reading of long prompts", measures how seldom).
    Skipping its sentences saves a second model pass, and sentences read alone are themselves a
    source of false positives.
    """
    gates = category_gates or {}
    opened: set[int] = set()
    for owner, scores in zip(readings.text_owners, text_scores, strict=True):
        if scores.score >= gate or any(
            scores.category_probabilities[index] >= value for index, value in gates.items()
        ):
            opened.add(owner)
    passing = [
        (owner, sentences)
        for owner, sentences in zip(readings.sentence_owners, readings.sentences, strict=True)
        if owner in opened
    ]
    return dataclasses.replace(
        readings,
        sentences=[sentences for _, sentences in passing],
        sentence_owners=[owner for owner, _ in passing],
    )


def combine_scores(
    readings: Readings,
    text_scores: Sequence[PromptScores],
    sentence_scores: Sequence[PromptScores],
) -> dict[int, PromptScores]:
    """Pick the most harmful reading of each prompt that has readings, by prompt index.

    `windows` and `truncated` of the result describe the prompt as written, whichever
    reading decided.
    """
    best: dict[int, PromptScores] = {}
    as_written: dict[int, PromptScores] = {}
    pairs = itertools.chain(
        zip(readings.text_owners, text_scores, strict=True),
        zip(readings.sentence_owners, sentence_scores, strict=True),
    )
    for owner, scores in pairs:
        as_written.setdefault(owner, scores)
        if owner not in best or scores.score > best[owner].score:
            best[owner] = scores
    return {
        owner: dataclasses.replace(
            scores, windows=as_written[owner].windows, truncated=as_written[owner].truncated
        )
        for owner, scores in best.items()
    }
