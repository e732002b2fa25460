"""netx export/import: pure atomic export, spike-exact runs through lava-dl netx,
slayer interop, and clear errors for files lava-ff can't run."""

import h5py
import numpy as np
import pytest
import torch
from lava_ff.netx_export import NetxFormatError, export, load, schema
from lava_ff.netx_export.io import content_digest

from lava_ff.core.config import FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.spec import NetworkSpec
from lava_ff.offline.model import FFNetwork


@pytest.fixture(scope="module")
def small_net():
    from lava_ff.offline.model import FFNetwork

    cfg = FFConfig(in_features=64, layer_sizes=(30, 20), time_steps=8, weight_scale=1.0, seed=3)
    return FFNetwork(cfg)


def test_export_is_pure_and_round_trips(small_net, tmp_path):
    before = {k: v.clone() for k, v in small_net.state_dict().items()}
    path = export(small_net, tmp_path / "model.net")
    after = small_net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    spec, loaded = NetworkSpec.from_torch(small_net), load(path)
    assert loaded.config == spec.config and loaded.neurons == spec.neurons
    for a, b in zip(spec.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.readout_weight, spec.readout_weight)
    # netx's own reader sees integer weights and our neuron numbers
    with h5py.File(path) as f:
        assert f["layer/0/type"][0] == b"dense"
        assert f["layer/0/weight"].dtype.kind == "i"
        assert int(f["layer/1/neuron/vThMant"][()]) == spec.neurons[1].vth
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.net"]  # no temporary left


def test_failed_export_leaves_no_file_and_keeps_the_old_one(small_net, tmp_path, monkeypatch):
    path = tmp_path / "model.net"
    export(small_net, path)
    good = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        export(small_net, path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.net"]


@pytest.mark.lava
def test_netx_run_is_spike_exact_and_predicts_like_torch(small_net, tmp_path):
    from lava_ff.netx_export.run import build_netx_network, run_netx_inference

    path = export(small_net, tmp_path / "model.net")
    spec = load(path)
    cfg = spec.config
    x = np.random.default_rng(5).random((5, 64)).astype(np.float32)
    # the windows the input sends: per sample, labels 0..C-1 then the neutral label
    windows = []
    for k in range(len(x)):
        windows.append(spec.encode(np.repeat(x[k:k + 1], cfg.num_classes, 0), np.arange(cfg.num_classes)))
        windows.append(spec.encode(x[k:k + 1], None))
    expected = [s.transpose(0, 2, 1) for s in spec.forward_fixed(np.concatenate(windows))]
    assert all(e.sum() > 100 for e in expected), "an exactness test needs spikes"

    network = build_netx_network(path, x, expected_spikes=expected)
    out = run_netx_inference(network, "fixed_pt", progress=False, timeout=120)

    assert out["spikes_checked"] == [e.size for e in expected]
    assert out["mismatches"] == [0, 0], out["first_mismatch"]
    scores = small_net.layer_label_scores(x)
    np.testing.assert_array_equal(out["predictions"][:, 0], scores.sum(0).argmax(1))
    np.testing.assert_array_equal(out["predictions"][:, 2], small_net.predict(x, "readout"))
    np.testing.assert_array_equal(out["predictions"][:, 3], small_net.predict(x, "combined"))


def with_onchip_readout(spec, seed=7, scale=4.0):
    """``spec`` with a random on-chip readout: even 8-bit integers, [classes, readout features]."""
    from dataclasses import replace

    cfg = spec.config
    weights = 2 * np.random.default_rng(seed).integers(-128, 128, (cfg.num_classes, cfg.readout_features))
    return replace(spec, onchip_readout=weights, onchip_readout_scale=scale)


@pytest.mark.lava
def test_onchip_readout_round_trips_and_netx_predicts_what_the_host_computes(small_net, tmp_path):
    """A readout learned on chip travels in the netx file (integer weights
    and logit scale) and runs in Lava as a second readout on the same
    monitors: its readout and combined predictions equal the host's
    (:func:`onchip_readout_predictions`), and the file's own readout is
    unchanged."""
    from lava_ff.netx_export.run import build_netx_network, run_netx_inference

    from lava_ff.onchip.fit import onchip_readout_predictions

    spec = with_onchip_readout(NetworkSpec.from_torch(small_net))
    path = export(spec, tmp_path / "model.net")
    loaded = load(path)
    np.testing.assert_array_equal(loaded.onchip_readout, spec.onchip_readout)
    assert loaded.onchip_readout_scale == 4.0 and loaded.onchip_readout.dtype == np.int64
    x = np.random.default_rng(6).random((6, 64)).astype(np.float32)
    host = onchip_readout_predictions(loaded.config, list(loaded.weights), loaded.neurons[0], loaded.onchip_readout,
                                      x, logit_scale=loaded.onchip_readout_scale)
    assert len(set(host[:, 0])) > 1, "the comparison needs more than one predicted class"

    out = run_netx_inference(build_netx_network(path, x), "fixed_pt", progress=False, timeout=120)

    np.testing.assert_array_equal(out["onchip_predictions"], host)
    np.testing.assert_array_equal(out["predictions"][:, 2], small_net.predict(x, "readout"))
    # without one, nothing of it is built or returned
    plain = run_netx_inference(build_netx_network(export(small_net, tmp_path / "plain.net"), x[:1]), "fixed_pt",
                               progress=False, timeout=120)
    assert "onchip_predictions" not in plain and load(tmp_path / "plain.net").onchip_readout is None


@pytest.mark.lava
@pytest.mark.parametrize("backend", ["lava-float", "lava-fixed", "netx-fixed"])
def test_views_run_in_lava_and_netx_as_the_host_sums_them(small_net, backend, tmp_path):
    """Three views per image (the image, one pixel up, one down), one
    window each: Lava's own Processes (float and fixed) and the netx
    network sum every column's scores over them as the host does
    (``prediction_table`` and ``onchip_readout_predictions`` with
    ``views``); the recorded goodness is the per-view goodness, moved by
    hand in the test, summed. The netx file carries the views and the
    image shape, and its network runs them unasked."""
    from dataclasses import replace

    from lava_ff.netx_export.run import build_netx_network, run_netx_inference

    from lava_ff.lava.inference import build_lava_network, run_lava_inference
    from lava_ff.onchip.fit import onchip_readout_predictions

    spec = with_onchip_readout(NetworkSpec.from_torch(small_net))
    x = np.random.default_rng(6).random((4, 64)).astype(np.float32)
    views = {"views": 3, "image_shape": (8, 8)}
    if backend == "netx-fixed":
        path = export(replace(spec, **views), tmp_path / "model.net")
        assert (load(path).views, load(path).image_shape) == (3, (8, 8))
        assert (load(export(spec, tmp_path / "one.net")).views, load(tmp_path / "one.net").image_shape) == (1, None)
        out = run_netx_inference(build_netx_network(path, x), "fixed_pt", progress=False, timeout=180)
    else:
        tag = "floating_pt" if backend == "lava-float" else "fixed_pt"
        out = run_lava_inference(build_lava_network(spec, x, record_scores=True, **views), tag, progress=False,
                                 timeout=180)
        images = x.reshape(4, 8, 8)
        up = np.pad(images, ((0, 0), (0, 1), (0, 0)))[:, 1:]
        down = np.pad(images, ((0, 0), (1, 0), (0, 0)))[:, :-1]
        goodness = sum(small_net.layer_label_scores(m.reshape(4, 64)) for m in (images, up, down))
        np.testing.assert_allclose(out["scores"].transpose(1, 0, 2), goodness, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(out["predictions"], small_net.prediction_table(x, **views))
    host = onchip_readout_predictions(spec.config, list(spec.weights), spec.neurons[0], spec.onchip_readout, x,
                                      logit_scale=spec.onchip_readout_scale, **views)
    np.testing.assert_array_equal(out["onchip_predictions"], host)
    assert not np.array_equal(host, onchip_readout_predictions(
        spec.config, list(spec.weights), spec.neurons[0], spec.onchip_readout, x,
        logit_scale=spec.onchip_readout_scale)), "the test needs views to change a prediction"


@pytest.mark.lava
def test_damaged_onchip_readouts_are_named(small_net, tmp_path):
    from dataclasses import replace

    spec = with_onchip_readout(NetworkSpec.from_torch(small_net))
    with pytest.raises(ValueError, match="needs both its weights and its logit scale, got weights only"):
        replace(spec, onchip_readout_scale=None)
    with pytest.raises(ValueError, match=r"on-chip readout weights has shape \(10, 3\), expected \(10, 50\)"):
        replace(spec, onchip_readout=np.zeros((10, 3), np.int64))
    from lava_ff.lava.inference import build_lava_network

    with pytest.raises(ConfigError, match="classify='readout' needs a linear readout, and this network has none"):
        build_lava_network(replace(spec, readout_weight=None, readout_bias=None, onchip_readout=None,
                                   onchip_readout_scale=None), np.zeros((2, 64), np.float32), classify="readout")
    with pytest.raises(ConfigError, match="unknown classification mode 'best'; valid: combined, goodness, readout"):
        build_lava_network(spec, np.zeros((2, 64), np.float32), classify="best")
    with pytest.raises(ValueError, match="views must be an integer from 1 to 5 .*got 0"):
        replace(spec, views=0)
    good = export(replace(spec, views=3, image_shape=(8, 8)), tmp_path / "good.net")
    edits = [
        ("odd", lambda ff: ff[schema.FF_ONCHIP_READOUT_WEIGHT].__setitem__((0, 0), 3),
         r"on-chip readout weights must be multiples of 2 .*; on-chip readout weights.flat\[0\] = 3"),
        ("nan_scale", lambda ff: ff[schema.FF_ONCHIP_READOUT_SCALE].write_direct(np.array(np.nan)),
         "on-chip readout logit scale must be a positive finite number, got nan"),
        ("no_scale", lambda ff: ff.__delitem__(schema.FF_ONCHIP_READOUT_SCALE),
         "an on-chip readout needs both its weights and its logit scale, got weights only"),
        ("views", lambda ff: ff[schema.FF_VIEWS].write_direct(np.array(9)),
         "views must be an integer from 1 to 5 .*got 9"),
        ("shape", lambda ff: ff[schema.FF_IMAGE_SHAPE].write_direct(np.array([8, 9])),
         r"a network on 3 views needs flat images \[N, 72\] of shape \(8, 9\), got rows of 64 values"),
        ("no_shape", lambda ff: ff.__delitem__(schema.FF_IMAGE_SHAPE),
         r"a network on 3 views needs the image shape \(height, width\), got None"),
    ]
    for name, edit, match in edits:
        path = tmp_path / f"{name}.net"
        path.write_bytes(good.read_bytes())
        with h5py.File(path, "r+") as f:
            edit(f[schema.FF_GROUP])
        with pytest.raises(NetxFormatError, match=f"{name}.net: content does not match its checksum"):
            load(path)  # an edit is caught by the checksum; resealed, the content itself is refused
        with h5py.File(path, "r+") as f:
            del f[schema.FF_GROUP][schema.FF_CHECKSUM]
            f[schema.FF_GROUP].create_dataset(schema.FF_CHECKSUM, data=content_digest(f))
        with pytest.raises(NetxFormatError, match=f"{name}.net: {match}"):
            load(path)


@pytest.mark.lava
def test_netx_has_no_float_models_and_says_so():
    from lava_ff.netx_export.run import run_config

    with pytest.raises(ValueError, match="netx's hdf5.Network has fixed_pt models only"):
        run_config("floating_pt")
    with pytest.raises(RuntimeError, match="lava-loihi"):
        run_config("loihi2")


@pytest.mark.lava
def test_loads_a_lava_dl_slayer_export_spike_for_spike(tmp_path):
    from lava.lib.dl import slayer

    params = {"threshold": 1.0, "current_decay": 0.25, "voltage_decay": 0.03}
    torch.manual_seed(0)
    blocks = torch.nn.ModuleList([
        slayer.block.cuba.Dense(params, 20, 12, weight_scale=2, delay_shift=False),
        slayer.block.cuba.Dense(params, 12, 8, weight_scale=2, delay_shift=False),
    ])
    spikes = (torch.rand(3, 20, 15, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    out = spikes
    with torch.no_grad():
        for block in blocks:
            out = block(out)  # slayer fixes neuron shapes on the first forward pass
    path = tmp_path / "slayer.net"
    with h5py.File(path, "w") as f:
        layers = f.create_group("layer")
        for i, block in enumerate(blocks):
            block.export_hdf5(layers.create_group(str(i)))

    spec = load(path)
    assert spec.config.layer_sizes == (12, 8) and spec.config.overlay == "first_pixels"
    ours = spec.forward_fixed(spikes.numpy())[-1]
    assert ours.sum() > 10
    np.testing.assert_array_equal(ours, out.numpy().astype(bool))
    # a lava-dl network becomes an FF network that can be fine-tuned offline
    assert FFNetwork.from_spec(spec).layers[0].integer_weight().tolist() == spec.weights[0].tolist()


# ------------------------------------------------------------------ bad files
def _write_net(path, layers):
    with h5py.File(path, "w") as f:
        group = f.create_group("layer")
        for i, (kind, weight) in enumerate(layers):
            g = group.create_group(str(i))
            g.create_dataset("type", (1,), "S10", [kind.encode()])
            if weight is not None:
                g.create_dataset("shape", data=np.array([weight.shape[0]]))
                g.create_dataset("weight", data=weight)
                n = g.create_group("neuron")
                n.create_dataset("type", (1,), "S10", [b"CUBA"])
                for key, value in (("iDecay", 1024), ("vDecay", 128), ("vThMant", 64),
                                   ("refDelay", 1), ("gradedSpike", False)):
                    n.create_dataset(key, data=value)
    return path


def test_bad_files_are_named(small_net, tmp_path):
    good = export(small_net, tmp_path / "good.net")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.net"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(NetxFormatError, match="truncated.net: not a readable HDF5 file"):
        load(truncated)
    garbage = tmp_path / "garbage.net"
    garbage.write_bytes(b"\x00not hdf5" * 100)
    with pytest.raises(NetxFormatError, match="garbage.net: not a readable HDF5"):
        load(garbage)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.create_dataset("images", data=np.zeros(3))
    with pytest.raises(NetxFormatError, match=r"not a netx network: no 'layer' group \(top-level keys: \['images'\]"):
        load(foreign)
    with pytest.raises(FileNotFoundError, match="missing.net"):
        load(tmp_path / "missing.net")

    w = np.zeros((4, 6), np.int64)
    cases = [
        ([("dense", w), ("pool", None)], "layer 1 has type 'pool', which netx cannot run"),
        ([("conv", None)], "layer 0 is a convolution; lava-ff loads convolutions from the files it writes"),
        ([("dense", np.full((4, 6), 300))], r"layer 0: weights \[300, 300\] do not fit 8 bits"),
        ([("dense", np.full((4, 6), 3))], "layer 0: odd weights"),
        ([("dense", np.full((4, 6), 2.5))], "layer 0: weights must be integers"),
        ([("dense", w), ("dense", np.zeros((3, 5), np.int64))], "layer 1 expects 5 inputs but the previous"),
    ]
    for i, (layers, match) in enumerate(cases):
        with pytest.raises(NetxFormatError, match=match):
            load(_write_net(tmp_path / f"case{i}.net", layers))


def test_schema_is_the_only_home_of_netx_keys():
    from pathlib import Path

    import lava_ff.netx_export.io as io_module

    source = Path(io_module.__file__).read_text()
    for key in ("iDecay", "vDecay", "vThMant", "refDelay", "gradedSpike"):
        assert f'"{key}"' not in source, f"{key} is spelled outside schema.py"
    assert schema.I_DECAY == "iDecay"


@pytest.mark.lava
def test_netx_builds_after_the_start_method_was_fixed(tmp_path):
    """A tqdm bar fixes multiprocessing's start method (it makes an RLock); Lava's
    import then fails unless lava-ff resets it first. Run in a fresh interpreter."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import multiprocessing, numpy as np
        multiprocessing.RLock()
        from lava_ff.core.config import FFConfig
        from lava_ff.offline.model import FFNetwork
        from lava_ff.netx_export import export
        from lava_ff.netx_export.run import build_netx_network
        net = FFNetwork(FFConfig(in_features=8, layer_sizes=(4,), time_steps=3))
        build_netx_network(export(net, {str(tmp_path / 'mp.net')!r}), np.zeros((2, 8), np.float32))
        print("built")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "built" in result.stdout
