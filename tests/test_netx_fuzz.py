"""A damaged netx file is refused with the file named, or loads exactly as
written: never a silent change, never another exception."""

from dataclasses import replace

import h5py
import numpy as np
import pytest
from lava_ff.netx_export import NetxFormatError, export, load

from lava_ff.core.config import FFConfig
from lava_ff.core.spec import NetworkSpec
from lava_ff.offline.model import FFNetwork

MUTATIONS = {"byte_flip": 120, "truncation": 30, "zeroed_range": 30, "h5py_edit": 40}


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    net = FFNetwork(FFConfig(in_features=16, layer_sizes=(8, 6), time_steps=4, seed=3))
    spec = NetworkSpec.from_torch(net)
    rng = np.random.default_rng(0)
    onchip = (rng.integers(-60, 60, size=(10, spec.config.readout_features)) * 2).astype(np.int64)
    spec = replace(spec, onchip_readout=onchip, onchip_readout_scale=4.0, views=3, image_shape=(4, 4))
    path = export(spec, tmp_path_factory.mktemp("fuzz") / "original.net")
    return path, load(path)


def _same(a: NetworkSpec, b: NetworkSpec) -> bool:
    arrays = [(x, y) for x, y in zip(a.weights, b.weights, strict=True)]
    arrays += [(a.readout_weight, b.readout_weight), (a.readout_bias, b.readout_bias),
               (a.onchip_readout, b.onchip_readout)]
    return (len(a.weights) == len(b.weights) and all(np.array_equal(x, y) for x, y in arrays)
            and a.neurons == b.neurons and a.config.to_dict() == b.config.to_dict()
            and a.onchip_readout_scale == b.onchip_readout_scale and a.views == b.views
            and a.image_shape == b.image_shape)


def _h5py_edit(path, rng) -> None:
    """One edit through h5py: a changed value, a deleted dataset, a dataset of
    another type, bad JSON, or an attribute (outside the content)."""
    with h5py.File(path, "r+") as f:
        names = []
        f.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
        name = names[rng.integers(len(names))]
        value = np.asarray(f[name][()])
        kind = rng.integers(5)
        if kind == 0 and value.dtype.kind in "iuf" and value.size:
            changed = value.astype(np.float64).ravel()
            changed[rng.integers(changed.size)] += rng.choice([1.0, -2.0, 0.5, np.nan, np.inf])
            del f[name]
            f.create_dataset(name, data=changed.reshape(value.shape))  # float64: NaN and inf fit
        elif kind == 1:
            del f[name]
        elif kind == 2:
            del f[name]
            f.create_dataset(name, data=np.zeros(3, np.float32))
        elif kind == 3:
            config = f["lava_ff/config"]
            text = config[()].decode() if isinstance(config[()], bytes) else str(config[()])
            del f["lava_ff/config"]
            edited = text.replace('"theta": ', '"theta": 1') if rng.integers(2) else text[: len(text) // 2]
            f["lava_ff"].create_dataset("config", data=edited)
        else:
            f[name].attrs["note"] = "an attribute netx and lava-ff do not read"


def test_every_mutated_file_is_refused_naming_it_or_loads_unchanged(original, tmp_path, capsys):
    path, reference = original
    data = path.read_bytes()
    rng = np.random.default_rng(2024)
    outcomes = {"refused": 0, "unchanged": 0}
    for kind, count in MUTATIONS.items():
        for trial in range(count):
            mutated = tmp_path / f"{kind}_{trial}.net"
            if kind == "byte_flip":
                raw = bytearray(data)
                raw[rng.integers(len(raw))] ^= int(rng.integers(1, 256))
                mutated.write_bytes(bytes(raw))
            elif kind == "truncation":
                mutated.write_bytes(data[: int(rng.integers(len(data)))])
            elif kind == "zeroed_range":
                raw = bytearray(data)
                start = int(rng.integers(len(raw)))
                raw[start:start + int(rng.integers(1, 256))] = bytes(min(len(raw) - start, 255))
                mutated.write_bytes(bytes(raw[: len(data)]))
            else:
                mutated.write_bytes(data)
                _h5py_edit(mutated, rng)
            try:
                loaded = load(mutated)
            except NetxFormatError as err:
                assert mutated.name in str(err), f"{kind} {trial}: the file is not named: {err}"
                outcomes["refused"] += 1
                continue
            assert _same(loaded, reference), f"{kind} {trial}: loaded with changed content"
            outcomes["unchanged"] += 1
    total = sum(MUTATIONS.values())
    assert total >= 200 and sum(outcomes.values()) == total
    with capsys.disabled():
        print(f"\nnetx fuzz: {total} mutations -> {outcomes['refused']} refused naming the file, "
              f"{outcomes['unchanged']} loaded unchanged, 0 changed, 0 other exceptions")
    assert outcomes["refused"] > total // 2  # most damage is caught, not harmless


def _copy(original, tmp_path, name: str):
    """A copy of the original file named ``name``, and the spec it holds."""
    path, reference = original
    copy = tmp_path / name
    copy.write_bytes(path.read_bytes())
    return copy, reference


def test_a_foreign_netx_file_without_the_lava_ff_group_still_loads(original, tmp_path):
    foreign, reference = _copy(original, tmp_path, "foreign.net")
    with h5py.File(foreign, "r+") as f:
        del f["lava_ff"]
    loaded = load(foreign, num_classes=10, overlay="label_neurons")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.weights, reference.weights, strict=True))


def test_a_version_1_file_without_a_checksum_still_loads(original, tmp_path):
    old, reference = _copy(original, tmp_path, "v1.net")
    with h5py.File(old, "r+") as f:
        del f["lava_ff/sha256"]
        del f["lava_ff/version"]
        f["lava_ff"].create_dataset("version", data=1)
    assert _same(load(old), reference)
    with h5py.File(old, "r+") as f:
        del f["lava_ff/version"]
        f["lava_ff"].create_dataset("version", data=2)
    with pytest.raises(NetxFormatError, match="v1.net: lava_ff version 2 without its checksum"):
        load(old)
