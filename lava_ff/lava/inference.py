"""An FF network as Lava Processes, and fast batch inference in the simulator.

``build_lava_network(spec, data)`` wires :class:`FFInput` -> :class:`FFLayer`
x L -> :class:`FFReadout`. The input streams every sample with all candidate
labels (and the neutral label) side by side, so one window of
``time_steps`` steps classifies one sample by goodness *and* by the linear
readout. Nothing is set per sample; the predictions are read once at the end.
With ``views`` > 1 every sample is shown as its first ``views`` views
(:mod:`lava_ff.core.inputs`), one window each, and the readouts sum each
column's scores over them.
A network whose readout was learned on chip (``spec.onchip_readout``) gets a
second :class:`FFReadout` with it (:func:`attach_readouts`, which the netx
network uses too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lava_ff.core.inputs import check_views, prepare_inputs, view_rows
from lava_ff.core.spec import NetworkSpec
from lava_ff.lava.runtime import lava_session

__all__ = [
    'TAGS', 'LavaFFNetwork', 'attach_readouts', 'spec_views', 'onchip_predictions', 'build_lava_network',
    'run_lava_inference',
]


TAGS = ("floating_pt", "fixed_pt")


@dataclass
class LavaFFNetwork:
    spec: NetworkSpec
    input: object
    layers: list
    readout: object
    num_samples: int
    build_seconds: float = 0.0
    onchip_readout: object = None  # FFReadout of the readout learned on chip, if the spec has one
    views: int = 1  # windows per sample, one per view
    batch: int = 1  # samples (views) side by side in one window

    @property
    def windows(self) -> int:
        """Presentation windows that classify every sample: its views, ``batch`` to a window."""
        return -(-self.num_samples * self.views // self.batch)


def attach_readouts(spec: NetworkSpec, senders: list, *, linear: bool, onchip: bool = True,
                    first: dict | None = None, **kwargs) -> tuple[object, object | None]:
    """:class:`FFReadout` on the ``g_out``/``r_out`` ports of ``senders`` (the
    FF layers, or netx's goodness monitors): one with the spec's linear
    readout (``linear``; goodness only otherwise) and, where the spec has a
    readout learned on chip and ``onchip`` (the neutral window runs), a second with that one
    (:func:`lava_ff.core.rule.onchip_readout_linear`). ``kwargs`` go to
    both, ``first`` to the first only. Returns ``(readout, onchip_readout or None)``."""
    from lava_ff.processes.ff_readout.process import FFReadout

    cfg = spec.config

    def attach(weight, bias, **extra):
        readout = FFReadout(num_classes=cfg.num_classes, num_layers=len(spec.weights), time_steps=cfg.time_steps,
                            layer_scales=spec.goodness_scales(fixed=False), readout_weight=weight,
                            readout_bias=bias, loss=cfg.loss, theta=cfg.theta, alpha=cfg.symba_alpha,
                            **kwargs, **extra)
        for sender in senders:
            sender.g_out.connect(readout.g_in)
            if weight is not None:
                sender.r_out.connect(readout.r_in)
        return readout

    readout = attach(spec.readout_weight if linear else None, spec.readout_bias if linear else None,
                     **(first or {}))
    if spec.onchip_readout is None or not onchip:
        return readout, None
    from lava_ff.core.rule import onchip_readout_linear

    return readout, attach(*onchip_readout_linear(spec.onchip_readout, spec.onchip_readout_scale))


def spec_views(spec: NetworkSpec, views: int | None, image_shape) -> tuple[int, tuple | None]:
    """``(views, image_shape)`` to run ``spec`` with: the arguments, else the spec's own."""
    views = check_views(spec.views if views is None else views)
    return views, spec.image_shape if image_shape is None else image_shape


def onchip_predictions(readout) -> np.ndarray:
    """The readout and combined columns ``[N, 2]`` of an on-chip readout's :class:`FFReadout`."""
    return np.asarray(readout.predictions.get(), dtype=np.int64)[:, 2:]


def build_lava_network(spec: NetworkSpec, data: np.ndarray, *, classify: str = "combined",
                       record_scores: bool = False, views: int | None = None,
                       image_shape: tuple | None = None, batch: int = 1) -> LavaFFNetwork:
    """Processes for classifying ``data`` (intensities ``[N, F]`` or spikes
    ``[N, F, T]``) by ``classify`` (:class:`lava_ff.core.config.Classify`:
    ``readout`` runs one copy, the neutral label's; ``goodness`` one per
    candidate label; ``combined`` both); with ``views`` > 1, by the sum over
    every image's first ``views`` views (images of ``image_shape``,
    intensities only). Both default to the spec's (:attr:`NetworkSpec.views`).
    ``batch`` images (views) run side by side in every window, each with
    its copies: the same spikes and predictions, fewer Lava steps."""
    from lava_ff.processes.ff_input.process import FFInput
    from lava_ff.processes.ff_layer.process import FFLayer

    start = time.perf_counter()
    cfg = spec.config
    spec.check_runs_in("Lava inference", classify, conv=True)
    features = prepare_inputs(data, cfg)
    if features.shape[1] != cfg.in_features:
        raise ValueError(f"data has {features.shape[1]} features per sample, the network expects "
                         f"{cfg.in_features}")
    views, image_shape = spec_views(spec, views, image_shape)
    mode = spec.classify_mode(classify)
    num_samples = len(features)
    input_mode, neutral = mode.input_mode
    source = FFInput(data=view_rows(features, image_shape, views), num_classes=cfg.num_classes,
                     time_steps=cfg.time_steps, mode=input_mode, neutral=neutral, overlay=cfg.overlay,
                     label_scale=cfg.label_scale, label_repeat=cfg.label_repeat, encoding=cfg.encoding,
                     seed=cfg.seed, batch=batch)
    copies = source.copies
    offsets, width = cfg.readout_offsets, cfg.readout_features
    use_readout = mode.neutral and spec.readout_weight is not None
    features_sent = mode.neutral and (use_readout or spec.onchip_readout is not None)
    num_layers = len(spec.weights)
    layers, previous = [], source.s_out
    for i, (w, neuron) in enumerate(zip(spec.weights, spec.neurons, strict=True)):
        layer = FFLayer(weights=w, neuron=neuron, time_steps=cfg.time_steps, copies=copies * batch, batch=batch,
                        goodness=cfg.goodness, layer_index=i, num_layers=num_layers,
                        readout_offset=offsets.get(i) if features_sent else None,
                        readout_width=max(width, 1), neutral_copy=copies - 1, in_shape=cfg.input_of(i).shape,
                        pool=cfg.input_of(i).pool, name=f"ff_layer_{i}")
        previous.connect(layer.s_in)
        layers.append(layer)
        previous = layer.s_out
    readout, onchip = attach_readouts(spec, layers, linear=use_readout, onchip=mode.neutral,
                                      num_samples=num_samples, copies=copies * batch, batch=batch,
                                      layer_scales_fixed=spec.goodness_scales(fixed=True), views=views,
                                      first={"record_scores": record_scores})
    return LavaFFNetwork(spec, source, layers, readout, num_samples,
                         build_seconds=time.perf_counter() - start, onchip_readout=onchip, views=views, batch=batch)


def run_lava_inference(net: LavaFFNetwork, select_tag: str = "fixed_pt", *, samples_per_run: int = 100,
                       progress: bool = True, timeout: float | None = None) -> dict:
    """Run every sample through the Lava network; always stops it.

    Returns ``predictions`` ``[N, 4]`` (goodness, goodness skipping layer 0,
    readout, combined; see :class:`FFReadout`), ``onchip_predictions`` ``[N, 2]``
    for a readout learned on chip, ``scores`` if recorded, the start-up
    time (compile + spawn + the first window) and samples/s of the rest.
    """
    from lava.magma.core.run_configs import Loihi2SimCfg

    if select_tag not in TAGS:
        raise ValueError(f"unknown select_tag {select_tag!r}; valid: {', '.join(TAGS)}")
    steps = net.spec.config.time_steps
    windows = net.windows
    out = {}
    start = time.perf_counter()
    with lava_session(net.readout, Loihi2SimCfg(select_tag=select_tag), timeout=timeout) as session:
        session.run(steps)  # compile, spawn and the first window
        out["startup_seconds"] = time.perf_counter() - start + net.build_seconds
        run_start = time.perf_counter()
        session.run_samples(windows - 1, steps, samples_per_run=max(1, samples_per_run * net.views // net.batch),
                            progress=progress, desc=f"lava {select_tag}", initial=1, unit="window")
        run_seconds = time.perf_counter() - run_start
        out["predictions"] = np.asarray(net.readout.predictions.get(), dtype=np.int64)
        if net.onchip_readout is not None:
            out["onchip_predictions"] = onchip_predictions(net.onchip_readout)
        if net.readout.proc_params["record_scores"]:
            out["scores"] = np.asarray(net.readout.scores.get(), dtype=np.float64)
    out["run_seconds"] = run_seconds
    first = net.batch / net.views  # samples the first window classified
    out["samples_per_second"] = (net.num_samples - first) / run_seconds if windows > 1 else float("nan")
    out["total_seconds"] = time.perf_counter() - start + net.build_seconds
    return out
