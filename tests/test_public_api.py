import subprocess
import sys
from pathlib import Path

import pytest

import guardintent
from guardintent import errors

REPOSITORY = Path(__file__).resolve().parent.parent

PUBLIC_NAMES = [
    "Cascade",
    "CheckResult",
    "CorruptPackageError",
    "Guard",
    "GuardInfo",
    "GuardIntentError",
    "HarmfulPromptError",
    "IncompatiblePackageError",
    "Intent",
    "IntentMatch",
    "LFSPointerError",
    "MissingExtraError",
    "PackageError",
    "PackageNotFoundError",
    "ParityError",
    "Verdict",
    "__version__",
    "calibrate_band",
]


def test_public_names():
    assert sorted(guardintent.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert hasattr(guardintent, name)


def test_version():
    assert guardintent.__version__ == "0.1.0"


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (errors.PackageError, errors.GuardIntentError),
        (errors.PackageNotFoundError, errors.PackageError),
        (errors.CorruptPackageError, errors.PackageError),
        (errors.LFSPointerError, errors.PackageError),
        (errors.IncompatiblePackageError, errors.PackageError),
        (errors.ParityError, errors.GuardIntentError),
        (errors.HarmfulPromptError, errors.GuardIntentError),
        (errors.MissingExtraError, errors.GuardIntentError),
        (errors.MissingExtraError, ImportError),
    ],
)
def test_error_tree(error, parent):
    assert issubclass(error, parent)


def test_missing_extra_error_message():
    error = errors.MissingExtraError("`guardintent train`", "train", "No module named 'torch'")
    assert error.install_command == "pip install 'guardintent[train]'"
    assert "pip install 'guardintent[train]'" in str(error)
    assert "No module named 'torch'" in str(error)


def test_parity_error_lists_mismatches():
    mismatches = [f"batch {size}: max abs diff 0.1" for size in range(7)]
    error = errors.ParityError("ONNX outputs differ from PyTorch", mismatches)
    assert error.mismatches == mismatches
    assert "7 mismatches" in str(error)
    assert "and 2 more" in str(error)


def test_testing_module_names():
    from guardintent import testing

    assert sorted(testing.__all__) == ["FakeGuard", "FakeRule"]
    assert not hasattr(guardintent, "FakeGuard")


def test_core_does_not_import_torch():
    code = (
        "import sys, guardintent, guardintent.testing, guardintent.cli, "
        "guardintent.evaluate, guardintent.data; "
        "sys.exit(int('torch' in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, timeout=120, check=False
    )
    assert completed.returncode == 0
