"""Goodness, the FF losses, their modulatory factors, and the readouts' scores.

Plain numpy over ``[batch, neurons, time]`` arrays (lava-dl's layout);
the torch model, the Lava ProcessModels and the tests call or mirror these.
"""

from __future__ import annotations

import numpy as np

from lava_ff.core.config import LOSS_KINDS
from lava_ff.core.loihi import LOIHI2

__all__ = [
    'softplus', 'sigmoid', 'firing_rates', 'goodness', 'ff_loss', 'label_softmax', 'softmax_ff_loss',
    'softmax_modulatory_factor', 'modulatory_factor', 'voltage_goodness_step', 'raw_goodness', 'goodness_scale',
    'quantize_readout', 'CLASSIFIER_BIAS_BITS', 'quantize_classifier',
    'class_groups', 'group_matrix', 'group_goodness', 'group_scores',
    'combine_layer_scores', 'label_log_likelihood', 'combined_scores', 'readout_messages',
]



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


def class_groups(channels: int, num_classes: int) -> np.ndarray:
    """The class group of each of a layer's ``channels`` (a dense layer's
    neurons, a convolution's channels), under ``overlay='groups'``: channel
    ``i`` belongs to class ``i mod C``, so every class has
    ``channels // C`` or one more."""
    return np.arange(channels) % num_classes


def group_matrix(shape, num_classes: int, kind: str) -> np.ndarray:
    """``[channels, C]`` float64: from a layer's per-channel sums of squared
    rates to its goodness of every class. ``shape`` is the layer's
    (channels, height, width) (or a :class:`lava_ff.core.layers.LayerShape`).
    ``sum_sq_rate`` sums its group's squares, ``mean_sq_rate`` averages them
    over the group's neurons (classes may have one channel more)."""
    channels, height, width = getattr(shape, "shape", shape)
    if kind not in ("sum_sq_rate", "mean_sq_rate"):
        raise ValueError(f"class groups score by rate goodness (sum_sq_rate, mean_sq_rate), not {kind!r}")
    groups = class_groups(channels, num_classes)
    members = np.zeros((channels, num_classes))
    members[np.arange(channels), groups] = 1.0
    if kind == "mean_sq_rate":
        members /= members.sum(0) * height * width
    return members


def group_scores(counts: np.ndarray, shape, num_classes: int, kind: str, time_steps: int) -> np.ndarray:
    """Every class's goodness ``[B, C]`` (float64) from a layer's spike
    counts ``[B, N]`` over a window of ``time_steps``: the squared counts
    summed per channel in integers, then :func:`group_matrix` and ``1/T**2``
    (the same float operations in every backend, so ties break alike)."""
    channels = getattr(shape, "shape", shape)[0]
    counts = np.asarray(counts, np.int64)
    per_channel = (counts * counts).reshape(len(counts), channels, -1).sum(-1)
    return (per_channel.astype(np.float64) @ group_matrix(shape, num_classes, kind)) / time_steps**2


def group_goodness(spikes: np.ndarray, shape, num_classes: int, kind: str) -> np.ndarray:
    """Every class's goodness ``[B, C]`` of a layer's spikes ``[B, N, T]``
    under ``overlay='groups'``: its group's squared rates, summed or averaged."""
    spikes = np.asarray(spikes)
    return group_scores(spikes.sum(-1), shape, num_classes, kind, spikes.shape[-1])


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


#: signed bits of a Loihi 2 CUBA neuron's bias mantissa (Lava's ``bias_mant``)
CLASSIFIER_BIAS_BITS = 13


def quantize_classifier(weight: np.ndarray, bias: np.ndarray, time_steps: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A linear readout ``W @ (counts / T) + b`` as on-chip output neurons:
    Dense synapses with 8-bit weights onto integrating CUBA neurons (the
    current decays fully every step, the voltage never leaks and gains the
    bias every step, the threshold is out of reach), so at the end of a
    window an output neuron's voltage is ``64 * (W_int @ counts + T * b_int)``,
    proportional to the logits.

    ``W_int = round(W * 2**e)`` on Loihi's even 8-bit grid and ``b_int =
    round(b * 2**e)`` with the largest exponent ``e`` for which the weights
    fit, the bias fits :data:`CLASSIFIER_BIAS_BITS`, and no input can carry
    the voltage to the threshold: even with every input spiking at every
    step, ``T * (max(sum W_int+, sum |W_int-|) + |b_int|)`` stays below
    ``2**17`` (the largest 17-bit threshold after its 6-bit shift). Returns
    ``(W_int, b_int, e)``; the readout it computes is ``W_int * 2**-e`` and
    ``b_int * 2**-e``.
    """
    weight = np.asarray(weight, np.float64)
    bias = np.asarray(bias, np.float64)
    if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
        raise ValueError("readout weights or bias contain NaN or inf")
    step, top = LOIHI2.weight_step, LOIHI2.weight_max
    limit = (1 << LOIHI2.vth_bits) - 1
    bias_top = (1 << (CLASSIFIER_BIAS_BITS - 1)) - 1
    peak = float(np.abs(weight).max(initial=0.0)) or float(np.abs(bias).max(initial=0.0)) or 1.0
    exponent = int(np.floor(np.log2(top / peak)))  # the weights' own range; the loop checks the rest
    while True:
        weight_int = (np.round(weight * 2.0**exponent / step) * step).astype(np.int64)
        bias_int = np.round(bias * 2.0**exponent).astype(np.int64)
        reach = max(np.clip(weight_int, 0, None).sum(1).max(), (-np.clip(weight_int, None, 0)).sum(1).max())
        if (np.abs(weight_int).max(initial=0) <= top and np.abs(bias_int).max(initial=0) <= bias_top
                and time_steps * (reach + np.abs(bias_int).max(initial=0)) < limit):
            return weight_int, bias_int, exponent
        exponent -= 1


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
    feeds the linear readout, its slice of the features (``features_shape``
    ``(batch, width)``, ``counts`` ``[batch, neurons]``); everything else
    is zero. ``goodness_row=None``: nothing to report this step.
    """
    goodness = np.zeros(goodness_shape)
    features = np.zeros(features_shape)
    if goodness_row is not None:
        goodness[layer_index] = goodness_row
        if readout_offset is not None and counts is not None:
            features[..., readout_offset:readout_offset + np.shape(counts)[-1]] = counts
    return goodness, features
