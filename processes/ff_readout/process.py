"""The FF readout Process: goodness per candidate label, predicted class, linear readout."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_ff.core.checks import check_positive_float, check_positive_int
from lava_ff.core.config import LOSS_KINDS, PREDICTION_COLUMNS
from lava_ff.core.goodness import quantize_readout
from lava_ff.core.inputs import check_views


class FFReadout(AbstractProcess):
    """Classifies every sample at the last step of its window (of its last view's window).

    Window ``k``'s inputs arrive at time step ``latency + (k + 1) * period``
    (defaults: ``period = time_steps``, ``latency = 0``: the fused
    :class:`FFLayer` network; a netx network that runs the candidate labels
    one window after another has ``period = time_steps * copies`` and one
    step of latency per Dense layer).

    Receives the raw goodness of every layer for every copy on ``g_in``
    ``(num_layers, copies)`` and the neutral copy's spike counts of the
    readout layers on ``r_in`` ``(batch, readout_width)``. A window holds
    ``batch`` samples side by side, ``copies // batch`` copies each (rows
    ``window * batch + b`` of the data; past the last, nothing is stored). With ``G[l, c] =
    layer_scales[l] * g_in[l, c]`` (goodness in :func:`lava_ff.core.goodness.goodness`
    units) it stores, for sample ``k``::

        predictions[k, 0] = argmax_c sum_l G[l, c]             (goodness)
        predictions[k, 1] = argmax_c sum_{l >= 1} G[l, c]      (Hinton: skip layer 0)
        predictions[k, 2] = argmax (W @ counts / T + b)        (linear readout)
        predictions[k, 3] = argmax combined_scores(G, W @ counts / T + b)   (both)

where ``combined_scores`` (:func:`lava_ff.core.goodness.combined_scores`) adds
every layer's label log-likelihood under the training ``loss`` (with
``theta`` and ``alpha``) to the readout's log-softmax.

    With ``views`` > 1 every sample comes as ``views`` windows in a row, one
    per view (:mod:`lava_ff.core.inputs`; sample ``k``'s view ``v`` is window
    ``k * views + v``), and each column's scores are summed over the views
    before the argmax (goodness ``G``, the readout's logits and the combined
    scores, each computed per view): test-time augmentation.

    The fixed model computes the readout in integers, ``W_int @ counts +
    b_int`` with 16-bit weight mantissas (:func:`lava_ff.core.goodness.quantize_readout`).
    A column is ``-1`` where its inputs are absent (no candidate copies, or
    no neutral copy). With ``record_scores`` the per-layer goodness
    ``G`` of every sample (summed over its views) is kept in ``scores``
    ``(num_samples, num_layers, num_classes)``.
    """

    def __init__(self, *, num_samples: int, num_classes: int, num_layers: int, copies: int,
                 time_steps: int, layer_scales: np.ndarray, readout_weight: np.ndarray | None = None,
                 readout_bias: np.ndarray | None = None, layer_scales_fixed: np.ndarray | None = None,
                 record_scores: bool = False, period: int | None = None, latency: int = 0,
                 loss: str = "softmax", theta: float = 1.0, alpha: float = 1.0, views: int = 1,
                 batch: int = 1, name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        num_samples = check_positive_int("num_samples", num_samples)
        num_classes = check_positive_int("num_classes", num_classes)
        num_layers = check_positive_int("num_layers", num_layers)
        copies = check_positive_int("copies", copies)
        batch = check_positive_int("batch", batch)
        if copies % batch:
            raise ValueError(f"copies={copies} is not a multiple of batch={batch}")
        per_sample = copies // batch
        time_steps = check_positive_int("time_steps", time_steps)
        period = time_steps if period is None else check_positive_int("period", period)
        if isinstance(latency, bool) or not isinstance(latency, (int, np.integer)) or latency < 0:
            raise ValueError(f"latency must be a non-negative integer, got {latency!r}")
        if loss not in LOSS_KINDS:
            raise ValueError(f"unknown loss {loss!r}; valid: {', '.join(LOSS_KINDS)}")
        theta, alpha = check_positive_float("theta", theta), check_positive_float("alpha", alpha)
        views = check_views(views)
        scales = np.asarray(layer_scales, np.float64)
        scales_fixed = scales if layer_scales_fixed is None else np.asarray(layer_scales_fixed, np.float64)
        for label, value in (("layer_scales", scales), ("layer_scales_fixed", scales_fixed)):
            if value.shape != (num_layers,) or not np.all(np.isfinite(value)) or np.any(value <= 0):
                raise ValueError(f"{label} must be {num_layers} positive finite numbers, got {value}")
        has_candidates = per_sample >= num_classes
        has_readout = readout_weight is not None
        if has_readout:
            readout_weight = np.asarray(readout_weight, np.float64)
            readout_bias = np.zeros(len(readout_weight)) if readout_bias is None else np.asarray(readout_bias)
            if readout_weight.ndim != 2 or readout_weight.shape[0] != num_classes:
                raise ValueError(f"readout_weight must be [{num_classes}, features], got {readout_weight.shape}")
            if readout_bias.shape != (num_classes,):
                raise ValueError(f"readout_bias must have shape ({num_classes},), got {readout_bias.shape}")
            if per_sample not in (1, num_classes + 1):
                raise ValueError(f"the linear readout needs a neutral copy: copies per sample must be 1 or "
                                 f"{num_classes + 1}, got {per_sample}")
            weight_int, bias_int, exponent = quantize_readout(readout_weight, readout_bias, time_steps)
            width = readout_weight.shape[1]
        else:
            readout_weight = np.zeros((num_classes, 1))
            readout_bias = np.zeros(num_classes)
            weight_int, bias_int, width = np.zeros((num_classes, 1), np.int64), np.zeros(num_classes, np.int64), 1
            exponent = 0
        super().__init__(num_samples=num_samples, num_classes=num_classes, time_steps=time_steps,
                         layer_scales=scales, layer_scales_fixed=scales_fixed, has_candidates=has_candidates,
                         has_readout=has_readout, record_scores=record_scores, period=period,
                         latency=int(latency), loss=loss, theta=theta, alpha=alpha,
                         readout_exponent=int(exponent), views=views, batch=batch, per_sample=per_sample,
                         name=name)
        self.g_in = InPort(shape=(num_layers, copies))
        self.r_in = InPort(shape=(batch, width))
        self.readout_weight = Var(shape=readout_weight.shape, init=readout_weight)
        self.readout_bias = Var(shape=(num_classes,), init=readout_bias)
        self.readout_weight_int = Var(shape=weight_int.shape, init=weight_int)
        self.readout_bias_int = Var(shape=(num_classes,), init=bias_int)
        self.predictions = Var(shape=(num_samples, len(PREDICTION_COLUMNS)), init=-1)
        score_shape = (num_samples, num_layers, num_classes) if record_scores else (1, 1, 1)
        self.scores = Var(shape=score_shape, init=0)
