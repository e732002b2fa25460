"""What each layer of an FF network is: a count of dense neurons, or a
convolution (:class:`ConvSpec`), and the shapes they give an image.

The layer text of the CLI and config files, one entry per layer, comma
separated: ``1000`` is a dense layer of 1000 neurons; ``c32k5p2`` a
convolution of 32 channels with 5 x 5 kernels (stride 1, no padding), its
spikes sum-pooled 2 x 2 on their way to the next layer. Convolutions come
first, dense layers after them::

    >>> parse_layers("c32k5p2,c64k3p2,1000")
    (ConvSpec(channels=32, kernel=5, pool=2), ConvSpec(channels=64, kernel=3, pool=2), 1000)
    >>> [s.shape for s in layer_shapes(parse_layers("c32k5p2,c64k3p2,1000"), (1, 28, 28))]
    [(32, 24, 24), (64, 10, 10), (1000, 1, 1)]

Pooling belongs to the synapses of the next layer: a layer sees the sum of
each ``pool x pool`` block of the previous layer's spikes (a count of 0 to
``pool**2`` per step), so pooling adds no neurons and no time step, and the
network's arithmetic stays integer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lava_ff.core.checks import check_positive_int
from lava_ff.core.errors import ConfigError

__all__ = ['ConvSpec', 'LayerShape', 'parse_layers', 'format_layers', 'layer_shapes', 'check_image_shape',
           'pool_spikes', 'conv_current', 'Synapse']


_CONV = re.compile(r"c(\d+)k(\d+)(?:p(\d+))?")


@dataclass(frozen=True)
class ConvSpec:
    """A convolutional FF layer: ``channels`` output channels, square
    ``kernel`` (stride 1, no padding), and the ``pool`` x ``pool`` sum
    pooling of its spikes that the next layer's synapses apply (1: none)."""

    channels: int
    kernel: int
    pool: int = 1

    def __post_init__(self):
        for name in ("channels", "kernel", "pool"):
            object.__setattr__(self, name, check_positive_int(f"conv {name}", getattr(self, name)))

    def __str__(self) -> str:
        return f"c{self.channels}k{self.kernel}" + (f"p{self.pool}" if self.pool > 1 else "")

    def to_dict(self) -> dict:
        return {"channels": self.channels, "kernel": self.kernel, "pool": self.pool}


@dataclass(frozen=True)
class LayerShape:
    """One layer's neurons as ``shape`` (channels, height, width; a dense
    layer is ``(n, 1, 1)``) and the shape its next layer reads after
    pooling, ``pooled``."""

    shape: tuple[int, int, int]
    pooled: tuple[int, int, int]
    pool: int = 1

    @property
    def size(self) -> int:
        c, h, w = self.shape
        return c * h * w

    @property
    def pooled_size(self) -> int:
        c, h, w = self.pooled
        return c * h * w


def _parse_entry(entry, index: int):
    if isinstance(entry, ConvSpec):
        return entry
    if isinstance(entry, dict):
        try:
            return ConvSpec(**entry)
        except TypeError as err:
            raise ConfigError(f"layer {index}: {entry!r} is not a convolution (keys channels, kernel, pool)") from err
    if isinstance(entry, str):
        text = entry.strip().lower()
        if text.isdigit():
            return check_positive_int(f"layer {index} size", int(text))
        match = _CONV.fullmatch(text)
        if match is None:
            raise ConfigError(f"layer {index}: cannot read {entry!r}; a layer is a neuron count (1000) or a "
                              "convolution c<channels>k<kernel>[p<pool>] (c32k5p2)")
        channels, kernel, pool = (int(g) if g is not None else 1 for g in match.groups())
        return ConvSpec(channels, kernel, pool)
    return check_positive_int(f"layer {index} size", entry)


def parse_layers(layers) -> tuple:
    """Layer entries from ``"c32k5p2,c64k3p2,1000"`` or a sequence of
    neuron counts, :class:`ConvSpec` and their texts or dicts: a tuple of
    ``int`` (dense) and :class:`ConvSpec`, convolutions first. A ConfigError
    names any entry it cannot read."""
    if isinstance(layers, str):
        entries = [e for e in layers.split(",")]
        if any(not e.strip() for e in entries):
            raise ConfigError(f"cannot read layers {layers!r}: an empty entry between commas")
    elif isinstance(layers, (int,)) or isinstance(layers, ConvSpec):
        entries = [layers]
    else:
        try:
            entries = list(layers)
        except TypeError as err:
            raise ConfigError(f"layers must be a text like 'c32k5p2,1000' or a sequence, got {layers!r}") from err
    if not entries:
        raise ConfigError("layers must name at least one layer")
    parsed = tuple(_parse_entry(e, i) for i, e in enumerate(entries))
    seen_dense = False
    for i, entry in enumerate(parsed):
        if isinstance(entry, ConvSpec) and seen_dense:
            raise ConfigError(f"layer {i} ({entry}) is a convolution after a dense layer; "
                              "convolutions come first")
        seen_dense = seen_dense or not isinstance(entry, ConvSpec)
    return parsed


def format_layers(layers) -> str:
    """The layer text of ``layers`` (the inverse of :func:`parse_layers`)."""
    return ",".join(str(e) for e in parse_layers(layers))


def check_image_shape(shape) -> tuple[int, int, int]:
    """``(channels, height, width)`` of an input image, from 2 or 3 positive
    integers (2: one channel)."""
    try:
        dims = tuple(shape)
    except TypeError as err:
        raise ConfigError(f"image shape must be (height, width) or (channels, height, width), got {shape!r}") from err
    if len(dims) == 2:
        dims = (1,) + dims
    if len(dims) != 3:
        raise ConfigError(f"image shape must be (height, width) or (channels, height, width), got {shape!r}")
    return tuple(check_positive_int(f"image shape[{i}]", d) for i, d in enumerate(dims))


def layer_shapes(layers, image_shape) -> list[LayerShape]:
    """The shape of every layer of ``layers`` (:func:`parse_layers`) on
    images of ``image_shape`` (:func:`check_image_shape`). A ConfigError
    names a kernel or a pool that does not fit what it reads, and a pool on
    the last layer (no layer to pool into)."""
    layers = parse_layers(layers)
    c, h, w = check_image_shape(image_shape)
    shapes = []
    for i, entry in enumerate(layers):
        if isinstance(entry, ConvSpec):
            if entry.kernel > min(h, w):
                raise ConfigError(f"layer {i} ({entry}): kernel {entry.kernel} does not fit its {h} x {w} input "
                                  f"(from images of {tuple(image_shape)}); use a kernel of at most {min(h, w)}")
            oh, ow = h - entry.kernel + 1, w - entry.kernel + 1
            if entry.pool > min(oh, ow):
                raise ConfigError(f"layer {i} ({entry}): pool {entry.pool} does not fit its {oh} x {ow} output; "
                                  f"use a pool of at most {min(oh, ow)}")
            if entry.pool > 1 and i == len(layers) - 1:
                raise ConfigError(f"layer {i} ({entry}) is the last layer: its pool {entry.pool} has no layer "
                                  f"to pool into; drop p{entry.pool} or add a layer after it")
            shape = (entry.channels, oh, ow)
            c, h, w = entry.channels, oh // entry.pool, ow // entry.pool
            shapes.append(LayerShape(shape, (c, h, w), entry.pool))
        else:
            shapes.append(LayerShape((entry, 1, 1), (entry, 1, 1)))
            c, h, w = entry, 1, 1
    return shapes


# ------------------------------------------------------------- the synapses, in numpy
def pool_spikes(spikes: np.ndarray, shape: tuple[int, int, int], pool: int) -> np.ndarray:
    """Sum-pool ``spikes`` ``[B, C*H*W, T]`` of a layer of ``shape``
    ``pool`` x ``pool`` (edges that do not fill a block are dropped):
    ``[B, C*(H//pool)*(W//pool), T]``, counts of 0 to ``pool**2``."""
    if pool == 1:
        return spikes
    c, h, w = shape
    batch, steps = spikes.shape[0], spikes.shape[-1]
    oh, ow = h // pool, w // pool
    grid = spikes.reshape(batch, c, h, w, steps)[:, :, :oh * pool, :ow * pool]
    return grid.reshape(batch, c, oh, pool, ow, pool, steps).sum((3, 5)).reshape(batch, c * oh * ow, steps)


def conv_current(weights: np.ndarray, spikes: np.ndarray, in_shape: tuple[int, int, int]) -> np.ndarray:
    """The current a convolution ``weights`` ``[Co, Ci, k, k]`` (stride 1,
    no padding) sends from ``spikes`` ``[B, Ci*H*W, T]`` of ``in_shape``:
    ``[B, Co*Ho*Wo, T]``, in the arithmetic of ``weights`` (integers stay
    integers)."""
    ci, h, w = in_shape
    co, _, k, _ = weights.shape
    batch, steps = spikes.shape[0], spikes.shape[-1]
    oh, ow = h - k + 1, w - k + 1
    integer = np.issubdtype(np.asarray(weights).dtype, np.integer)
    # float64 BLAS: integer products and sums below 2**53 are exact, and far faster than integer einsum
    grid = np.asarray(spikes, np.float64).reshape(batch, ci, h, w, steps)
    windows = np.lib.stride_tricks.sliding_window_view(grid, (k, k), axis=(2, 3))  # [B, Ci, Ho, Wo, T, k, k]
    columns = windows.transpose(0, 2, 3, 4, 1, 5, 6).reshape(batch * oh * ow * steps, ci * k * k)
    out = columns @ np.asarray(weights, np.float64).reshape(co, -1).T  # [B*Ho*Wo*T, Co]
    out = out.reshape(batch, oh, ow, steps, co).transpose(0, 4, 1, 2, 3).reshape(batch, co * oh * ow, steps)
    return np.rint(out).astype(np.int64) if integer else out


@dataclass(frozen=True)
class Synapse:
    """One layer's synapses as a Process runs them: what its input carries
    (``in_shape``, the sender's neurons), the ``pool`` it sums that over,
    and dense (``weights [out, in]``) or convolution (``[Co, Ci, k, k]``)
    weights of ``weight_shape``. :meth:`current` is what they send."""

    weight_shape: tuple
    in_shape: tuple[int, int, int]
    pool: int = 1

    @classmethod
    def of(cls, weight_shape, in_shape=None, pool: int = 1) -> Synapse:
        """Checked geometry: a ConfigError names a shape that does not fit."""
        weight_shape = tuple(int(d) for d in weight_shape)
        pool = check_positive_int("pool", pool)
        if len(weight_shape) not in (2, 4):
            raise ConfigError(f"weights must be 2-D [out, in] (dense) or 4-D [out, in, k, k] (a convolution), "
                              f"got shape {weight_shape}")
        conv = len(weight_shape) == 4
        if in_shape is None:
            if conv or pool > 1:
                raise ConfigError(f"{'a convolution' if conv else f'pool={pool}'} needs in_shape, the "
                                  "(channels, height, width) its input carries")
            in_shape = (weight_shape[1], 1, 1)
        in_shape = check_image_shape(in_shape)
        synapse = cls(weight_shape, in_shape, pool)
        c, h, w = synapse.pooled_shape
        if conv:
            co, ci, kh, kw = weight_shape
            if ci != c or kh != kw or kh > min(h, w):
                raise ConfigError(f"convolution weights {weight_shape} do not fit an input of {in_shape} "
                                  f"pooled {pool} x {pool} to {synapse.pooled_shape}")
        elif weight_shape[1] != c * h * w:
            raise ConfigError(f"dense weights {weight_shape} read {weight_shape[1]} inputs, but an input of "
                              f"{in_shape} pooled {pool} x {pool} has {c * h * w}")
        return synapse

    @property
    def conv(self) -> bool:
        return len(self.weight_shape) == 4

    @property
    def pooled_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        return (c, h // self.pool, w // self.pool)

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        if not self.conv:
            return self.weight_shape[0]
        co, _, k, _ = self.weight_shape
        _, h, w = self.pooled_shape
        return co * (h - k + 1) * (w - k + 1)

    def current(self, weights: np.ndarray, spikes: np.ndarray) -> np.ndarray:
        """The current ``[..., n_out]`` that ``spikes`` ``[..., n_in]`` (one
        step, any leading axes) send through ``weights`` (integers, or the
        float model's ``W / 64``), in the weights' arithmetic."""
        lead = spikes.shape[:-1]
        flat = spikes.reshape(-1, spikes.shape[-1], 1).astype(weights.dtype)
        flat = pool_spikes(flat, self.in_shape, self.pool)
        if self.conv:
            out = conv_current(weights, flat, self.pooled_shape)[..., 0]
        else:
            out = flat[..., 0] @ weights.T
        return out.reshape(lead + (self.n_out,))

    def fold(self, weights: np.ndarray) -> tuple[np.ndarray, int]:
        """``(weights, stride)`` that read the sender's neurons directly,
        with the pooling inside: a convolution's kernel grows to ``k * pool``
        with each weight repeated over a ``pool`` x ``pool`` block, at stride
        ``pool``; a dense layer's weights repeat over each block, zero on the
        edge the pooling drops. The same integer sums, with no pooling step
        (what netx runs: lava-dl's netx builds no pool blocks)."""
        p = self.pool
        if p == 1:
            return weights, 1
        if self.conv:
            return np.repeat(np.repeat(weights, p, axis=2), p, axis=3), p
        c, h, w = self.in_shape
        ph, pw = h // p, w // p
        full = np.zeros((len(weights), c, h, w), weights.dtype)
        full[:, :, :ph * p, :pw * p] = np.repeat(np.repeat(weights.reshape(-1, c, ph, pw), p, axis=2), p, axis=3)
        return full.reshape(len(weights), -1), 1

    def unfold(self, folded: np.ndarray, stride: int = 1) -> np.ndarray | None:
        """The inverse of :meth:`fold`: the weights of this synapse, or
        ``None`` where ``folded`` (at ``stride``) is not a fold of any."""
        p = self.pool
        if p == 1:
            return folded if stride == 1 and tuple(folded.shape) == self.weight_shape else None
        if self.conv:
            co, ci, k, _ = self.weight_shape
            if stride != p or folded.shape != (co, ci, k * p, k * p):
                return None
            weights = folded[:, :, ::p, ::p]
        else:
            c, h, w = self.in_shape
            if stride != 1 or folded.shape != (self.weight_shape[0], c * h * w):
                return None
            weights = folded.reshape(-1, c, h, w)[:, :, :(h // p) * p:p, :(w // p) * p:p].reshape(self.weight_shape)
        return weights if np.array_equal(self.fold(weights)[0], folded) else None
