"""The offline FF network in torch: Dense synapses (8-bit weights) + CUBA LIF (slayer's numbers).

Each layer owns its goodness; :meth:`FFNetwork.layer_outputs` detaches the
spikes handed to the next layer, so no gradient crosses a layer boundary.
The numbers are exactly those that Lava's fixed-point Dense + LIF and netx
run (see :mod:`lava_ff.core.config`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from lava_ff.core.config import CLASSIFY_MODES, PREDICTION_COLUMNS, Classify, FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.goodness import (
    combine_layer_scores,
    combined_scores,
    goodness_scale,
    group_matrix,
    group_scores,
    raw_goodness,
)
from lava_ff.core.inputs import overlay_encoded, sum_views, view_rows
from lava_ff.core.layers import ConvSpec, LayerShape
from lava_ff.core.loihi import LOIHI2, quantize_weights
from lava_ff.core.neuron import NeuronParams, dequantize_neuron
from lava_ff.core.spec import NetworkSpec
from lava_ff.offline.dynamics import cuba_spikes, quantize_8bit

__all__ = [
    'PREDICTION_METHODS', 'default_device', 'CandidateSpikes', 'SPARSE_DENSITY', 'spike_product',
    'dense_spikes', 'spike_rate', 'FFLayer', 'FFConvLayer', 'torch_pool', 'torch_group_goodness', 'torch_goodness',
    'torch_ff_loss', 'torch_softmax_ff_loss',
    'FFNetwork',
]



#: what :meth:`FFNetwork.predict` can classify by
PREDICTION_METHODS = CLASSIFY_MODES


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class CandidateSpikes:
    """Every sample with every candidate label overlaid (row ``b * C + c``
    carries sample ``b`` with label ``c``), kept factored: the image spikes
    once per sample and the label code once per class.

    What the all-labels loss and the goodness readout feed the first layer.
    Its input current ``W s`` is the image part (one product per sample, not
    one per label) plus the label part (one per class), so the first layer
    costs about ``1/C`` of the dense matmul, forward and backward. Spikes are
    0/1 and weights multiples of ``2/64``, so every partial sum is exact in
    float32 and the current equals the dense product bit for bit.
    """

    images: torch.Tensor  #: ``[B, F', T]``, zero in the label columns
    codes: torch.Tensor  #: ``[C, K, T]``, the label columns of each class
    start: int  #: first label column (``F`` for label neurons, 0 for first pixels)

    @property
    def shape(self) -> tuple[int, int, int]:
        batch, width, steps = self.images.shape
        return (batch * len(self.codes), width, steps)

    def current(self, weight: torch.Tensor) -> torch.Tensor:
        """``[B*C, O, T]`` input current through ``weight`` ``[O, F']``, a
        view of time-major memory (what :func:`cuba_dynamics` reads)."""
        batch, classes, stop = self.images.shape[0], len(self.codes), self.start + self.codes.shape[1]
        image = torch.matmul(self.images.permute(2, 0, 1), weight.t())  # [T, B, O]
        label = torch.matmul(self.codes.permute(2, 0, 1), weight[:, self.start:stop].t())  # [T, C, O]
        steps, out = image.shape[0], image.shape[2]
        total = image.unsqueeze(2) + label.unsqueeze(1)  # [T, B, C, O]
        return total.reshape(steps, batch * classes, out).permute(1, 2, 0)

    def dense(self) -> torch.Tensor:
        """The ``[B*C, F', T]`` tensor this stands for."""
        classes, stop = len(self.codes), self.start + self.codes.shape[1]
        out = self.images.repeat_interleave(classes, dim=0)
        out[:, self.start:stop] = self.codes.repeat(self.images.shape[0], 1, 1)
        return out


#: the share of ones below which :func:`spike_product` sums weight columns instead of multiplying
SPARSE_DENSITY = 0.2


def spike_product(inputs: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``inputs @ weight.t()`` (``inputs`` ``[..., N]``, ``weight`` ``[O, N]``).

    On a CPU, where no gradient is needed and ``inputs`` are spikes (0/1,
    fewer than :data:`SPARSE_DENSITY` ones), each output row is the sum of the weight
    columns its spikes select (``embedding_bag``): a hidden layer's spikes
    are a few percent ones, so this is several times faster than the dense
    product on a CPU. Quantized weights are multiples of ``2/64``, so every
    partial sum is exact in float32 and both give the same bits."""
    needs_grad = torch.is_grad_enabled() and (inputs.requires_grad or weight.requires_grad)
    if needs_grad or inputs.device.type != "cpu" or inputs.dtype != weight.dtype or inputs.numel() == 0:
        return torch.matmul(inputs, weight.t())
    flat = inputs.reshape(-1, inputs.shape[-1])
    if flat.count_nonzero() > SPARSE_DENSITY * flat.numel():
        return torch.matmul(inputs, weight.t())
    rows, cols = flat.nonzero(as_tuple=True)
    if not bool((flat[rows, cols] == 1).all()):  # not spikes
        return torch.matmul(inputs, weight.t())
    offsets = torch.zeros(len(flat), dtype=torch.int64, device=flat.device)
    offsets[1:] = torch.bincount(rows, minlength=len(flat))[:-1].cumsum(0)
    out = nn.functional.embedding_bag(cols, weight.t().contiguous(), offsets, mode="sum")
    return out.reshape(inputs.shape[:-1] + (weight.shape[0],))


def _time_mean(spikes):
    """A layer input averaged over time, kept as one step (``[B, N, 1]``)."""
    if isinstance(spikes, CandidateSpikes):
        return CandidateSpikes(spikes.images.mean(-1, keepdim=True), spikes.codes.mean(-1, keepdim=True),
                               spikes.start)
    return spikes.mean(-1, keepdim=True)


def dense_spikes(spikes) -> torch.Tensor:
    """A layer input as one ``[B, N, T]`` tensor (:class:`CandidateSpikes` expanded)."""
    return spikes.dense() if isinstance(spikes, CandidateSpikes) else spikes


class _BlackBox(torch.autograd.Function):
    """``spikes`` forward; backward, the gradient of every time step goes to
    ``linear`` ``[B, O, 1]`` (summed over time): ``spikes + linear -
    stop(linear)`` without building that sum."""

    @staticmethod
    def forward(ctx, spikes: torch.Tensor, linear: torch.Tensor):
        return spikes.view_as(spikes)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if grad.stride(-1) == 0:  # the same value at every step (a rate's gradient): no need to add them up
            return None, grad.narrow(-1, 0, 1) * grad.shape[-1]
        return None, grad.sum(-1, keepdim=True)


class _Rate(torch.autograd.Function):
    """``spikes.mean(-1)`` whose backward hands every time step the same
    gradient as a broadcast view instead of a ``[B, N, T]`` copy (what
    autograd's mean does), so :class:`_BlackBox` reads it without a pass
    over ``T`` steps."""

    @staticmethod
    def forward(ctx, spikes: torch.Tensor):
        ctx.shape = spikes.shape
        return spikes.mean(-1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return (grad / ctx.shape[-1]).unsqueeze(-1).expand(ctx.shape)


def spike_rate(spikes: torch.Tensor) -> torch.Tensor:
    """Firing rate over the window, ``spikes.mean(-1)`` (same values and gradient)."""
    return _Rate.apply(spikes) if torch.is_grad_enabled() and spikes.requires_grad else spikes.mean(-1)


class FFLayer(nn.Module):
    """Dense + CUBA LIF layer with slayer's integer-exact neuron dynamics
    (integrated by :func:`lava_ff.offline.dynamics.cuba_spikes`, bit-identical to
    ``slayer.neuron.cuba.Neuron.dynamics`` and faster on a CPU), in torch alone."""

    def __init__(self, in_features: int, out_features: int, neuron: NeuronParams,
                 *, weight_scale: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.neuron_params = neuron
        bound = weight_scale * math.sqrt(3.0 / in_features) * 2.0
        weight = (torch.rand(out_features, in_features, generator=generator) * 2 - 1) * bound
        self.weight = nn.Parameter(weight)

    def quantized_weight(self) -> torch.Tensor:
        """Weights on Loihi's 8-bit grid (straight-through gradient)."""
        return quantize_8bit(self.weight)

    def clamp_(self) -> None:
        """Keep the float weights inside the representable 8-bit range."""
        with torch.no_grad():
            lo, hi = LOIHI2.weight_min / LOIHI2.w_scale, LOIHI2.weight_max / LOIHI2.w_scale
            self.weight.clamp_(lo, hi)

    def integer_weight(self) -> np.ndarray:
        return quantize_weights(self.weight.detach().cpu().numpy())

    def synaptic_ops(self, spikes_in: torch.Tensor) -> float:
        """Synaptic operations of the input ``spikes_in`` ``[B, N, T]`` (of
        spike counts): each spike times the synapses it drives."""
        return float(spikes_in.detach().sum()) * self.out_features

    def _current(self, spikes_in: torch.Tensor | CandidateSpikes) -> torch.Tensor:
        """``[B, O, T]`` input current through the quantized weights."""
        if isinstance(spikes_in, CandidateSpikes):
            return spikes_in.current(self.quantized_weight())
        # time-major [T, B, O] memory, viewed as [B, O, T]: what cuba_voltage reads without a copy
        return spike_product(spikes_in.permute(2, 0, 1), self.quantized_weight()).permute(1, 2, 0)

    def forward(self, spikes_in: torch.Tensor | CandidateSpikes, black_box: bool = False):
        """``spikes_in`` ``[B, N_in, T]`` (or :class:`CandidateSpikes`) ->
        ``(spikes, voltage)`` ``[B, N_out, T]``.

        ``black_box=True`` (the FFGAF-style rule) leaves the spike function
        out of the backward pass: the spikes are the same, but their gradient
        is that of a linear rate unit, ``d rate / d mean current =
        1/threshold``, so neither slayer's surrogate derivative nor the
        membrane dynamics shape it. Every FFGAF objective reads the spikes
        only through their rates, so the gradient reaching each time step is
        the same; the linear unit is therefore taken on the time-mean input.
        For such objectives its gradients (weights and input) equal those of
        a per-step linear unit, ``d spikes_t / d current_t = 1/threshold``,
        at ``1/T`` of the cost: one product for the weight gradient, not
        ``T``."""
        if len(spikes_in.shape) != 3 or spikes_in.shape[1] != self.in_features:
            raise ValueError(
                f"expected input [batch, {self.in_features}, time], got {tuple(spikes_in.shape)}"
            )
        if black_box:
            with torch.no_grad():
                spikes, voltage = cuba_spikes(self.neuron_params, self._current(spikes_in))
            if not torch.is_grad_enabled():
                return spikes, voltage
            linear = self._current(_time_mean(spikes_in)) / self.neuron_params.threshold  # [B, O, 1]
            return _BlackBox.apply(spikes, linear), voltage
        return cuba_spikes(self.neuron_params, self._current(spikes_in))


def torch_pool(spikes: torch.Tensor, shape: LayerShape) -> torch.Tensor:
    """Torch twin of :func:`lava_ff.core.layers.pool_spikes`: a layer's
    spikes ``[B, N, T]`` as the next layer reads them (summed over
    ``shape.pool`` x ``shape.pool`` blocks), a view of time-major memory."""
    if shape.pool == 1:
        return spikes
    (c, h, w), p = shape.shape, shape.pool
    batch, steps = spikes.shape[0], spikes.shape[-1]
    frames = spikes.permute(2, 0, 1).reshape(steps * batch, c, h, w)
    pooled = nn.functional.avg_pool2d(frames, p) * (p * p)  # sums of 0/1 spikes: exact
    return pooled.reshape(steps, batch, -1).permute(1, 2, 0)


class FFConvLayer(FFLayer):
    """Conv + CUBA LIF layer: ``spec.channels`` channels of ``spec.kernel``
    x ``spec.kernel`` 8-bit weights (stride 1, no padding) on an input of
    ``in_shape`` (channels, height, width), flattened ``[B, C*H*W, T]`` in
    and out like :class:`FFLayer`, with the same neuron and weight grid."""

    def __init__(self, in_shape: tuple[int, int, int], spec: ConvSpec, neuron: NeuronParams,
                 *, weight_scale: float = 1.0, generator: torch.Generator | None = None):
        nn.Module.__init__(self)
        ci, h, w = in_shape
        k = spec.kernel
        self.in_shape, self.spec = tuple(in_shape), spec
        self.out_shape = (spec.channels, h - k + 1, w - k + 1)
        self.in_features, self.out_features = ci * h * w, int(np.prod(self.out_shape))
        self.neuron_params = neuron
        bound = weight_scale * math.sqrt(3.0 / (ci * k * k)) * 2.0
        weight = (torch.rand(spec.channels, ci, k, k, generator=generator) * 2 - 1) * bound
        self.weight = nn.Parameter(weight)

    def _conv(self, inputs: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``inputs`` ``[B, C*H*W, T']`` through ``weight``: ``[B, O, T']``, a
        view of time-major memory. The convolution's float arithmetic (some
        CPU algorithms transform the kernel) is rounded back to the weights'
        grid, where the exact integer sums lie: equal to
        :func:`lava_ff.core.layers.conv_current` bit for bit, with the
        gradient of the convolution itself."""
        batch, steps = inputs.shape[0], inputs.shape[-1]
        frames = inputs.permute(2, 0, 1).reshape((steps * batch,) + self.in_shape)
        out = nn.functional.conv2d(frames, weight)
        scale = LOIHI2.w_scale
        exact = torch.round(out.detach() * scale) / scale
        out = exact if not out.requires_grad else out + (exact - out.detach())
        return out.reshape(steps, batch, self.out_features).permute(1, 2, 0)

    def _current(self, spikes_in: torch.Tensor) -> torch.Tensor:
        return self._conv(spikes_in, self.quantized_weight())

    def synaptic_ops(self, spikes_in: torch.Tensor) -> float:
        """Each input spike times the output neurons it reaches: channels
        times the kernel positions that cover it (fewer at the edges)."""
        c, h, w = self.in_shape
        counts = spikes_in.detach().sum(-1).reshape(-1, c, h, w).sum((0, 1))[None, None]
        k = self.spec.kernel
        covered = nn.functional.conv2d(counts.double(), torch.ones(1, 1, k, k, dtype=torch.float64))
        return float(covered.sum()) * self.spec.channels


def torch_group_goodness(spikes: torch.Tensor, shape: LayerShape, num_classes: int, kind: str,
                         per_position: bool = False) -> torch.Tensor:
    """Torch twin of :func:`lava_ff.core.goodness.group_goodness`: ``[B, C]``;
    with ``per_position``, each spatial position's own ``[B, H*W, C]`` (a
    dense layer has one)."""
    rate = spike_rate(spikes)
    channels = shape.shape[0]
    squares = rate.pow(2).reshape(rate.shape[0], channels, -1)
    if per_position:
        members = torch.from_numpy(group_matrix((channels, 1, 1), num_classes, kind)).to(squares)
        return squares.transpose(1, 2) @ members
    members = torch.from_numpy(group_matrix(shape, num_classes, kind)).to(squares)
    return squares.sum(-1) @ members


def torch_goodness(spikes: torch.Tensor, kind: str, voltage: torch.Tensor | None = None,
                   threshold: float = 1.0) -> torch.Tensor:
    """Torch twin of :func:`lava_ff.core.goodness.goodness`."""
    if kind == "sum_sq_rate":
        return spike_rate(spikes).pow(2).sum(-1)
    if kind == "mean_sq_rate":
        return spike_rate(spikes).pow(2).mean(-1)
    if kind == "sum_sq_voltage":
        return (voltage / threshold).clamp(min=0).pow(2).mean(-1).sum(-1)
    raise ValueError(f"unknown goodness {kind!r}")


def _sample_mean(per_sample: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Mean of per-sample losses, weighted by ``weights`` (class-aware
    training) if given: ``weights`` of mean 1 over the whole batch, so that
    a share of the batch (a data-parallel rank's rows) gives its share of
    the weighted mean."""
    if weights is None:
        return per_sample.mean()
    return (per_sample * weights).mean()


def torch_ff_loss(g_pos: torch.Tensor, g_neg: torch.Tensor, theta: float, kind: str,
                  alpha: float, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Torch twin of :func:`lava_ff.core.goodness.ff_loss` (softplus, never log(1+exp)).
    ``weights``: per-sample weights of the mean (class-aware training), of mean 1 over the batch."""
    softplus = nn.functional.softplus
    if kind == "softplus":
        per_sample = softplus(theta - g_pos) + softplus(g_neg - theta)
    elif kind == "symba":
        per_sample = softplus(-alpha * (g_pos - g_neg))
    else:
        raise ValueError(f"unknown loss {kind!r}")
    return _sample_mean(per_sample, weights)


def torch_softmax_ff_loss(scores: torch.Tensor, labels: torch.Tensor, alpha: float,
                          weights: torch.Tensor | None = None) -> torch.Tensor:
    """Torch twin of :func:`lava_ff.core.goodness.softmax_ff_loss`: cross-entropy of
    ``alpha * G(x, c)`` over the labels ``c`` (``scores`` ``[B, C]``)."""
    if scores.dim() == 3:  # [B, P, C]: one score per position (goodness_scope='position'), averaged
        batch, positions, classes = scores.shape
        per_position = nn.functional.cross_entropy(alpha * scores.reshape(-1, classes),
                                                   labels.repeat_interleave(positions), reduction="none")
        return _sample_mean(per_position.reshape(batch, positions).mean(1), weights)
    per_sample = nn.functional.cross_entropy(alpha * scores, labels, reduction="none")
    return _sample_mean(per_sample, weights)


class FFNetwork(nn.Module):
    """A stack of :class:`FFLayer` trained layer by layer, plus a linear readout."""

    def __init__(self, config: FFConfig):
        super().__init__()
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        self.layers = nn.ModuleList()
        for i, entry in enumerate(config.layers):
            reads = config.input_of(i).pooled
            if isinstance(entry, ConvSpec):
                layer = FFConvLayer(reads, entry, config.neuron, weight_scale=config.weight_scale, generator=generator)
            else:
                layer = FFLayer(int(np.prod(reads)), entry, config.neuron, weight_scale=config.weight_scale,
                                generator=generator)
            self.layers.append(layer)
        self.readout = nn.Linear(config.readout_features, config.num_classes)

    @classmethod
    def from_spec(cls, spec: NetworkSpec) -> FFNetwork:
        """The offline network with the exact weights of ``spec`` (for
        fine-tuning or evaluation in torch): the inverse of
        :meth:`NetworkSpec.from_torch`. Needs one neuron parameter set for
        all layers, as :class:`FFConfig` has."""
        if len(set(spec.neurons)) != 1:
            raise ConfigError(f"layers have different neuron parameters {spec.neurons}; the torch "
                              "model shares one set")
        neuron = dequantize_neuron(spec.neurons[0])
        config = spec.config if spec.config.neuron == neuron else replace(spec.config, neuron=neuron)
        net = cls(config)
        with torch.no_grad():
            for layer, w in zip(net.layers, spec.weights, strict=True):
                layer.weight.copy_(torch.from_numpy(w.astype(np.float32) / LOIHI2.w_scale))
            if spec.readout_weight is not None and spec.readout_weight.shape == tuple(net.readout.weight.shape):
                net.readout.weight.copy_(torch.from_numpy(spec.readout_weight.astype(np.float32)))
                net.readout.bias.copy_(torch.from_numpy(spec.readout_bias.astype(np.float32)))
            else:  # a readout still to learn starts from config.seed alone, not from torch's global stream
                generator = torch.Generator().manual_seed(config.seed)
                bound = 1.0 / math.sqrt(net.readout.in_features)  # nn.Linear's own initial range
                net.readout.weight.uniform_(-bound, bound, generator=generator)
                net.readout.bias.uniform_(-bound, bound, generator=generator)
        return net

    @property
    def device(self) -> torch.device:
        return self.layers[0].weight.device

    # ------------------------------------------------------------------ inputs
    def encode(self, x: np.ndarray, labels: np.ndarray | None,
               rng: np.random.Generator | None = None) -> torch.Tensor:
        """Overlay ``labels`` (``None``: neutral) on flat images ``[B, F]`` (or
        spike trains ``[B, F, T]`` with ``encoding='spikes'``) and encode."""
        cfg = self.config
        spikes = overlay_encoded(x, labels, cfg.num_classes, cfg.time_steps, cfg.encoding, rng,
                                 scheme=cfg.overlay, label_scale=cfg.label_scale, label_repeat=cfg.label_repeat)
        return torch.from_numpy(spikes).to(self.device)

    # ----------------------------------------------------------------- forward
    def layer_outputs(self, spikes: torch.Tensor, *, detach: bool = True):
        """Run every layer; returns ``[(spikes, voltage), ...]``. Inputs to each
        layer are detached: FF learning is local."""
        outputs = []
        for layer, shape in zip(self.layers, self.config.shapes, strict=True):
            out, voltage = layer(spikes)
            outputs.append((out, voltage))
            spikes = torch_pool(out.detach() if detach else out, shape)
        return outputs

    def goodness(self, outputs, layers: list[int] | None = None, *, objective: bool = False) -> list[torch.Tensor]:
        """The goodness of each input row of each ``(spikes, voltage)`` in
        ``outputs``, the output of layer ``layers[i]`` (default: one per
        layer, in order). With class groups (``overlay='groups'``) each row's
        goodness of every class, rows ``b * C + c`` as the candidate labels';
        ``objective`` (what the trainer's loss reads): with
        ``goodness_scope='position'`` every position's, ``b * P * C + p * C + c``."""
        cfg = self.config
        if cfg.overlay == "groups":
            shapes, per_position = cfg.shapes, objective and cfg.goodness_scope == "position"
            layers = range(len(outputs)) if layers is None else layers
            return [torch_group_goodness(s, shapes[i], cfg.num_classes, cfg.goodness, per_position).reshape(-1)
                    for (s, _), i in zip(outputs, layers, strict=True)]
        return [torch_goodness(s, cfg.goodness, v, cfg.neuron.threshold) for s, v in outputs]

    def encode_candidates(self, x: np.ndarray, rng: np.random.Generator | None = None):
        """Each sample with every candidate label overlaid in turn: rows ``b * C + c``.

        A :class:`CandidateSpikes` (image spikes once per sample) unless the
        encoding is ``rate``: its image spikes are random, and every
        candidate row keeps its own draw, so it gets the dense tensor."""
        cfg, x = self.config, np.asarray(x, np.float32)
        classes = cfg.num_classes
        if cfg.overlay == "groups":  # one window scores every class
            return self.encode(x, None, rng)
        if cfg.encoding == "rate":
            return self.encode(np.repeat(x, classes, axis=0), np.tile(np.arange(classes), len(x)), rng)
        columns = cfg.label_columns
        images = self.encode(x, np.zeros(len(x), np.int64), rng)
        images[:, columns] = 0.0
        codes = self.encode(np.zeros((classes,) + x.shape[1:], np.float32), np.arange(classes), rng)
        return CandidateSpikes(images, codes[:, columns].contiguous(), columns.start)

    @torch.no_grad()
    def candidate_outputs(self, x: np.ndarray, rng: np.random.Generator | None = None, cost: dict | None = None):
        """Every layer's ``(spikes, voltage)`` on :meth:`encode_candidates`: what the goodness readout runs.
        ``cost``: a dict that :meth:`tally_cost` adds this pass's work to."""
        spikes = self.encode_candidates(x, rng)
        outputs = self.layer_outputs(spikes)
        if cost is not None:
            self.tally_cost(cost, spikes, outputs, windows=spikes.shape[0])
        return outputs

    def layer_cost(self, inputs, outputs) -> tuple[list[float], list[float]]:
        """Per FF layer, the spikes it fired and the synaptic operations its
        synapses did (every spike into a layer times the neurons it reaches)
        in one pass: ``inputs`` the first layer's input spikes (a tensor or
        :class:`CandidateSpikes`), ``outputs`` :meth:`layer_outputs` of them."""
        if isinstance(inputs, CandidateSpikes):
            sent = float(inputs.images.sum()) * len(inputs.codes) + float(inputs.codes.sum()) * len(inputs.images)
            synops = [sent * self.layers[0].out_features]
        else:
            synops = [self.layers[0].synaptic_ops(inputs)]
        for (out, _), shape, layer in zip(outputs[:-1], self.config.shapes, self.layers[1:], strict=False):
            synops.append(layer.synaptic_ops(torch_pool(out, shape)))
        return [float(s.detach().sum()) for s, _ in outputs], synops

    def readout_synops(self, spikes: list[float]) -> float:
        """The readout's synaptic operations for the FF layers' ``spikes``
        (:meth:`layer_cost`): every readout layer's spike reaches one synapse per class."""
        return sum(spikes[i] for i in self.config.readout_layers) * self.config.num_classes

    def tally_cost(self, cost: dict, inputs, outputs, *, windows: int, readout: bool = False) -> None:
        """Add one pass's work to ``cost``: ``windows`` (presentation windows
        run), ``spikes`` (of every FF layer), ``synops`` (synaptic operations,
        :meth:`layer_cost`, and with ``readout`` every readout layer's spike
        times the class count, the readout's Dense synapses). ``inputs``: the
        first layer's input spikes (a tensor or :class:`CandidateSpikes`)."""
        spikes, synops = self.layer_cost(inputs, outputs)
        total = sum(synops) + (self.readout_synops(spikes) if readout else 0.0)
        for key, value in (("windows", windows), ("spikes", sum(spikes)), ("synops", total)):
            cost[key] = cost.get(key, 0.0) + value

    @torch.no_grad()
    def spikes_per_inference(self, x: np.ndarray, rng: np.random.Generator | None = None) -> float:
        """Spikes of all layers to classify one sample by goodness (one window per label)."""
        return float(sum(s.sum() for s, _ in self.candidate_outputs(x, rng)) / max(len(x), 1))

    @torch.no_grad()
    def layer_label_scores(self, x: np.ndarray, rng: np.random.Generator | None = None,
                           cost: dict | None = None) -> np.ndarray:
        """Goodness of every layer for every candidate label: ``[L, B, C]`` (float64).

        Rate goodness is computed from integer spike counts, ``sum_n count**2``
        times :func:`lava_ff.core.goodness.goodness_scale`, exactly as the Lava
        readout does, so equal goodness ties the same way in torch and Lava.
        """
        cfg = self.config
        batch, classes = len(x), cfg.num_classes
        outputs = self.candidate_outputs(x, rng, cost)
        if cfg.overlay == "groups":
            return np.stack([group_scores(spikes.sum(-1).cpu().numpy().astype(np.int64), shape, classes,
                                          cfg.goodness, cfg.time_steps)
                             for (spikes, _), shape in zip(outputs, cfg.shapes, strict=True)])
        if cfg.goodness == "sum_sq_voltage":
            scores = torch.stack(self.goodness(outputs)).double().cpu().numpy()
        else:
            scores = np.stack([
                raw_goodness(cfg.goodness, spikes.sum(-1).cpu().numpy().astype(np.int64), None)
                * goodness_scale(cfg.goodness, spikes.shape[1], cfg.time_steps, fixed=False)
                for spikes, _ in outputs])
        return scores.reshape(-1, batch, classes)

    @staticmethod
    def combine_scores(per_layer: np.ndarray, skip_first: bool) -> np.ndarray:
        """Sum per-layer goodness, skipping the first layer if asked and possible."""
        return combine_layer_scores(per_layer, skip_first)

    def label_scores(self, x: np.ndarray, rng: np.random.Generator | None = None,
                     skip_first: bool | None = None) -> np.ndarray:
        """Goodness summed over layers for every candidate label: ``[B, C]``."""
        skip = self.config.eval_skip_first if skip_first is None else skip_first
        return self.combine_scores(self.layer_label_scores(x, rng), skip)

    @torch.no_grad()
    def hidden_rates(self, x: np.ndarray, rng: np.random.Generator | None = None,
                     cost: dict | None = None) -> torch.Tensor:
        """Firing rates of the readout layers under the neutral label (``cost``: see :meth:`tally_cost`)."""
        spikes = self.encode(x, None, rng)
        outputs = self.layer_outputs(spikes)
        if cost is not None:
            self.tally_cost(cost, spikes, outputs, windows=len(x), readout=True)
        return torch.cat([outputs[i][0].mean(-1) for i in self.config.readout_layers], dim=1)

    @torch.no_grad()
    def readout_logits(self, x: np.ndarray, rng: np.random.Generator | None = None,
                       cost: dict | None = None) -> np.ndarray:
        """The linear readout's logits on the neutral-label hidden rates, ``[B, C]`` (float64)."""
        return self.readout(self.hidden_rates(x, rng, cost)).double().cpu().numpy()

    def combined_scores(self, per_layer: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """Goodness and readout as one product of experts (:func:`lava_ff.core.goodness.combined_scores`
        with this network's loss, θ and α): ``per_layer`` from :meth:`layer_label_scores`,
        ``logits`` from :meth:`readout_logits`."""
        cfg = self.config
        return combined_scores(per_layer, logits, cfg.loss, cfg.theta, cfg.symba_alpha)

    @torch.no_grad()
    def prediction_table(self, x: np.ndarray, rng: np.random.Generator | None = None, batch: int = 250,
                         readout: bool = True, *, views: int = 1, image_shape: tuple | None = None,
                         classify: str = "combined", cost: dict | None = None) -> np.ndarray:
        """``[N, 4]`` predicted labels in the columns of ``PREDICTION_COLUMNS``
        (what :class:`FFReadout` stores): goodness, goodness skipping layer 0,
        readout, combined. One goodness pass and one readout pass per batch
        serve all four. ``classify`` (:class:`lava_ff.core.config.Classify`)
        runs only what its mode needs: ``goodness`` the candidate labels,
        ``readout`` the neutral window; ``readout=False`` skips the readout
        pass too. Columns not computed stay -1, as FFReadout leaves absent
        inputs. With ``views`` > 1 each column's scores are summed over every
        image's first ``views`` views (:mod:`lava_ff.core.inputs`, images of
        ``image_shape``), as FFReadout with ``views`` does. ``cost``: a dict
        that gets the work done added (:meth:`tally_cost`)."""
        mode = Classify(classify, self.config.num_classes)
        readout = readout and mode.neutral
        table = np.full((len(x), len(PREDICTION_COLUMNS)), -1, np.int64)
        for start in range(0, len(x), batch):
            xb, rows = view_rows(x[start:start + batch], image_shape, views), slice(start, start + batch)
            if mode.candidates:
                per_layer = self.layer_label_scores(xb, rng, cost)
                goodness = sum_views(per_layer, views, axis=1)
                table[rows, 0] = self.combine_scores(goodness, False).argmax(1)
                table[rows, 1] = self.combine_scores(goodness, True).argmax(1)
            if readout:
                logits = self.readout_logits(xb, rng, cost)
                table[rows, 2] = sum_views(logits, views).argmax(1)
                if mode.candidates:
                    table[rows, 3] = sum_views(self.combined_scores(per_layer, logits), views).argmax(1)
        return table

    @torch.no_grad()
    def predict(self, x: np.ndarray, method: str = "goodness",
                rng: np.random.Generator | None = None, batch: int = 250) -> np.ndarray:
        """Predicted labels, ``batch`` samples at a time (the goodness readout
        runs every label per sample, so memory grows with C x batch):
        ``goodness``, ``readout`` or ``combined`` (both as one product of experts)."""
        if method not in PREDICTION_METHODS:
            raise ValueError(f"unknown prediction method {method!r}; valid: {', '.join(PREDICTION_METHODS)}")
        out = []
        for start in range(0, len(x), batch):
            xb = x[start:start + batch]
            if method == "goodness":
                out.append(self.label_scores(xb, rng).argmax(axis=1))
            elif method == "readout":
                out.append(self.readout_logits(xb, rng).argmax(axis=1))
            else:
                out.append(self.combined_scores(self.layer_label_scores(xb, rng),
                                                self.readout_logits(xb, rng)).argmax(axis=1))
        return np.concatenate(out) if out else np.zeros(0, np.int64)
