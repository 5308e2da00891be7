"""Scan a JSON lines file of prompts with a guard, writing one result per line, resumably.

Each input line is a JSON object with a prompt field and an id field. Each output line is
`{"id": <id>, **CheckResult}`. The output is appended to and flushed after each line, so a
scan that stops loses at most the batch in flight, and a rerun with the same output file skips
the ids it already contains.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import IO, Any, Protocol

from guardintent.errors import GuardIntentError
from guardintent.result import CheckResult

__all__ = ["ScanError", "ScanSummary", "scan_file"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32


class ScanError(GuardIntentError):
    """An input or output line that cannot be read; the message names the file and line."""


class BatchGuard(Protocol):
    """Interface that a scan needs from a guard; `Guard` and `FakeGuard` implement it."""

    def check_batch(self, prompts: Sequence[str]) -> list[CheckResult]:
        """Classify prompts."""
        ...


@dataclass(frozen=True)
class ScanSummary:
    """Counts of one scan: input rows, rows already in the output, and rows checked now."""

    total: int
    skipped: int
    checked: int
    harmful: int


@dataclass(frozen=True)
class _Row:
    line: int
    id: str | int
    prompt: str


def scan_file(
    guard: BatchGuard,
    input_path: str | PathLike[str],
    out_path: str | PathLike[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    field: str = "prompt",
    id_field: str = "id",
    progress: bool = False,
) -> ScanSummary:
    """Check every row of `input_path` whose id is not yet in `out_path`, appending results.

    The whole input is validated before the first model call, so a bad line fails fast. Ids
    must be str or int and unique. `progress` shows a tqdm progress bar on stderr when tqdm is
    installed. Raises `ScanError` for an unreadable line of either file.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    input_path, out_path = Path(input_path), Path(out_path)
    done = _read_done_ids(out_path)
    total = pending = 0
    seen: set[str] = set()
    for row in _read_rows(input_path, field, id_field):
        key = json.dumps(row.id)
        if key in seen:
            raise ScanError(f"{input_path}:{row.line}: duplicate {id_field} {row.id!r}")
        seen.add(key)
        total += 1
        pending += key not in done
    logger.info(
        "scan of %s: %d rows, %d already in %s", input_path, total, total - pending, out_path
    )

    harmful = 0
    rows = (
        row for row in _read_rows(input_path, field, id_field) if json.dumps(row.id) not in done
    )
    with out_path.open("a", encoding="utf-8") as out, _progress_bar(pending, progress) as bar:
        for batch in _batches(rows, batch_size):
            results = guard.check_batch([row.prompt for row in batch])
            for row, result in zip(batch, results, strict=True):
                _write_line(out, {"id": row.id, **result.model_dump(mode="json")})
                harmful += result.is_harmful
            bar.update(len(batch))
    return ScanSummary(total=total, skipped=total - pending, checked=pending, harmful=harmful)


def _read_rows(path: Path, field: str, id_field: str) -> Iterator[_Row]:
    with _open_input(path) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            record = _parse_object(line, where)
            prompt = record.get(field)
            if not isinstance(prompt, str):
                raise ScanError(
                    f"{where}: {field!r} must be a str, got {_describe(prompt)}; "
                    "set the prompt field with --field"
                )
            yield _Row(number, _read_id(record, id_field, where), prompt)


def _read_id(record: dict[str, Any], id_field: str, where: str) -> str | int:
    value = record.get(id_field)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ScanError(
            f"{where}: {id_field!r} must be a str or int, got {_describe(value)}; "
            "set the id field with --id-field"
        )
    return value


def _read_done_ids(out_path: Path) -> set[str]:
    """Return the ids in an existing output as JSON text, cutting off a torn last line."""
    if not out_path.exists():
        return set()
    data = out_path.read_bytes()
    if data and not data.endswith(b"\n"):
        # A scan stopped in the middle of a write leaves a partial last line. Dropping it
        # means that row is checked again.
        cut = data.rfind(b"\n") + 1
        logger.warning("%s: dropping a partial last line of %d bytes", out_path, len(data) - cut)
        with out_path.open("r+b") as out:
            out.truncate(cut)
        data = data[:cut]
    done = set()
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if line.strip():
            record = _parse_object(line, f"{out_path}:{number}")
            if "id" not in record:
                raise ScanError(f"{out_path}:{number}: the line has no 'id'; is it a scan output?")
            done.add(json.dumps(record["id"]))
    return done


def _parse_object(line: str, where: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ScanError(f"{where}: invalid JSON: {error}") from error
    if not isinstance(record, dict):
        raise ScanError(f"{where}: expected a JSON object, got {_describe(record)}")
    return record


def _open_input(path: Path) -> IO[str]:
    try:
        return path.open(encoding="utf-8")
    except OSError as error:
        raise ScanError(f"cannot read the input file {path}: {error.strerror}") from error


def _batches(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_line(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()


def _describe(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


class _NoProgress:
    def update(self, count: int) -> None:
        pass

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        logger.info("tqdm is not installed, so the scan shows no progress bar: pip install tqdm")
        return _NoProgress()
    return tqdm(total=total, unit="prompt", desc="scan")
