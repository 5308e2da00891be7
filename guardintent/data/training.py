"""Assemble the decontaminated, capped and shuffled training set with its data card."""

from __future__ import annotations

import logging
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from guardintent.data._io import resolve_data_dir, stable_rank
from guardintent.data._sources import Candidate, Source
from guardintent.data.benchmarks import reference_texts
from guardintent.data.contrast import CONTRAST_SOURCE
from guardintent.data.decontamination import (
    JACCARD_THRESHOLD,
    ReferenceIndex,
    decontaminate,
    normalize_text,
)
from guardintent.data.intents import IntentOverride, load_overrides
from guardintent.data.schema import Example
from guardintent.data.sources_benign import BENIGN_SOURCES
from guardintent.data.sources_harmful import HARMFUL_SOURCES
from guardintent.data.wrapping import (
    benign_requests,
    build_pairs,
    clean_templates,
    load_templates,
    project_adversarial_framings,
    project_framings,
)

logger = logging.getLogger(__name__)

# Maximum examples kept per source, None for all. Sources with wrapper groups split the cap
# evenly across wrappers. The totals come to about 20,500 examples, 44% of them harmful, and
# about 22,400 with the adversarial framings.
CAPS: dict[str, int | None] = {
    "advbench": 520,
    "vulcanforge-advbench": 800,
    "harmbench-adv": 100,
    "harmfulqa": 1200,
    "catqa": 550,
    "dangerousqa": 200,
    "gptfuzz-questions": 100,
    "latent-jailbreak": 300,
    "vulcanforge-wildjailbreak": 1500,
    # Red-team turns are all labelled harmful, but some are innocuous follow-ups: keep fewer.
    "vulcanforge-red-team": 800,
    "airt-seeds": None,
    "wrapped-harmful": 1500,
    "clinc150": 2000,
    "gsm8k": 600,
    "truthfulqa": None,
    "self-instruct": None,
    "arena-hard": None,
    "gpteacher-roleplay": 1500,
    "coconot-pref": None,
    "wrapped-benign": 1500,
    "guardintent-contrast": None,
    "framed-harmful": 1200,
    "framed-benign": 1500,
    "adversarial-harmful": 600,
    "adversarial-benign": 1200,
}

# Sources whose plain requests are wrapped in jailbreak templates.
WRAP_HARMFUL_FROM = (
    "advbench",
    "harmbench-adv",
    "harmfulqa",
    "catqa",
    "dangerousqa",
    "gptfuzz-questions",
    "airt-seeds",
)
WRAP_BENIGN_FROM = (
    "clinc150",
    "gsm8k",
    "truthfulqa",
    "self-instruct",
    "arena-hard",
    "coconot-pref",
)
# Sources whose requests are also wrapped in the project's own framings: the same framings
# carry harmful and benign requests, including the contrast prompts of both labels.
FRAME_HARMFUL_FROM = (*WRAP_HARMFUL_FROM, "guardintent-contrast")
FRAME_BENIGN_FROM = (*WRAP_BENIGN_FROM, "guardintent-contrast")
# Sources of the sensitive-looking benign requests that the adversarial-style framings wrap.
# Their caps give two benign requests per harmful one, to offset WildJailbreak's 1,500
# adversarial prompts, which are all harmful.
ADVERSARIAL_BENIGN_FROM = ("guardintent-contrast", "coconot-pref")
TEMPLATE_FOLDERS = {"gptfuzz": "MIT", "pyrit-jailbreak-templates": "MIT"}
# Sources built by placing another source's request inside a template or framing.
WRAPPED_SOURCES = ("wrapped-harmful", "wrapped-benign", "framed-harmful", "framed-benign",
                   "adversarial-harmful", "adversarial-benign")

_EVALUATION_ONLY = (
    "wildguardtest, xstest, aegis1-test, simplesafetytests, jailbreakbench, cyberseceval, "
    "mt-bench, harmbench/harmbench_behaviors_text_*.csv, coconot/coconot_contrast_eval.jsonl"
)
EXCLUDED: dict[str, str] = {
    _EVALUATION_ONLY: "evaluation only",
    "xsafety": "licence says research use only, and labels are per scenario, not per prompt",
    "hh-rlhf-harmless": "no per-prompt harm label",
    "vulcanforge/owasp_aitg.jsonl": (
        "CC BY-SA 4.0 (share-alike), and its tags are buckets, not harm labels"
    ),
    "vulcanforge/jailbreak_llms.jsonl, inthewild-jailbreaks": (
        "jailbreak framing without a concrete request, so no prompt-harm label"
    ),
    "harmfulqa-catqa/catqa_chinese.json, catqa_vietnamese.json": (
        "translations of the English CatQA questions"
    ),
    "CatQA categories Political Campaigning and Tailored Financial Advice": (
        "harmful only under policies that forbid them"
    ),
    "airt_seeds/fairness_yes_no.prompt, airt_licensed_therapist.prompt": (
        "borderline or benign objectives"
    ),
    "pyrit-jailbreak-templates groups other than in_the_wild": (
        "licence not verified; the top-level templates are used when permissive_only=False"
    ),
}


@dataclass(frozen=True)
class TrainingSet:
    """Training examples in a seeded order, with the data card and decontamination drops."""

    examples: list[Example]
    card: dict[str, Any]
    dropped: dict[str, int]


def load_training_set(
    data_dir: str | os.PathLike[str] | None,
    *,
    seed: int = 0,
    permissive_only: bool = True,
    adversarial_framings: bool = False,
) -> TrainingSet:
    """Load every training source present, decontaminate, cap, and shuffle by `seed`.

    Missing dataset folders are skipped and listed in the card under `missing`.
    `adversarial_framings` adds the `adversarial-harmful` and `adversarial-benign` sources,
    requests wrapped in the project's long adversarial-style framings. They are off by
    default: over two seeds of the default recipe they left mean F1 on the development
    benchmarks unchanged.
    """
    started = time.perf_counter()
    root = resolve_data_dir(data_dir)
    references = reference_texts(root)
    index = ReferenceIndex(text for texts in references.values() for text in texts)
    overrides = load_overrides()

    pools: dict[str, list[Candidate]] = {}
    dropped: dict[str, int] = {}
    used: dict[str, str] = {}
    missing: list[str] = []
    sources: list[Source] = [*HARMFUL_SOURCES, *BENIGN_SOURCES, CONTRAST_SOURCE]
    for source in sources:
        if not source.is_present(root):
            missing.append(f"{source.folder}/{source.files[0]}")
            continue
        candidates = [_apply_override(c, overrides) for c in source.load(root)]
        pools[source.name], dropped[source.name] = _decontaminate(candidates, index)
        used[source.folder] = source.licence
        logger.debug("loaded %s: %d kept", source.name, len(pools[source.name]))

    templates = clean_templates(load_templates(root, permissive_only=permissive_only), index)
    if templates:
        used.update({f: licence for f, licence in TEMPLATE_FOLDERS.items() if (root / f).is_dir()})
    framings = project_framings()
    wrapped = [
        ("wrapped-harmful", WRAP_HARMFUL_FROM, _harmful_examples, templates),
        ("wrapped-benign", WRAP_BENIGN_FROM, _benign_requests, templates),
        ("framed-harmful", FRAME_HARMFUL_FROM, _harmful_examples, framings),
        ("framed-benign", FRAME_BENIGN_FROM, _benign_requests, framings),
    ]
    if adversarial_framings:
        adversarial = project_adversarial_framings()
        wrapped += [
            ("adversarial-harmful", FRAME_HARMFUL_FROM, _harmful_examples, adversarial),
            ("adversarial-benign", ADVERSARIAL_BENIGN_FROM, _benign_requests, adversarial),
        ]
    for name, from_sources, select, wrappers in wrapped:
        requests = select([c for s in from_sources for c in pools.get(s, [])])
        pairs = build_pairs(requests, wrappers, _cap_or_all(name, len(requests)), name)
        pools[name], dropped[name] = _decontaminate(pairs, index)

    examples, duplicates = _cap_and_deduplicate(pools)
    random.Random(seed).shuffle(examples)
    card = _card(examples, used, missing, dropped, duplicates, references, seed, permissive_only)
    card["templates"] = len(templates)
    card["adversarial_framings"] = adversarial_framings
    card["load_seconds"] = round(time.perf_counter() - started, 2)
    logger.info("training set: %d examples in %.1f s", len(examples), card["load_seconds"])
    return TrainingSet(examples=examples, card=card, dropped=dropped)


def _apply_override(candidate: Candidate, overrides: dict[str, IntentOverride]) -> Candidate:
    override = overrides.get(candidate.example.id)
    if override is None:
        return candidate
    example = replace(candidate.example, intent=override.intent, category=override.category)
    if override.label is not None:
        example = replace(example, label=override.label)
    return replace(candidate, example=example)


def _decontaminate(
    candidates: list[Candidate], index: ReferenceIndex
) -> tuple[list[Candidate], int]:
    requests = {c.example.id: c.request for c in candidates if c.request is not None}
    kept, dropped = decontaminate((c.example for c in candidates), index, requests=requests)
    kept_ids = {example.id for example in kept}
    return [c for c in candidates if c.example.id in kept_ids], sum(dropped.values())


def _harmful_examples(candidates: list[Candidate]) -> list[Example]:
    return [example for example in _plain_examples(candidates) if example.label == "harmful"]


def _benign_requests(candidates: list[Candidate]) -> list[Example]:
    return benign_requests(_plain_examples(candidates))


def _plain_examples(candidates: list[Candidate]) -> list[Example]:
    return [c.example for c in candidates if c.request is None]


def _cap_or_all(name: str, available: int) -> int:
    cap = CAPS.get(name)
    return available if cap is None else min(cap, available)


def _cap(name: str, candidates: list[Candidate]) -> list[Candidate]:
    ranked = sorted(candidates, key=lambda c: stable_rank(c.example.id))
    cap = CAPS.get(name)
    if cap is None or len(ranked) <= cap:
        return ranked
    groups = sorted({c.group for c in ranked if c.group is not None})
    if not groups or name.startswith("wrapped-"):
        return ranked[:cap]
    per_group = cap // len(groups)
    counts: Counter[str | None] = Counter()
    chosen = []
    for candidate in ranked:
        if counts[candidate.group] < per_group:
            counts[candidate.group] += 1
            chosen.append(candidate)
    return chosen


def _cap_and_deduplicate(
    pools: dict[str, list[Candidate]],
) -> tuple[list[Example], dict[str, int]]:
    seen: set[str] = set()
    duplicates: Counter[str] = Counter()
    examples = []
    for name, candidates in pools.items():
        unique = []
        for candidate in sorted(candidates, key=lambda c: stable_rank(c.example.id)):
            key = normalize_text(candidate.example.prompt)
            if key in seen:
                duplicates[name] += 1
                continue
            seen.add(key)
            unique.append(candidate)
        examples += [c.example for c in _cap(name, unique)]
    return examples, dict(duplicates)


def _card(
    examples: list[Example],
    used: dict[str, str],
    missing: list[str],
    dropped: dict[str, int],
    duplicates: dict[str, int],
    references: dict[str, list[str]],
    seed: int,
    permissive_only: bool,
) -> dict[str, Any]:
    per_source: dict[str, Counter[str]] = {}
    for example in sorted(examples, key=lambda example: example.source):
        per_source.setdefault(example.source, Counter())[example.label] += 1
    sources = {s.name: s for s in (*HARMFUL_SOURCES, *BENIGN_SOURCES, CONTRAST_SOURCE)}
    methods = {
        name: {"intent": s.intent_method, "category": s.category_method}
        for name, s in sources.items()
        if name in per_source
    }
    for name in WRAPPED_SOURCES:
        if name in per_source:
            methods[name] = {
                "intent": "intent of the wrapped request",
                "category": "category of the wrapped request",
            }
    totals = Counter(example.label for example in examples)
    return {
        "seed": seed,
        "permissive_only": permissive_only,
        "folders": dict(sorted(used.items())),
        "missing": missing,
        "excluded": EXCLUDED,
        "caps": CAPS,
        "counts": {name: sum(c.values()) for name, c in per_source.items()},
        "labels": {name: dict(c) for name, c in per_source.items()},
        "total": {
            "examples": len(examples),
            "harmful": totals["harmful"],
            "unharmful": totals["unharmful"],
        },
        "methods": methods,
        "intent_overrides": "intents.jsonl, keyed by example id, overrides derived intents "
                            "and, where a row has one, the label",
        "decontamination": {
            "rule": f"normalised exact match or token Jaccard >= {JACCARD_THRESHOLD}",
            "references": {name: len(texts) for name, texts in references.items()},
            "dropped": dropped,
        },
        "duplicates_dropped": duplicates,
    }
