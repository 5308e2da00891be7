"""The guard.json manifest of a guard package: schema, format version and reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from guardintent.errors import (
    CorruptPackageError,
    IncompatiblePackageError,
    LFSPointerError,
    PackageNotFoundError,
)

FORMAT_VERSION = 1
MANIFEST_NAME = "guard.json"
REQUIRED_FILES = ("model.onnx", "tokenizer.json", "intents.json", "intents.npy", "intent_tower.npz")
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
REPACKAGE_HINT = "download or export the guard package again"


class CategorySpec(BaseModel):
    """One hazard category of the package's taxonomy, in the order of `category_logits`."""

    model_config = ConfigDict(frozen=True)

    id: str
    description: str = ""


class Manifest(BaseModel):
    """Contents of guard.json; unknown keys are ignored so that format 1 can gain fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Strict, so that a string such as "2" is rejected instead of read as format 2.
    format_version: int = Field(ge=1, strict=True)
    name: str
    version: str
    base_model: str | None = None
    labels: tuple[str, ...]
    categories: tuple[CategorySpec, ...]
    threshold: float = Field(ge=0.0, le=1.0)
    temperature: float = Field(gt=0.0)
    max_length: int = Field(gt=0)
    window_stride: int = Field(ge=0)
    embedding_dim: int = Field(gt=0)
    intent_scale: float = Field(gt=0.0)
    hidden_size: int = Field(gt=0)
    opset: int | None = None
    quantization: str | None = None
    libraries: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str]
    data_card: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    parity: dict[str, Any] = Field(default_factory=dict)
    created: str | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> Manifest:
        if self.window_stride >= self.max_length:
            raise ValueError(
                f"window_stride {self.window_stride} must be less than max_length {self.max_length}"
            )
        ids = [category.id for category in self.categories]
        if len(set(ids)) != len(ids):
            raise ValueError(f"category ids must be unique, got {ids}")
        missing = [name for name in REQUIRED_FILES if name not in self.files]
        if missing:
            raise ValueError(f"files has no sha256 for {', '.join(missing)}")
        return self


def read_manifest(directory: Path) -> Manifest:
    """Read and validate guard.json, checking its format version before its schema."""
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise PackageNotFoundError(
            f"{MANIFEST_NAME} not found in {directory}; a guard package directory must contain it",
            path=path,
        )
    raise_if_lfs_pointer(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptPackageError(
            f"cannot read {path}: {error}; {REPACKAGE_HINT}", path=path
        ) from error

    # A newer format may change the schema, so its version is checked first.
    version = data.get("format_version") if isinstance(data, dict) else None
    is_number = isinstance(version, (int, float)) and not isinstance(version, bool)
    if is_number and version > FORMAT_VERSION:
        raise IncompatiblePackageError(
            f"{path} has format_version {version}, but this guardintent reads up to "
            f"{FORMAT_VERSION}; upgrade it with: pip install -U guardintent",
            path=path,
        )
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise CorruptPackageError(
            f"invalid {path}: {error}; {REPACKAGE_HINT}", path=path
        ) from error


def raise_if_lfs_pointer(path: Path) -> None:
    """Raise LFSPointerError if the file is a Git LFS pointer instead of the real content."""
    with path.open("rb") as file:
        head = file.read(len(LFS_POINTER_PREFIX))
    if head == LFS_POINTER_PREFIX:
        raise LFSPointerError(
            f"{path} is a Git LFS pointer, not the file itself; run `git lfs pull` in the "
            "repository that contains the package",
            path=path,
        )
