"""Readers for the files of a guard package, each checked against the manifest."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from tokenizers import Tokenizer

from guardintent._manifest import MANIFEST_NAME, REPACKAGE_HINT, Manifest
from guardintent._runtime import create_session
from guardintent.errors import CorruptPackageError, IncompatiblePackageError

# Exceptions InferenceSession raises for a file it cannot parse or run. They derive from
# Exception only, so they are listed one by one.
_ORT_LOAD_ERRORS = (
    ort_errors.Fail,
    ort_errors.InvalidArgument,
    ort_errors.InvalidGraph,
    ort_errors.InvalidProtobuf,
    ort_errors.NoSuchFile,
    ort_errors.NotImplemented,
    ort_errors.RuntimeException,
)
MODEL_INPUTS = ("input_ids", "attention_mask")


class IntentEntry(BaseModel):
    """One description of the intent bank (intents.json)."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    category: str | None
    harm_prior: float = Field(ge=0.0, le=1.0)


_INTENT_LIST = TypeAdapter(list[IntentEntry])


def open_session(model_path: Path, threads: int) -> ort.InferenceSession:
    """Create the onnxruntime session, raising CorruptPackageError for an unloadable file."""
    try:
        return create_session(model_path, threads)
    except _ORT_LOAD_ERRORS as error:
        raise CorruptPackageError(
            f"onnxruntime cannot load {model_path}: {error}; {REPACKAGE_HINT}", path=model_path
        ) from error


def expected_output_sizes(manifest: Manifest) -> dict[str, tuple[int, str]]:
    """Map each graph output to its last-axis size and the manifest field that sets it."""
    return {
        "harm_logits": (len(manifest.labels), "labels"),
        "category_logits": (len(manifest.categories), "categories"),
        "intent_embedding": (manifest.embedding_dim, "embedding_dim"),
        "pooled_embedding": (manifest.hidden_size, "hidden_size"),
    }


def check_graph(session: ort.InferenceSession, manifest: Manifest, model_path: Path) -> None:
    """Check the graph's inputs and outputs against the manifest, using the static shapes.

    Symbolic dimensions cannot be checked here; `check_output_shapes` checks them on each run.
    """
    inputs = sorted(node.name for node in session.get_inputs())
    if inputs != sorted(MODEL_INPUTS):
        raise IncompatiblePackageError(
            f"{model_path} has inputs {inputs}, expected exactly {list(MODEL_INPUTS)}; "
            f"{REPACKAGE_HINT}",
            path=model_path,
        )
    shapes = {node.name: node.shape for node in session.get_outputs()}
    for name, (size, field) in expected_output_sizes(manifest).items():
        if name not in shapes:
            raise IncompatiblePackageError(
                f"{model_path} has no output {name!r} (outputs: {sorted(shapes)}); "
                f"{REPACKAGE_HINT}",
                path=model_path,
            )
        shape = shapes[name]
        if len(shape) != 2 or (isinstance(shape[-1], int) and shape[-1] != size):
            _raise_shape_mismatch(model_path, name, list(shape), size, field)


def check_output_shapes(
    outputs: dict[str, np.ndarray], manifest: Manifest, model_path: Path
) -> None:
    """Check the shapes of computed outputs, which also covers symbolic dimensions."""
    sizes = expected_output_sizes(manifest)
    for name, value in outputs.items():
        size, field = sizes[name]
        if value.ndim != 2 or value.shape[1] != size:
            _raise_shape_mismatch(model_path, name, list(value.shape), size, field)


def _raise_shape_mismatch(path: Path, name: str, shape: list, size: int, field: str) -> None:
    raise IncompatiblePackageError(
        f"{path} output {name!r} has shape {shape}, but {field} in {MANIFEST_NAME} "
        f"implies [batch, {size}]; the manifest and the model do not belong together, "
        f"{REPACKAGE_HINT}",
        path=path,
    )


def check_vocabulary_fits(
    session: ort.InferenceSession, tokenizer: Tokenizer, pad_id: int, tokenizer_path: Path
) -> None:
    """Check that every token id the tokenizer can emit is a row of the graph's embedding table.

    The check runs the graph once on a window holding the largest id. onnxruntime's Gather
    rejects an index past the table, so a tokenizer with a larger vocabulary than the model
    fails here instead of on the first prompt that uses one of the extra tokens.
    NOTE: a graph that clamps or wraps ids before its lookup passes this probe.
    """
    vocabulary = tokenizer.get_vocab(with_added_tokens=True)
    largest = max([pad_id, *vocabulary.values()])
    feeds = {
        "input_ids": np.array([[pad_id, largest]], dtype=np.int64),
        "attention_mask": np.ones((1, 2), dtype=np.int64),
    }
    output = session.get_outputs()[0].name
    try:
        session.run([output], feeds)
    except _ORT_LOAD_ERRORS as error:
        raise IncompatiblePackageError(
            f"{tokenizer_path} can emit token id {largest} ({len(vocabulary)} tokens), but "
            f"model.onnx fails on it, so its embedding table has fewer rows ({error}); the "
            f"tokenizer does not belong to this model, {REPACKAGE_HINT}",
            path=tokenizer_path,
        ) from error


def load_tokenizer(path: Path, manifest: Manifest) -> Tokenizer:
    """Load tokenizer.json and set truncation to overlapping windows of `max_length` tokens."""
    try:
        tokenizer = Tokenizer.from_file(str(path))
    # tokenizers raises a bare Exception for unreadable or malformed files.
    except Exception as error:
        raise CorruptPackageError(
            f"cannot load tokenizer {path}: {error}; {REPACKAGE_HINT}", path=path
        ) from error

    # tokenizers panics at encoding time unless the stride is shorter than the window's content.
    content_length = manifest.max_length - tokenizer.num_special_tokens_to_add(False)
    if manifest.window_stride >= content_length:
        raise IncompatiblePackageError(
            f"window_stride {manifest.window_stride} in {MANIFEST_NAME} must be less than "
            f"max_length {manifest.max_length} minus the tokenizer's special tokens "
            f"({content_length}); {REPACKAGE_HINT}",
            path=path.parent / MANIFEST_NAME,
        )
    tokenizer.no_padding()
    tokenizer.enable_truncation(manifest.max_length, stride=manifest.window_stride)
    return tokenizer


def load_intent_bank(
    directory: Path, manifest: Manifest
) -> tuple[tuple[IntentEntry, ...], np.ndarray]:
    """Load intents.json and intents.npy; returns the entries and float32 unit-norm rows."""
    json_path = directory / "intents.json"
    try:
        entries = tuple(_INTENT_LIST.validate_json(json_path.read_bytes()))
    except (OSError, ValidationError) as error:
        raise CorruptPackageError(
            f"invalid intent bank {json_path}: {error}; {REPACKAGE_HINT}", path=json_path
        ) from error
    if not entries:
        raise CorruptPackageError(
            f"intent bank {json_path} is empty; {REPACKAGE_HINT}", path=json_path
        )
    known = {category.id for category in manifest.categories}
    for index, entry in enumerate(entries):
        if entry.category is not None and entry.category not in known:
            raise IncompatiblePackageError(
                f"intent {index} in {json_path} has category {entry.category!r}, which is not "
                f"in the categories of {MANIFEST_NAME}; {REPACKAGE_HINT}",
                path=json_path,
            )

    array_path = directory / "intents.npy"
    (bank,) = read_arrays(array_path, None)
    expected = (len(entries), manifest.embedding_dim)
    if bank.shape != expected:
        raise CorruptPackageError(
            f"{array_path} has shape {list(bank.shape)}, expected {list(expected)} "
            f"(intents in intents.json, embedding_dim); {REPACKAGE_HINT}",
            path=array_path,
        )
    # The rows are converted and normalised in place, and their norms summed by einsum, so that
    # loading adds one float32 copy of the bank to the peak memory, not three.
    bank = bank.astype(np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", bank, bank))
    # float16 storage leaves norms about 1e-3 off unit length; anything further is damage.
    if not np.all(np.abs(norms - 1.0) < 1e-2):
        raise CorruptPackageError(
            f"{array_path} rows must be L2-normalised, found norms from {norms.min():.4f} "
            f"to {norms.max():.4f}; {REPACKAGE_HINT}",
            path=array_path,
        )
    bank /= norms[:, None]
    return entries, bank


def load_intent_tower(directory: Path, manifest: Manifest) -> tuple[np.ndarray, np.ndarray]:
    """Load the intent tower's projection `weight` [hidden, dim] and `bias` [dim] as float32."""
    path = directory / "intent_tower.npz"
    weight, bias = read_arrays(path, ("weight", "bias"))
    if weight.shape != (manifest.hidden_size, manifest.embedding_dim) or bias.shape != (
        manifest.embedding_dim,
    ):
        raise CorruptPackageError(
            f"{path} has weight {list(weight.shape)} and bias {list(bias.shape)}, expected "
            f"[{manifest.hidden_size}, {manifest.embedding_dim}] and [{manifest.embedding_dim}] "
            f"(hidden_size, embedding_dim in {MANIFEST_NAME}); {REPACKAGE_HINT}",
            path=path,
        )
    return weight.astype(np.float32), bias.astype(np.float32)


def read_arrays(path: Path, names: tuple[str, ...] | None) -> list[np.ndarray]:
    """Read an .npy file (`names` None) or named arrays of an .npz file, never unpickling."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if names is None:
            return [np.asarray(loaded)]
        with loaded as archive:
            return [np.asarray(archive[name]) for name in names]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise CorruptPackageError(
            f"cannot read {path}: {error}; {REPACKAGE_HINT}", path=path
        ) from error
