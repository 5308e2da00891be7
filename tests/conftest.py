from pathlib import Path

import pytest

from guardintent import Guard
from tests._tiny import build_tiny_package


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid tiny guard package; copy it before changing any file."""
    return build_tiny_package(tmp_path_factory.mktemp("packages") / "tiny")


@pytest.fixture(scope="session")
def guard(tiny_package: Path) -> Guard:
    return Guard(tiny_package, threads=1)
