"""The numpy reference of on-chip FF learning in Lava's learning engine.

:func:`simulate_onchip` mirrors the learning network step by step,
:func:`simulate_onchip_windows` window by window (the same weights, bit for
bit, faster), and :func:`simulate_readout_windows` the on-chip readout; the
tests hold Lava float equal to them and Lava fixed within the engine's
rounding. The schedule they run:

Phase schedule: every sample takes two windows of ``T + 1`` steps, first
with its true label overlaid (positive phase), then with a wrong label
(negative phase): a random one, or with ``FFConfig.negatives`` ``hard`` /
``mixed`` the wrong label the weights learned so far score highest
(:func:`lava_ff.core.inputs.wrong_labels`, refreshed every chunk of samples by
:func:`lava_ff.lava.learning.train_onchip`). The first step of every window is silent, so each layer
(``l + 1`` steps behind the input: one ``Dense`` delay per layer) starts its
window after a reset with no input: every layer sees exactly the ``T``-step
forward pass of the offline model, and the trained weights need no
translation for inference.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lava_ff.core.checks import check_positive_int
from lava_ff.core.clock import is_window_end, window_length, window_position
from lava_ff.core.config import FFConfig
from lava_ff.core.goodness import goodness_scale, raw_goodness
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.neuron import CubaState, FixedNeuronParams, cuba_step_fixed, cuba_step_float, dequantize_neuron
from lava_ff.core.progress import tqdm
from lava_ff.core.rule import (
    LEARNED_WEIGHT_MAX,
    LEARNED_WEIGHT_MIN,
    ONCHIP_GOODNESS,
    FFLearningRule,
    check_learning_weights,
    check_start_weights,
    ff_post_factors,
    pre_trace_step,
    readout_logits,
    readout_post_factors,
    three_factor_update,
)

__all__ = [
    'ROUNDING_MODES', 'OnChipResult', 'simulate_onchip', 'simulate_onchip_windows', 'hidden_window_spikes',
    'ReadoutResult', 'simulate_readout_windows',
]


#: how :func:`simulate_onchip` turns fixed-point weight changes into integers
ROUNDING_MODES = ("expected", "shared", "independent")


class OnChipResult(NamedTuple):
    weights: list  # per layer, [out, in], float64 (fixed mode: the expected update, unrounded)
    goodness: np.ndarray  # raw goodness [layers, windows]


def simulate_onchip(weights: list, neuron: FixedNeuronParams, rule: FFLearningRule, config: FFConfig,
                    windows: np.ndarray, phases: np.ndarray, *, fixed: bool,
                    steps: int | None = None, rounding: str = "expected",
                    rng: np.random.Generator | None = None) -> OnChipResult:
    """Step-by-step numpy reference of the Lava learning network.

    ``windows`` ``[K, F', T]`` are the input spikes of ``K`` phase windows,
    ``phases`` their signs (+1 positive, -1 negative, 0 no learning). It
    mirrors the Processes: input -> (synapse, one-step delay) -> neuron ->
    next synapse, per-layer windows ``l + 1`` steps late, learning at the end
    of every step. Float mode is what Lava's float models compute; fixed
    mode uses the fixed neuron and integer third factors but accumulates the
    engine's expected update (no stochastic rounding; the synapse sums the
    nearest integer weights), so Lava fixed stays within the rounding bound
    of it (see the tests). ``steps``: stop early. Returns float64 weights in
    both modes.

    ``rounding`` (fixed mode only) says how a weight change becomes an
    integer: ``expected`` keeps the fraction (the default, above);
    ``shared`` rounds stochastically with one uniform number per step shared
    by every synapse, as Lava's bit-approximate engine does
    (``ConnVarRandom``); ``independent`` draws one number per synapse. ``rng``
    drives the last two.
    """
    windows, phases, w, rng = _simulation_inputs(weights, rule, config, windows, phases, fixed, rounding, rng)
    T = config.time_steps
    length = window_length(T)
    params = dequantize_neuron(neuron)
    sizes = [wi.shape[0] for wi in w]
    a_buff = [np.zeros(n) for n in sizes]
    x1 = [np.zeros(wi.shape[1]) for wi in w]
    states = [CubaState(np.zeros(n), np.zeros(n)) for n in sizes]
    counts = [np.zeros(n, np.int64) for n in sizes]
    latched = [0] * len(w)
    raw_log = np.zeros((len(w), len(windows)))
    impulse = rule.pre_trace_increment(fixed=fixed)
    constant = rule.rule_constant(fixed=fixed) * rule.post_trace_retention
    total = len(windows) * length + len(w) if steps is None else steps
    for t in range(1, total + 1):
        k, step = window_position(t, length)
        inside = 0 <= k < len(windows)
        spikes = windows[k][:, step - 1].astype(bool) if inside and step > 0 else \
            np.zeros(windows.shape[1], bool)
        phase = int(phases[k]) if inside else 0
        for i in range(len(w)):
            a_in, a_buff[i] = a_buff[i], (np.rint(w[i]) if fixed else w[i])[:, spikes].sum(axis=1)
            if not fixed:
                a_buff[i] = a_buff[i] / LOIHI2.w_scale
            x1[i] = pre_trace_step(x1[i], spikes, rule.pre_trace_retention, impulse)
            win, nstep = window_position(t, length, latency=i + 1)
            if nstep == 0:
                states[i] = CubaState(np.zeros(sizes[i]), np.zeros(sizes[i]))
                counts[i][:] = 0
                latched[i] = phase
            if fixed:
                out, state, _ = cuba_step_fixed(a_in, states[i], neuron)
            else:
                out, state, _ = cuba_step_float(a_in, states[i], params, neuron)
            states[i] = state
            counts[i] += out
            if is_window_end(win, nstep, length):
                raw = raw_goodness(config.goodness, counts[i], np.zeros(()))
                if win < len(windows):
                    raw_log[i, win] = raw
                scale = goodness_scale(config.goodness, sizes[i], T, fixed=fixed, vth=neuron.vth)
                y2, y3 = ff_post_factors(counts[i], raw, scale=scale, theta=config.theta, time_steps=T,
                                         phase=latched[i], gain=rule.gain, fixed=fixed)
                if latched[i] != 0:
                    w[i] = _learn(w[i], x1[i], y2 - y3, constant, rounding, rng)
            spikes = out.astype(bool)
    return OnChipResult(w, raw_log)


def _simulation_inputs(weights, rule, config, windows, phases, fixed, rounding, rng):
    """The checks both simulators make; returns ``(windows, phases, float64 weights, rng)``."""
    _check_rounding(rounding, fixed)
    if config.goodness not in ONCHIP_GOODNESS:
        raise ValueError(f"on-chip learning computes goodness {ONCHIP_GOODNESS}, got {config.goodness!r}")
    windows = np.asarray(windows)
    phases = np.asarray(phases, dtype=np.int64)
    if windows.ndim != 3 or len(windows) != len(phases):
        raise ValueError(f"windows must be [K, F, T] with one phase each, got {windows.shape} and "
                         f"{phases.shape}")
    w = [wi.astype(np.float64) for wi in check_start_weights(weights, config)]
    return windows, phases, w, np.random.default_rng(rule.rng_seed) if rng is None else rng


def _check_rounding(rounding: str, fixed: bool) -> None:
    """A ValueError naming ``rounding`` unless it is a known mode that fits ``fixed``."""
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; valid: {', '.join(ROUNDING_MODES)}")
    if rounding != "expected" and not fixed:
        raise ValueError(f"rounding={rounding!r} models the fixed engine; float mode has no rounding")


def _learn(w: np.ndarray, x1: np.ndarray, post: np.ndarray, constant: float, rounding: str,
           rng: np.random.Generator) -> np.ndarray:
    """One learning event of a layer, in place: the rule's update, rounded as
    ``rounding`` says, clamped. Only the rows of neurons with a nonzero
    third factor change (the others add zero), so only they are computed;
    ``independent`` still draws a number for every synapse, so the random
    stream does not depend on which neurons fired."""
    rows = np.flatnonzero(post)
    new = w[rows] + three_factor_update(x1[None], post[rows].astype(np.float64)[None], np.ones(1), constant)
    if rounding == "shared":
        draw = rng.random()
    elif rounding == "independent":
        draw = rng.random(w.shape)[rows]
    if rounding != "expected":
        new = np.floor(new) + (draw < new - np.floor(new))
    w[rows] = np.clip(new, LEARNED_WEIGHT_MIN, LEARNED_WEIGHT_MAX)
    return w


def simulate_onchip_windows(weights: list, neuron: FixedNeuronParams, rule: FFLearningRule, config: FFConfig,
                            windows: np.ndarray, phases: np.ndarray, *, fixed: bool, rounding: str = "expected",
                            rng: np.random.Generator | None = None, progress: bool = False,
                            cost: dict | None = None) -> OnChipResult:
    """:func:`simulate_onchip`, window by window: the same weights and
    goodness, bit for bit, several times faster (for rule searches over
    whole training sets; ``progress`` shows a bar).

    ``cost``: a dict that gets, per layer (arrays over the layers), the
    ``spikes`` it fired, the ``synops`` its synapses did (input spikes
    times the layer's neurons) and the ``weight_updates`` its learning
    events made (synapses with both a nonzero pre-trace and a nonzero
    third factor: what the engine changes) added.

    The step reference's clock reduces to this: layer ``l``'s step ``s``
    receives its input's step ``s`` through a weight matrix that is constant
    over the window (it changes only at window ends, when the layer's input
    is silent); the pre-trace at the window end has seen the input's steps
    ``1..T`` and one silent step; layer ``l`` latches the phase of the input
    window running when its own window starts; and the learning events
    (which draw the ``rng``) come window by window, layer by layer. Needs no
    more layers than a window has steps (the step reference's clock
    interleaves windows differently beyond that).
    """
    windows, phases, w, rng = _simulation_inputs(weights, rule, config, windows, phases, fixed, rounding, rng)
    T = config.time_steps
    length = window_length(T)
    if len(w) > length:
        raise ValueError(f"simulate_onchip_windows needs at most {length} layers (T + 1), got {len(w)}")
    params = dequantize_neuron(neuron)
    x1 = [np.zeros(wi.shape[1]) for wi in w]
    raw_log = np.zeros((len(w), len(windows)))
    impulse = rule.pre_trace_increment(fixed=fixed)
    constant = rule.rule_constant(fixed=fixed) * rule.post_trace_retention
    silent = [np.zeros(windows.shape[1], bool)] + [np.zeros(wi.shape[0], bool) for wi in w]
    for k in tqdm(range(len(windows)), desc="windows", unit="window", disable=not progress, mininterval=1):
        # the input's steps 0..T: silent, then the window's T steps
        pre = [silent[0]] + list(windows[k].T.astype(bool))
        for i in range(len(w)):
            n = w[i].shape[0]
            counts, out_steps = _neuron_window(np.rint(w[i]) if fixed else w[i], pre, neuron, params, fixed)
            for s in range(1, length):
                x1[i] = pre_trace_step(x1[i], pre[s], rule.pre_trace_retention, impulse)
            x1[i] = pre_trace_step(x1[i], silent[i], rule.pre_trace_retention, impulse)
            raw = raw_goodness(config.goodness, counts, np.zeros(()))
            raw_log[i, k] = raw
            latched = (k * length + i + 1) // length
            phase = int(phases[latched]) if latched < len(windows) else 0
            scale = goodness_scale(config.goodness, n, T, fixed=fixed, vth=neuron.vth)
            y2, y3 = ff_post_factors(counts, raw, scale=scale, theta=config.theta, time_steps=T,
                                     phase=phase, gain=rule.gain, fixed=fixed)
            if phase != 0:
                w[i] = _learn(w[i], x1[i], y2 - y3, constant, rounding, rng)
            if cost is not None:
                updates = np.count_nonzero(x1[i]) * np.count_nonzero(y2 - y3) if phase != 0 else 0
                for key, value in (("spikes", counts.sum()), ("synops", sum(p.sum() for p in pre) * n),
                                   ("weight_updates", updates)):
                    cost.setdefault(key, np.zeros(len(w)))[i] += value
            pre = out_steps
    return OnChipResult(w, raw_log)


def _neuron_window(synapse: np.ndarray, pre: list, neuron: FixedNeuronParams, params, fixed: bool):
    """One layer's window: CUBA neurons reset, then driven through ``synapse``
    by the input steps ``pre`` (``pre[0]`` the silent step, whose current is
    zero). Returns the spike counts and every step's spikes (step 0 first)."""
    n = synapse.shape[0]
    state = CubaState(np.zeros(n), np.zeros(n))
    counts = np.zeros(n, np.int64)
    out_steps = []
    for s in range(len(pre)):
        a_in = np.zeros(n) if s == 0 else synapse[:, pre[s]].sum(axis=1)
        if fixed:
            out, state, _ = cuba_step_fixed(a_in, state, neuron)
        else:
            out, state, _ = cuba_step_float(a_in / LOIHI2.w_scale if s else a_in, state, params, neuron)
        counts += out
        out_steps.append(out.astype(bool))
    return counts, out_steps


def hidden_window_spikes(weights: list, neuron: FixedNeuronParams, config: FFConfig, windows: np.ndarray, *,
                         fixed: bool, batch: int = 500) -> np.ndarray:
    """The readout layers' spikes ``[K, H, T]`` (``FFConfig.readout_layers``
    side by side, each over its window's steps ``1..T``) for input windows
    ``[K, F', T]`` through layers that do not learn: what the on-chip
    readout's synapses receive (:func:`simulate_readout_windows`).
    ``weights`` as the synapses hold them (fixed: integers). ``batch``
    windows run side by side, their currents one matrix product per layer:
    exact for integral weights (what the chip holds, and what every caller
    passes), in whatever order they are summed; float weights with
    fractions may differ from Lava's float sum in the last bit."""
    windows = np.asarray(windows)
    if windows.ndim != 3:
        raise ValueError(f"windows must be [K, F, T], got shape {windows.shape}")
    batch = check_positive_int("batch", batch)
    w = [np.asarray(wi, np.float64) for wi in check_start_weights(weights, config)]
    # float32 sums integers exactly below 2**24, twice as fast as float64
    exact32 = all(np.array_equal(wi, np.rint(wi)) and np.abs(wi).sum(axis=1).max(initial=0) < 2**24 for wi in w)
    w = [wi.T.astype(np.float32 if exact32 else np.float64) for wi in w]
    params = dequantize_neuron(neuron)
    out = np.zeros((len(windows), config.readout_features, config.time_steps), bool)
    offsets = config.readout_offsets
    for begin in range(0, len(windows), batch):
        rows = slice(begin, begin + batch)
        pre = windows[rows].astype(w[0].dtype)
        for layer, wt in enumerate(w):
            pre = _layer_window(wt, pre, neuron, params, fixed)
            if layer in offsets:
                out[rows, offsets[layer]:offsets[layer] + wt.shape[1]] = pre
            pre = pre.astype(wt.dtype)
    return out


def _layer_window(synapse_t: np.ndarray, pre: np.ndarray, neuron: FixedNeuronParams, params, fixed: bool):
    """A batch of one layer's windows: CUBA neurons reset, a silent step (no
    current), then the input's steps ``pre`` ``[B, in, T]`` through
    ``synapse_t`` ``[in, n]``; returns the spikes of steps ``1..T`` ``[B, n, T]``."""
    batch, _, steps = pre.shape
    state = CubaState(np.zeros((batch, synapse_t.shape[1])), np.zeros((batch, synapse_t.shape[1])))
    step = (lambda a, st: cuba_step_fixed(a, st, neuron)) if fixed else \
        (lambda a, st: cuba_step_float(a / LOIHI2.w_scale, st, params, neuron))
    _, state, _ = step(np.zeros(state.u.shape), state)
    # every step's current at once: the layer does not learn, so its input is known up front
    flat = np.ascontiguousarray(pre.transpose(0, 2, 1)).reshape(batch * steps, -1)  # one 2-D product: BLAS
    currents = (flat @ synapse_t).astype(np.float64).reshape(batch, steps, -1)  # [B, T, n]
    out = np.zeros((batch, synapse_t.shape[1], steps), bool)
    for s in range(steps):
        out[:, :, s], state, _ = step(currents[:, s], state)
    return out


class ReadoutResult(NamedTuple):
    weights: np.ndarray  # [classes, hidden], float64
    scores: np.ndarray  # [windows, classes]: each window's summed input, as the readout neuron holds it


def simulate_readout_windows(weights: np.ndarray, rule: FFLearningRule, hidden_spikes: np.ndarray,
                             labels: np.ndarray, *, logit_scale: float, fixed: bool, rounding: str = "expected",
                             rng: np.random.Generator | None = None, cost: dict | None = None) -> ReadoutResult:
    """Numpy reference of the on-chip readout learning, window by window.

    ``hidden_spikes`` ``[K, H, T]``: the readout layers' spikes in ``K``
    neutral-label windows (:func:`hidden_window_spikes`), ``labels`` their
    true labels (``-1``: no learning). Per window the readout neuron ``c``
    sums its input into ``score_c = W_c @ counts`` and sends
    :func:`lava_ff.core.rule.readout_post_factors`; the synapse's rule, the
    FF rule ``S*u0*x1*y2 - S*u0*x1*y3`` of ``rule``, then changes
    ``W[c, j]`` by ``constant * x1_j * (y2_c - y3_c)`` with the pre-trace
    ``x1`` after the window's ``T`` steps and the next window's silent
    step, as :func:`simulate_onchip_windows` does for an FF layer; fixed
    point with the same ``rounding`` modes. ``cost``: a dict that gets the
    readout's ``synops`` (input spikes times its neurons) and
    ``weight_updates`` (as :func:`simulate_onchip_windows` counts them)
    added, as one-element arrays."""
    spikes, labels = np.asarray(hidden_spikes), np.asarray(labels, np.int64)
    if spikes.ndim != 3 or len(spikes) != len(labels):
        raise ValueError(f"hidden_spikes must be [K, H, T] with one label each, got {spikes.shape} and "
                         f"{labels.shape}")
    w = check_learning_weights(weights, "readout weights", (weights.shape[0], spikes.shape[1])).astype(np.float64)
    if labels.size and labels.max() >= w.shape[0]:
        raise ValueError(f"labels must lie below the {w.shape[0]} readout classes, got {labels.max()}")
    _check_rounding(rounding, fixed)
    rng = np.random.default_rng(rule.rng_seed) if rng is None else rng
    time_steps = spikes.shape[2]
    impulse = rule.pre_trace_increment(fixed=fixed)
    constant = rule.rule_constant(fixed=fixed) * rule.post_trace_retention
    x1, scores = np.zeros(w.shape[1]), np.zeros((len(spikes), w.shape[0]))
    silent = np.zeros(w.shape[1], bool)
    for k, window in enumerate(spikes):
        synapse = np.rint(w) if fixed else w / LOIHI2.w_scale
        scores[k] = synapse @ window.sum(axis=1)
        for step in list(window.T) + [silent]:
            x1 = pre_trace_step(x1, step, rule.pre_trace_retention, impulse)
        y2, y3 = readout_post_factors(readout_logits(scores[k], logit_scale=logit_scale, time_steps=time_steps,
                                                     fixed=fixed), int(labels[k]), gain=rule.gain, fixed=fixed)
        if labels[k] >= 0:
            w = _learn(w, x1, y2 - y3, constant, rounding, rng)
        if cost is not None:
            updates = np.count_nonzero(x1) * np.count_nonzero(y2 - y3) if labels[k] >= 0 else 0
            for key, value in (("synops", window.sum() * w.shape[0]), ("weight_updates", updates)):
                cost.setdefault(key, np.zeros(1))[0] += value
    return ReadoutResult(w, scores)
