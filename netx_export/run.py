"""Classify with a netx HDF5 network in Lava, the lava-ff goodness readout attached.

A netx ``hdf5.Network`` runs one copy of the network, so the input sends
each sample's candidate labels (and the neutral label) one window after
another; netx resets every layer's neurons every ``time_steps`` steps,
phase-shifted by one step per Dense layer (its synaptic delay). A
:class:`FFGoodnessMonitor` on every layer's spikes turns windows into
goodness, and :class:`FFReadout` classifies. A network whose readout was
learned on chip gets a second :class:`FFReadout` with that readout, on the
same monitors' messages. With ``views`` > 1 every sample is shown as its
first ``views`` views (:mod:`lava_ff.core.inputs`), one after another, and the
readouts sum each column's scores over them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from lava_ff.netx_export.io import has_classifier, load

from lava_ff.core.config import PREDICTION_COLUMNS
from lava_ff.core.imports import quiet_import
from lava_ff.core.inputs import prepare_inputs, view_rows
from lava_ff.core.spec import NetworkSpec
from lava_ff.lava.inference import attach_readouts, onchip_predictions, spec_views
from lava_ff.lava.runtime import lava_session

__all__ = ["NetxFFNetwork", "build_netx_network", "run_netx_inference", "run_config"]


@dataclass
class NetxFFNetwork:
    spec: NetworkSpec
    netx: object
    input: object
    monitors: list
    readout: object
    num_samples: int
    steps_per_sample: int
    latency: int
    onchip_readout: object = None  # FFReadout of the readout learned on chip, if the file has one
    class_reader: object = None  # FFClassReader of the file's own classifier layer, if it has one


def run_config(backend: str):
    """Lava run configuration for a netx network: ``fixed_pt`` (simulator) or ``loihi2``."""
    from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg

    if backend == "fixed_pt":
        return Loihi2SimCfg(select_tag=backend)
    if backend == "floating_pt":
        raise ValueError("netx's hdf5.Network has fixed_pt models only (its Dense/LIF blocks are "
                         "integer); for floating_pt use lava-ff's own Processes (--backend lava-float)")
    if backend == "loihi2":
        from lava.utils import loihi

        if not loihi.is_installed():
            raise RuntimeError(
                "--backend loihi2 needs Intel's lava-loihi extension (lava.utils.loihi.is_installed() "
                "is False here) and access to a Loihi 2 system (Intel's INRC cloud). Without it, "
                "run the same network in the simulator with --backend lava-fixed, which is "
                "bit-accurate with Loihi 2's integer dynamics."
            )
        return Loihi2HwCfg()
    raise ValueError(f"unknown backend {backend!r}; valid: fixed_pt, loihi2")


def build_netx_network(path, data: np.ndarray, *, spec: NetworkSpec | None = None,
                       expected_spikes: list | None = None, views: int | None = None,
                       image_shape: tuple | None = None, classify: str = "combined",
                       host: bool | None = None) -> NetxFFNetwork:
    """netx network from ``path`` + lava-ff input, monitors and readout for
    ``data``, classifying by ``classify`` (:class:`lava_ff.core.config.Classify`:
    ``readout`` runs one window per image, the neutral label's; ``goodness``
    one per candidate label; ``combined`` both).

    ``expected_spikes``: per layer, bool ``[windows, T, N]`` to compare spike
    for spike (see :class:`FFGoodnessMonitor`). ``views`` > 1: classify by
    the sum over every image's first ``views`` views (images of
    ``image_shape``); both default to the file's (:attr:`NetworkSpec.views`).

    ``host``: attach lava-ff's monitors and readout to the layers' spikes.
    A file with the classifier inside (``export(classifier=True)``) needs
    none to classify by readout: by default it then runs as a deployment
    does, the input, the netx network and a :class:`FFClassReader` of its
    output neurons (unless ``expected_spikes`` or an on-chip readout asks
    for the monitors).
    """
    import lava_ff.processes  # noqa: F401  (before netx: Lava chooses its start method first)
    netx = quiet_import("lava.lib.dl.netx")
    from lava_ff.processes.ff_input.process import FFInput
    from lava_ff.processes.ff_monitor.process import FFGoodnessMonitor

    spec = load(path) if spec is None else spec
    cfg = spec.config
    spec.check_runs_in("netx inference", classify, conv=True)
    data = prepare_inputs(data, cfg)
    if data.shape[1] != cfg.in_features:
        raise ValueError(f"data has {data.shape[1]} features per sample, the network expects {cfg.in_features}")
    views, image_shape = spec_views(spec, views, image_shape)
    mode = spec.classify_mode(classify)
    input_mode, neutral = mode.input_mode
    num_samples = len(data)
    data = view_rows(data, image_shape, views)
    T = cfg.time_steps
    net = netx.hdf5.Network(net_config=str(path), reset_interval=T, reset_offset=1)
    classifier = has_classifier(path)
    if len(net.layers) != len(spec.weights) + classifier:
        raise ValueError(f"{path}: netx built {len(net.layers)} layers, the spec has {len(spec.weights)}"
                         + (" and the classifier" if classifier else ""))
    source = FFInput(data=data, num_classes=cfg.num_classes, time_steps=T, mode=input_mode, neutral=neutral,
                     overlay=cfg.overlay, label_scale=cfg.label_scale, label_repeat=cfg.label_repeat,
                     encoding=cfg.encoding, seed=cfg.seed, sequential=True)
    copies = source.copies
    if cfg.conv:  # lava-ff's images are (C, H, W) row-major; netx's convolutions read (W, H, C)
        source.s_out.reshape(cfg.image_shape).transpose([2, 1, 0]).connect(net.inp)
    else:
        source.s_out.reshape(net.inp.shape).connect(net.inp)
    num_layers = len(spec.weights)
    offsets, width = cfg.readout_offsets, cfg.readout_features
    use_readout = mode.neutral and spec.readout_weight is not None
    use_onchip = mode.neutral and spec.onchip_readout is not None
    if host is None:
        host = not (classifier and mode.mode == "readout" and expected_spikes is None and not use_onchip)
    if not (host or classifier and mode.mode == "readout"):
        raise ValueError("host=False classifies with the file's own output neurons: it needs a file exported "
                         "with classifier=True, classified by readout")
    monitors = []
    for i, layer in enumerate(net.layers[:num_layers] if host else []):
        spikes = layer.out if len(layer.out.shape) == 1 else \
            layer.out.transpose([2, 1, 0]).reshape((int(np.prod(layer.out.shape)),))  # a convolution's (W, H, C)
        monitor = FFGoodnessMonitor(
            shape=spikes.shape, time_steps=T, copies=copies, latency=1 + i, layer_index=i,
            num_layers=num_layers, goodness=cfg.goodness, hold=num_layers - 1 - i,
            readout_offset=offsets.get(i) if use_readout or use_onchip else None, readout_width=max(width, 1),
            neutral_copy=copies - 1,
            expected_spikes=None if expected_spikes is None else expected_spikes[i])
        spikes.connect(monitor.s_in)
        monitors.append(monitor)

    readout = onchip = reader = None
    if host:
        readout, onchip = attach_readouts(spec, monitors, linear=use_readout, onchip=use_onchip,
                                          num_samples=num_samples, copies=copies,
                                          period=T * copies, latency=num_layers, views=views)
    if classifier and mode.neutral:
        from lava_ff.processes.ff_class_reader.process import FFClassReader

        reader = FFClassReader(num_classes=cfg.num_classes, num_samples=num_samples, time_steps=T,
                               latency=num_layers + 1, copies=copies, neutral_copy=copies - 1, views=views)
        reader.v_in.connect_var(net.layers[-1].neuron.v)
    return NetxFFNetwork(spec, net, source, monitors, readout, num_samples, T * copies * views,
                         num_layers + classifier, onchip, reader)


def run_netx_inference(network: NetxFFNetwork, backend: str = "fixed_pt", *, samples_per_run: int = 50,
                       progress: bool = True, timeout: float | None = None) -> dict:
    """Run every sample; returns predictions ``[N, 4]`` (and ``onchip_predictions``
    ``[N, 2]``, readout and combined, for a readout learned on chip;
    ``classifier_predictions`` ``[N]``, what the file's own classifier layer
    says, for a file that has one; without lava-ff's host readout, the
    table's readout column is theirs), spike-check counts, the start-up
    time (compile, spawn and the first sample) and samples/s of the rest."""
    cfg = run_config(backend)
    out = {}
    start = time.perf_counter()
    root = network.readout if network.readout is not None else network.class_reader
    with lava_session(root, cfg, timeout=timeout) as session:
        first = min(1, network.num_samples - 1)  # a lone sample: its tail flushes the pipeline
        if first:
            session.run(network.steps_per_sample)
        out["startup_seconds"] = time.perf_counter() - start
        run_start = time.perf_counter()
        session.run_samples(network.num_samples - first, network.steps_per_sample, samples_per_run=samples_per_run,
                            tail_steps=network.latency, progress=progress, desc=f"netx {backend}", initial=first)
        run_seconds = time.perf_counter() - run_start
        out["host_readout"] = network.readout is not None
        if network.readout is not None:
            out["predictions"] = np.asarray(network.readout.predictions.get(), dtype=np.int64)
        else:
            out["predictions"] = np.full((network.num_samples, len(PREDICTION_COLUMNS)), -1, np.int64)
            out["predictions"][:, PREDICTION_COLUMNS.index("readout")] = network.class_reader.predictions.get()
        if network.onchip_readout is not None:
            out["onchip_predictions"] = onchip_predictions(network.onchip_readout)
        if network.class_reader is not None:
            out["classifier_predictions"] = np.asarray(network.class_reader.predictions.get(), dtype=np.int64)
        out["mismatches"] = [int(m.mismatches.get()[0]) for m in network.monitors]
        out["spikes_checked"] = [int(m.spikes_checked.get()[0]) for m in network.monitors]
        out["first_mismatch"] = [np.asarray(m.first_mismatch.get()).astype(int).tolist()
                                 for m in network.monitors]
    out["seconds"] = time.perf_counter() - start
    out["samples_per_second"] = (network.num_samples - first) / run_seconds if network.num_samples > 1 \
        else network.num_samples / out["seconds"]
    return out
