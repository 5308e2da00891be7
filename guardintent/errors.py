"""Exceptions raised by guardintent.

Every exception that guardintent raises on purpose derives from `GuardIntentError`::

    GuardIntentError
    ├── PackageError                  a guard package cannot be used (has `.path`)
    │   ├── PackageNotFoundError      the package directory or one of its files is missing
    │   ├── CorruptPackageError       a checksum differs, or a file cannot be read or parsed
    │   ├── LFSPointerError           a Git LFS pointer file sits in place of a real file
    │   └── IncompatiblePackageError  a newer format version, or labels and categories that
    │                                 do not match the model's outputs
    ├── ParityError                   exported outputs differ from the reference beyond the
    │                                 tolerance (has `.mismatches`)
    ├── HarmfulPromptError            raised by `CheckResult.raise_if_harmful()` on a harmful
    │                                 verdict (has `.result`)
    └── MissingExtraError             an optional dependency group is not installed (also an
                                      ImportError)

Invalid arguments raise the built-in `TypeError` or `ValueError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardintent.result import CheckResult

__all__ = [
    "CorruptPackageError",
    "GuardIntentError",
    "HarmfulPromptError",
    "IncompatiblePackageError",
    "LFSPointerError",
    "MissingExtraError",
    "PackageError",
    "PackageNotFoundError",
    "ParityError",
]


class GuardIntentError(Exception):
    """Base class of every exception that guardintent raises on purpose."""


class PackageError(GuardIntentError):
    """A guard package that cannot be loaded; `path` is the file or directory at fault."""

    def __init__(self, message: str, *, path: str | PathLike[str]) -> None:
        super().__init__(message)
        self.path = Path(path)


class PackageNotFoundError(PackageError):
    """The package directory, its guard.json, or a file listed in guard.json is missing."""


class CorruptPackageError(PackageError):
    """A package file whose sha256 differs from guard.json, or that cannot be read or parsed."""


class LFSPointerError(PackageError):
    """A Git LFS pointer file in place of a package file; `git lfs pull` fetches the file."""


class IncompatiblePackageError(PackageError):
    """A package this client cannot run: a newer format, or a manifest contradicting the graph."""


class ParityError(GuardIntentError):
    """Exported model outputs that differ from the reference outputs beyond the tolerance.

    `mismatches` contains one entry per failed comparison, so a single run reports every miss.
    """

    def __init__(self, message: str, mismatches: Sequence[object]) -> None:
        self.mismatches = list(mismatches)
        summary = "; ".join(str(mismatch) for mismatch in self.mismatches[:5])
        remaining = len(self.mismatches) - 5
        if remaining > 0:
            summary += f"; and {remaining} more"
        super().__init__(f"{message} ({len(self.mismatches)} mismatches: {summary})")


class HarmfulPromptError(GuardIntentError):
    """A prompt judged harmful, raised on request by `CheckResult.raise_if_harmful()`.

    `result` is the full `CheckResult`, so a handler can log the score, intent and rule.
    """

    def __init__(self, result: CheckResult) -> None:
        self.result = result
        intent = f", intent {result.intent!r}" if result.intent is not None else ""
        super().__init__(
            f"prompt judged harmful (score {result.score:.3f}, decided by "
            f"{result.decided_by}{intent})"
        )


class MissingExtraError(GuardIntentError, ImportError):
    """An optional dependency group that a feature needs and that is not installed."""

    def __init__(self, feature: str, extra: str, reason: str) -> None:
        self.feature = feature
        self.extra = extra
        self.install_command = f"pip install 'guardintent[{extra}]'"
        super().__init__(
            f"{feature} needs the optional [{extra}] dependencies, which failed to import "
            f"({reason}); install them with: {self.install_command}"
        )
