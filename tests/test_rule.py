"""The offline gradient-free rule and the on-chip rule are one rule."""

import numpy as np
import pytest

from lava_ff.core.goodness import goodness_scale, modulatory_factor
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.rule import (
    FFLearningRule,
    ff_post_factors,
    offline_learning_rate,
    onchip_learning_rate,
    three_factor_update,
)
from lava_ff.onchip.reference import _learn


@pytest.mark.parametrize("phase", [1, -1])
def test_one_step_of_each_rule_changes_the_same_synapses_by_the_same_amount(rng, phase):
    """One window's learning event of the on-chip rule (float engine, as
    the reference and Lava's float model run it) against one step of the
    offline rule with the converted step size, both on the same pre
    activity (the trace ``x1 / 128``), post rates and goodness. The third
    factor reaches the engine after one decay by ``exp(-1/65535)``
    (``Y_TAU``), hence the relative tolerance of 2e-5."""
    time_steps, theta = 10, 3.0
    counts = rng.integers(0, time_steps + 1, size=6)
    x1 = rng.random(8)  # the pre-synaptic trace in the float engine's units (7-bit value / 128)
    rule = FFLearningRule(learning_rate=onchip_learning_rate(0.25))
    raw = float((counts * counts).sum())
    scale = goodness_scale("sum_sq_rate", len(counts), time_steps, fixed=False)
    y2, y3 = ff_post_factors(counts, raw, scale=scale, theta=theta, time_steps=time_steps, phase=phase,
                             gain=rule.gain, fixed=False)
    start = rng.normal(size=(6, 8)) * 20
    constant = rule.rule_constant(fixed=False) * rule.post_trace_retention
    onchip = _learn(start.copy(), x1, y2 - y3, constant, "expected", rng) - start  # integer weight units
    m = modulatory_factor(np.array([raw * scale]), theta, positive=phase > 0)
    offline = three_factor_update(x1[None], (counts / time_steps)[None], m, offline_learning_rate(rule.realised_rate))
    np.testing.assert_allclose(onchip, offline * LOIHI2.w_scale, rtol=2e-5, atol=1e-12)
    assert np.count_nonzero(onchip) == np.count_nonzero(counts) * len(x1)  # silent neurons do not learn
    assert np.all(np.sign(onchip[counts > 0]) == phase)  # positive phase raises, negative lowers


def test_learning_rate_conversion_is_the_weight_scale_and_refuses_bad_rates():
    assert onchip_learning_rate(0.25) == 0.25 * 64 and offline_learning_rate(16.0) == 0.25
    with pytest.raises(ValueError, match="three_factor_lr must be a positive finite number, got -1"):
        onchip_learning_rate(-1)


@pytest.mark.lava
@pytest.mark.parametrize("threshold, current_decay, voltage_decay",
                         [(1.0, 0.25, 0.03), (32.0, 0.5, 0.0), (0.5, 1.0, 0.9)])
def test_the_neurons_slayer_form_is_slayers_own_neuron(threshold, current_decay, voltage_decay):
    """NeuronParams.slayer_kwargs builds slayer's CUBA neuron with the same
    state scale, integer decays and spike level (threshold + threshold_eps)
    as the core neuron derives."""
    from lava.lib.dl import slayer

    from lava_ff.core.neuron import NeuronParams

    params = NeuronParams(threshold, current_decay, voltage_decay)
    neuron = slayer.neuron.cuba.Neuron(**params.slayer_kwargs(), persistent_state=False, requires_grad=False)
    quantize = slayer.utils.quantize
    assert neuron.s_scale == LOIHI2.state_scale
    assert neuron.threshold + neuron.threshold_eps == params.spike_level
    assert (int(quantize(neuron.current_decay).item()), int(quantize(neuron.voltage_decay).item())) == \
        (params.fixed.i_decay, params.fixed.v_decay)


@pytest.mark.lava
def test_torch_dynamics_from_the_core_neuron_equal_slayers_neuron(rng):
    """The offline layer integrates with the core neuron's constants
    (neuron_constants); they give the spikes and voltages slayer's own
    neuron's attributes give, bit for bit, with and without gradient."""
    import torch
    from lava.lib.dl import slayer

    from lava_ff.core.neuron import NeuronParams
    from lava_ff.offline.dynamics import cuba_spikes

    params = NeuronParams(1.5, 0.25, 0.03)
    neuron = slayer.neuron.cuba.Neuron(**params.slayer_kwargs(), persistent_state=False, requires_grad=False)
    current = torch.from_numpy(rng.normal(0.4, 1.0, size=(3, 7, 12)).astype(np.float32))
    for grad in (False, True):
        x = current.clone().requires_grad_(grad)
        ours, theirs = cuba_spikes(params, x), cuba_spikes(neuron, x)
        for a, b in zip(ours, theirs, strict=True):
            assert torch.equal(a, b)
        assert ours[0].sum() > 0
