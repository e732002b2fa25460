"""On-chip FF learning: the rule class, the numpy reference, and Lava float/fixed against it."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from lava_ff.core.clock import window_length
from lava_ff.core.config import FFConfig
from lava_ff.core.goodness import modulatory_factor
from lava_ff.core.inputs import phase_windows
from lava_ff.core.loihi import quantize_weights
from lava_ff.core.neuron import quantize_neuron
from lava_ff.core.rule import FFLearningRule, deployable_weights, ff_post_factors, pre_trace_step
from lava_ff.onchip.reference import simulate_onchip, simulate_onchip_windows


def lava_learning_rule(*args, **kwargs):
    """The rule in Lava's learning-rule language (needs Lava: the tests that call it are marked)."""
    from lava_ff.processes.learning_rule import lava_learning_rule as build

    return build(*args, **kwargs)


def check_rule_string(dw):
    from lava_ff.processes.learning_rule import check_rule_string as check

    return check(dw)

TAGS = ["floating_pt", "fixed_pt"]


def small_problem(rng, samples=3):
    cfg = FFConfig(in_features=20, layer_sizes=(12, 8), num_classes=3, time_steps=6, theta=0.5)
    weights = [quantize_weights(rng.normal(0, 0.6, (12, 23))), quantize_weights(rng.normal(0, 0.6, (8, 12)))]
    x = rng.random((samples, 20)).astype(np.float32)
    y = np.arange(samples) % 3
    negative = (y + 1) % 3
    return cfg, weights, x, y, negative


def run_lava(tag, cfg, weights, rule, x, y, negative, steps, tmp_path, *, engine="streamlined", traces=False,
             post_ports=None):
    """Learned weights and goodness log after ``steps`` (and, with
    ``traces``, each synapse's pre-traces ``x1``)."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    from lava_ff.lava.learning import build_learning_network
    from lava_ff.lava.runtime import lava_session

    net = build_learning_network(cfg, weights, quantize_neuron(cfg.neuron), rule, x, y, negative,
                                 snapshot_dir=tmp_path, log_windows=2 * len(x), engine=engine,
                                 post_ports=post_ports)
    with lava_session(net.source, Loihi2SimCfg(select_tag=tag), timeout=300) as session:
        session.run(steps)
        out = net.weights(), net.goodness_logs()
        return out + ([s.x1.get() for s in net.synapses],) if traces else out


def reference(cfg, weights, rule, x, y, negative, *, fixed, steps=None):
    windows = np.concatenate([phase_windows(x[i], y[i], negative[i], cfg) for i in range(len(x))])
    return simulate_onchip(weights, quantize_neuron(cfg.neuron), rule, cfg, windows,
                           np.tile([1, -1], len(x)), fixed=fixed, steps=steps)


# ------------------------------------------------------------------ the rule
@pytest.mark.lava
def test_rule_strings_give_float_and_fixed_the_same_effective_rate():
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=16)
    x1, y = 40, 90  # 7-bit trace values
    # fixed: dw_int = mantissa * 2^(e - 3) * x1 * y (two 7-bit factors + 4-bit mantissa, >> 3)
    fixed = rule.rule_constant(fixed=True) * x1 * y
    # float: traces / 128, weights in integer units: dw = mantissa * 2^(e + 11) * (x1/128) * (y/128)
    floating = rule.rule_constant(fixed=False) * (x1 / 128) * (y / 128)
    assert fixed == pytest.approx(floating)
    # and both are learning_rate * x * rate*|m| with x = x1/128 and y = gain/128 * rate*|m| * 128
    assert floating == pytest.approx(rule.realised_rate * (x1 / 128) * (y / rule.gain))
    assert rule.realised_rate == pytest.approx(16.0)
    fixed_rule = lava_learning_rule(rule, fixed=True)
    assert fixed_rule.x1_impulse == 16 and fixed_rule.x1_tau == 4 and fixed_rule.t_epoch == 1
    assert lava_learning_rule(rule, fixed=False).x1_impulse == pytest.approx(16 / 128)
    assert "u0*x1*y2" in rule.dw(fixed=True) and "u0*x1*y3" in rule.dw(fixed=True)


@pytest.mark.lava
@pytest.mark.parametrize("dw", ["0.5*u0*x1*y2", "u*x1*y2", "x1*y2", "3*2^(-7)*u0*x1*y2", "9*2^9*u0*x1*y2", ""])
def test_rule_strings_lava_rejects_raise_naming_the_string(dw):
    with pytest.raises(ValueError, match="rule"):
        check_rule_string(dw)


def test_bad_rule_parameters_are_refused():
    with pytest.raises(ValueError, match="pre_trace_tau"):
        FFLearningRule(pre_trace_tau=0)
    with pytest.raises(ValueError, match="underflows to zero in fixed point"):
        FFLearningRule(learning_rate=0.01)
    with pytest.raises(ValueError, match="above the largest"):
        FFLearningRule(learning_rate=1e5)
    with pytest.raises(ValueError, match="learning_rate"):
        FFLearningRule(learning_rate=float("nan"))
    with pytest.raises(ValueError, match="pre_trace_impulse"):
        FFLearningRule(pre_trace_impulse=128)
    with pytest.warns(UserWarning, match="coarse"):
        FFLearningRule(learning_rate=0.5)


# ---------------------------------------------------------------- kernels
def test_post_factors_follow_the_phase_and_the_goodness_error():
    counts = np.array([0, 3, 6])
    T, theta, gain = 6, 1.0, 64
    raw = int((counts**2).sum())  # 45 -> G = 45/36 = 1.25 > theta
    y2, y3 = ff_post_factors(counts, raw, scale=1 / T**2, theta=theta, time_steps=T, phase=1, gain=gain,
                             fixed=False)
    m = modulatory_factor(raw / T**2, theta, True)
    np.testing.assert_allclose(y2, gain / 128 * counts / T * m)
    assert not y3.any()
    y2, y3 = ff_post_factors(counts, raw, scale=1 / T**2, theta=theta, time_steps=T, phase=-1, gain=gain,
                             fixed=False)
    assert not y2.any() and y3[2] > y3[1] > 0 == y3[0]
    # negative phase above threshold pushes harder than positive: |m_neg| > |m_pos| here
    assert y3[2] > gain / 128 * 1.0 * m
    fixed2, _ = ff_post_factors(counts, raw, scale=1 / T**2, theta=theta, time_steps=T, phase=1, gain=gain,
                                fixed=True)
    # integers (gain * count * round(128 m)) // (T * 128), within one unit of 128 x the float value
    assert fixed2.dtype.kind == "i" and fixed2.max() <= 127
    assert np.all(np.abs(fixed2 - 128 * gain / 128 * counts / T * m) <= 1)
    zero2, zero3 = ff_post_factors(counts, raw, scale=1 / T**2, theta=theta, time_steps=T, phase=0, gain=gain,
                                   fixed=True)
    assert not zero2.any() and not zero3.any()


def test_pre_trace_is_an_exponential_spike_trace():
    retention = math.exp(-1 / 4)
    trace = np.zeros(2)
    for s in ([1, 0], [1, 0], [0, 0]):
        trace = pre_trace_step(trace, np.array(s), retention, 0.5)
    assert trace[0] == pytest.approx(0.5 * retention**2 + 0.5 * retention) and trace[1] == 0


@pytest.mark.lava
def test_deployable_weights_floor_to_the_even_8bit_grid():
    from lava.utils.weightutils import SignMode, truncate_weights

    learned = np.array([[-256, -255, -3, -1, 0, 1, 3, 254, 255]])
    np.testing.assert_array_equal(deployable_weights(learned), [[-256, -256, -4, -2, 0, 0, 2, 254, 254]])
    # exactly what Lava's own 8-bit Dense does to them
    np.testing.assert_array_equal(deployable_weights(learned), truncate_weights(learned, SignMode.MIXED, 8))
    with pytest.raises(ValueError, match="outside"):
        deployable_weights(np.array([[300]]))


# ------------------------------------------------------ reference behaviour
def test_reference_learning_separates_positive_from_negative_goodness(rng):
    """Repeating one sample: the rule raises its positive-phase goodness and
    lowers its negative-phase goodness (both layers)."""
    cfg, weights, x, y, negative = small_problem(rng, samples=1)
    rule = FFLearningRule(learning_rate=16.0)
    x, y, negative = np.repeat(x, 12, axis=0), np.repeat(y, 12), np.repeat(negative, 12)
    result = reference(cfg, weights, rule, x, y, negative, fixed=False)
    gap = result.goodness[:, 0::2] - result.goodness[:, 1::2]  # positive - negative, per layer and sample
    assert np.all(gap[:, -3:].mean(axis=1) > gap[:, :3].mean(axis=1))


def test_learned_network_is_the_offline_T_step_network(rng):
    """No learning (phase 0 everywhere): each layer's window goodness equals
    the offline integer forward pass of the same window."""
    from lava_ff.core.spec import NetworkSpec

    cfg, weights, x, y, negative = small_problem(rng, samples=2)
    windows = np.concatenate([phase_windows(x[i], y[i], negative[i], cfg) for i in range(2)])
    neuron = quantize_neuron(cfg.neuron)
    result = simulate_onchip(weights, neuron, FFLearningRule(), cfg, windows, np.zeros(4), fixed=True)
    spec = NetworkSpec(cfg, tuple(weights), (neuron, neuron))
    offline = [(s.astype(np.int64).sum(-1) ** 2).sum(-1) for s in spec.forward_fixed(windows)]
    np.testing.assert_array_equal(result.goodness, np.stack(offline))
    np.testing.assert_array_equal(result.weights[0], weights[0])


def test_reference_rounding_models_the_engine_shared_random(rng):
    """One learning event per layer (phases +1, 0): with ``shared`` rounding
    every synapse of layer 0 rounds its expected new weight up exactly when
    its fraction exceeds the one random number drawn for that step; with
    ``independent`` rounding each synapse rounds on its own; both stay within
    one unit of the expected update and give integers."""
    cfg, weights, x, y, negative = small_problem(rng, samples=1)
    windows = phase_windows(x[0], y[0], negative[0], cfg)
    neuron, rule = quantize_neuron(cfg.neuron), FFLearningRule(learning_rate=16.0)
    expected = simulate_onchip(weights, neuron, rule, cfg, windows, [1, 0], fixed=True).weights[0]
    assert np.any(expected % 1 != 0), "the test needs fractional updates"
    shared = simulate_onchip(weights, neuron, rule, cfg, windows, [1, 0], fixed=True, rounding="shared",
                             rng=np.random.default_rng(5)).weights[0]
    r0 = np.random.default_rng(5).random()  # layer 0 ends its window first: the first draw is its own
    np.testing.assert_array_equal(shared, np.floor(expected) + (expected - np.floor(expected) > r0))
    independent = simulate_onchip(weights, neuron, rule, cfg, windows, [1, 0], fixed=True,
                                  rounding="independent", rng=np.random.default_rng(5)).weights[0]
    assert np.all(independent == np.round(independent)) and np.all(np.abs(independent - expected) < 1)
    with pytest.raises(ValueError, match="'nearest'"):
        simulate_onchip(weights, neuron, rule, cfg, windows, [1, 0], fixed=True, rounding="nearest")
    with pytest.raises(ValueError, match="float mode"):
        simulate_onchip(weights, neuron, rule, cfg, windows, [1, 0], fixed=False, rounding="shared")


@pytest.mark.parametrize("fixed, rounding", [(False, "expected"), (True, "expected"), (True, "shared"),
                                             (True, "independent")])
def test_window_simulator_equals_the_step_reference_bit_for_bit(rng, fixed, rounding):
    """The window-by-window simulator is the step reference reorganised:
    same weights and goodness, exactly, over several samples with a
    no-learning window among them (the random streams advance alike)."""
    cfg, weights, x, y, negative = small_problem(rng, samples=6)
    windows = np.concatenate([phase_windows(x[i], y[i], negative[i], cfg) for i in range(6)])
    phases = np.tile([1, -1], 6)
    phases[3] = 0
    neuron, rule = quantize_neuron(cfg.neuron), FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    step = simulate_onchip(weights, neuron, rule, cfg, windows, phases, fixed=fixed, rounding=rounding,
                           rng=np.random.default_rng(4))
    fast = simulate_onchip_windows(weights, neuron, rule, cfg, windows, phases, fixed=fixed, rounding=rounding,
                                   rng=np.random.default_rng(4))
    for layer, (got, want) in enumerate(zip(fast.weights, step.weights, strict=True)):
        assert np.abs(want - weights[layer]).max() > 1, "the run must learn"
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(fast.goodness, step.goodness)
    assert fast.goodness.min() > 0


def test_window_simulator_refuses_more_layers_than_window_steps(rng):
    cfg = FFConfig(in_features=4, layer_sizes=(3,) * 4, num_classes=2, time_steps=2)
    weights = [np.zeros((3, 6), np.int32)] + [np.zeros((3, 3), np.int32)] * 3
    with pytest.raises(ValueError, match="at most 3 layers"):
        simulate_onchip_windows(weights, quantize_neuron(cfg.neuron), FFLearningRule(), cfg,
                                np.zeros((2, 6, 2)), [1, -1], fixed=False)


def test_initial_weights_scale_with_the_threshold():
    """A higher threshold multiplies the start weights by it (same dynamics,
    more of the 8-bit range): within the two grids' rounding, and clamped."""
    from lava_ff.core.neuron import NeuronParams
    from lava_ff.onchip.fit import initial_weights

    base = FFConfig(in_features=30, layer_sizes=(16, 8), time_steps=5, theta=1.0, seed=3)
    w1 = initial_weights(base)
    w4 = initial_weights(replace(base, neuron=NeuronParams(threshold=4.0)))
    for a, b in zip(w1, w4, strict=True):
        # |w1 - 64x| <= 1 and |w4 - 256x| <= 1 on the even grid, so |w4 - 4 w1| <= 5
        assert np.max(np.abs(b - 4 * a)) <= 5 and np.abs(b).max() > 4 * np.abs(a).max() - 5
        assert b.min() >= -256 and b.max() <= 254


def test_offline_model_moves_to_the_onchip_threshold_with_the_same_goodness(rng):
    """Continual learning's start: threshold and deployed weights scaled
    together by a power of two give the same dynamics (the decays truncate
    the scaled state, so a rare spike may move; none does here: every
    label's goodness is equal); weights past the 8-bit range are clamped and
    counted; a bad threshold is refused naming it."""
    import torch

    from lava_ff.core.loihi import LOIHI2
    from lava_ff.offline.model import FFNetwork
    from lava_ff.onchip.fit import onchip_network, to_onchip_threshold

    cfg = FFConfig(in_features=20, layer_sizes=(12, 8), num_classes=3, time_steps=6, theta=0.5, seed=1)
    net = FFNetwork(cfg)
    with torch.no_grad():
        for layer in net.layers:  # inside 254 / 8 integer units, so that x8 stays in the 8-bit range
            layer.weight.clamp_(-0.45, 0.45)
    x = rng.random((16, 20)).astype(np.float32)
    moved_cfg, weights, neuron, clipped = to_onchip_threshold(net, 8.0)
    assert moved_cfg.neuron.threshold == 8.0 and neuron.vth == 8 * quantize_neuron(cfg.neuron).vth
    assert moved_cfg.layer_sizes == cfg.layer_sizes and moved_cfg.theta == cfg.theta
    assert clipped == 0.0
    for layer, w in zip(net.layers, weights, strict=True):
        np.testing.assert_array_equal(w, 8 * layer.integer_weight())
    before, after = net.label_scores(x), onchip_network(moved_cfg, weights, neuron).label_scores(x)
    assert np.abs(before).max() > 0  # the layers fire
    np.testing.assert_array_equal(after, before)
    # one weight past 254 / 8 integer units: clamped to the range's end and counted
    with torch.no_grad():
        net.layers[1].weight[2, 3] = 40 / LOIHI2.w_scale
    _, weights, _, clipped = to_onchip_threshold(net, 8.0)
    assert weights[1][2, 3] == LOIHI2.weight_max
    assert clipped == pytest.approx(1 / sum(w.size for w in weights))
    for bad in (0.0, -4.0, float("nan")):
        with pytest.raises(ValueError, match=f"threshold={bad!r}"):
            to_onchip_threshold(net, bad)


# ------------------------------------------------------------ Lava vs numpy
@pytest.mark.lava
def test_lava_float_weights_after_n_samples_equal_the_reference(rng, tmp_path):
    cfg, weights, x, y, negative = small_problem(rng, samples=3)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    steps = 3 * 2 * window_length(cfg.time_steps) + 2
    learned, goodness = run_lava("floating_pt", cfg, weights, rule, x, y, negative, steps, tmp_path)
    ref = reference(cfg, weights, rule, x, y, negative, fixed=False)
    for layer, (got, want) in enumerate(zip(learned, ref.weights, strict=True)):
        assert np.abs(want - weights[layer]).max() > 1, "the reference must have learned something"
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(goodness, ref.goodness)


@pytest.mark.lava
@pytest.mark.parametrize("messages", ["step", "window"])
def test_hard_negatives_are_chosen_per_chunk_from_the_weights_learned_so_far(rng, messages):
    """``train_onchip`` with ``negatives='hard'`` and two chunks of three
    samples: chunk 1's negatives are the wrong labels the start weights score
    highest, chunk 2's those the weights read back after chunk 1 score
    highest; the float weights then equal the step reference run on those
    negatives. The step network is read back mid-pipeline (the reference
    stopped at that step: the last layer has not yet learned from the last
    window); the window network after every layer learned all of chunk 1."""
    from lava_ff.core.inputs import hard_negative_labels
    from lava_ff.lava.learning import train_onchip
    from lava_ff.onchip.fit import onchip_network

    cfg, weights, x, y, _ = small_problem(rng, samples=6)
    cfg = replace(cfg, negatives="hard")
    neuron, rule = quantize_neuron(cfg.neuron), FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    first = hard_negative_labels(onchip_network(cfg, weights, neuron).label_scores(x[:3]), y[:3])
    chunk_steps = 3 * 2 * window_length(cfg.time_steps) + (len(weights) if messages == "window" else 0)
    chunk_end = reference(cfg, weights, rule, x[:3], y[:3], first, fixed=False, steps=chunk_steps).weights
    second = hard_negative_labels(onchip_network(cfg, chunk_end, neuron).label_scores(x[3:]), y[3:])
    negative = np.concatenate([first, second])
    want = reference(cfg, weights, rule, x, y, negative, fixed=False).weights
    run = train_onchip(cfg, weights, neuron, rule, x, y, tag="floating_pt", rng=rng, samples_per_run=3,
                       progress=False, timeout=300, messages=messages,
                       label_scores=lambda learned, xs: onchip_network(cfg, learned, neuron).label_scores(xs))
    for got, ref, start in zip(run["weights"], want, weights, strict=True):
        assert np.abs(ref - start).max() > 1, "the reference must have learned something"
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
    # the test tells refreshed negatives from ones all chosen by the start weights
    stale = hard_negative_labels(onchip_network(cfg, weights, neuron).label_scores(x[3:]), y[3:])
    assert not np.array_equal(second, stale)


@pytest.mark.lava
def test_input_reads_each_block_of_negatives_the_host_sets(rng, tmp_path):
    """Four samples with a block of two negatives, the second block set
    between runs, learn exactly what four samples with all four negatives
    fixed up front learn; bad blocks are refused by name."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    from lava_ff.lava.learning import build_learning_network
    from lava_ff.lava.runtime import lava_session

    cfg, weights, x, y, negative = small_problem(rng, samples=4)
    negative = np.array([1, 2, 0, 2])  # y = 0, 1, 2, 0
    rule, neuron = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32), quantize_neuron(cfg.neuron)
    steps = 2 * window_length(cfg.time_steps)
    want, _ = run_lava("floating_pt", cfg, weights, rule, x, y, negative, 4 * steps + 2, tmp_path)
    net = build_learning_network(cfg, weights, neuron, rule, x, y, negative[:2], snapshot_dir=tmp_path)
    assert net.negative_block == 2
    with lava_session(net.source, Loihi2SimCfg(select_tag="floating_pt"), timeout=300) as session:
        session.run(2 * steps)
        with pytest.raises(ValueError, match="samples 1..2 do not fill one block of 2"):
            net.set_negatives(1, negative[1:3])
        with pytest.raises(ValueError, match="equal the true labels at samples \\[2, 3\\]"):
            net.set_negatives(2, y[2:])
        net.set_negatives(2, negative[2:])
        session.run(2 * steps + 2)
        got = net.weights()
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.lava
def test_lava_fixed_update_within_the_fixed_point_bound_of_the_reference(rng, tmp_path):
    """One learning event per layer (the first window of each): same spikes,
    so Lava fixed's update differs from the reference's expected one only by
    the engine's rounding. Bound per synapse, with ``S`` the rule constant:
    the pre-trace's stochastic decay is off by < 1/(1 - exp(-1/tau)) units,
    y by < 1 (one decay of tau = 65535), the product's ``>> 3`` by < 1/128
    and the weight's stochastic rounding by < 1."""
    cfg, weights, x, y, negative = small_problem(rng, samples=1)
    cfg = replace(cfg, theta=6.0)  # goodness below theta: m near 1, large third factors
    rule = FFLearningRule(learning_rate=400.0, pre_trace_impulse=32)
    length = window_length(cfg.time_steps)
    steps = length + 2  # layer 0 learns at step length + 1, layer 1 at length + 2
    learned, goodness = run_lava("fixed_pt", cfg, weights, rule, x, y, negative, steps, tmp_path)
    exact = reference(cfg, weights, rule, x, y, negative, fixed=True, steps=steps)
    np.testing.assert_array_equal(goodness[:, :1], exact.goodness[:, :1])  # same spikes
    trace_error = 1 / (1 - rule.pre_trace_retention)
    bound = rule.rule_constant(fixed=True) * (127 * trace_error + 127 + trace_error) + 1 / 128 + 1
    for layer in range(2):
        change = learned[layer].astype(np.float64) - weights[layer]
        ideal = exact.weights[layer] - weights[layer]
        large = np.abs(ideal) > bound
        assert large.sum() >= 5, "the test needs updates larger than the bound"
        assert np.abs(change - ideal).max() <= bound
        assert np.all(np.sign(change[large]) == np.sign(ideal[large]))
        assert np.abs(change - ideal).mean() < 0.25 * np.abs(ideal[large]).mean()


@pytest.mark.lava
@pytest.mark.parametrize("tag", TAGS)
def test_streamlined_bookkeeping_equals_lavas_engine(tag, rng, tmp_path):
    """The default network (streamlined bookkeeping, only the post-synaptic
    inputs the rule reads wired, the third factor sent at window ends only)
    against Lava's own engine methods step by step (``engine="lava"``) with
    every post-synaptic input wired and sent every step, over four
    samples and a part of a fifth: identical weights, pre-traces and
    spikes. In fixed point the updates are fractional, so the weights also
    pin the stochastic rounding to the same random numbers; the fifth
    sample stops mid-window, with traces in flight."""
    from lava_ff.processes.learning_rule import post_synaptic_ports

    cfg, weights, x, y, negative = small_problem(rng, samples=5)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    assert post_synaptic_ports(lava_learning_rule(rule, fixed=True)) == ("s_in_y2", "s_in_y3")
    steps = 4 * 2 * window_length(cfg.time_steps) + 5
    from lava_ff.lava.learning import build_learning_network

    for engine, window in (("streamlined", (cfg.time_steps, 2)), ("lava", None)):
        net = build_learning_network(cfg, weights, quantize_neuron(cfg.neuron), rule, x, y, negative,
                                     snapshot_dir=tmp_path, engine=engine)
        assert net.synapses[1].proc_params["post_window"] == window
        assert net.neurons[1].proc_params["third_factor_every_step"] is (window is None)
    every_port = ("s_in_bap", "s_in_y1", "s_in_y2", "s_in_y3")
    runs = [run_lava(tag, cfg, weights, rule, x, y, negative, steps, tmp_path, engine=engine, traces=True,
                     post_ports=ports) for engine, ports in (("lava", every_port), ("streamlined", None))]
    (w_lava, g_lava, x_lava), (w_fast, g_fast, x_fast) = runs
    for layer in range(2):
        assert np.abs(w_lava[layer] - weights[layer]).max() > 2, "the test needs learning"
        np.testing.assert_array_equal(w_fast[layer], w_lava[layer])
        np.testing.assert_array_equal(x_fast[layer], x_lava[layer])
        assert np.any(x_lava[layer] != 0), "the test needs pre-traces in flight"
    np.testing.assert_array_equal(g_fast, g_lava)
    if tag == "fixed_pt":
        ideal = reference(cfg, weights, rule, x[:4], y[:4], negative[:4], fixed=True).weights[0]
        assert np.any(w_lava[0] != np.round(ideal)), "fractional updates: stochastic rounding must matter"


@pytest.mark.lava
def test_fixed_synapse_arithmetic_equals_lavas_engine_functions(rng):
    """The fixed synapse's own trace decay, impulse and weight rounding
    against the Lava engine functions they stand for, on every value they
    can meet, ties included: ``_decay_trace`` at ``t = 1`` (every 7-bit
    trace, the random numbers at every 1/256), ``_add_impulse`` with whole
    impulses on the spiking traces, and ``_stochastic_round_synaptic_variable``
    then the shift back to weights (every accumulator value, random numbers
    that hit a fraction exactly)."""
    from lava.magma.core.learning.constants import W_ACCUMULATOR_S, W_ACCUMULATOR_U, W_SYN_VAR_S, W_TRACE
    from lava.magma.core.model.py.connection import LearningConnectionModelBitApproximate as Lava
    from lava_ff.processes.ff_learning_dense.models import PyFFLearningDenseModelFixed as Model

    taus = np.array([[3], [11], [40]])
    traces = np.tile(np.arange(2**W_TRACE), (3, 1))
    for random in np.arange(256) / 256:
        expected = Lava._decay_trace(traces, 1, taus, random)
        np.testing.assert_array_equal(Model._decay(None, np.exp(-1 / taus), traces, random), expected)
    model = Model.__new__(Model)
    model._x_impulses_int = np.array([5, 90])
    spiked = rng.random(traces.shape[1]) < 0.5
    pair = traces[:2]
    expected = pair.copy()
    expected[:, spiked] = Lava._add_impulse(pair[:, spiked], 0, model._x_impulses_int[:, np.newaxis], np.zeros((2, 1)))
    np.testing.assert_array_equal(model._impulse(pair, "x", spiked), expected)
    assert expected.max() == 2**W_TRACE - 1, "the test needs the clip"
    accumulator = np.arange(-(2**W_ACCUMULATOR_U) - 1, 2**W_ACCUMULATOR_U)
    shift = W_ACCUMULATOR_S - W_SYN_VAR_S["weights"]
    for random in np.concatenate([rng.random(20), np.arange(0, 128, 7) / 128]):
        lava = Lava._stochastic_round_synaptic_variable("weights", accumulator, random) >> shift
        np.testing.assert_array_equal(Model._stochastic_round(accumulator, random), lava)


@pytest.mark.lava
@pytest.mark.parametrize("tag", TAGS)
def test_window_messages_learn_what_the_step_network_learns(tag, rng, tmp_path):
    """The window network (one Lava step per sample, its two phase windows
    exchanged in turn, ``[n, T]`` messages; and two samples a step) against
    the default step network over five samples: the same
    weights and goodness bit for bit, and the same pre-trace where both
    clocks stop at the same epoch (the last layer's; the step network runs
    one tail step per layer, so earlier layers' traces decay further). In
    fixed point the updates are fractional, so equal weights also pin the
    stochastic rounding and the traces' stochastic decay to the same random
    numbers."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    from lava_ff.lava.learning import build_learning_network
    from lava_ff.lava.runtime import lava_session

    cfg, weights, x, y, negative = small_problem(rng, samples=5)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    runs = {}
    for messages, per_step in (("step", 1), ("window", 1), ("window", 2)):
        net = build_learning_network(cfg, weights, quantize_neuron(cfg.neuron), rule, x, y, negative,
                                     snapshot_dir=tmp_path, log_windows=2 * len(x), messages=messages,
                                     samples_per_step=per_step)
        # window messages: a sample (its two phase windows, exchanged in turn) a Lava step, or two samples (the
        # last step's second one beyond the data, learning nothing), y2 and y3 one message
        steps = {("step", 1): len(x) * 2 * window_length(cfg.time_steps), ("window", 1): 5, ("window", 2): 3}
        assert net.steps_for(len(x)) == steps[messages, per_step]
        for process in (net.synapses[0], net.neurons[0]):
            assert process.proc_params["packed_post"] is (messages == "window")
        with lava_session(net.source, Loihi2SimCfg(select_tag=tag), timeout=300) as session:
            session.run(net.steps_for(len(x)) + net.tail_steps)
            runs[messages, per_step] = net.weights(), net.goodness_logs(), net.synapses[-1].x1.get()
    (w_step, g_step, x_step), (w_window, g_window, x_window) = runs["step", 1], runs["window", 1]
    for layer in range(2):
        assert np.abs(w_step[layer] - weights[layer]).max() > 2, "the test needs learning"
        np.testing.assert_array_equal(w_window[layer], w_step[layer])
        np.testing.assert_array_equal(runs["window", 2][0][layer], w_step[layer])
    np.testing.assert_array_equal(g_window, g_step)
    np.testing.assert_array_equal(runs["window", 2][1], g_step)
    assert np.all(g_step > 0), "the test needs every window to spike"
    np.testing.assert_array_equal(x_window, x_step)
    assert np.any(x_step != 0), "the test needs pre-traces in flight"
    if tag == "fixed_pt":
        ideal = reference(cfg, weights, rule, x, y, negative, fixed=True).weights[0]
        assert np.any(w_step[0] != np.round(ideal)), "fractional updates: stochastic rounding must matter"


@pytest.mark.lava
@pytest.mark.parametrize("tag", TAGS)
def test_lava_learning_raises_positive_over_negative_goodness(tag, rng, tmp_path):
    cfg, weights, x, y, negative = small_problem(rng, samples=1)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    x, y, negative = np.repeat(x, 10, axis=0), np.repeat(y, 10), np.repeat(negative, 10)
    steps = len(x) * 2 * window_length(cfg.time_steps) + 2
    _, goodness = run_lava(tag, cfg, weights, rule, x, y, negative, steps, tmp_path)
    gap = goodness[:, 0::2] - goodness[:, 1::2]
    assert gap[:, -3:].mean() > gap[:, :3].mean()


@pytest.mark.lava
def test_post_synaptic_ports_are_the_ones_the_rule_reads():
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    from lava_ff.processes.learning_rule import post_synaptic_ports

    def ports(dw):
        return post_synaptic_ports(Loihi3FLearningRule(dw=dw, x1_impulse=16, x1_tau=4, t_epoch=1))

    assert ports("2^-2*u0*x1*y1") == ("s_in_y1",)
    assert ports("2^-2*u0*x1*y3") == ("s_in_y3",)
    assert ports("2^-2*y0*x1") == ("s_in_bap",)  # a post-spike dependency
    assert ports("2^-2*y0*x1*y2 - 2^-2*u0*y1") == ("s_in_bap", "s_in_y1", "s_in_y2")


# ---------------------------------------------------------------- bad input
@pytest.mark.lava
def test_learning_processes_refuse_bad_input(rng, tmp_path):
    from lava_ff.processes.ff_learning_dense.process import FFLearningDense
    from lava_ff.processes.ff_learning_neuron.process import FFLearningNeuron
    from lava_ff.processes.ff_phase_input.process import FFPhaseInput

    cfg, weights, x, y, negative = small_problem(rng)
    rule = FFLearningRule()
    with pytest.raises(ValueError, match="outside the learning engine"):
        FFLearningDense(weights=np.full((3, 3), 300), rule=rule)
    with pytest.raises(ValueError, match="NaN"):
        FFLearningDense(weights=np.full((3, 3), np.nan), rule=rule)
    with pytest.raises(TypeError, match="FFLearningRule"):
        FFLearningDense(weights=weights[0], rule="dw")
    with pytest.raises(ValueError, match="unknown engine 'loihi'; valid: streamlined, lava"):
        FFLearningDense(weights=weights[0], rule=rule, engine="loihi")
    with pytest.raises(ValueError, match=r"post_window must be a \(time_steps, latency\) tuple, got 3"):
        FFLearningDense(weights=weights[0], rule=rule, post_window=3)
    with pytest.raises(ValueError, match="post_window latency=4 must be below the window length 4"):
        FFLearningDense(weights=weights[0], rule=rule, post_window=(3, 4))
    with pytest.raises(ValueError, match="post_window needs engine='streamlined'.*engine='lava'"):
        FFLearningDense(weights=weights[0], rule=rule, post_window=(3, 1), engine="lava")
    with pytest.raises(ValueError, match="unknown messages 'batch'; valid: step, window"):
        FFLearningDense(weights=weights[0], rule=rule, messages="batch")
    with pytest.raises(ValueError, match="messages='window' needs post_window"):
        FFLearningDense(weights=weights[0], rule=rule, messages="window")
    with pytest.raises(ValueError, match="unknown messages 'batch'"):
        FFPhaseInput(data=x, labels=y, negative_labels=negative, config=cfg, messages="batch")
    with pytest.raises(ValueError, match="windows_per_step=2 needs messages='window', got 'step'"):
        FFPhaseInput(data=x, labels=y, negative_labels=negative, config=cfg, windows_per_step=2)
    with pytest.raises(ValueError, match="packed_post=True needs messages='window', got 'step'"):
        FFLearningDense(weights=weights[0], rule=rule, post_window=(3, 1), packed_post=True)
    with pytest.raises(ValueError, match="packed_post must be a bool, got 1"):
        FFLearningNeuron(shape=(4,), neuron=quantize_neuron(cfg.neuron), time_steps=3, latency=1, theta=1.0,
                         rule=rule, messages="window", packed_post=1)
    with pytest.raises(ValueError, match="windows_per_step must be a positive integer, got 0"):
        FFLearningDense(weights=weights[0], rule=rule, post_window=(3, 1), messages="window", windows_per_step=0)
    neuron = quantize_neuron(cfg.neuron)
    with pytest.raises(TypeError, match="third_factor_every_step must be a bool, got 'no'"):
        FFLearningNeuron(shape=(4,), neuron=neuron, time_steps=3, latency=1, theta=1.0, rule=rule,
                         third_factor_every_step="no")
    with pytest.raises(ValueError, match="latency"):
        FFLearningNeuron(shape=(4,), neuron=neuron, time_steps=3, latency=4, theta=1.0, rule=rule)
    with pytest.raises(ValueError, match="goodness"):
        FFLearningNeuron(shape=(4,), neuron=neuron, time_steps=3, latency=1, theta=1.0, rule=rule,
                         goodness="sum_sq_voltage")
    with pytest.raises(ValueError, match="theta"):
        FFLearningNeuron(shape=(4,), neuron=neuron, time_steps=3, latency=1, theta=0.0, rule=rule)
    with pytest.raises(ValueError, match="negative label must be wrong|equal the true labels"):
        FFPhaseInput(data=x, labels=y, negative_labels=y, config=cfg)
    with pytest.raises(ValueError, match="features"):
        FFPhaseInput(data=x[:, :5], labels=y, negative_labels=negative, config=cfg)
    with pytest.raises(ValueError, match="NaN"):
        FFPhaseInput(data=np.full_like(x, np.nan), labels=y, negative_labels=negative, config=cfg)
    with pytest.raises(ValueError, match="no samples"):
        FFPhaseInput(data=np.zeros((0, 20, cfg.time_steps)), labels=y[:0], negative_labels=negative[:0],
                     config=cfg)
    from lava_ff.lava.learning import build_learning_network

    with pytest.raises(FileNotFoundError, match="snapshot_dir '.*missing' is not a directory"):
        build_learning_network(cfg, weights, neuron, rule, x, y, negative, snapshot_dir=tmp_path / "missing")
    with pytest.raises(ValueError, match=r"unknown post-synaptic ports \['s_out_y2'\]"):
        build_learning_network(cfg, weights, neuron, rule, x, y, negative, snapshot_dir=tmp_path,
                               post_ports=("s_out_y2",))
    with pytest.raises(ValueError, match="messages='window' needs engine='streamlined', got engine='lava'"):
        build_learning_network(cfg, weights, neuron, rule, x, y, negative, snapshot_dir=tmp_path,
                               engine="lava", messages="window")
    with pytest.raises(ValueError, match="samples_per_step=2 needs messages='window', got 'step'"):
        build_learning_network(cfg, weights, neuron, rule, x, y, negative, snapshot_dir=tmp_path,
                               samples_per_step=2)
    with pytest.raises(ValueError, match="samples_per_step must be a positive integer, got 0"):
        build_learning_network(cfg, weights, neuron, rule, x, y, negative, snapshot_dir=tmp_path,
                               messages="window", samples_per_step=0)
    from lava_ff.lava.learning import train_onchip

    with pytest.raises(ValueError, match="samples_per_step=3 must divide samples_per_run=4"):
        train_onchip(cfg, weights, neuron, rule, x, y, tag="fixed_pt", rng=rng, samples_per_run=4,
                     samples_per_step=3, progress=False)
    with pytest.raises(ValueError, match="unknown messages 'steps'"):
        FFLearningNeuron(shape=(4,), neuron=neuron, time_steps=3, latency=1, theta=1.0, rule=rule,
                         messages="steps")
    with pytest.raises(ValueError, match="windows_per_step must be a positive integer, got True"):
        FFLearningNeuron(shape=(4,), neuron=neuron, time_steps=3, latency=1, theta=1.0, rule=rule,
                         messages="window", windows_per_step=True)
    # a window neuron behind a step synapse: Lava refuses the connection ([n, T] against [n]), no hang
    cell = FFLearningNeuron(shape=(12,), neuron=neuron, time_steps=cfg.time_steps, latency=1, theta=1.0,
                            rule=rule, messages="window")
    with pytest.raises(AssertionError, match=r"Shapes \(12,\) and \(12, 6\) are incompatible"):
        FFLearningDense(weights=weights[0], rule=rule).a_out.connect(cell.a_in)


def test_fixed_training_refuses_fractional_weights(rng):
    from lava_ff.lava.learning import train_onchip

    cfg, weights, x, y, _ = small_problem(rng)
    weights = [w + 0.25 for w in weights]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="integer weights"):
            train_onchip(cfg, weights, quantize_neuron(cfg.neuron), FFLearningRule(), x, y, tag="fixed_pt",
                         rng=rng, progress=False)


@pytest.mark.parametrize("decay, match", [(0.0, "rate_decay must be a number in"), (1.5, "got 1.5"),
                                          (float("nan"), "got nan"), (True, "got True"),
                                          (0.25, "learning_rate=0.03125 underflows")])
def test_onchip_fit_refuses_a_bad_rate_decay_before_training(rng, tmp_path, decay, match):
    """Epochs 0..2 at 0.5 * decay**e: 0.25 makes the last one underflow."""
    from lava_ff.onchip.fit import onchip_fit

    cfg, weights, x, y, _ = small_problem(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the coarse-gain warning of rate 0.5
        with pytest.raises(ValueError, match=match):
            onchip_fit(cfg, weights, quantize_neuron(cfg.neuron), FFLearningRule(learning_rate=0.5), x, y,
                       tag="fixed_pt", epochs=3, out_dir=tmp_path / "run", rate_decay=decay, progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.lava
def test_a_pass_on_views_learns_what_the_chip_learns_on_the_views_drawn(rng, tmp_path):
    """``onchip_fit(views=3)``: the pass streams each image as the view
    :func:`pass_images` draws for it, so it learns what ``train_onchip``
    learns on those images, bit for bit, and not what a pass on the images
    as they are learns; its state is not resumed by a run on other views."""
    from lava_ff.lava.learning import train_onchip
    from lava_ff.onchip.fit import onchip_fit, onchip_label_scores, pass_images

    cfg, weights, x, y, _ = small_problem(rng, samples=8)
    neuron, rule = quantize_neuron(cfg.neuron), FFLearningRule(learning_rate=8.0, pre_trace_impulse=4)
    common = {"tag": "fixed_pt", "epochs": 1, "progress": False, "samples_per_run": 4, "seed": 5}
    viewed = onchip_fit(cfg, weights, neuron, rule, x, y, out_dir=tmp_path / "views", views=3, image_shape=(4, 5),
                        **common)["weights"]
    order = np.random.default_rng([5, 0]).permutation(len(x))
    shown = pass_images(x, order, 5, 0, 3, (4, 5))
    assert not np.array_equal(shown, x[order])
    direct = train_onchip(cfg, weights, neuron, rule, shown, y[order], tag="fixed_pt",
                          rng=np.random.default_rng([5, 0, 0]), samples_per_run=4, progress=False,
                          label_scores=onchip_label_scores(cfg, neuron))["weights"]
    plain = onchip_fit(cfg, weights, neuron, rule, x, y, out_dir=tmp_path / "plain", **common)["weights"]
    for learned, same, other in zip(viewed, direct, plain, strict=True):
        np.testing.assert_array_equal(learned, same)
        assert not np.array_equal(learned, other)
    with pytest.raises(ValueError, match="views: state 3"):
        onchip_fit(cfg, weights, neuron, rule, x, y, out_dir=tmp_path / "views", resume=True, **common)
    with pytest.raises(ValueError, match="views=2 is the FF passes' option"):
        from lava_ff.onchip.fit import ReadoutTask

        onchip_fit(cfg, [np.zeros((3, 8), np.int32)], neuron, rule, x, y, out_dir=tmp_path / "r", views=2,
                   readout=ReadoutTask(tuple(weights)), **common)


# ---------------------------------------------------------------------- CLI
@pytest.mark.lava
def test_cli_onchip_training_resume_continual_and_export(tmp_path, capsys):
    import json

    import torch

    from lava_ff.artifacts import load_trained
    from lava_ff.cli.main import main
    from lava_ff.core.inputs import flatten_images
    from lava_ff.datasets import load_split

    out = tmp_path / "onchip"
    common = ["--dataset", "digits", "--layers", "20", "--theta", "1", "--limit", "30", "--no-progress",
              "--samples-per-run", "10", "--onchip-rule-lr", "8", "--pre-trace-impulse", "4"]
    assert main(["train", "--backend", "lava-fixed", "--epochs", "1", "--out", str(out), *common]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backend"] == "lava-fixed" and metrics["train_samples"] == 30
    assert metrics["weight_updates"] == 2 * 30 * 20 * 74  # two phases x samples x synapses
    assert metrics["samples_per_second"] > 0 and 0 <= metrics["test_accuracy"] <= 1
    # the chip learns no readout: validation readout accuracy is that of the host-trained one
    assert all("val_readout" not in record for record in metrics["history"])
    assert all("val_combined" not in record and "val_goodness" in record for record in metrics["history"])
    _, val, _, _ = load_split("digits", None, 0)
    host = load_trained(str(out)).predict(flatten_images(val.images), "readout")
    assert metrics["val_accuracy_readout"] == pytest.approx(np.mean(host == np.asarray(val.labels)))
    for name in ("checkpoint.pt", "onchip_state.npz", "training_curves.png", "goodness_histograms.png"):
        assert (out / name).is_file(), name
    # an existing run is never overwritten silently; --resume continues it
    with pytest.raises(SystemExit, match="--resume"):
        main(["train", "--backend", "lava-fixed", "--epochs", "2", "--out", str(out), *common])
    # ... into the same run only: another theta would continue other dynamics from these weights
    capsys.readouterr()
    assert main(["train", "--backend", "lava-fixed", "--epochs", "2", "--resume", "--out", str(out), *common,
                 "--theta", "2"]) == 2
    assert "config.theta: state 1.0, now 2.0" in capsys.readouterr().err
    # a new learning rate is a step-size schedule: allowed, and each epoch names its rate
    assert main(["train", "--backend", "lava-fixed", "--epochs", "2", "--resume", "--out", str(out), *common[:-4],
                 "--onchip-rule-lr", "4", "--pre-trace-impulse", "4"]) == 0
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [(r["epoch"], r["learning_rate"]) for r in history] == [(1, 8.0), (2, 4.0)]
    # a finished run resumed with another --readout-epochs retrains the host readout, not the chip's weights
    before = load_trained(str(out)).state_dict()
    assert main(["train", "--backend", "lava-fixed", "--epochs", "2", "--resume", "--out", str(out), *common[:-4],
                 "--onchip-rule-lr", "4", "--pre-trace-impulse", "4", "--readout-epochs", "6"]) == 0
    metrics, after = json.loads((out / "metrics.json").read_text()), load_trained(str(out)).state_dict()
    assert metrics["readout_epochs"] == 6 and [r["epoch"] for r in metrics["history"]] == [1, 2]
    assert all(torch.equal(before[k], after[k]) for k in before if not k.startswith("readout"))
    assert not torch.equal(before["readout.weight"], after["readout.weight"])
    # a per-epoch decay runs each epoch at its own rate, in one command
    decayed = tmp_path / "decayed"
    assert main(["train", "--backend", "lava-fixed", "--epochs", "2", "--onchip-rule-lr-decay", "0.5",
                 "--out", str(decayed), *common]) == 0
    history = json.loads((decayed / "metrics.json").read_text())["history"]
    assert [(r["epoch"], r["learning_rate"]) for r in history] == [(1, 8.0), (2, 4.0)]
    # the on-chip-trained network exports to netx and evaluates
    assert main(["export", "--model", str(out), "--out", str(tmp_path / "onchip.net")]) == 0
    assert (tmp_path / "onchip.net").is_file()
    # continual learning: start from that model, learn two classes, report old and new
    cont = tmp_path / "continual"
    assert main(["train", "--backend", "lava-float", "--epochs", "1", "--init-from", str(out),
                 "--train-classes", "3,4", "--out", str(cont), *common]) == 0
    metrics = json.loads((cont / "metrics.json").read_text())
    assert set(metrics["test"]) == {"all", "new_classes", "old_classes"}
    assert set(metrics["test_before_onchip"]) == {"all", "new_classes", "old_classes"}
    capsys.readouterr()
    # a learning rate that underflows in fixed point is refused with its value
    assert main(["train", "--backend", "lava-fixed", "--out", str(tmp_path / "bad"), *common[:-4],
                 "--onchip-rule-lr", "0.01"]) == 2
    assert "learning_rate=0.01 underflows" in capsys.readouterr().err


@pytest.mark.lava
def test_cli_continual_learning_from_an_offline_model_of_other_classes(tmp_path, capsys, monkeypatch):
    """Offline training on old classes (--train-classes), then on-chip
    learning of new ones from it: the offline run sees only its classes, the
    on-chip run starts from that very model moved to the on-chip threshold
    (its accuracy before learning is the offline model's) and reports old and
    new classes; flags that would be ignored are refused."""
    import json

    import lava_ff.onchip.fit as onchip_train
    from lava_ff.cli.main import main
    from lava_ff.offline.train import Trainer

    seen = {}
    fit, onchip_fit = Trainer.fit, onchip_train.onchip_fit

    def recording_fit(self, x, y, val_x, val_y, shape):
        seen["train"], seen["val"] = set(np.asarray(y).tolist()), set(np.asarray(val_y).tolist())
        return fit(self, x, y, val_x, val_y, shape)

    def recording_onchip_fit(*args, val_y, **kwargs):
        seen["val"] = set(np.asarray(val_y).tolist())
        return onchip_fit(*args, val_y=val_y, **kwargs)

    monkeypatch.setattr(Trainer, "fit", recording_fit)
    monkeypatch.setattr(onchip_train, "onchip_fit", recording_onchip_fit)
    common = ["--dataset", "digits", "--layers", "20", "--theta", "1", "--limit", "60", "--no-progress"]
    offline = tmp_path / "offline"
    assert main(["train", "--epochs", "1", "--train-classes", "0,1,2", "--out", str(offline), *common]) == 0
    assert seen == {"train": {0, 1, 2}, "val": {0, 1, 2}}
    old = json.loads((offline / "metrics.json").read_text())
    assert old["train_classes"] == [0, 1, 2] and set(old["test_classes"]) == {"all", "trained_classes",
                                                                            "other_classes"}
    assert old["test_classes"]["all"]["goodness"] == old["test_accuracy"]
    capsys.readouterr()
    cont = tmp_path / "continual"
    assert main(["train", "--backend", "lava-fixed", "--epochs", "1", "--init-from", str(offline),
                 "--train-classes", "3,4", "--samples-per-run", "10", "--onchip-rule-lr", "8",
                 "--pre-trace-impulse", "4", "--out", str(cont), *common]) == 0
    assert f"--init-from {offline}: neuron threshold 1 -> 4" in capsys.readouterr().err
    new = json.loads((cont / "metrics.json").read_text())
    assert new["init_from"] == {"model": str(offline), "threshold": 1.0, "clipped": 0.0}
    assert new["config"]["neuron"]["threshold"] == 4.0
    # the same network: its goodness and, through the offline readout, its readout accuracy
    assert new["test_before_onchip"]["all"]["goodness"] == old["test_accuracy"]
    assert new["test_before_onchip"]["all"]["readout"] == old["test_accuracy_readout"]
    assert set(new["test"]) == {"all", "new_classes", "old_classes"} and new["replay"] == 0
    assert seen["val"] == {3, 4}
    # rehearsal: old-class images learned with the new ones, validated on every class
    assert main(["train", "--backend", "lava-fixed", "--epochs", "1", "--init-from", str(offline),
                 "--train-classes", "3,4", "--replay", "20", "--samples-per-run", "10", "--onchip-rule-lr", "8",
                 "--pre-trace-impulse", "4", "--out", str(tmp_path / "replay"), *common]) == 0
    assert json.loads((tmp_path / "replay" / "metrics.json").read_text())["replay"] == 20
    assert seen["val"] == set(range(10))
    with pytest.raises(SystemExit, match="--replay 5: replays old classes while --train-classes names"):
        main(["train", "--backend", "lava-fixed", "--replay", "5", "--out", str(tmp_path / "r"), *common])
    with pytest.raises(SystemExit, match="--replay 5: rehearses old classes in an on-chip"):
        main(["train", "--replay", "5", "--train-classes", "3", "--out", str(tmp_path / "r"), *common])
    with pytest.raises(SystemExit, match="--init-from .*offline training starts from random weights"):
        main(["train", "--init-from", str(offline), "--out", str(tmp_path / "x"), *common])
    with pytest.raises(SystemExit, match="--train-classes 3,10: outside the 10 classes 0-9"):
        main(["train", "--train-classes", "3,10", "--out", str(tmp_path / "y"), *common])


def test_class_subset_keeps_the_classes_and_replays_others_at_random():
    from lava_ff.cli.main import _class_subset
    from lava_ff.datasets import load_split

    train = load_split("digits", None, 0)[0]
    labels = np.asarray(train.labels)
    new = _class_subset(train, (3, 4))
    assert np.array_equal(np.asarray(new.labels), labels[np.isin(labels, (3, 4))])
    replayed = [np.asarray(_class_subset(train, (3, 4), replay=50, seed=seed).labels) for seed in (0, 0, 1)]
    for subset in replayed:
        assert np.sum(np.isin(subset, (3, 4))) == np.sum(np.isin(labels, (3, 4)))  # every new image
        assert np.sum(~np.isin(subset, (3, 4))) == 50  # and 50 of the others
    assert np.array_equal(replayed[0], replayed[1]) and not np.array_equal(replayed[0], replayed[2])
    others = int(np.sum(~np.isin(labels, (3, 4))))
    with pytest.raises(SystemExit, match=f"--replay {others + 1}: the training split has only {others} images"):
        _class_subset(train, (3, 4), replay=others + 1)


@pytest.mark.lava
def test_cli_onchip_negatives_mixed_runs_and_hybrid_is_refused(tmp_path, capsys):
    import json

    from lava_ff.cli.main import main

    common = ["--dataset", "digits", "--layers", "20", "--theta", "1", "--limit", "20", "--no-progress",
              "--samples-per-run", "10", "--onchip-rule-lr", "8", "--pre-trace-impulse", "4", "--epochs", "1"]
    out = tmp_path / "mixed"
    assert main(["train", "--backend", "lava-fixed", "--negatives", "mixed", "--out", str(out), *common]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["negatives"] == "mixed" and metrics["train_samples"] == 20
    capsys.readouterr()
    assert main(["train", "--backend", "lava-fixed", "--negatives", "hybrid", "--out", str(tmp_path / "h"),
                 *common]) == 2
    assert "negatives='hybrid': on-chip learning shows each sample with a wrong" in capsys.readouterr().err
    assert not (tmp_path / "h").exists()
