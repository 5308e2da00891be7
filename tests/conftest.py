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


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random BERT folder.

    Also sets torch to one thread, so weights and scores do not depend on the CPU count.
    """
    torch = pytest.importorskip("torch")
    from tests._tiny_encoder import build_tiny_encoder

    torch.set_num_threads(1)
    return build_tiny_encoder(tmp_path_factory.mktemp("encoder"))


@pytest.fixture(scope="session")
def toy_train_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests._toy_training import toy_rows, write_train_file

    return write_train_file(tmp_path_factory.mktemp("data") / "toy.jsonl", toy_rows())


@pytest.fixture(scope="session")
def trained_run(tiny_encoder: Path, toy_train_file: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a short training run on the toy set (checkpoints and `final`)."""
    pytest.importorskip("torch")
    from guardintent.train.cli import read_train_file
    from guardintent.train.trainer import TrainConfig, train
    from tests._toy_training import TRAIN_SETTINGS

    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(output_dir=out, base_model=tiny_encoder, **TRAIN_SETTINGS)
    train(config, read_train_file(toy_train_file), {"source": "toy"})
    return out


@pytest.fixture(scope="session")
def trained_checkpoint(trained_run: Path) -> Path:
    """The `final` folder of the toy training run, ready for export."""
    return trained_run / "final"
