"""The record every training-source adapter returns, and the description of a source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from guardintent.data.schema import Example


@dataclass(frozen=True)
class Candidate:
    """A training example before decontamination and capping.

    `request` is the request inside a jailbreak wrapper (None for plain prompts), which
    decontamination checks as well as the full prompt. `group` names the wrapper, so a cap can
    be split evenly across wrappers.
    """

    example: Example
    request: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Source:
    """One training source: where it lives, its licence and how its labels were obtained."""

    name: str
    folder: str
    files: tuple[str, ...]
    licence: str
    intent_method: str
    category_method: str
    load: Callable[[Path], list[Candidate]]

    def is_present(self, root: Path) -> bool:
        """Return True when the source's folder and its first file exist under `root`."""
        return (root / self.folder / self.files[0]).is_file()
