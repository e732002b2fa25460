import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

#: whether Lava's last releases (the ``lava`` extra) are installed here
def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # its parent package is absent
        return False


HAVE_LAVA = _installed("lava.magma") and _installed("lava.lib.dl")
LAVA_MISSING = ("needs the lava extra (lava-nc 0.10, lava-dl 0.6: CPython 3.10 only), not installed here; "
                "`make test` runs it")


def pytest_configure(config):
    config.addinivalue_line("markers", "lava: needs Lava or lava-dl (the lava extra); skipped where they are absent")


def pytest_collection_modifyitems(config, items):
    if HAVE_LAVA:
        return
    skip = pytest.mark.skip(reason=LAVA_MISSING)
    for item in items:
        if "lava" in item.keywords:
            item.add_marker(skip)


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
