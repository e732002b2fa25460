"""Differential chain: torch float == numpy float == numpy fixed, plus golden values."""

import numpy as np
import pytest
import torch

from lava_ff.core.clock import SAMPLES_PER_STEP, check_samples_per_step, step_windows, window_position
from lava_ff.core.config import FFConfig
from lava_ff.core.goodness import combined_scores, ff_loss, goodness, modulatory_factor, sigmoid, softplus
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.neuron import (
    CubaState,
    FixedNeuronParams,
    NeuronParams,
    cuba_forward_fixed,
    cuba_forward_float,
    cuba_step_fixed,
    dense_cuba_forward_fixed,
    quantize_neuron,
    rtz_shift,
)
from lava_ff.core.rule import three_factor_update
from lava_ff.offline.model import FFLayer


@pytest.fixture(autouse=True)
def strict_floats():
    # Overflow, NaN and division by zero are bugs here; underflow to 0 is the right answer.
    with np.errstate(all="raise", under="ignore"):
        yield


def test_current_decay_half_halves_the_current():
    params = FixedNeuronParams(vth=10_000, i_decay=2048, v_decay=0)
    a_in = np.zeros((1, 1, 4), np.int64)
    a_in[..., 0] = 100  # one input of 100 at t=0, nothing after
    state = CubaState(np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64))
    currents = []
    for t in range(4):
        _, state, _ = cuba_step_fixed(a_in[..., t], state, params)
        currents.append(int(state.u[0, 0]))
    first = 100 << LOIHI2.act_shift
    assert currents == [first, first // 2, first // 4, first // 8]


def test_spike_when_voltage_exceeds_threshold_and_reset():
    # No decay of the current (i_decay would be 0 -> use 1/4096), no voltage decay:
    # v grows by u each step; vth=2 -> spikes when v > 2 << 6 = 128.
    params = FixedNeuronParams(vth=2, i_decay=1, v_decay=0)
    a_in = np.zeros((1, 1, 3), np.int64)
    a_in[..., 0] = 1  # u = 64 after step 0, then decays by 1/4096 (rounds toward zero)
    spikes = cuba_forward_fixed(a_in, params)
    # v: 64, 64+63=127, 127+63=190 > 128 -> spike at t=2
    assert spikes[0, 0].tolist() == [False, False, True]


def test_rtz_shift_rounds_toward_zero():
    x = np.array([-7, -1, 1, 7], dtype=np.int64)
    assert rtz_shift(x, 1).tolist() == [-3, 0, 0, 3]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_torch_layer_equals_numpy_float_and_fixed(seed):
    rng = np.random.default_rng(seed)
    neuron = NeuronParams(threshold=0.5, current_decay=0.2, voltage_decay=0.05)
    layer = FFLayer(40, 25, neuron, weight_scale=1.0, generator=torch.Generator().manual_seed(seed))
    spikes_in = (rng.random((6, 40, 15)) < 0.3).astype(np.float32)
    out, voltage = layer(torch.from_numpy(spikes_in))
    out, voltage = out.detach().numpy().astype(bool), voltage.detach().numpy()
    qw = layer.quantized_weight().detach().numpy().astype(np.float64)
    ref_spikes, ref_voltage = cuba_forward_float(np.einsum("oi,bit->bot", qw, spikes_in), neuron)
    assert out.any() and not out.all()  # a test with no spikes proves nothing
    np.testing.assert_array_equal(out, ref_spikes)
    np.testing.assert_allclose(voltage, ref_voltage, rtol=0, atol=1e-6)
    fixed = dense_cuba_forward_fixed(layer.integer_weight(), spikes_in, quantize_neuron(neuron))
    np.testing.assert_array_equal(fixed, ref_spikes)


def test_integer_weights_are_the_float_weights_times_64(rng):
    layer = FFLayer(10, 5, NeuronParams(), generator=torch.Generator().manual_seed(3))
    ints = layer.integer_weight()
    assert ints.min() >= -256 and ints.max() <= 254 and np.all(ints % 2 == 0)
    np.testing.assert_array_equal(ints, layer.quantized_weight().detach().numpy() * 64)


def test_goodness_kinds():
    spikes = np.zeros((1, 4, 10))
    spikes[0, 0, :5] = 1  # rate 0.5
    spikes[0, 1, :] = 1  # rate 1.0
    assert goodness(spikes, "sum_sq_rate")[0] == pytest.approx(0.25 + 1.0)
    assert goodness(spikes, "mean_sq_rate")[0] == pytest.approx((0.25 + 1.0) / 4)
    voltage = np.full((1, 4, 10), -1.0)
    voltage[0, 2] = 2.0  # (2 / threshold 1)^2 = 4 at every step; negatives clip to 0
    assert goodness(spikes, "sum_sq_voltage", voltage)[0] == pytest.approx(4.0)


def test_ff_loss_is_stable_for_extreme_goodness():
    big = np.array([1e6])
    # positive term vanishes (g_pos >> theta); negative term is softplus(0 - 1)
    assert ff_loss(big, np.array([0.0]), theta=1.0) == pytest.approx(softplus(-1.0))
    assert np.isfinite(ff_loss(np.array([-1e6]), big, theta=1.0))
    assert ff_loss(np.array([5.0]), np.array([1.0]), 1.0, "symba", 4.0) == pytest.approx(
        np.log1p(np.exp(-16.0)))


def test_modulatory_factor_signs_and_decay():
    g = np.array([0.0, 10.0, 100.0])
    m_pos = modulatory_factor(g, 10.0, positive=True)
    m_neg = modulatory_factor(g, 10.0, positive=False)
    assert np.all(m_pos > 0) and np.all(m_neg < 0)
    assert m_pos[1] == pytest.approx(0.5) and m_neg[1] == pytest.approx(-0.5)
    assert m_pos[2] < 1e-30  # a confidently right positive sample stops learning
    assert m_neg[0] == pytest.approx(-sigmoid(-10.0))


def test_three_factor_update_is_outer_product_and_array_agnostic(rng):
    pre, post, m = rng.random((4, 3)), rng.random((4, 2)), np.array([1.0, -1.0, 0.5, 0.0])
    expected = sum(m[b] * np.outer(post[b], pre[b]) for b in range(4)) * 0.1 / 4
    np.testing.assert_allclose(three_factor_update(pre, post, m, 0.1), expected)
    got = three_factor_update(torch.tensor(pre), torch.tensor(post), torch.tensor(m), 0.1)
    np.testing.assert_allclose(got.numpy(), expected)


def test_three_factor_update_raises_goodness_for_positive_phase(rng):
    """One positive-phase step must raise the layer's goodness on that input."""
    neuron = NeuronParams(threshold=1.0)
    layer = FFLayer(30, 20, neuron, weight_scale=0.5, generator=torch.Generator().manual_seed(1))
    spikes_in = torch.from_numpy((rng.random((8, 30, 12)) < 0.4).astype(np.float32))
    with torch.no_grad():
        out, _ = layer(spikes_in)
        g0 = out.mean(-1).pow(2).sum(-1)
        m = torch.from_numpy(modulatory_factor(g0.numpy(), 50.0, positive=True))
        layer.weight += three_factor_update(spikes_in.mean(-1), out.mean(-1), m.float(), 1.0)
        g1 = layer(spikes_in)[0].mean(-1).pow(2).sum(-1)
    assert g0.sum() > 0
    assert g1.mean() > g0.mean()


@pytest.mark.parametrize("kwargs, match", [
    (dict(theta=0.0), "theta must be a positive"),
    (dict(theta=-1.0), "theta must be a positive"),
    (dict(layer_sizes=(100, 0)), r"layer_sizes\[1\] must be a positive integer, got 0"),
    (dict(layer_sizes=()), "at least one layer"),
    (dict(time_steps=0), "time_steps must be a positive integer, got 0"),
    (dict(time_steps=-5), "time_steps must be a positive integer, got -5"),
    (dict(rule="backprop"), "unknown rule 'backprop'; valid: surrogate, three_factor"),
    (dict(goodness="l1"), "unknown goodness 'l1'"),
    (dict(lr=float("nan")), "lr must be a positive finite number"),
])
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FFConfig(in_features=64, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(threshold=0.0), "threshold must be a positive"),
    (dict(threshold=3000.0), "outside Loihi's 17-bit range"),
    (dict(current_decay=1.5), r"current_decay must be a number in \[0, 1\], got 1.5"),
    (dict(voltage_decay=float("nan")), "voltage_decay must be a number"),
])
def test_neuron_params_reject_out_of_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NeuronParams(**kwargs)


def test_threshold_snaps_to_the_vth_grid():
    assert NeuronParams(threshold=1.01).threshold == 65 / 64
    assert quantize_neuron(NeuronParams(threshold=1.0, current_decay=0.25)).lava_lif_params == {
        "vth": 64, "du": 1023, "dv": round(0.03 * 4096)}


def test_dequantize_neuron_inverts_quantize():
    from lava_ff.core.neuron import dequantize_neuron

    fixed = FixedNeuronParams(vth=150, i_decay=1024, v_decay=123)
    assert quantize_neuron(dequantize_neuron(fixed)) == fixed
    assert FixedNeuronParams.from_lava_lif(**fixed.lava_lif_params) == fixed
    assert dequantize_neuron(fixed).current_decay == 0.25  # 1024 / 4096


def test_window_position_counts_lava_time_steps_from_one():
    # windows of 4 steps: Lava steps 1-4 are window 0, step 5 opens window 1
    assert [window_position(t, 4) for t in (1, 4, 5)] == [(0, 0), (0, 3), (1, 0)]
    # two steps of latency: step 3 is the first step of window 0, steps before it are negative
    assert window_position(3, 4, latency=2) == (0, 0)
    assert window_position(2, 4, latency=2)[0] < 0


def test_samples_per_step_defaults_to_the_largest_divisor_of_the_chunk():
    """Unset: with window messages the largest divisor of the chunk up to
    ``SAMPLES_PER_STEP``, so no Lava step straddles two chunks; with step
    messages 1. Set: kept where it divides the chunk."""
    assert SAMPLES_PER_STEP == 10
    expected = {500: 10, 7: 7, 9: 9, 13: 1, 24: 8, 1: 1}
    assert {run: check_samples_per_step(None, "window", run) for run in expected} == expected
    for run, per_step in expected.items():
        assert run % per_step == 0 and all(run % k for k in range(per_step + 1, SAMPLES_PER_STEP + 1))
    assert check_samples_per_step(None, "window") == SAMPLES_PER_STEP
    assert check_samples_per_step(None, "step", 500) == 1
    assert check_samples_per_step(4, "window", 500) == 4
    # window k of K a step goes out in step k // K + 1
    assert [list(step_windows(t, 4)) for t in (1, 2)] == [[0, 1, 2, 3], [4, 5, 6, 7]]

@pytest.mark.lava
@pytest.mark.parametrize("native", ["1", "0"], ids=["compiled", "torch-loop"])
@pytest.mark.parametrize("decays", [(0.25, 0.03), (1 / 4096, 0.0), (1.0, 4095 / 4096), (0.6, 0.999)])
def test_fast_cuba_dynamics_is_slayers_bit_for_bit(decays, native, monkeypatch):
    """lava_ff.offline.dynamics (what FFLayer runs, torch alone) against
    slayer's own ``cuba.Neuron.dynamics`` and spike function on random
    8-bit-grid currents of both signs, decays at both ends of what Loihi represents:
    identical current, voltage and spikes; the gradient of a loss on spikes
    and current together equals slayer's to float rounding. The voltage-only
    path matches too, value and gradient of a loss on the spikes alone, and
    so do cuba_spikes' spikes, without and with a gradient, for the core
    neuron and for slayer's. Both forward paths: the compiled kernel (where
    it builds) and the torch loop."""
    from lava.lib.dl import slayer

    from lava_ff.offline.dynamics import cuba_dynamics, cuba_integrate, cuba_spikes, cuba_voltage, spike

    monkeypatch.setenv("LAVA_FF_NATIVE", native)

    params = NeuronParams(1.0, *decays)
    reference = slayer.neuron.cuba.Neuron(**params.slayer_kwargs(), persistent_state=False, requires_grad=False,
                                          shared_param=True)
    generator = torch.Generator().manual_seed(3)
    drive = torch.randint(-90, 120, (6, 40, 16), generator=generator).float() / 32  # multiples of 1/32
    results = []
    for dynamics, spike_of in ((reference.dynamics, reference.spike),
                               (lambda c: cuba_dynamics(params, c), lambda v: spike(v, params))):
        x = drive.clone().requires_grad_(True)
        current, voltage = dynamics(x)
        spikes = spike_of(voltage)
        ((spikes * torch.linspace(-1, 1, 16)).sum() + (current * torch.linspace(1, -0.5, 16)).sum()).backward()
        results.append((current.detach(), voltage.detach(), spikes.detach(), x.grad))
    (c_ref, v_ref, s_ref, g_ref), (c, v, s, g) = results
    assert torch.equal(c, c_ref) and torch.equal(v, v_ref) and torch.equal(s, s_ref)
    assert s.sum() > 0 and (s == 0).any()  # the drive makes some neurons spike and others not
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-6)
    assert g.abs().max() > 0
    spike_grads = []
    for voltage_of, spike_of in ((lambda c: reference.dynamics(c)[1], reference.spike),
                                 (lambda c: cuba_voltage(params, c), lambda v: spike(v, params))):
        x = drive.clone().requires_grad_(True)
        voltage = voltage_of(x)
        (spike_of(voltage) * torch.linspace(-1, 1, 16)).sum().backward()
        spike_grads.append((voltage.detach(), x.grad))
    assert torch.equal(spike_grads[1][0], v_ref)
    torch.testing.assert_close(spike_grads[1][1], spike_grads[0][1], rtol=1e-5, atol=1e-6)
    assert spike_grads[1][1].abs().max() > 0
    for neuron in (params, reference):
        with torch.no_grad():  # spikes emitted while integrating (compiled) or the spike function (torch loop)
            spikes, voltage = cuba_spikes(neuron, drive)
        assert torch.equal(spikes, s_ref) and torch.equal(voltage, v_ref)
        with_grad = cuba_spikes(neuron, drive.clone().requires_grad_(True))
        assert torch.equal(with_grad[0], s_ref) and with_grad[0].requires_grad
    with pytest.raises(ValueError, match="voltage_decay must be an integer in \\[0, 4096\\], got 5000"):
        cuba_integrate(drive.permute(2, 0, 1), 0, 5000, 64, 1.0)
    with pytest.raises(ValueError, match="w_scale must be a power of two .* got 48"):
        cuba_integrate(drive.permute(2, 0, 1), 0, 0, 48, 1.0)


@pytest.mark.lava
def test_the_8bit_weight_grid_is_slayers(rng):
    """quantize_8bit (torch alone) equals slayer's ``quantize_8bit`` on
    weights inside and outside the range, ties included, and passes the
    gradient straight through inside the range, as slayer's does."""
    from lava.lib.dl import slayer

    from lava_ff.offline.dynamics import quantize_8bit

    reference = slayer.neuron.cuba.Neuron(**NeuronParams().slayer_kwargs(), persistent_state=False,
                                          requires_grad=False)
    weights = torch.cat([torch.from_numpy(rng.normal(0, 2.5, 500).astype(np.float32)),
                         torch.arange(-10, 10, dtype=torch.float32) / 64 + 1 / 64])  # ties between two steps
    grads = []
    for quantize in (reference.quantize_8bit, quantize_8bit):
        w = weights.clone().requires_grad_(True)
        out = quantize(w)
        (out * torch.linspace(-1, 1, len(w))).sum().backward()
        grads.append((out.detach(), w.grad))
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])
    assert (grads[1][1] == 0).any() and (grads[1][1] != 0).any()  # outside the range and inside it


def test_compiled_cuba_kernel_equals_the_torch_loop_bit_for_bit(monkeypatch):
    """The compiled integrator (lava_ff.offline.native) against the torch loop on
    drives far above and below the threshold, both dtypes, with and without
    the current, odd shapes (fewer neurons than one block, more than one,
    one step, no steps) and a NaN, which both carry through."""
    import shutil

    from lava_ff.offline import native
    from lava_ff.offline.dynamics import cuba_integrate

    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler: the compiled kernel cannot be built here")
    assert native.cuba_kernel() is not None  # builds where a compiler is (this image: g++)
    generator = torch.Generator().manual_seed(7)
    cases = [(10, 3, 700), (1, 5), (4, 1), (0, 6), (3, 2, 2, 2)]
    for dtype in (torch.float32, torch.float64):
        for shape in cases:
            x = (torch.randn(shape, generator=generator) * 5).to(dtype)
            if x.numel() > 20:
                x.view(-1)[17] = float("nan")
            for decays, threshold, with_current in (((1024, 123), 1.0, False), ((0, 4096), 0.5, True),
                                                    ((4096, 0), 2.0, True), ((17, 4000), 1.3, False)):
                results = []
                for flag in ("1", "0"):
                    monkeypatch.setenv("LAVA_FF_NATIVE", flag)
                    out = cuba_integrate(x, *decays, 64, threshold, with_current)
                    results.append(out if with_current else (out,))
                for compiled, loop in zip(*results, strict=True):
                    assert compiled.dtype == loop.dtype and compiled.shape == loop.shape
                    assert torch.equal(compiled.nan_to_num(99.0), loop.nan_to_num(99.0)), (dtype, shape, decays)
                    assert compiled.isnan().sum() == loop.isnan().sum()
    constant = []  # a constant drive: the voltage climbs past the threshold, resets and climbs again
    for flag in ("1", "0"):
        monkeypatch.setenv("LAVA_FF_NATIVE", flag)
        constant.append(cuba_integrate(torch.full((8, 600), 0.9), 1024, 123, 64, 1.0, False))
    assert torch.equal(*constant)
    assert (constant[0] >= 1.0).any() and (constant[0][1:] < constant[0][:-1]).any()


def test_spike_product_sums_weight_columns_exactly():
    """model.spike_product: on sparse 0/1 spikes the column sums equal the
    dense product bit for bit (8-bit-grid weights); dense, graded or
    gradient-carrying inputs take the dense product."""
    from lava_ff.offline.model import spike_product

    generator = torch.Generator().manual_seed(1)
    weight = torch.randint(-127, 128, (30, 50), generator=generator).float() * 2 / 64
    spikes = (torch.rand(4, 6, 50, generator=generator) < 0.05).float()
    spikes[0, 0] = 0.0  # a row without spikes
    assert torch.equal(spike_product(spikes, weight), torch.matmul(spikes, weight.t()))
    graded = spikes * 0.5
    assert torch.equal(spike_product(graded, weight), torch.matmul(graded, weight.t()))
    dense = (torch.rand(4, 50, generator=generator) < 0.6).float()
    assert torch.equal(spike_product(dense, weight), torch.matmul(dense, weight.t()))
    w = weight.clone().requires_grad_(True)
    spike_product(spikes, w).sum().backward()
    assert torch.equal(w.grad, spikes.reshape(-1, 50).sum(0).expand(30, 50))


def test_combined_scores_add_each_layers_label_log_likelihood_to_the_readout_log_softmax():
    """combined_scores: softmax and symba losses read goodness as
    logits (alpha G), softplus as log sigmoid(G - theta); the readout adds
    its log-softmax. Values worked out here by hand."""
    per_layer = np.array([[[1.0, 3.0]], [[2.0, 0.0]]])  # 2 layers, 1 sample, 2 labels
    logits = np.array([[0.0, np.log(3.0)]])  # readout: p = (1/4, 3/4)
    readout_ll = np.log([0.25, 0.75])
    for loss in ("softmax", "symba"):
        out = combined_scores(per_layer, logits, loss, theta=5.0, alpha=0.5)
        np.testing.assert_allclose(out[0], 0.5 * np.array([3.0, 3.0]) + readout_ll)
        assert out.argmax() == 1  # goodness ties; the readout decides
    out = combined_scores(per_layer, logits, "softplus", theta=2.0, alpha=0.5)
    sig = lambda g: 1.0 / (1.0 + np.exp(2.0 - g))  # noqa: E731
    np.testing.assert_allclose(out[0], np.log(sig(np.array([1.0, 3.0])) * sig(np.array([2.0, 0.0]))) + readout_ll)
    huge = combined_scores(per_layer * 1e4, logits * 1e4, "softplus", theta=2.0, alpha=1.0)
    assert np.all(np.isfinite(huge))  # stable far from theta and for large logits
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid: softplus, symba, softmax"):
        combined_scores(per_layer, logits, "hinge", 1.0, 1.0)


def test_spike_rate_has_the_values_and_gradient_of_the_mean():
    from lava_ff.offline.model import spike_rate

    generator = torch.Generator().manual_seed(2)
    spikes = (torch.rand(3, 4, 6, generator=generator) < 0.4).float()
    weights = torch.randn(3, 4, generator=generator)
    grads = []
    for rate_of in (spike_rate, lambda s: s.mean(-1)):
        x = spikes.clone().requires_grad_(True)
        rate = rate_of(x)
        assert torch.equal(rate, spikes.mean(-1))
        (rate.pow(2) * weights).sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-7)
    assert grads[0].abs().max() > 0


def test_without_a_compiler_the_torch_loop_runs_after_one_warning(tmp_path):
    """A machine that cannot build the kernel (here: a compiler that does
    not exist, an empty extension cache) warns once, naming the reason, and
    integrates with the torch loop: same numbers."""
    import json
    import os
    import subprocess
    import sys

    code = ("import warnings, torch\n"
            "from lava_ff.offline.dynamics import cuba_integrate\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    a = cuba_integrate(torch.full((5, 3), 0.7), 1024, 123, 64, 1.0, False)\n"
            "    b = cuba_integrate(torch.full((5, 3), 0.7), 1024, 123, 64, 1.0, False)\n"
            "print(len([w for w in caught if 'could not be built' in str(w.message)]))\n"
            "print(a[:, 0].tolist())\n")
    env = dict(os.environ, TORCH_EXTENSIONS_DIR=str(tmp_path / "ext"), CXX=str(tmp_path / "no-such-c++"),
               LAVA_FF_NATIVE="1")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    warned, first_column = done.stdout.strip().splitlines()[-2:]
    assert warned == "1"
    # by hand: c = 44.8 -> 44 each step (trunc), v = trunc(v * 3973/4096) + c[t], reset at 64
    c, v, expected = 0, 0, []
    for _ in range(5):
        c = int(c * 3072 / 4096) + 44
        v = int(v * 3973 / 4096) + c
        expected.append(v / 64)
        v = 0 if v >= 64 else v
    assert json.loads(first_column) == expected


def test_keep_freed_memory_applies_on_glibc_linux():
    """The malloc setting the CLI and benchmarks apply: on Linux with glibc
    (this image) mallopt accepts both parameters; elsewhere it is a no-op
    that says so. Calling it again is harmless."""
    import platform
    import sys

    from lava_ff.offline.native import keep_freed_memory

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is glibc
    assert keep_freed_memory() is glibc
    assert torch.ones(8_000_000).sum() == 8_000_000  # large blocks still allocate and free


def test_currents_past_the_24_bit_register_wrap_and_voltages_clip_as_on_loihi():
    """A current beyond 2**23 state units (2048 thresholds) wraps in Loihi's
    register and the voltage clips at 24 bits: the torch integrators (the
    compiled one without a gradient, the loop with one) do both, as the
    integer reference does."""
    from lava_ff.core.neuron import NeuronParams, cuba_forward_fixed
    from lava_ff.offline.dynamics import cuba_spikes

    neuron = NeuronParams(threshold=1.0, current_decay=0.25, voltage_decay=0.03)
    rng = np.random.default_rng(11)
    a_int = rng.integers(-200_000, 200_000, (3, 40, 12))  # W_int @ s, up to 1.5x past the register
    a_int[0, 0] = [150_000] * 12  # a steady drive that wraps every step
    reference = cuba_forward_fixed(a_int, neuron.fixed)
    current = torch.from_numpy(a_int / 64.0).float()
    assert (np.abs(a_int) << 6 >= 1 << 23).any()
    with torch.no_grad():
        fast, _ = cuba_spikes(neuron, current)
    slow, _ = cuba_spikes(neuron, current.clone().requires_grad_(True))
    assert np.array_equal(fast.numpy().astype(bool), reference)
    assert np.array_equal(slow.detach().numpy().astype(bool), reference)
