"""The contrast set written by the project and shipped inside the package.

Its unharmful prompts use words that sound dangerous (kill a process, shoot a photo). Its harmful
prompts are phrased politely or hidden inside another task. A guard trained on both has to judge
the request rather than its vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from guardintent.data._io import iter_jsonl
from guardintent.data._sources import Candidate, Source
from guardintent.data.schema import Example

CONTRAST_NAME = "guardintent-contrast"
CONTRAST_PATH = Path(__file__).parent / "contrast.jsonl"


@dataclass(frozen=True)
class PackagedSource(Source):
    """A training source read from the package itself, so it is present under every data dir."""

    def is_present(self, root: Path) -> bool:
        """Return True when the packaged file exists, whatever `root` is."""
        return CONTRAST_PATH.is_file()


def load_contrast(path: Path = CONTRAST_PATH) -> list[Example]:
    """Read the contrast set: JSON lines with `id`, `prompt`, `label`, `intent`, `category`."""
    return [
        Example(
            prompt=row["prompt"],
            label=row["label"],
            intent=row["intent"],
            category=row["category"],
            source=CONTRAST_NAME,
            id=row["id"],
        )
        for row in iter_jsonl(path)
    ]


def _load_contrast_candidates(root: Path) -> list[Candidate]:
    return [Candidate(example) for example in load_contrast()]


CONTRAST_SOURCE = PackagedSource(
    CONTRAST_NAME,
    CONTRAST_NAME,
    (CONTRAST_PATH.name,),
    "Apache-2.0 (written by the project)",
    "written by hand with each prompt",
    "written by hand with each prompt (none for unharmful)",
    _load_contrast_candidates,
)
