"""The one record type every dataset adapter produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Label = Literal["harmful", "unharmful"]
LABELS: tuple[Label, ...] = ("unharmful", "harmful")


@dataclass(frozen=True)
class Example:
    """One prompt with its harm label and, where known, its intent and hazard category.

    `id` is `folder:local-id`, stable across runs, so annotations can be keyed by it.
    `category` is an id from `guardintent.taxonomy.CATEGORY_IDS` or None when unknown.
    """

    prompt: str
    label: Label
    intent: str | None
    category: str | None
    source: str
    id: str
