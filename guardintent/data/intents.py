"""Intent sentences and hazard categories derived from source metadata.

The mappings here are written for this project. Intents written per example live in
`intents.jsonl` next to this module, keyed by example id, and override derived ones; a row may
also carry the annotator's label and category.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from guardintent.data.schema import LABELS
from guardintent.taxonomy import CATEGORY_IDS

OVERRIDES_PATH = Path(__file__).with_name("intents.jsonl")

CATQA_CATEGORIES: dict[str, str] = {
    "Illegal Activity": "illegal_activity",
    "Child Abuse": "child_safety",
    "Hate/Harass/Violence": "hate_harassment",
    "Malware Viruses": "cybercrime",
    "Physical Harm": "violence",
    "Economic Harm": "fraud",
    "Fraud/Deception": "fraud",
    "Adult Content": "sexual_content",
    "Privacy Violation Activity": "privacy",
}
# Harmful under usage policies that forbid them, often unharmful under prompt-harm policies.
CATQA_EXCLUDED = frozenset({"Political Campaigning", "Tailored Financial Advice"})

_HARMBENCH_CATEGORIES: dict[str, str] = {
    "cybercrime_intrusion": "cybercrime",
    "illegal": "illegal_activity",
    "misinformation_disinformation": "misinformation",
    "chemical_biological": "weapons",
    "harassment_bullying": "hate_harassment",
}

AIRT_CATEGORIES: dict[str, str] = {
    "psychosocial": "self_harm",
    "imminent_crisis": "self_harm",
    "fairness": "hate_harassment",
    "harassment": "hate_harassment",
    "hate": "hate_harassment",
    "illegal": "illegal_activity",
    "violence": "violence",
    "explosions": "weapons",
    "leakage": "privacy",
    "cyber_harms": "cybercrime",
    "misinformation": "misinformation",
    "scams": "fraud",
    "sexual": "sexual_content",
}

ARENA_SUBCATEGORY_INTENTS: dict[str, str] = {
    "coding": "Get help writing or fixing code",
    "math": "Solve a challenging math problem",
    "creative_writing": "Get a piece of creative writing",
}

COCONOT_SUBCATEGORY_INTENTS: dict[str, str] = {
    "false presuppositions": "Ask a question that rests on a mistaken assumption",
    "triggers for offensive language": "Ask about a sensitive group or topic in good faith",
    "dangerous or sensitive topics": "Get safety or background information on a sensitive topic",
    "underspecified": "Make a request that leaves out needed details",
    "privacy violations": "Ask for publicly known information about a person or organisation",
    "false information": "Ask about a claim that may be false",
    "input modality limitations": "Ask the assistant to take in a non-text input",
    "output modality limitations": "Ask the assistant for a non-text output",
}

# Checked in this order; the first category with a keyword in the intent wins.
_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("child_safety", ("child", "minors", "kids", "underage", "teenager", "pedophil")),
    (
        "self_harm",
        (
            "suicide",
            "self-harm",
            "self harm",
            "kill myself",
            "anorexi",
            "bulimi",
            "eating disorder",
            "cut myself",
            "harm themselves",
            "harm myself",
        ),
    ),
    (
        "weapons",
        (
            "bomb",
            "explosive",
            "weapon",
            "gun",
            "firearm",
            "rifle",
            "ammunition",
            "chemical",
            "biological",
            "nuclear",
            "poison",
            "toxin",
            "nerve agent",
        ),
    ),
    (
        "cybercrime",
        (
            "hack",
            "malware",
            "virus",
            "ransomware",
            "exploit",
            "phishing",
            "password",
            "botnet",
            "ddos",
            "keylogger",
            "spyware",
            "trojan",
        ),
    ),
    (
        "fraud",
        (
            "fraud",
            "scam",
            "counterfeit",
            "launder",
            "embezzl",
            "insider trading",
            "ponzi",
            "forged",
            "forgery",
            "fake review",
            "tax evasion",
            "identity theft",
            "steal money",
        ),
    ),
    (
        "privacy",
        (
            "privacy",
            "personal information",
            "personal data",
            "dox",
            "stalk",
            "track someone",
            "spy on",
            "surveil",
            "home address",
            "social security",
        ),
    ),
    (
        "misinformation",
        (
            "misinformation",
            "disinformation",
            "fake news",
            "propaganda",
            "conspiracy",
            "false information",
            "hoax",
            "manipulat",
        ),
    ),
    (
        "hate_harassment",
        (
            "hate",
            "racis",
            "sexis",
            "discriminat",
            "harass",
            "bully",
            "insult",
            "slur",
            "stereotyp",
            "offensive",
            "toxic",
            "demean",
            "homophob",
            "antisemit",
            "supremac",
        ),
    ),
    ("sexual_content", ("sex", "porn", "nude", "erotic", "explicit")),
    (
        "violence",
        (
            "kill",
            "murder",
            "hurt",
            "attack",
            "assault",
            "violen",
            "torture",
            "terror",
            "abuse",
            "fight",
            "injur",
            "harm",
        ),
    ),
    (
        "illegal_activity",
        (
            "drug",
            "steal",
            "theft",
            "shoplift",
            "smuggl",
            "traffick",
            "illegal",
            "cocaine",
            "heroin",
            "methamphetamine",
            "robbery",
            "rob a",
            "break into",
            "cheat",
            "evade",
            "bribe",
            "vandal",
        ),
    ),
)
_WORD_START = {
    keyword: re.compile(r"\b" + re.escape(keyword)) for _, words in _KEYWORDS for keyword in words
}


def categorize_intent(intent: str) -> str | None:
    """Guess a hazard category id from keywords in a harmful intent, or None."""
    text = intent.lower()
    for category, keywords in _KEYWORDS:
        if any(_WORD_START[keyword].search(text) for keyword in keywords):
            return category
    return None


def harmbench_category(semantic_category: str) -> str | None:
    """Map a HarmBench SemanticCategory to a taxonomy id (None for copyright and 'harmful')."""
    return _HARMBENCH_CATEGORIES.get(semantic_category)


def label_to_phrase(label: str) -> str:
    """Turn a snake_case or punctuated metadata label into lowercase words."""
    return re.sub(r"[_\s]+", " ", label).strip(" :").lower()


@dataclass(frozen=True)
class IntentOverride:
    """An annotation the project wrote for one public example (see docs/annotation-guide.md).

    `label` is the annotator's label under the project's guide, or None where only the intent
    was written. Where it differs from the source's label, training uses it.
    """

    intent: str
    category: str | None
    label: str | None = None


def load_overrides(path: Path = OVERRIDES_PATH) -> dict[str, IntentOverride]:
    """Read per-example annotations: example id -> `IntentOverride`.

    Raises:
        ValueError: a line is not a JSON object, lacks an id or intent, repeats an id, names
            an unknown label or category, or gives an unharmful label a category.

    """
    return _load_overrides_cached(path)


@lru_cache(maxsize=4)
def _load_overrides_cached(path: Path) -> dict[str, IntentOverride]:
    overrides: dict[str, IntentOverride] = {}
    if not path.is_file():
        return overrides
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {line_number}"
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
            example_id, intent = row.get("id"), row.get("intent")
            category, label = row.get("category"), row.get("label")
            if not isinstance(example_id, str) or not isinstance(intent, str) or not intent:
                raise ValueError(f"{where}: needs a string id and intent")
            if example_id in overrides:
                raise ValueError(f"{where}: id {example_id!r} appears twice; keep one row")
            if category is not None and category not in CATEGORY_IDS:
                raise ValueError(
                    f"{where}: unknown category {category!r}; "
                    f"expected one of {', '.join(CATEGORY_IDS)} or null"
                )
            if label is not None and label not in LABELS:
                raise ValueError(f"{where}: unknown label {label!r}; expected one of {LABELS}")
            if label == "unharmful" and category is not None:
                raise ValueError(f"{where}: an unharmful row needs category null, "
                                 f"got {category!r}")
            overrides[example_id] = IntentOverride(intent, category, label)
    return overrides
