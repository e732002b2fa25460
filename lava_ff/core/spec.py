"""A trained FF network as plain numpy: what Lava, netx and the numpy
reference consume. Pure: building a spec never mutates the model.

``NetworkSpec`` holds the integer weights (Loihi's 8-bit grid), the integer
neuron parameters, the float linear readout and the :class:`FFConfig` that
says how inputs are encoded and labels overlaid; a network whose readout
learned on views (:mod:`lava_ff.core.inputs`) also says how many views it sums
and the shape of its images, so Lava and netx classify it as it was measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_ff.core.checks import check_positive_float
from lava_ff.core.config import Classify, FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.goodness import goodness, goodness_scale, group_scores
from lava_ff.core.inputs import check_image_rows, check_views, overlay_encoded
from lava_ff.core.layers import Synapse, conv_current, pool_spikes
from lava_ff.core.loihi import check_integer_weights
from lava_ff.core.neuron import FixedNeuronParams, cuba_forward_fixed, dense_cuba_forward_fixed, quantize_neuron

__all__ = ['NetworkSpec']



@dataclass(frozen=True)
class NetworkSpec:
    config: FFConfig
    weights: tuple[np.ndarray, ...]  # integer [out, in] per layer
    neurons: tuple[FixedNeuronParams, ...]
    readout_weight: np.ndarray | None = None  # float [classes, features]
    readout_bias: np.ndarray | None = None
    #: a readout learned on chip (``lava-ff train --onchip-readout-epochs``): its deployable
    #: integer weights [classes, readout features] and the logit scale it learned with
    onchip_readout: np.ndarray | None = None
    onchip_readout_scale: float | None = None
    #: views summed per sample at inference (:mod:`lava_ff.core.inputs`) and the (height, width) they move
    views: int = 1
    image_shape: tuple[int, int] | None = None

    def __post_init__(self):
        if len(self.weights) != len(self.config.layer_sizes) or len(self.neurons) != len(self.weights):
            raise ValueError(f"{len(self.weights)} weight matrices and {len(self.neurons)} neuron "
                             f"parameter sets for {len(self.config.layer_sizes)} layers")
        checked = []
        for i, w in enumerate(self.weights):
            checked.append(check_integer_weights(w, f"layer {i} weights", self.config.synapse(i).weight_shape))
        object.__setattr__(self, "weights", tuple(checked))
        if (self.onchip_readout is None) != (self.onchip_readout_scale is None):
            raise ValueError("an on-chip readout needs both its weights and its logit scale, got "
                             f"{'weights' if self.onchip_readout is not None else 'a scale'} only")
        if self.onchip_readout is not None:
            cfg = self.config
            object.__setattr__(self, "onchip_readout", check_integer_weights(
                self.onchip_readout, "on-chip readout weights", (cfg.num_classes, cfg.readout_features)))
            object.__setattr__(self, "onchip_readout_scale",
                               check_positive_float("on-chip readout logit scale", self.onchip_readout_scale))
        object.__setattr__(self, "views", check_views(self.views))
        if self.image_shape is not None or self.views > 1:
            shape = check_image_rows(self.config.in_features, self.image_shape, f"a network on {self.views} views")
            object.__setattr__(self, "image_shape", shape)

    def synapse(self, index: int) -> Synapse:
        """Layer ``index``'s :class:`lava_ff.core.layers.Synapse` (:meth:`FFConfig.synapse`)."""
        return self.config.synapse(index)

    @classmethod
    def from_torch(cls, net) -> NetworkSpec:
        """Snapshot an offline :class:`lava_ff.offline.model.FFNetwork` (copies, never mutates)."""
        weights = tuple(layer.integer_weight() for layer in net.layers)
        neuron = quantize_neuron(net.config.neuron)
        readout = net.readout
        return cls(config=net.config, weights=weights, neurons=(neuron,) * len(weights),
                   readout_weight=readout.weight.detach().cpu().numpy().astype(np.float64),
                   readout_bias=readout.bias.detach().cpu().numpy().astype(np.float64))

    def classify_mode(self, classify: str) -> Classify:
        """The classification mode ``classify`` for this network, refused
        where it has nothing to classify by that way: ``readout`` needs a
        linear readout (learned offline or on chip)."""
        mode = Classify(classify, self.config.num_classes)
        if mode.mode == "readout" and self.readout_weight is None and self.onchip_readout is None:
            raise ConfigError("classify='readout' needs a linear readout, and this network has none "
                              "(train it with one, or classify by 'goodness')")
        return mode

    def check_runs_in(self, where: str, classify: str | None = None, *, conv: bool = False) -> None:
        """A ConfigError, before any work, where ``where`` (a Lava backend, an
        export format) cannot take this network: convolutions where it does
        not run them (``conv``), and a network with class groups
        (``overlay='groups'``) classified by anything but its readout."""
        cfg = self.config
        if cfg.conv and not conv:
            raise ConfigError(f"layer 0 ({cfg.conv[0]}) is a convolution; {where} takes dense layers only "
                              "(run a convolutional network with backend torch)")
        if cfg.overlay == "groups" and classify is not None and classify != "readout":
            raise ConfigError(f"classify={classify!r}: {where} scores goodness per label window, and this "
                              "network scores every class by a group of its neurons in one window "
                              "(classify by 'readout', or run it with backend torch)")

    def goodness_scales(self, *, fixed: bool) -> list[float]:
        """Per layer, the factor from raw to :func:`lava_ff.core.goodness.goodness` units."""
        cfg = self.config
        return [goodness_scale(cfg.goodness, w.shape[0], cfg.time_steps, fixed=fixed, vth=n.vth)
                for w, n in zip(self.weights, self.neurons, strict=True)]

    # ------------------------------------------------------- numpy reference
    def encode(self, x: np.ndarray, labels: np.ndarray | None,
               rng: np.random.Generator | None = None) -> np.ndarray:
        cfg = self.config
        return overlay_encoded(x, labels, cfg.num_classes, cfg.time_steps, cfg.encoding, rng,
                               scheme=cfg.overlay, label_scale=cfg.label_scale, label_repeat=cfg.label_repeat)

    def forward_fixed(self, spikes_in: np.ndarray) -> list[np.ndarray]:
        """Integer spikes of every layer, ``[B, N, T]`` each (no synaptic delay)."""
        out, cfg = [], self.config
        for i, (w, neuron) in enumerate(zip(self.weights, self.neurons, strict=True)):
            if w.ndim == 4:
                spikes = cuba_forward_fixed(conv_current(w, spikes_in.astype(np.int64), cfg.input_of(i).pooled),
                                            neuron)
            else:
                spikes = dense_cuba_forward_fixed(w, spikes_in, neuron)
            out.append(spikes)
            shape = cfg.shapes[i]
            spikes_in = pool_spikes(spikes, shape.shape, shape.pool)
        return out

    def label_scores_fixed(self, x: np.ndarray) -> np.ndarray:
        """Per-layer goodness for every candidate label ``[L, B, C]`` (rate goodness)."""
        cfg = self.config
        batch, classes = len(x), cfg.num_classes
        if cfg.overlay == "groups":
            layers = self.forward_fixed(self.encode(np.asarray(x, np.float32), None))
            return np.stack([group_scores(s.sum(-1), shape, classes, cfg.goodness, cfg.time_steps)
                             for s, shape in zip(layers, cfg.shapes, strict=True)])
        repeated = np.repeat(np.asarray(x, np.float32), classes, axis=0)
        layers = self.forward_fixed(self.encode(repeated, np.tile(np.arange(classes), batch)))
        return np.stack([goodness(s, cfg.goodness) for s in layers]).reshape(-1, batch, classes)
