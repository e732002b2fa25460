from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def _shared_dataset(folder: str, marker: str, name: str) -> Path:
    """The dataset folder under ../shared/data, or skip the test saying why."""
    path = SHARED_DATA / folder
    if not (path / marker).is_file():
        pytest.skip(f"{name} not available at {path} (../shared/data is absent on this machine)")
    return path


@pytest.fixture(scope="session")
def mnist_dir():
    return _shared_dataset("mnist", "train-images-idx3-ubyte.gz", "MNIST")


@pytest.fixture(scope="session")
def nmnist_dir():
    return _shared_dataset("nmnist-small", "train1K.txt", "N-MNIST subset")
