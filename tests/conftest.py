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


@pytest.fixture(scope="module")
def digits():
    """The digits data set, split as :func:`lava_ff.load_dataset` splits it."""
    import lava_ff as ff

    return ff.load_dataset("digits")


@pytest.fixture(scope="module")
def trained(digits):
    """A small offline network (64-40-30, two epochs) on digits, with its readout of both layers."""
    import lava_ff as ff

    return ff.train(digits, layers=(40, 30), epochs=2, progress=False)


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


def _ints(rows, cols, k):
    """Even integers in [-254, 254], spread by a fixed stride: the same on every platform and numpy."""
    return (((np.arange(rows * cols).reshape(rows, cols) * k) % 255) - 127) * 2


@pytest.fixture
def golden_spec():
    """The network in tests/data/golden.net: two layers with different neurons (one whose voltage
    never decays), the linear and an on-chip readout, three views of 4x5 images."""
    from lava_ff.core.config import FFConfig
    from lava_ff.core.neuron import FixedNeuronParams, NeuronParams
    from lava_ff.core.spec import NetworkSpec

    cfg = FFConfig(in_features=20, layer_sizes=(12, 8), time_steps=6, neuron=NeuronParams(1.5, 0.25, 0.03))
    readout = (np.arange(10 * cfg.readout_features).reshape(10, -1) % 7 - 3) / 8.0
    return NetworkSpec(config=cfg, weights=(_ints(12, cfg.input_size, 37), _ints(8, 12, 53)),
                       neurons=(FixedNeuronParams(vth=96, i_decay=1024, v_decay=123),
                                FixedNeuronParams(vth=80, i_decay=4096, v_decay=0)),
                       readout_weight=readout, readout_bias=np.linspace(-1, 1, 10),
                       onchip_readout=_ints(10, cfg.readout_features, 11), onchip_readout_scale=2.5, views=3,
                       image_shape=(4, 5))
