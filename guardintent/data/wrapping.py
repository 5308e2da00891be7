"""Adversarial pairs: harmful and benign requests placed inside jailbreak templates.

Each wrapped example keeps the label and intent of the request inside it, so a model trained
on them learns to judge the request under the wrapper rather than the wrapper itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from guardintent.data._io import read_csv, stable_rank
from guardintent.data._sources import Candidate
from guardintent.data.decontamination import ReferenceIndex
from guardintent.data.framings import ADVERSARIAL_FRAMINGS, FRAMINGS
from guardintent.data.framings import SLOT as FRAMING_SLOT
from guardintent.data.schema import Example

MAX_TEMPLATE_CHARS = 1500
MAX_BENIGN_REQUEST_CHARS = 400
GPTFUZZ_SLOT = "[INSERT PROMPT HERE]"
PYRIT_SLOT = "{{ prompt }}"
# PyRIT template groups used by default: converted from an MIT-licensed collection.
PERMISSIVE_PYRIT_GROUPS = frozenset({"in_the_wild"})
# Top-level PyRIT templates, mostly from jailbreakchat, for which no licence was found.
UNLICENSED_PYRIT_GROUPS = frozenset({""})


@dataclass(frozen=True)
class Template:
    """A jailbreak template with one slot for the request."""

    id: str
    text: str
    slot: str

    def wrap(self, request: str) -> str:
        """Return the template with `request` in its slot."""
        return self.text.replace(self.slot, request, 1)


def load_templates(root: Path, *, permissive_only: bool = True) -> list[Template]:
    """Read the GPTFuzzer and PyRIT templates of at most `MAX_TEMPLATE_CHARS` with one slot."""
    templates: list[Template] = []
    for file_name in ("GPTFuzzer.csv", "seed_short_25.csv"):
        path = root / "gptfuzz" / file_name
        if path.is_file():
            for position, row in enumerate(read_csv(path)):
                local_id = row.get("id") or str(position)
                templates.append(
                    Template(f"gptfuzz:{path.stem}/{local_id}", row["text"], GPTFUZZ_SLOT)
                )
    groups = PERMISSIVE_PYRIT_GROUPS | (set() if permissive_only else UNLICENSED_PYRIT_GROUPS)
    pyrit = root / "pyrit-jailbreak-templates/pyrit_jailbreak_templates.jsonl"
    if pyrit.is_file():
        with pyrit.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if row["group_dir"] not in groups:
                    continue
                text = row["value"].replace("{% raw %}", "").replace("{% endraw %}", "")
                templates.append(
                    Template(f"pyrit-jailbreak-templates:{row['file']}", text, PYRIT_SLOT)
                )
    return [
        template
        for template in templates
        if template.text.count(template.slot) == 1
        and len(template.text) - len(template.slot) <= MAX_TEMPLATE_CHARS
    ]


def clean_templates(templates: list[Template], index: ReferenceIndex) -> list[Template]:
    """Drop templates whose framing alone matches an evaluation item."""
    return [t for t in templates if not index.matches(t.text.replace(t.slot, " "))]


def project_framings() -> list[Template]:
    """Return the short framings the project wrote as templates."""
    return [
        Template(f"guardintent-framing:{index}", text, FRAMING_SLOT)
        for index, text in enumerate(FRAMINGS)
    ]


def project_adversarial_framings() -> list[Template]:
    """Return the project's long framings in the adversarial style as templates."""
    return [
        Template(f"guardintent-adversarial-framing:{index}", text, FRAMING_SLOT)
        for index, text in enumerate(ADVERSARIAL_FRAMINGS)
    ]


def build_pairs(
    requests: list[Example], templates: list[Template], count: int, source: str
) -> list[Candidate]:
    """Wrap `count` requests (chosen in a fixed pseudo-random order) in the templates in turn.

    The order is salted with `source`, so two wrapped sources built from the same requests
    wrap different subsets. Requests must already be decontaminated: evaluation items are
    never wrapped.
    """
    if not templates:
        return []
    chosen = sorted(requests, key=lambda example: stable_rank(f"{source}:{example.id}"))[:count]
    order = sorted(templates, key=lambda template: stable_rank(template.id))
    candidates = []
    for position, request in enumerate(chosen):
        template = order[position % len(order)]
        example = Example(
            prompt=template.wrap(request.prompt),
            label=request.label,
            intent=request.intent,
            category=request.category,
            source=source,
            id=f"{template.id}/{request.id}",
        )
        candidates.append(Candidate(example, request=request.prompt, group=template.id))
    return candidates


def benign_requests(examples: list[Example]) -> list[Example]:
    """Select benign requests short enough to wrap."""
    return [
        example
        for example in examples
        if example.label == "unharmful" and len(example.prompt) <= MAX_BENIGN_REQUEST_CHARS
    ]
