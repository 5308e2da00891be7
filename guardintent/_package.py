"""Loading and verification of a guard package directory (format in docs/guard-package.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from guardintent._contents import (
    IntentEntry,
    check_graph,
    load_intent_bank,
    load_intent_tower,
    load_tokenizer,
    open_session,
)
from guardintent._manifest import (
    MANIFEST_NAME,
    REPACKAGE_HINT,
    Manifest,
    raise_if_lfs_pointer,
    read_manifest,
)
from guardintent._runtime import find_pad_id
from guardintent.errors import (
    CorruptPackageError,
    IncompatiblePackageError,
    PackageNotFoundError,
)


@dataclass(frozen=True)
class GuardPackage:
    """A verified guard package with its model session and data loaded."""

    path: Path
    manifest: Manifest
    session: ort.InferenceSession
    tokenizer: Tokenizer
    pad_id: int
    intents: tuple[IntentEntry, ...]
    intent_bank: np.ndarray  # float32 [n_intents, embedding_dim], rows L2-normalised
    tower_weight: np.ndarray  # float32 [hidden_size, embedding_dim]
    tower_bias: np.ndarray  # float32 [embedding_dim]
    harmful_index: int


def load_package(path: Path, *, threads: int) -> GuardPackage:
    """Verify a package directory against its manifest and load it.

    Every file listed in guard.json is checked (present, not a Git LFS pointer, sha256
    matching) before any of them is parsed. Raises a `PackageError` subclass naming the file
    at fault and the fix.
    """
    if not path.is_dir():
        raise PackageNotFoundError(
            f"guard package not found: {path} is not a directory; pass the directory that "
            f"contains {MANIFEST_NAME}",
            path=path,
        )
    manifest = read_manifest(path)
    for name, sha256 in manifest.files.items():
        verify_file(path, name, sha256)
    harmful_index = _find_harmful_index(path, manifest)

    model_path = path / "model.onnx"
    session = open_session(model_path, threads)
    check_graph(session, manifest, model_path)
    tokenizer = load_tokenizer(path / "tokenizer.json", manifest)
    intents, bank = load_intent_bank(path, manifest)
    weight, bias = load_intent_tower(path, manifest)
    return GuardPackage(
        path=path,
        manifest=manifest,
        session=session,
        tokenizer=tokenizer,
        pad_id=find_pad_id(tokenizer),
        intents=intents,
        intent_bank=bank,
        tower_weight=weight,
        tower_bias=bias,
        harmful_index=harmful_index,
    )


def verify_file(directory: Path, name: str, expected_sha256: str) -> None:
    """Check that a listed file exists inside the package and has the expected sha256."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise CorruptPackageError(
            f"{directory / MANIFEST_NAME} lists {name!r}, which is outside the package "
            f"directory; {REPACKAGE_HINT}",
            path=directory / MANIFEST_NAME,
        )
    path = directory / relative
    if not path.is_file():
        raise PackageNotFoundError(
            f"package file missing: {path} is listed in {MANIFEST_NAME} but does not exist; "
            f"{REPACKAGE_HINT}",
            path=path,
        )
    raise_if_lfs_pointer(path)

    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    actual = digest.hexdigest()
    if actual != expected_sha256.lower():
        raise CorruptPackageError(
            f"checksum mismatch for {path}: sha256 is {actual}, but {MANIFEST_NAME} expects "
            f"{expected_sha256}; the file is damaged or was changed, {REPACKAGE_HINT}",
            path=path,
        )


def _find_harmful_index(directory: Path, manifest: Manifest) -> int:
    if "harmful" not in manifest.labels:
        raise IncompatiblePackageError(
            f"{directory / MANIFEST_NAME} has labels {list(manifest.labels)}, which lack "
            f"'harmful'; {REPACKAGE_HINT}",
            path=directory / MANIFEST_NAME,
        )
    return manifest.labels.index("harmful")
