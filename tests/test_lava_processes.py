"""Lava Processes of the FF network: bit-exactness and the differential chain.

Chain: Lava fixed FFLayer == Lava's own Dense + LIF (fixed_pt), one step
later; Lava fixed == numpy fixed kernel; Lava float == numpy float kernel
== torch; the whole network's goodness and predictions agree with
the torch model.
"""

import numpy as np
import pytest

from lava_ff.core.config import FFConfig
from lava_ff.core.neuron import FixedNeuronParams, cuba_forward_float, dense_cuba_forward_fixed, quantize_neuron
from lava_ff.core.spec import NetworkSpec
from lava_ff.lava.inference import build_lava_network, run_lava_inference
from lava_ff.lava.runtime import lava_session

# every test here runs Lava: the module is skipped where the lava extra is absent
Loihi2SimCfg = pytest.importorskip("lava.magma.core.run_configs", reason="needs the lava extra (Lava: CPython 3.10)"
                                   ).Loihi2SimCfg

TAGS = ("floating_pt", "fixed_pt")


def random_integer_weights(rng, n_out, n_in, spread=60):
    return (rng.integers(-spread, spread + 1, size=(n_out, n_in)) * 2).astype(np.int64)


def run_layer_on_spikes(weights, neuron, spikes, select_tag, time_steps):
    """FFLayer driven by a RingBuffer of ``spikes`` [N_in, T]; returns its spikes [N_out, T]."""
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava_ff.processes.ff_layer.process import FFLayer

    n_out, n_in = weights.shape
    steps = spikes.shape[1]
    source = Source(data=spikes.astype(float))
    layer = FFLayer(weights=weights, neuron=neuron, time_steps=time_steps)
    sink = Sink(shape=(n_out,), buffer=steps)
    source.s_out.reshape((1, n_in)).connect(layer.s_in)
    layer.s_out.reshape((n_out,)).connect(sink.a_in)
    with lava_session(sink, Loihi2SimCfg(select_tag=select_tag), timeout=60) as session:
        session.run(steps)
        return np.asarray(sink.data.get()).astype(bool)


def test_fixed_layer_is_bit_exact_with_lavas_dense_and_lif(rng):
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF

    n_in, n_out, steps = 40, 25, 30
    weights = random_integer_weights(rng, n_out, n_in)
    neuron = FixedNeuronParams(vth=180, i_decay=1024, v_decay=256)
    spikes = (rng.random((n_in, steps)) < 0.3).astype(float)

    ours = run_layer_on_spikes(weights, neuron, spikes, "fixed_pt", time_steps=steps)

    source = Source(data=spikes)
    # Lava's mixed-sign 8-bit weights are the even integers in [-256, 254]
    # (it clips to 9 bits and truncates the LSB), exactly the FFLayer's grid.
    dense = Dense(weights=weights, num_weight_bits=8)
    lif = LIF(shape=(n_out,), **neuron.lava_lif_params)
    sink = Sink(shape=(n_out,), buffer=steps + 1)
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    with lava_session(sink, Loihi2SimCfg(select_tag="fixed_pt"), timeout=60) as session:
        session.run(steps + 1)
        theirs = np.asarray(sink.data.get()).astype(bool)

    assert ours.sum() > 10 and (~ours).sum() > 10, "the comparison needs both spikes and silence"
    # Lava's Dense delivers W @ s[t] at t + 1; the fused FFLayer at t.
    np.testing.assert_array_equal(ours, theirs[:, 1:])


@pytest.mark.parametrize("select_tag", TAGS)
def test_layer_matches_numpy_kernel_with_window_resets(rng, select_tag):
    n_in, n_out, window, windows = 30, 20, 6, 3
    weights = random_integer_weights(rng, n_out, n_in)
    neuron = quantize_neuron(FFConfig(in_features=1).neuron)
    spikes = (rng.random((n_in, window * windows)) < 0.4).astype(float)

    ours = run_layer_on_spikes(weights, neuron, spikes, select_tag, time_steps=window)

    # numpy: every window is an independent sample starting from rest
    batched = spikes.reshape(n_in, windows, window).transpose(1, 0, 2)
    expected = dense_cuba_forward_fixed(weights, batched, neuron).transpose(1, 0, 2).reshape(n_out, -1)
    assert expected.any()
    np.testing.assert_array_equal(ours, expected)
    if select_tag == "floating_pt":  # and the numpy float kernel (slayer's grid) agrees as well
        current = np.einsum("oi,bit->bot", weights / 64.0, batched)
        float_spikes, _ = cuba_forward_float(current, FFConfig(in_features=1).neuron)
        np.testing.assert_array_equal(ours, float_spikes.transpose(1, 0, 2).reshape(n_out, -1))


@pytest.fixture(scope="module")
def small_network():
    """A random 64-30-20 torch network on digits-sized inputs, and 12 samples."""
    from lava_ff.offline.model import FFNetwork

    cfg = FFConfig(in_features=64, layer_sizes=(30, 20), time_steps=8, weight_scale=1.0, seed=3)
    net = FFNetwork(cfg)
    x = np.random.default_rng(5).random((12, 64)).astype(np.float32)
    return net, x


@pytest.mark.parametrize("select_tag", TAGS)
def test_network_goodness_and_predictions_match_torch(small_network, select_tag):
    net, x = small_network
    spec = NetworkSpec.from_torch(net)
    lava_net = build_lava_network(spec, x, record_scores=True)
    out = run_lava_inference(lava_net, select_tag, progress=False, timeout=120)

    torch_scores = net.layer_label_scores(x)  # [L, B, C]
    lava_scores = out["scores"].transpose(1, 0, 2)
    assert torch_scores.max() > 0
    np.testing.assert_allclose(lava_scores, torch_scores, rtol=1e-6, atol=1e-9)
    # numpy fixed reference (goodness from integer spikes) agrees as well
    np.testing.assert_allclose(spec.label_scores_fixed(x), torch_scores, rtol=1e-6)

    pred = out["predictions"]
    np.testing.assert_array_equal(pred[:, 0], torch_scores.sum(0).argmax(1))
    np.testing.assert_array_equal(pred[:, 1], torch_scores[1:].sum(0).argmax(1))
    readout = net.predict(x, "readout")
    # float: the same float readout; fixed: 16-bit integer readout weights
    np.testing.assert_array_equal(pred[:, 2], readout)
    np.testing.assert_array_equal(pred[:, 3], net.predict(x, "combined"))


def test_input_streams_overlaid_samples(small_network):
    """The input Process sends, for sample k, every label overlaid plus the neutral one."""
    from lava.proc.io.sink import RingBuffer as Sink
    from lava_ff.processes.ff_input.process import FFInput

    net, x = small_network
    cfg = net.config
    source = FFInput(data=x[:3], num_classes=cfg.num_classes, time_steps=cfg.time_steps)
    copies, width = source.s_out.shape
    steps = 3 * cfg.time_steps
    sink = Sink(shape=(copies * width,), buffer=steps)
    source.s_out.reshape((copies * width,)).connect(sink.a_in)
    with lava_session(sink, Loihi2SimCfg(select_tag="fixed_pt"), timeout=60) as session:
        session.run(steps)
        sent = np.asarray(sink.data.get()).reshape(copies, width, steps)
        assert int(source.sample_index.get()[0]) == 3
    spec = NetworkSpec.from_torch(net)
    for k in range(3):
        window = sent[..., k * cfg.time_steps:(k + 1) * cfg.time_steps]
        labels = np.arange(cfg.num_classes)
        expected = spec.encode(np.repeat(x[k:k + 1], cfg.num_classes, 0), labels)
        np.testing.assert_array_equal(window[:cfg.num_classes], expected)
        np.testing.assert_array_equal(window[cfg.num_classes], spec.encode(x[k:k + 1], None)[0])


# ------------------------------------------------------------------ bad input
def test_layer_refuses_float_weights_and_bad_parameters(rng):
    from lava_ff.processes.ff_layer.process import FFLayer

    neuron = FixedNeuronParams(vth=64, i_decay=1024, v_decay=128)
    good = random_integer_weights(rng, 4, 3)
    with pytest.raises(ValueError, match="integer weights.*float64.*quantize_weights"):
        FFLayer(weights=good / 64.0, neuron=neuron, time_steps=4)
    with pytest.raises(ValueError, match=r"range \[-300, .*exceeds"):
        FFLayer(weights=np.array([[-300, 2]]), neuron=neuron, time_steps=4)
    with pytest.raises(ValueError, match="multiples of 2"):
        FFLayer(weights=np.array([[3, 2]]), neuron=neuron, time_steps=4)
    with pytest.raises(ValueError, match="2-D"):
        FFLayer(weights=np.array([2, 2]), neuron=neuron, time_steps=4)
    with pytest.raises(TypeError, match="FixedNeuronParams.*quantize_neuron"):
        FFLayer(weights=good, neuron=FFConfig(in_features=1).neuron, time_steps=4)
    with pytest.raises(ValueError, match="vth=200000"):
        FixedNeuronParams(vth=200_000, i_decay=1024, v_decay=0)
    with pytest.raises(ValueError, match="v_decay=5000"):
        FixedNeuronParams(vth=64, i_decay=1024, v_decay=5000)
    with pytest.raises(ValueError, match="time_steps must be a positive integer, got 0"):
        FFLayer(weights=good, neuron=neuron, time_steps=0)


def test_network_spec_and_input_refuse_mismatches(small_network):
    from lava_ff.processes.ff_input.process import FFInput

    net, x = small_network
    spec = NetworkSpec.from_torch(net)
    with pytest.raises(ValueError, match=r"layer 1 weights has shape \(20, 29\), expected \(20, 30\)"):
        NetworkSpec(spec.config, (spec.weights[0], spec.weights[1][:, :29]), spec.neurons)
    with pytest.raises(ValueError, match="63 features per sample, the network expects 64"):
        build_lava_network(spec, x[:, :63])
    bad = x.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FFInput(data=bad, num_classes=10, time_steps=4)
    with pytest.raises(ValueError, match=r"\[0, 1\], got range"):
        FFInput(data=x * 3, num_classes=10, time_steps=4)
    with pytest.raises(ValueError, match="must be binary"):
        FFInput(data=np.full((2, 5, 4), 2), num_classes=10, time_steps=4)


def test_spike_train_inputs_stream_into_lava_like_torch():
    """Binned event data ([N, F, T] spikes) goes into Lava as spikes, label attached."""
    from lava_ff.offline.model import FFNetwork

    cfg = FFConfig(in_features=40, layer_sizes=(24,), time_steps=6, encoding="spikes", weight_scale=1.0, seed=2)
    net = FFNetwork(cfg)
    spikes = (np.random.default_rng(8).random((4, 40, 6)) < 0.3).astype(np.float32)
    out = run_lava_inference(build_lava_network(NetworkSpec.from_torch(net), spikes, record_scores=True),
                             "fixed_pt", progress=False, timeout=60)
    torch_scores = net.layer_label_scores(spikes)
    assert torch_scores.max() > 0
    np.testing.assert_allclose(out["scores"].transpose(1, 0, 2), torch_scores, rtol=1e-6)
    with pytest.raises(ValueError, match=r"spike trains must have shape \[batch, features, 6\]"):
        net.encode(spikes[..., :5], None)


def test_readout_rejects_an_unknown_loss_and_non_positive_theta_or_alpha():
    from lava_ff.processes.ff_readout.process import FFReadout

    base = dict(num_samples=2, num_classes=3, num_layers=1, copies=4, time_steps=5, layer_scales=np.ones(1))
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid: softplus, symba, softmax"):
        FFReadout(**base, loss="hinge")
    for name, bad in (("theta", 0.0), ("alpha", -1.0), ("alpha", float("nan")), ("theta", True)):
        with pytest.raises(ValueError, match=f"{name} must be a positive finite number, got {bad!r}"):
            FFReadout(**base, **{name: bad})
    readout = FFReadout(**base, loss="softplus", theta=2.0, alpha=0.5)
    assert (readout.proc_params["loss"], readout.proc_params["theta"]) == ("softplus", 2.0)
