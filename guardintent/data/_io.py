"""File readers shared by the dataset adapters, and the data-directory lookup."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_ENV = "GUARDINTENT_DATA"


def resolve_data_dir(path: str | os.PathLike[str] | None) -> Path:
    """Return the dataset directory: `path` if given, else the `GUARDINTENT_DATA` variable.

    Raises:
        ValueError: neither is set, or the directory does not exist.

    """
    if path is None:
        value = os.environ.get(DATA_ENV)
        if not value:
            raise ValueError(
                f"no data directory given and {DATA_ENV} is not set; pass the folder that "
                f"holds the dataset folders, or set {DATA_ENV}=/path/to/data"
            )
        origin = f"{DATA_ENV}={value!r}"
    else:
        value = os.fspath(path)
        origin = repr(value)
    directory = Path(value).expanduser()
    if not directory.is_dir():
        raise ValueError(
            f"data directory {origin} does not exist or is not a directory; "
            f"point it at the folder that holds the dataset folders"
        )
    return directory


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV file with a header row; a UTF-8 byte-order mark is ignored."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_json(path: Path) -> Any:
    """Read one JSON document."""
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSON-lines file (gzip-compressed when the name ends in .gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def stable_rank(key: str) -> str:
    """Return a sort key that orders items pseudo-randomly but the same way on every run.

    Capping a source by this order keeps the chosen subset independent of the shuffle seed
    and of the order rows appear in the file.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
