"""Drop training items that match an evaluation item, exactly or nearly.

Two texts match when their normalised forms are equal or the token sets of those forms have a
Jaccard similarity of at least `JACCARD_THRESHOLD`. Near matches are found with an inverted
index over the reference tokens and a prefix filter, so each training item is compared in full
only with the few references that could reach the threshold.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

from guardintent.data.schema import Example

JACCARD_THRESHOLD = 0.6

_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lowercase `text`, replace punctuation with spaces and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


class ReferenceIndex:
    """Evaluation texts indexed for exact and token-Jaccard lookups."""

    def __init__(self, references: Iterable[str], threshold: float = JACCARD_THRESHOLD) -> None:
        self.threshold = threshold
        self._exact: set[str] = set()
        self._token_sets: list[frozenset[str]] = []
        self._postings: dict[str, list[int]] = {}
        for text in references:
            normalized = normalize_text(text)
            if not normalized:
                continue
            self._exact.add(normalized)
            tokens = frozenset(normalized.split())
            position = len(self._token_sets)
            self._token_sets.append(tokens)
            for token in tokens:
                self._postings.setdefault(token, []).append(position)
        self._frequency = Counter({token: len(ids) for token, ids in self._postings.items()})

    def __len__(self) -> int:
        return len(self._token_sets)

    def matches(self, text: str) -> bool:
        """Return True when `text` equals a reference after normalisation or is near one."""
        normalized = normalize_text(text)
        if not normalized:
            return False
        if normalized in self._exact:
            return True
        tokens = set(normalized.split())
        size = len(tokens)
        # A reference with Jaccard >= t contains at least ceil(t * size) of these tokens, so it
        # contains at least one of any (size - ceil(t * size) + 1) of them. Probing only the
        # rarest tokens keeps the candidate lists short.
        prefix_length = size - math.ceil(self.threshold * size) + 1
        present = [token for token in tokens if token in self._postings]
        present.sort(key=lambda token: self._frequency[token])
        probe = present[: max(0, prefix_length - (size - len(present)))]
        low, high = self.threshold * size, size / self.threshold
        seen: set[int] = set()
        for token in probe:
            for position in self._postings[token]:
                if position in seen:
                    continue
                seen.add(position)
                other = self._token_sets[position]
                if not low <= len(other) <= high:
                    continue
                shared = len(tokens & other)
                if shared >= self.threshold * (size + len(other) - shared):
                    return True
        return False


def decontaminate(
    examples: Iterable[Example],
    references: ReferenceIndex | Iterable[str | Example],
    *,
    requests: Mapping[str, str] | None = None,
) -> tuple[list[Example], dict[str, int]]:
    """Drop every example that matches a reference text; return the rest and drops per source.

    `references` are evaluation prompts (strings or examples) or a prebuilt `ReferenceIndex`.
    `requests` maps the id of a wrapped example (a request inside a jailbreak template) to the
    request text. Such an example is dropped when the wrapped request matches, and so is every
    other example that wraps a request which itself matched.
    """
    index = references if isinstance(references, ReferenceIndex) else _build_index(references)
    requests = requests or {}
    examples = list(examples)

    contaminated_requests: set[str] = set()
    for example in examples:
        request = requests.get(example.id)
        if request is not None and index.matches(request):
            contaminated_requests.add(normalize_text(request))
        elif request is None and index.matches(example.prompt):
            contaminated_requests.add(normalize_text(example.prompt))

    kept: list[Example] = []
    dropped: Counter[str] = Counter()
    for example in examples:
        request = requests.get(example.id)
        request_key = normalize_text(request if request is not None else example.prompt)
        if request_key in contaminated_requests or (
            request is not None and index.matches(example.prompt)
        ):
            dropped[example.source] += 1
        else:
            kept.append(example)
    return kept, dict(dropped)


def _build_index(references: Iterable[str | Example]) -> ReferenceIndex:
    texts = (item.prompt if isinstance(item, Example) else item for item in references)
    return ReferenceIndex(texts)
