import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from guardintent import (
    CorruptPackageError,
    Guard,
    IncompatiblePackageError,
    LFSPointerError,
    PackageError,
    PackageNotFoundError,
)
from tests._tiny import read_manifest, write_manifest

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)


@pytest.fixture
def package(tiny_package: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny package that a test may damage."""
    return Path(shutil.copytree(tiny_package, tmp_path / "package"))


def change_manifest(package: Path, **changes: object) -> None:
    manifest = read_manifest(package)
    manifest.update(changes)
    write_manifest(package, manifest)


def test_valid_package_loads(package):
    assert Guard(package, threads=1).info.name == "tiny-test-guard"


def test_missing_directory(tmp_path):
    with pytest.raises(PackageNotFoundError, match="not a directory") as raised:
        Guard(tmp_path / "absent")
    assert raised.value.path == tmp_path / "absent"


def test_missing_manifest(package):
    (package / "guard.json").unlink()
    with pytest.raises(PackageNotFoundError, match="guard.json not found"):
        Guard(package)


def test_missing_file(package):
    (package / "intents.npy").unlink()
    with pytest.raises(PackageNotFoundError, match="missing") as raised:
        Guard(package)
    assert raised.value.path == package / "intents.npy"


def test_tampered_file_fails_checksum(package):
    with (package / "intents.json").open("a") as file:
        file.write(" ")
    with pytest.raises(CorruptPackageError, match="checksum mismatch") as raised:
        Guard(package)
    assert raised.value.path == package / "intents.json"
    assert "sha256" in str(raised.value)


def test_corrupt_model(package):
    (package / "model.onnx").write_bytes(b"\x08\x01garbage that is not a protobuf graph")
    change_manifest(package)
    with pytest.raises(CorruptPackageError, match="model.onnx") as raised:
        Guard(package)
    assert raised.value.path == package / "model.onnx"
    assert raised.value.__cause__ is not None


def test_corrupt_tokenizer(package):
    (package / "tokenizer.json").write_text("{not json")
    change_manifest(package)
    with pytest.raises(CorruptPackageError, match="tokenizer.json"):
        Guard(package)


def test_corrupt_intent_bank(package):
    (package / "intents.npy").write_bytes(b"not an npy file")
    change_manifest(package)
    with pytest.raises(CorruptPackageError, match="intents.npy"):
        Guard(package)


def test_intent_bank_wrong_shape(package):
    np.save(package / "intents.npy", np.ones((2, 8), dtype=np.float16))
    change_manifest(package)
    with pytest.raises(CorruptPackageError, match=r"shape \[2, 8\]"):
        Guard(package)


def test_invalid_manifest_json(package):
    (package / "guard.json").write_text("{")
    with pytest.raises(CorruptPackageError, match="guard.json"):
        Guard(package)


def test_manifest_missing_field(package):
    manifest = read_manifest(package)
    del manifest["temperature"]
    write_manifest(package, manifest)
    with pytest.raises(CorruptPackageError, match="temperature"):
        Guard(package)


def test_lfs_pointer_model(package):
    (package / "model.onnx").write_text(LFS_POINTER)
    with pytest.raises(LFSPointerError, match="git lfs pull") as raised:
        Guard(package)
    assert raised.value.path == package / "model.onnx"


def test_lfs_pointer_manifest(package):
    (package / "guard.json").write_text(LFS_POINTER)
    with pytest.raises(LFSPointerError, match="guard.json"):
        Guard(package)


def test_newer_format_version(package):
    change_manifest(package, format_version=2, labels="a future schema")
    with pytest.raises(IncompatiblePackageError, match="format_version 2") as raised:
        Guard(package)
    assert "pip install -U guardintent" in str(raised.value)


def test_newer_float_format_version(package):
    change_manifest(package, format_version=2.0)
    with pytest.raises(IncompatiblePackageError, match="format_version 2"):
        Guard(package)


@pytest.mark.parametrize("version", ["2", "1", 0, -1, True, None])
def test_invalid_format_version(package, version):
    change_manifest(package, format_version=version)
    with pytest.raises(CorruptPackageError, match="format_version"):
        Guard(package)


def test_label_count_mismatch(package):
    change_manifest(package, labels=["unharmful", "harmful", "controversial"])
    with pytest.raises(IncompatiblePackageError, match="harm_logits") as raised:
        Guard(package)
    assert raised.value.path == package / "model.onnx"


def test_category_count_mismatch(package):
    change_manifest(package, categories=[{"id": "violence", "description": "Violence"}])
    with pytest.raises(IncompatiblePackageError, match="category_logits"):
        Guard(package)


def test_labels_without_harmful(package):
    change_manifest(package, labels=["safe", "unsafe"])
    with pytest.raises(IncompatiblePackageError, match="'harmful'"):
        Guard(package)


def test_intent_with_unknown_category(package):
    text = (package / "intents.json").read_text().replace('"cybercrime"', '"piracy"')
    (package / "intents.json").write_text(text)
    change_manifest(package)
    with pytest.raises(IncompatiblePackageError, match="piracy"):
        Guard(package)


def test_stride_too_long_for_tokenizer(package):
    # 16 tokens minus [CLS] and [SEP] leave 14, so a stride of 14 cannot advance.
    change_manifest(package, window_stride=14)
    with pytest.raises(IncompatiblePackageError, match="window_stride 14"):
        Guard(package)


def test_file_outside_package(package):
    manifest = read_manifest(package)
    manifest["files"]["../outside.txt"] = "0" * 64
    (package / "guard.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptPackageError, match="outside the package"):
        Guard(package)


def test_package_errors_share_base(package):
    (package / "model.onnx").unlink()
    with pytest.raises(PackageError):
        Guard(package)
