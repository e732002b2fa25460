"""Convolutional FF layers: the layer text, their shapes, the integer
convolution and pooling, class-group goodness, torch against the numpy
reference bit for bit, training, and the refusals of what they do not run."""

import itertools
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from lava_ff.core.config import FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.goodness import class_groups, group_goodness
from lava_ff.core.layers import ConvSpec, conv_current, format_layers, layer_shapes, parse_layers, pool_spikes
from lava_ff.core.rule import check_onchip_config
from lava_ff.core.spec import NetworkSpec
from lava_ff.datasets import load_digits
from lava_ff.offline.model import FFNetwork, torch_group_goodness
from lava_ff.offline.train import Trainer, TrainSettings

CONV_OPTIONS = {"loss": "softmax", "goodness": "mean_sq_rate", "symba_alpha": 30.0, "lr": 5e-3}


def _digits(n=None):
    d = load_digits()
    x, y = d.images.reshape(len(d.images), -1), d.labels
    return (x, y) if n is None else (x[:n], y[:n])


def _config(layers="c20k3p2,40", rule="ffgaf", **extra):
    return FFConfig.from_layers(layers, (8, 8), rule=rule, **{**CONV_OPTIONS, **extra})


# ------------------------------------------------------------------ layer text
def test_layer_text_reads_convolutions_and_dense_layers_and_writes_them_back():
    layers = parse_layers("c32k5p2, C64k3p2,1000")
    assert layers == (ConvSpec(32, 5, 2), ConvSpec(64, 3, 2), 1000)
    assert format_layers(layers) == "c32k5p2,c64k3p2,1000"
    assert parse_layers(["c8k3", 50, {"channels": 4, "kernel": 2, "pool": 1}][::2]) == (ConvSpec(8, 3), ConvSpec(4, 2))
    assert parse_layers((500, 500)) == (500, 500)


@pytest.mark.parametrize("text, needle", [
    ("c32x5,100", "cannot read 'c32x5'"),
    ("c32k5,,100", "an empty entry"),
    ("100,c32k5", "layer 1 (c32k5) is a convolution after a dense layer"),
    ("c0k5,100", "conv channels must be a positive integer, got 0"),
    ("c32k5,-3", "cannot read '-3'"),
])
def test_a_layer_text_that_does_not_parse_is_refused_naming_the_entry(text, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        parse_layers(text)


def test_layer_shapes_follow_valid_convolution_and_floor_pooling():
    shapes = layer_shapes("c32k5p2,c64k3p2,1000", (28, 28))
    # 28 - 5 + 1 = 24, pooled 12; 12 - 3 + 1 = 10, pooled 5
    assert [s.shape for s in shapes] == [(32, 24, 24), (64, 10, 10), (1000, 1, 1)]
    assert [s.pooled for s in shapes] == [(32, 12, 12), (64, 5, 5), (1000, 1, 1)]
    assert shapes[1].pooled_size == 64 * 25
    assert layer_shapes("c4k2p3,10", (3, 9, 9))[0].pooled == (4, 2, 2)  # 8 // 3: the edge row is dropped


@pytest.mark.parametrize("text, needle", [
    ("c8k9,10", "kernel 9 does not fit its 8 x 8 input"),
    ("c8k3p7,10", "pool 7 does not fit its 6 x 6 output"),
    ("c8k3p2,c8k4,10", "layer 1 (c8k4): kernel 4 does not fit its 3 x 3 input"),
    ("c8k3p2,c8k3p2,10", "layer 1 (c8k3p2): pool 2 does not fit its 1 x 1 output"),
    ("c8k3p2", "is the last layer: its pool 2 has no layer to pool into"),
])
def test_kernels_and_pools_that_do_not_fit_the_image_are_refused(text, needle):
    with pytest.raises(ConfigError) as err:
        layer_shapes(text, (8, 8))
    assert needle in str(err.value)


def test_a_conv_config_derives_its_sizes_and_survives_its_dict_form():
    cfg = _config("c20k3p2,c12k2,40")
    assert cfg.layer_sizes == (20 * 6 * 6, 12 * 2 * 2, 40) and cfg.overlay == "groups"
    assert cfg.input_size == cfg.in_features == 64
    assert FFConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    dense = FFConfig(in_features=10, layer_sizes=(5,))
    assert "conv" not in dense.to_dict() and "image_shape" not in dense.to_dict()


@pytest.mark.parametrize("options, needle", [
    ({"layers": "c8k3,40"}, "layer 0 has 8 channels, fewer than the 10 classes"),
    ({"layers": "c20k3,40", "overlay": "label_neurons"}, "a convolution has no place for a label"),
    ({"layers": "c20k3,40", "loss": "softplus"}, "needs loss='softmax'"),
    ({"layers": "c20k3,40", "rule": "three_factor"}, "three-factor rule has one modulatory factor per sample"),
])
def test_conv_configs_the_objective_cannot_train_are_refused(options, needle):
    with pytest.raises(ConfigError, match=needle):
        _config(**options)


def test_layer_sizes_that_disagree_with_the_convolutions_are_refused():
    with pytest.raises(ConfigError, match=r"do not match the layers c20k3,40 on images of \(1, 8, 8\)"):
        FFConfig(in_features=64, layer_sizes=(999, 40), conv=(ConvSpec(20, 3),), image_shape=(8, 8),
                 overlay="groups", loss="softmax")


# ------------------------------------------------------- integer synapses
def test_conv_current_is_the_sum_over_each_kernel_window(rng):
    weights = rng.integers(-127, 128, (3, 2, 3, 3)) * 2
    spikes = rng.integers(0, 3, (2, 2 * 5 * 6, 4))
    out = conv_current(weights, spikes, (2, 5, 6)).reshape(2, 3, 3, 4, 4)
    grid = spikes.reshape(2, 2, 5, 6, 4)
    for b, o, y, x, t in itertools.product(range(2), range(3), range(3), range(4), range(4)):
        expected = sum(int(weights[o, c, i, j]) * int(grid[b, c, y + i, x + j, t])
                       for c, i, j in itertools.product(range(2), range(3), range(3)))
        assert out[b, o, y, x, t] == expected


def test_pooling_sums_each_block_and_drops_the_ragged_edge(rng):
    spikes = rng.integers(0, 2, (2, 3 * 5 * 5, 4))
    pooled = pool_spikes(spikes, (3, 5, 5), 2).reshape(2, 3, 2, 2, 4)
    grid = spikes.reshape(2, 3, 5, 5, 4)
    for b, c, y, x in itertools.product(range(2), range(3), range(2), range(2)):
        assert np.array_equal(pooled[b, c, y, x], grid[b, c, 2 * y:2 * y + 2, 2 * x:2 * x + 2].sum((0, 1)))
    assert pool_spikes(spikes, (3, 5, 5), 1) is spikes


def test_class_group_goodness_averages_each_class_s_channels(rng):
    spikes = rng.integers(0, 2, (2, 12 * 2 * 2, 5))  # 12 channels of 2 x 2, 5 steps, 5 classes
    scores = group_goodness(spikes, (12, 2, 2), 5, "mean_sq_rate")
    rates = spikes.reshape(2, 12, 4, 5).mean(-1)
    groups = class_groups(12, 5)
    assert list(np.bincount(groups)) == [3, 3, 2, 2, 2]
    for b, c in itertools.product(range(2), range(5)):
        assert scores[b, c] == pytest.approx((rates[b, groups == c] ** 2).mean())
    total = group_goodness(spikes, (12, 2, 2), 5, "sum_sq_rate")
    assert total[1, 4] == pytest.approx((rates[1, groups == 4] ** 2).sum())
    torch_scores = torch_group_goodness(torch.from_numpy(spikes).float(), _config().shapes[0].__class__(
        (12, 2, 2), (12, 2, 2)), 5, "mean_sq_rate")
    assert np.allclose(torch_scores.numpy(), scores, rtol=1e-6)


def test_position_goodness_scores_each_position_and_its_loss_averages_them(rng):
    from lava_ff.core.layers import LayerShape
    from lava_ff.offline.model import torch_softmax_ff_loss

    spikes = torch.from_numpy(rng.integers(0, 2, (2, 12 * 3, 4))).float()  # 12 channels at 3 positions
    shape = LayerShape((12, 3, 1), (12, 3, 1))
    scores = torch_group_goodness(spikes, shape, 5, "mean_sq_rate", per_position=True)
    rates = spikes.reshape(2, 12, 3, 4).mean(-1).numpy()
    groups = class_groups(12, 5)
    assert scores.shape == (2, 3, 5)
    assert scores[1, 2, 4].item() == pytest.approx((rates[1, groups == 4, 2] ** 2).mean())
    # averaged over positions, the position scores are the layer's
    assert np.allclose(scores.mean(1).numpy(), torch_group_goodness(spikes, shape, 5, "mean_sq_rate").numpy())
    labels = torch.tensor([1, 3])
    loss = torch_softmax_ff_loss(scores, labels, 2.0)
    by_hand = np.mean([torch.nn.functional.cross_entropy(2.0 * scores[:, p], labels).item() for p in range(3)])
    assert loss.item() == pytest.approx(by_hand)
    with pytest.raises(ConfigError, match="goodness_scope='position' scores class groups per position"):
        FFConfig(in_features=10, goodness_scope="position")
    assert "goodness_scope" not in _config().to_dict()
    assert _config(goodness_scope="position").to_dict()["goodness_scope"] == "position"


# ------------------------------------------------- torch against numpy, training
@pytest.fixture(scope="module")
def trained():
    x, y = _digits()
    trainer = Trainer(_config("c20k3p2,40"), TrainSettings(epochs=3, batch_size=50, epoch_log="none",
                                                           progress=False))
    trainer.fit(x[:1400], y[:1400], x[1400:1600], y[1400:1600], image_shape=(8, 8))
    return trainer.net, x[1600:], y[1600:]


@pytest.fixture(scope="module")
def deep():
    """Two convolutions, the first pooled into the second, and a dense layer,
    at weights that make every layer spike."""
    x, y = _digits()
    return FFNetwork(_config("c20k3p2,c10k2,40", weight_scale=1.5, seed=3)), x[1600:], y[1600:]


def test_a_trained_conv_network_classifies_digits(trained):
    net, x, y = trained
    table = net.prediction_table(x, classify="combined")
    accuracy = (table == y[:, None]).mean(0)
    assert accuracy[2] > 0.85, accuracy  # readout; chance is 0.10
    last = net.layer_label_scores(x)[-1].argmax(1)  # the dense layer's class groups
    assert (last == y).mean() > 0.5, (last == y).mean()


def test_the_torch_conv_network_spikes_as_the_integer_reference_does(deep):
    net, x, _ = deep
    spec = NetworkSpec.from_torch(net)
    assert [w.shape for w in spec.weights] == [(20, 1, 3, 3), (10, 20, 2, 2), (40, 10 * 2 * 2)]
    xs = x[:60]
    reference = spec.forward_fixed(spec.encode(xs, None))
    with torch.no_grad():
        outputs = net.layer_outputs(net.encode(xs, None))
    for layer, (ours, (theirs, _)) in enumerate(zip(reference, outputs, strict=True)):
        assert ours.sum() > 0, layer
        assert np.array_equal(ours, theirs.numpy().astype(bool)), layer
    assert np.array_equal(spec.label_scores_fixed(xs), net.layer_label_scores(xs))


def test_the_cost_tally_counts_each_spike_times_the_synapses_it_reaches(deep):
    net, x, _ = deep
    spec = NetworkSpec.from_torch(net)
    xs = x[:20]
    cost = {}
    net.prediction_table(xs, classify="goodness", cost=cost)
    inputs = spec.encode(xs, None)
    layers = spec.forward_fixed(inputs)
    synops = 0
    for i, w in enumerate(spec.weights):
        reads = spec.config.input_of(i)
        spikes = inputs if i == 0 else pool_spikes(layers[i - 1], reads.shape, reads.pool)
        if w.ndim == 2:
            synops += spikes.sum() * w.shape[0]
            continue
        c, h, wd = reads.pooled
        k = w.shape[-1]
        counts = spikes.reshape(len(xs), c, h, wd, -1).sum((0, 1, 4))
        for yy, xx in itertools.product(range(h), range(wd)):  # output positions covering (yy, xx)
            covers = (min(yy, h - k) - max(yy - k + 1, 0) + 1) * (min(xx, wd - k) - max(xx - k + 1, 0) + 1)
            synops += counts[yy, xx] * covers * w.shape[0]
    assert cost == {"windows": 20.0, "spikes": float(sum(s.sum() for s in layers)), "synops": float(synops)}


def test_the_surrogate_rule_trains_a_conv_network_too():
    x, y = _digits()
    trainer = Trainer(_config("c20k3p2,40", rule="surrogate"),
                      TrainSettings(epochs=2, batch_size=50, epoch_log="none", progress=False))
    trainer.fit(x[:1000], y[:1000], image_shape=(8, 8))
    table = trainer.net.prediction_table(x[1400:], classify="readout")
    assert (table[:, 2] == y[1400:]).mean() > 0.8


# ----------------------------------------------------------------- refusals
def test_what_convolutions_do_not_run_is_refused_naming_the_layer(deep, tmp_path):
    import lava_ff as ff

    net, x, _ = deep
    spec = NetworkSpec.from_torch(net)
    with pytest.raises(ConfigError, match=r"layer 0 \(c20k3p2\) is a convolution; NIR export"):
        ff.export(spec, tmp_path / "m.nir")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="Lava's learning engine here learns Dense synapses only"):
        check_onchip_config(spec.config)


def test_a_conv_network_round_trips_through_netx_with_its_pooling_folded(deep, tmp_path):
    pytest.importorskip("h5py")
    import h5py

    import lava_ff as ff

    net, _, _ = deep
    spec = NetworkSpec.from_torch(net)
    path = ff.export(spec, tmp_path / "conv.net")
    with h5py.File(path, "r") as f:
        kinds = [np.asarray(f[f"layer/{i}/type"][()]).ravel()[0].decode() for i in range(len(f["layer"]))]
        folded = f["layer/2/weight"][()]
        stride = f["layer/2/stride"][()].tolist()
    assert kinds == ["input", "conv", "conv", "flatten", "dense"]
    # the second convolution reads the first's 20 x 6 x 6 neurons, its 2 x 2 kernel grown to 4 x 4 at stride 2
    assert folded.shape == (10, 20, 4, 4) and stride == [2, 2]
    assert np.array_equal(folded[:, :, ::2, ::2], spec.weights[1]) and np.array_equal(folded[:, :, 1::2, 1::2],
                                                                                         spec.weights[1])
    back = ff.load(path).spec
    assert back.config == spec.config
    assert all(np.array_equal(a, b) for a, b in zip(back.weights, spec.weights, strict=True))
    with h5py.File(path, "r+") as f:  # a folded kernel whose blocks differ is no pooled kernel
        del f["lava_ff/sha256"]
        f["layer/2/weight"][0, 0, 0, 0] += 2
        from lava_ff.netx_export.io import content_digest

        f["lava_ff"].create_dataset("sha256", data=content_digest(f))
    with pytest.raises(ff.NetxFormatError, match="layer 1 weights .* are not the 2 x 2 pooled"):
        ff.load(path)


def test_a_conv_network_runs_in_netx_spike_for_spike(deep, tmp_path):
    _lava()
    from lava_ff.netx_export.run import build_netx_network, run_netx_inference

    import lava_ff as ff

    net, x, _ = deep
    xs = x[:20]
    spec = NetworkSpec.from_torch(net)
    rng = np.random.default_rng(4)  # a last-layer readout, so the file can hold its classifier
    spec = NetworkSpec(config=replace(spec.config, readout_from="last"), weights=spec.weights,
                       neurons=spec.neurons, readout_weight=rng.normal(size=(10, 40)), readout_bias=rng.normal(size=10))
    path = ff.export(spec, tmp_path / "conv.net", classifier=True)
    expected = [s.transpose(0, 2, 1) for s in spec.forward_fixed(spec.encode(xs, None))]
    assert all(e.sum() > 50 for e in expected), [e.sum() for e in expected]
    out = run_netx_inference(build_netx_network(path, xs, expected_spikes=expected, classify="readout"),
                             progress=False, timeout=120)
    assert out["spikes_checked"] == [e.size for e in expected]
    assert out["mismatches"] == [0, 0, 0], out["first_mismatch"]
    torch_net = FFNetwork.from_spec(ff.load(path).spec)
    np.testing.assert_array_equal(out["predictions"][:, 2], torch_net.prediction_table(xs, classify="readout")[:, 2])
    np.testing.assert_array_equal(out["classifier_predictions"], out["predictions"][:, 2])


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lava_ff", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.mark.parametrize("args, needle", [
    (["--layers", "c20x3,40"], "cannot read 'c20x3'"),
    (["--layers", "c20k9,40"], "kernel 9 does not fit its 8 x 8 input"),
    (["--layers", "c20k3,40", "--backend", "lava-fixed"], "layer 0 (c20k3) is a convolution: Lava's learning engine"),
])
def test_the_cli_refuses_bad_conv_layers_before_any_work(tmp_path, args, needle):
    done = _cli("train", "--dataset", "digits", "--out", tmp_path / "o", "--loss", "softmax", *args, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert needle in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_the_cli_trains_a_conv_network_and_its_run_loads_back(tmp_path):
    import lava_ff as ff

    done = _cli("train", "--dataset", "digits", "--layers", "c20k3p2,40", "--loss", "softmax", "--rule", "ffgaf",
                "--goodness", "mean_sq_rate", "--alpha", "30", "--adam-lr", "5e-3", "--epochs", "2",
                "--out", tmp_path / "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["config"]["conv"] == [{"channels": 20, "kernel": 3, "pool": 2}]
    model = ff.load(tmp_path / "run")
    assert model.spec.config.conv == (ConvSpec(20, 3, 2),)
    data = ff.load_dataset("digits")
    result = ff.evaluate(model, data.test, classify="readout")
    assert result.accuracy["readout"] > 0.8, result.accuracy


# ------------------------------------------------------------------ in Lava
def _lava():
    return pytest.importorskip("lava.magma.core.run_configs", reason="needs the lava extra (Lava: CPython 3.10)")


@pytest.mark.parametrize("select_tag", ("floating_pt", "fixed_pt"))
def test_a_pooled_convolution_runs_in_lava_as_the_integer_reference(rng, select_tag):
    run_configs = _lava()
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava_ff.processes.ff_layer.process import FFLayer

    from lava_ff.core.neuron import FixedNeuronParams, cuba_forward_fixed
    from lava_ff.lava.runtime import lava_session

    in_shape, pool, steps = (3, 9, 8), 2, 12  # pooled to 3 x 4 x 4, edge row dropped
    weights = rng.integers(-40, 41, (5, 3, 2, 2)) * 2
    neuron = FixedNeuronParams(vth=100, i_decay=1024, v_decay=128)
    spikes = (rng.random((int(np.prod(in_shape)), steps)) < 0.4).astype(float)
    expected = cuba_forward_fixed(conv_current(weights, pool_spikes(spikes[None].astype(np.int64), in_shape, pool),
                                               (3, 4, 4)), neuron)[0]
    assert expected.any() and not expected.all()
    layer = FFLayer(weights=weights, neuron=neuron, time_steps=steps, in_shape=in_shape, pool=pool)
    n_out = 5 * 3 * 3
    source, sink = Source(data=spikes), Sink(shape=(n_out,), buffer=steps)
    source.s_out.reshape((1, spikes.shape[0])).connect(layer.s_in)
    layer.s_out.reshape((n_out,)).connect(sink.a_in)
    with lava_session(sink, run_configs.Loihi2SimCfg(select_tag=select_tag), timeout=60) as session:
        session.run(steps)
        ours = np.asarray(sink.data.get()).astype(bool)
    assert np.array_equal(ours, expected)


def test_a_conv_network_classifies_in_lava_as_in_torch(deep):
    _lava()
    import lava_ff as ff

    net, x, _ = deep
    spec = ff.Model.from_network(net)
    xs = x[:24]
    torch_readout = net.prediction_table(xs, classify="readout")[:, 2]
    for backend in ("lava-fixed", "lava-float"):
        result = ff.evaluate(spec, (xs.reshape(-1, 8, 8), np.zeros(len(xs), np.int64)), backend=backend,
                             classify="readout", batch=8)
        assert np.array_equal(result.predictions["readout"], torch_readout), backend
    with pytest.raises(ConfigError, match="classify='goodness': Lava inference scores goodness per label"):
        ff.evaluate(spec, (xs.reshape(-1, 8, 8), np.zeros(len(xs), np.int64)), backend="lava-fixed",
                    classify="goodness")
