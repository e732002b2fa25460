"""Pure numpy kernels: the one definition of the dynamics and the FF rule.

The torch model, the Lava ProcessModels and the tests call or mirror these.
Shapes follow lava-dl: ``[batch, neurons, time]``.

CUBA LIF, integer form (Lava ``PyLifModelBitAcc`` and slayer's CPU kernel)::

    u[t] = rtz(u[t-1] * (4096 - i_decay), 12) + (a[t] << 6)     (wrapped to 24 bits)
    v[t] = rtz(v[t-1] * (4096 - v_decay), 12) + u[t]             (clipped to 24 bits)
    s[t] = v[t] > vth << 6;   v[t] = 0 where s[t]

``rtz`` is a right shift rounding toward zero; ``a[t] = W_int @ s_in[t]``.
The float model is the same recursion on ``x / 4096``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .config import LOIHI2, LOSS_KINDS, FixedNeuronParams, NeuronParams, quantize_neuron

__all__ = [
    "CubaState",
    "rtz_shift",
    "cuba_step_fixed",
    "cuba_forward_fixed",
    "cuba_forward_float",
    "cuba_step_float",
    "dense_cuba_forward_fixed",
    "firing_rates",
    "goodness",
    "ff_loss",
    "modulatory_factor",
    "label_softmax",
    "softmax_ff_loss",
    "softmax_modulatory_factor",
    "three_factor_update",
    "readout_logits",
    "readout_post_factors",
    "is_window_end",
    "softplus",
    "sigmoid",
    "voltage_goodness_step",
    "raw_goodness",
    "goodness_scale",
    "quantize_readout",
    "readout_messages",
    "window_position",
    "combine_layer_scores",
    "label_log_likelihood",
    "combined_scores",
    "pre_trace_step",
    "ff_post_factors",
]


class CubaState(NamedTuple):
    u: np.ndarray  # int64 current, 24-bit range
    v: np.ndarray  # int64 voltage, 24-bit range


def rtz_shift(x: np.ndarray, bits: int) -> np.ndarray:
    """Arithmetic right shift rounding toward zero (Loihi's decay shift)."""
    return np.sign(x) * np.right_shift(np.abs(x), bits)


def cuba_step_fixed(a_in: np.ndarray, state: CubaState, params: FixedNeuronParams):
    """One Loihi 2 CUBA LIF step; bit-exact with Lava's ``PyLifModelBitAcc``.

    ``a_in`` is the integer dendritic accumulation ``W_int @ s``.
    Returns ``(spikes bool, new_state, voltage_before_reset)``.
    """
    a_in = np.asarray(a_in, dtype=np.int64)
    unity, shift = LOIHI2.decay_unity, LOIHI2.decay_bits
    half = 1 << (LOIHI2.state_bits - 1)
    u = rtz_shift(state.u * (unity - params.i_decay), shift) + np.left_shift(a_in, LOIHI2.act_shift)
    # Loihi wraps the 24-bit current register (Lava: modulo 2**23 folding).
    u = np.where(u > half, u - 2 * half, u)
    u = np.where(u <= -half, u + 2 * half, u)
    v = rtz_shift(state.v * (unity - params.v_decay), shift) + u
    v = np.clip(v, -half + 1, half - 1)
    spikes = v > (params.vth << LOIHI2.vth_shift)
    return spikes, CubaState(u, np.where(spikes, 0, v)), v


def cuba_forward_fixed(a_in: np.ndarray, params: FixedNeuronParams) -> np.ndarray:
    """Integer CUBA LIF over time: ``a_in`` ``[B, N, T]`` ints -> spikes ``[B, N, T]``."""
    a_in = np.asarray(a_in, dtype=np.int64)
    state = CubaState(np.zeros(a_in.shape[:-1], np.int64), np.zeros(a_in.shape[:-1], np.int64))
    spikes = np.zeros(a_in.shape, dtype=bool)
    for t in range(a_in.shape[-1]):
        spikes[..., t], state, _ = cuba_step_fixed(a_in[..., t], state, params)
    return spikes


def dense_cuba_forward_fixed(weights_int: np.ndarray, spikes_in: np.ndarray,
                             params: FixedNeuronParams) -> np.ndarray:
    """A Dense + CUBA layer in integers (no synaptic delay; Lava adds one step)."""
    weights_int = np.asarray(weights_int, dtype=np.int64)
    if weights_int.min(initial=0) < LOIHI2.weight_min or weights_int.max(initial=0) > LOIHI2.weight_max:
        raise ValueError(
            f"integer weights must lie in [{LOIHI2.weight_min}, {LOIHI2.weight_max}], got "
            f"[{weights_int.min()}, {weights_int.max()}]"
        )
    a_in = np.einsum("oi,bit->bot", weights_int, np.asarray(spikes_in, dtype=np.int64))
    return cuba_forward_fixed(a_in, params)


def cuba_step_float(current: np.ndarray, state: CubaState, params: NeuronParams,
                    fixed: FixedNeuronParams | None = None):
    """One float CUBA LIF step on slayer's grid; the float twin of :func:`cuba_step_fixed`.

    ``current`` is the weighted synaptic input in float units (``W @ s``).
    ``state`` holds ``u, v`` as float64 *scaled by 4096*, as slayer keeps
    them. Returns ``(spikes, new_state, voltage_before_reset)`` with the
    voltage in float units. ``fixed`` may pass the pre-computed
    :func:`quantize_neuron` of ``params``.
    """
    fixed = quantize_neuron(params) if fixed is None else fixed
    scale, unity = LOIHI2.state_scale, LOIHI2.decay_unity
    x = np.trunc(np.asarray(current, dtype=np.float64) * scale)
    u = np.trunc(state.u * (unity - fixed.i_decay) / unity) + x
    v = np.trunc(state.v * (unity - fixed.v_decay) / unity) + u
    spikes = v >= (params.threshold + 0.01 / scale) * scale  # slayer's threshold_eps
    return spikes, CubaState(u, np.where(spikes, 0.0, v)), v / scale


def cuba_forward_float(current_in: np.ndarray, params: NeuronParams):
    """Float CUBA LIF over time, the reference for slayer's ``cuba.Neuron``.

    ``current_in`` ``[B, N, T]`` is the weighted synaptic input in float units
    (``W @ s`` with float weights). Slayer evaluates the float model on the
    integer grid (states scaled by 4096, decays applied with a shift rounding
    toward zero), so this does the same in float64 and returns
    ``(spikes, voltage)`` with the voltage *before* reset, as slayer does.
    """
    fixed = quantize_neuron(params)
    current_in = np.asarray(current_in, dtype=np.float64)
    state = CubaState(np.zeros(current_in.shape[:-1]), np.zeros(current_in.shape[:-1]))
    spikes = np.zeros(current_in.shape, dtype=bool)
    voltage = np.zeros(current_in.shape)
    for t in range(current_in.shape[-1]):
        spikes[..., t], state, voltage[..., t] = cuba_step_float(current_in[..., t], state, params, fixed)
    return spikes, voltage


# ----------------------------------------------------------------- FF objective
def softplus(x):
    """Numerically stable ``log(1 + exp(x))``."""
    return np.logaddexp(0.0, x)


def sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


def firing_rates(spikes: np.ndarray) -> np.ndarray:
    """Mean spike rate per neuron over the presentation window ``[B, N, T] -> [B, N]``."""
    return np.asarray(spikes, dtype=np.float64).mean(axis=-1)


def goodness(spikes: np.ndarray, kind: str = "sum_sq_rate", voltage: np.ndarray | None = None,
             threshold: float = 1.0) -> np.ndarray:
    """Goodness of a layer's activity, one value per sample.

    ``sum_sq_rate``: sum of squared firing rates; ``mean_sq_rate``: their
    mean; ``sum_sq_voltage``: sum over neurons of the time-mean squared
    positive membrane voltage in units of the threshold.
    """
    if kind == "sum_sq_rate":
        return (firing_rates(spikes) ** 2).sum(axis=-1)
    if kind == "mean_sq_rate":
        return (firing_rates(spikes) ** 2).mean(axis=-1)
    if kind == "sum_sq_voltage":
        if voltage is None:
            raise ValueError("goodness 'sum_sq_voltage' needs the membrane voltage")
        return (np.maximum(voltage / threshold, 0.0) ** 2).mean(axis=-1).sum(axis=-1)
    raise ValueError(f"unknown goodness {kind!r}; valid: sum_sq_rate, mean_sq_rate, sum_sq_voltage")


def ff_loss(g_pos: np.ndarray, g_neg: np.ndarray, theta: float, kind: str = "softplus",
            alpha: float = 4.0) -> float:
    """Per-layer FF loss (mean over the batch).

    ``softplus``: ``softplus(theta - g_pos) + softplus(g_neg - theta)``
    (Hinton); ``symba``: ``softplus(-alpha (g_pos - g_neg))`` (Lee & Song).
    """
    if kind == "softplus":
        return float(np.mean(softplus(theta - g_pos) + softplus(g_neg - theta)))
    if kind == "symba":
        return float(np.mean(softplus(-alpha * (g_pos - g_neg))))
    raise ValueError(f"unknown loss {kind!r}; valid: softplus, symba (softmax: softmax_ff_loss)")


def label_softmax(scores: np.ndarray, alpha: float) -> np.ndarray:
    """``softmax(alpha * scores)`` over the last axis (max-subtracted: never overflows)."""
    z = alpha * np.asarray(scores, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def softmax_ff_loss(scores: np.ndarray, labels: np.ndarray, alpha: float = 1.0) -> float:
    """The all-labels FF loss of one layer: cross-entropy of
    ``softmax_c(alpha * G(x, c))`` against the true label, with ``G(x, c)``
    the layer's goodness with label ``c`` overlaid (``scores`` ``[B, C]``).
    Every wrong label is a negative at once, weighted by how plausible the
    layer finds it; it is what the goodness readout (argmax over labels)
    asks of each layer."""
    p = label_softmax(scores, alpha)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels] + 1e-300)))


def softmax_modulatory_factor(scores: np.ndarray, labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Third factor ``m[b, c] = -dL/dG(x_b, c)`` of :func:`softmax_ff_loss`:
    ``alpha * (onehot - softmax)``; positive for the true label (raise its
    goodness), negative for each wrong label in proportion to its
    probability (lower the plausible ones most)."""
    p = label_softmax(scores, alpha)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(labels)), labels] = 1.0
    return alpha * (onehot - p)


def modulatory_factor(g: np.ndarray, theta: float, positive: bool):
    """Third factor ``m = -dL/dG`` of the softplus FF loss for one phase.

    Positive phase: ``m = sigmoid(theta - G) > 0`` (raise goodness);
    negative phase: ``m = -sigmoid(G - theta) < 0`` (lower it). ``|m|``
    shrinks as the layer gets the sample right, so learning stops there.
    Works on numpy arrays and torch tensors.
    """
    if positive:
        return 1.0 / (1.0 + _exp(g - theta))
    return -1.0 / (1.0 + _exp(theta - g))


def _exp(x):
    return x.exp() if hasattr(x, "exp") else np.exp(x)


def three_factor_update(pre_trace, post_trace, m, lr: float):
    """Gradient-free FF update ``dW[j, i] = lr * mean_b m_b * post_bj * pre_bi``.

    ``pre_trace`` ``[B, N_in]``, ``post_trace`` ``[B, N_out]``, ``m`` ``[B]``.
    For ``G = sum_j r_j**2`` this is the rate-approximation gradient of the
    FF loss up to a factor 2 absorbed in ``lr``: a Hebbian term gated by the
    sign and size of the goodness error. Works on numpy arrays and torch
    tensors; the on-chip rule implements the same product with traces.
    """
    batch = pre_trace.shape[0]
    return lr * ((m[:, None] * post_trace).T @ pre_trace) / batch


def pre_trace_step(trace: np.ndarray, spikes: np.ndarray, retention: float, impulse: float) -> np.ndarray:
    """One step of the pre-synaptic trace of Loihi's learning engine with a
    one-step learning epoch: ``x <- x * exp(-1 / tau) + impulse * s`` (the
    float model; the fixed engine rounds both terms stochastically)."""
    return trace * retention + impulse * np.asarray(spikes, dtype=np.float64)


def ff_post_factors(counts: np.ndarray, raw: float, *, scale: float, theta: float, time_steps: int,
                    phase: int, gain: int, fixed: bool) -> tuple[np.ndarray, np.ndarray]:
    """The third-factor traces ``(y2, y3)`` an FF learning neuron sends at the
    end of its window: ``y = gain / 128 * (count / T) * |m|`` on ``y2`` in
    the positive phase (``m > 0``: raise goodness) and on ``y3`` in the
    negative phase, with ``m = modulatory_factor(raw * scale, theta)``.

    The split by sign is Loihi's: traces are 7-bit unsigned, so the rule
    string subtracts the ``y3`` product. Fixed point sends integers
    ``(gain * count * round(128 |m|)) // (T * 128)`` in [0, 127] (``|m|``
    is a function of the integer goodness, a table lookup on chip); float
    sends the same quantity unrounded, divided by 128. ``phase == 0``:
    no learning, both zero.
    """
    counts = np.asarray(counts)
    zero = np.zeros(counts.shape, np.int64 if fixed else np.float64)
    if phase == 0:
        return zero, zero
    m = abs(float(modulatory_factor(np.float64(raw) * scale, theta, phase > 0)))
    if fixed:
        m_q = int(np.rint(m * 128))
        y = (int(gain) * counts.astype(np.int64) * m_q) // (time_steps * 128)
    else:
        y = gain / 128 * (counts.astype(np.float64) / time_steps) * m
    return (y, zero) if phase > 0 else (zero, y)


def readout_logits(score: np.ndarray, *, logit_scale: float, time_steps: int, fixed: bool) -> np.ndarray:
    """An on-chip readout neuron's logits from its window's summed input
    ``score`` (``sum_t a_in[t] = W @ counts``): ``logit_scale * W @ rates``
    with ``W`` in float weight units (integer units / 64; the float synapse
    already sends them divided by 64, the fixed one in integers)."""
    units = LOIHI2.w_scale if fixed else 1
    return logit_scale * np.asarray(score, np.float64) / (units * time_steps)


def readout_post_factors(logits: np.ndarray, label: int, *, gain: int, fixed: bool) -> tuple[np.ndarray, np.ndarray]:
    """The third factors ``(y2, y3)`` of an on-chip readout that learns a
    one-vs-rest logistic regression of the label: neuron ``c`` has the error
    ``e_c = [c == label] - sigmoid(logit_c)`` (``-dL/dlogit`` of its binary
    cross-entropy, from its own logit alone: a local rule) and sends
    ``gain / 128 * |e_c|`` on ``y2`` where ``e_c > 0`` (raise its weights
    from the active inputs) and on ``y3`` where ``e_c < 0``. Fixed point
    sends ``(gain * round(128 |e_c|)) // 128`` in [0, 127] (``|e_c|``: a
    table of the integer score, as the FF neuron's factor is); float the
    same unrounded, divided by 128. ``label < 0``: no learning, both zero."""
    logits = np.asarray(logits, np.float64)
    zero = np.zeros(logits.shape, np.int64 if fixed else np.float64)
    if label < 0:
        return zero, zero
    error = (np.arange(len(logits)) == label) - sigmoid(logits)
    if fixed:
        size = (int(gain) * np.rint(np.abs(error) * 128).astype(np.int64)) // 128
    else:
        size = gain / 128 * np.abs(error)
    return np.where(error > 0, size, zero), np.where(error < 0, size, zero)


# ------------------------------------------------- goodness inside a Lava layer
def voltage_goodness_step(voltage: np.ndarray, *, fixed: bool, threshold: float = 1.0) -> np.ndarray:
    """One step's contribution to the raw ``sum_sq_voltage`` goodness, per copy.

    Float: ``sum_n max(v / threshold, 0)**2`` with ``v`` in float units.
    Fixed: ``sum_n (max(v, 0) >> 6)**2`` with ``v`` the 24-bit integer
    voltage; ``>> 6`` keeps the square of a 24-bit value inside int64 when
    summed over neurons and time (at most ``2**34`` per term).
    """
    if fixed:
        positive = np.right_shift(np.maximum(np.asarray(voltage, np.int64), 0), LOIHI2.vth_shift)
        return (positive * positive).sum(axis=-1)
    return (np.maximum(np.asarray(voltage, np.float64) / threshold, 0.0) ** 2).sum(axis=-1)


def raw_goodness(kind: str, spike_counts: np.ndarray, voltage_acc: np.ndarray) -> np.ndarray:
    """Raw goodness at the end of a window, per copy: ``sum_n count**2`` for the
    rate kinds (an exact integer in both models), the accumulated voltage
    term for ``sum_sq_voltage``. :func:`goodness_scale` turns it into
    :func:`goodness`'s units."""
    if kind in ("sum_sq_rate", "mean_sq_rate"):
        counts = np.asarray(spike_counts, np.int64)
        return (counts * counts).sum(axis=-1)
    if kind == "sum_sq_voltage":
        return np.asarray(voltage_acc)
    raise ValueError(f"unknown goodness {kind!r}; valid: sum_sq_rate, mean_sq_rate, sum_sq_voltage")


def goodness_scale(kind: str, num_neurons: int, time_steps: int, *, fixed: bool, vth: int = 64) -> float:
    """Factor from :func:`raw_goodness` to :func:`goodness` (rates are ``count / T``)."""
    if kind == "sum_sq_rate":
        return 1.0 / time_steps**2
    if kind == "mean_sq_rate":
        return 1.0 / (num_neurons * time_steps**2)
    if kind == "sum_sq_voltage":
        # fixed: (v >> 6) / vth == v_float / threshold, with v_float = v / 4096, threshold = vth / 64
        return 1.0 / (time_steps * vth**2) if fixed else 1.0 / time_steps
    raise ValueError(f"unknown goodness {kind!r}; valid: sum_sq_rate, mean_sq_rate, sum_sq_voltage")


def quantize_readout(weight: np.ndarray, bias: np.ndarray, time_steps: int, bits: int = 16):
    """A linear readout on firing rates -> integer logits on spike counts.

    ``logits = W @ (counts / T) + b`` is proportional to
    ``W @ counts + T b``. Weights become ``bits``-bit mantissas
    ``round(W * 2**e)`` with the largest exponent ``e`` that keeps them in
    range (one exponent per matrix); the bias is scaled the same way. The
    readout is a few integer sums and an argmax, work for Loihi 2's embedded
    CPU rather than a neuro-core, hence 16 bits by default rather than the
    synapses' 8. Returns ``(weight_int, bias_int, e)``.
    """
    weight = np.asarray(weight, np.float64)
    bias = np.asarray(bias, np.float64)
    if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
        raise ValueError("readout weights or bias contain NaN or inf")
    top = (1 << (bits - 1)) - 1
    peak = float(np.abs(weight).max(initial=0.0))
    exponent = 0 if peak == 0 else int(np.floor(np.log2(top / peak)))
    scale = 2.0**exponent
    weight_int = np.clip(np.round(weight * scale), -top - 1, top).astype(np.int64)
    bias_int = np.round(bias * scale * time_steps).astype(np.int64)
    return weight_int, bias_int, exponent


def window_position(time_step: int, window_length: int, latency: int = 0) -> tuple[int, int]:
    """``(window, step)`` of Lava's 1-based ``time_step`` when windows of
    ``window_length`` steps start ``latency`` steps late; ``window < 0``
    before the first one. The one clock every FF Process reads."""
    local = time_step - latency - 1
    return local // window_length, local % window_length


def is_window_end(window: int, step: int, window_length: int) -> bool:
    """Whether :func:`window_position`'s ``(window, step)`` is a window's
    last step, where a learning neuron sends its third factor and its
    synapse learns (both Processes and the reference ask this)."""
    return step == window_length - 1 and window >= 0


def combine_layer_scores(per_layer: np.ndarray, skip_first: bool) -> np.ndarray:
    """Sum per-layer goodness ``[L, ..., C]`` over layers, skipping layer 0 if
    asked and there is more than one (Hinton's choice)."""
    first = 1 if skip_first and len(per_layer) > 1 else 0
    return per_layer[first:].sum(axis=0)


def label_log_likelihood(per_layer: np.ndarray, loss: str, theta: float, alpha: float) -> np.ndarray:
    """Each layer's log-probability of every candidate label, up to a
    constant per sample, as its FF loss models it (``per_layer`` goodness
    ``[L, ..., C]``): ``softmax`` trains ``softmax_c(alpha G_c)`` and
    ``symba``'s pairwise logistic ``sigmoid(alpha (G_c - G_c'))`` is the
    same Bradley-Terry model, so both give ``alpha G``; ``softplus`` trains
    ``P(positive) = sigmoid(G - theta)``, so ``-softplus(theta - G)``."""
    g = np.asarray(per_layer, np.float64)
    if loss in ("softmax", "symba"):
        return alpha * g
    if loss == "softplus":
        return -softplus(theta - g)
    raise ValueError(f"unknown loss {loss!r}; valid: {', '.join(LOSS_KINDS)}")


def combined_scores(per_layer: np.ndarray, logits: np.ndarray, loss: str, theta: float,
                    alpha: float) -> np.ndarray:
    """The goodness and linear readouts as one product of experts: every
    layer's label log-likelihood (:func:`label_log_likelihood`) plus the
    readout's log-softmax, ``[..., C]``. No weight to tune: each term is the
    log-probability its own training loss fits."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_softmax = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return label_log_likelihood(per_layer, loss, theta, alpha).sum(axis=0) + log_softmax


def readout_messages(goodness_shape: tuple, features_shape: tuple, layer_index: int,
                     goodness_row: np.ndarray | None = None, readout_offset: int | None = None,
                     counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``g_out`` / ``r_out`` messages one layer sends to the readout.

    Several layers connect to the same readout ports and Lava adds their
    messages, so each layer writes only its own goodness row and, if it
    feeds the linear readout, its slice of the features; everything else
    is zero. ``goodness_row=None``: nothing to report this step.
    """
    goodness = np.zeros(goodness_shape)
    features = np.zeros(features_shape)
    if goodness_row is not None:
        goodness[layer_index] = goodness_row
        if readout_offset is not None and counts is not None:
            features[readout_offset:readout_offset + counts.size] = counts
    return goodness, features
