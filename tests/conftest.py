from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_dir():
    path = SHARED_DATA / "mnist"
    if not (path / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not available at {path} (../shared/data is absent on this machine)")
    return path


@pytest.fixture(scope="session")
def nmnist_dir():
    path = SHARED_DATA / "nmnist-small"
    if not (path / "train1K.txt").is_file():
        pytest.skip(f"N-MNIST subset not available at {path} (../shared/data is absent)")
    return path
