"""Loading and verification of a guard package directory (format in docs/guard-package.md)."""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from guardintent._contents import (
    IntentEntry,
    check_graph,
    check_vocabulary_fits,
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


@dataclass(frozen=True, eq=False)
class SharedModel:
    """The loaded model files of a package, shared by every Guard on the same files.

    The onnxruntime session, the tokenizer, the intent bank and the intent tower are all
    read-only after loading, so Guards with different policies can use them at once.
    """

    session: ort.InferenceSession
    tokenizer: Tokenizer
    pad_id: int
    intents: tuple[IntentEntry, ...]
    intent_bank: np.ndarray  # float32 [n_intents, embedding_dim], rows L2-normalised
    tower_weight: np.ndarray  # float32 [hidden_size, embedding_dim]
    tower_bias: np.ndarray  # float32 [embedding_dim]


# Key: resolved package path, sha256 of model.onnx, intra-op threads, and the sha256 of the
# whole guard.json, whose checksums cover the other files and whose settings (window size,
# categories, dimensions) shape how they load. Values are weak references, so an entry lives
# as long as a Guard holds its model, and dropping the last such Guard frees the session.
# An explicit cache would keep every model ever loaded until the process ends.
_ModelKey = tuple[Path, str, int, str]
_shared_models: weakref.WeakValueDictionary[_ModelKey, SharedModel] = (
    weakref.WeakValueDictionary()
)
# Held while a model loads, so that two threads loading the same package open one session.
_shared_models_lock = threading.Lock()


@dataclass(frozen=True)
class GuardPackage:
    """A verified guard package with its model session and data loaded."""

    path: Path
    manifest: Manifest
    model: SharedModel
    harmful_index: int

    @property
    def session(self) -> ort.InferenceSession:
        """The onnxruntime session, shared with other Guards on the same package."""
        return self.model.session

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer, set to the package's windows, shared like the session."""
        return self.model.tokenizer

    @property
    def pad_id(self) -> int:
        """Token id used to pad windows to the same length."""
        return self.model.pad_id

    @property
    def intents(self) -> tuple[IntentEntry, ...]:
        """Entries of the intent bank, in the order of `intent_bank`'s rows."""
        return self.model.intents

    @property
    def intent_bank(self) -> np.ndarray:
        """float32 [n_intents, embedding_dim] intent embeddings, rows L2-normalised."""
        return self.model.intent_bank

    @property
    def tower_weight(self) -> np.ndarray:
        """float32 [hidden_size, embedding_dim] projection of the intent tower."""
        return self.model.tower_weight

    @property
    def tower_bias(self) -> np.ndarray:
        """float32 [embedding_dim] bias of the intent tower."""
        return self.model.tower_bias


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

    model = shared_model(path, manifest, threads)
    return GuardPackage(path=path, manifest=manifest, model=model, harmful_index=harmful_index)


def shared_model(path: Path, manifest: Manifest, threads: int) -> SharedModel:
    """Return the loaded model files of a verified package, loading them only once.

    Guards on the same package directory with the same guard.json and thread count share
    one session, tokenizer and intent bank while any of them is alive.
    """
    key: _ModelKey = (
        path.resolve(),
        manifest.files["model.onnx"].lower(),
        threads,
        hashlib.sha256(manifest.model_dump_json().encode()).hexdigest(),
    )
    with _shared_models_lock:
        model = _shared_models.get(key)
        if model is None:
            model = _load_model(path, manifest, threads)
            _shared_models[key] = model
        return model


def _load_model(path: Path, manifest: Manifest, threads: int) -> SharedModel:
    model_path = path / "model.onnx"
    session = open_session(model_path, threads)
    check_graph(session, manifest, model_path)
    tokenizer = load_tokenizer(path / "tokenizer.json", manifest)
    pad_id = find_pad_id(tokenizer)
    check_vocabulary_fits(session, tokenizer, pad_id, path / "tokenizer.json")
    intents, bank = load_intent_bank(path, manifest)
    weight, bias = load_intent_tower(path, manifest)
    return SharedModel(
        session=session,
        tokenizer=tokenizer,
        pad_id=pad_id,
        intents=intents,
        intent_bank=bank,
        tower_weight=weight,
        tower_bias=bias,
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
