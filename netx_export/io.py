"""Export lava-ff networks as netx HDF5 files and load netx files back.

``export(model, path)`` is pure (``model -> NetworkSpec -> HDF5``) and
atomic (a temporary file in the target folder, then ``os.replace``).
``load(path)`` reads our files and dense CUBA networks exported by lava-dl
slayer, and refuses anything else with the layer index and type named.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from lava_ff.netx_export import schema

from lava_ff.core.config import FFConfig
from lava_ff.core.errors import NetxFormatError
from lava_ff.core.fileio import atomic_path
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.neuron import FixedNeuronParams, dequantize_neuron
from lava_ff.core.spec import NetworkSpec

__all__ = ["NetxFormatError", "export", "load"]


def _write_str(group, key: str, value: str) -> None:
    # slayer's layout: a (1,) fixed-length byte string
    group.create_dataset(key, (1,), "S10", [value.encode("ascii")])


def _as_spec(model) -> NetworkSpec:
    if isinstance(model, NetworkSpec):
        return model
    if hasattr(model, "layers") and hasattr(model, "config"):
        return NetworkSpec.from_torch(model)
    raise TypeError(f"export needs an FFNetwork or a NetworkSpec, got {type(model).__name__}")


def export(model, path) -> Path:
    """Write ``model`` (an offline :class:`FFNetwork` or a :class:`NetworkSpec`,
    e.g. from on-chip training) as a netx HDF5 file. Never mutates the model."""
    import h5py

    spec = _as_spec(model)
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            layers = f.create_group(schema.LAYER)
            for i, (w, neuron) in enumerate(zip(spec.weights, spec.neurons, strict=True)):
                g = layers.create_group(str(i))
                _write_str(g, schema.TYPE, schema.DENSE)
                g.create_dataset(schema.SHAPE, data=np.array([w.shape[0]], dtype=np.int64))
                g.create_dataset(schema.WEIGHT, data=np.asarray(w, dtype=np.int32))
                n = g.create_group(schema.NEURON)
                _write_str(n, schema.NEURON_TYPE, schema.CUBA)
                n.create_dataset(schema.I_DECAY, data=neuron.i_decay)
                n.create_dataset(schema.V_DECAY, data=neuron.v_decay)
                n.create_dataset(schema.VTH_MANT, data=neuron.vth)
                n.create_dataset(schema.REF_DELAY, data=1)
                n.create_dataset(schema.GRADED_SPIKE, data=False)
            ff = f.create_group(schema.FF_GROUP)
            ff.create_dataset(schema.FF_FORMAT, data=schema.FF_FORMAT_NAME)
            ff.create_dataset(schema.FF_VERSION, data=schema.FF_FORMAT_VERSION)
            ff.create_dataset(schema.FF_CONFIG, data=json.dumps(spec.config.to_dict()))
            if spec.readout_weight is not None:
                ff.create_dataset(schema.FF_READOUT_WEIGHT, data=spec.readout_weight)
                ff.create_dataset(schema.FF_READOUT_BIAS, data=spec.readout_bias)
            if spec.onchip_readout is not None:
                ff.create_dataset(schema.FF_ONCHIP_READOUT_WEIGHT, data=np.asarray(spec.onchip_readout, np.int32))
                ff.create_dataset(schema.FF_ONCHIP_READOUT_SCALE, data=float(spec.onchip_readout_scale))
            if spec.image_shape is not None:
                ff.create_dataset(schema.FF_VIEWS, data=spec.views)
                ff.create_dataset(schema.FF_IMAGE_SHAPE, data=np.asarray(spec.image_shape, np.int64))
    return path


def _text(dataset) -> str:
    value = dataset[()]
    if isinstance(value, np.ndarray):
        value = value.ravel()[0]
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _scalar(group, key: str, where: str):
    if key not in group:
        raise NetxFormatError(f"{where}: missing neuron/{key}")
    return np.asarray(group[key][()]).ravel()[0]


def _layer_weights(g, i: int, path: Path) -> np.ndarray:
    where = f"{path}: layer {i}"
    if schema.WEIGHT not in g:
        raise NetxFormatError(f"{where} (dense) has no weight dataset")
    w = np.asarray(g[schema.WEIGHT][()])
    size = int(np.prod(np.asarray(g[schema.SHAPE][()]))) if schema.SHAPE in g else w.shape[0]
    if w.ndim == 1:
        w = w.reshape(size, -1)
    if w.ndim != 2 or w.shape[0] != size:
        raise NetxFormatError(f"{where}: weight shape {w.shape} does not match its shape {size}")
    if not np.all(np.isfinite(w)):
        raise NetxFormatError(f"{where}: weights contain NaN or inf")
    if not np.array_equal(w, np.round(w)):
        raise NetxFormatError(f"{where}: weights must be integers (netx would truncate, e.g. "
                              f"{float(w[w != np.round(w)][0])})")
    w = w.astype(np.int64)
    lo, hi = int(w.min()), int(w.max())
    if lo < LOIHI2.weight_min or hi > LOIHI2.weight_max:
        raise NetxFormatError(f"{where}: weights [{lo}, {hi}] do not fit 8 bits "
                              f"[{LOIHI2.weight_min}, {LOIHI2.weight_max}]")
    if np.any(w % LOIHI2.weight_step):
        raise NetxFormatError(f"{where}: odd weights; Loihi's mixed-sign 8-bit weights are even integers")
    for key in (schema.BIAS, schema.DELAY):
        if key in g and np.any(np.asarray(g[key][()]) != 0):
            raise NetxFormatError(f"{where}: non-zero {key} is not supported by lava-ff's FF layers")
    return w


def _layer_neuron(g, i: int, path: Path) -> FixedNeuronParams:
    where = f"{path}: layer {i}"
    if schema.NEURON not in g:
        raise NetxFormatError(f"{where}: dense layer without neuron parameters")
    n = g[schema.NEURON]
    kind = _text(n[schema.NEURON_TYPE]) if schema.NEURON_TYPE in n else "?"
    if kind != schema.CUBA:
        raise NetxFormatError(f"{where}: neuron type {kind!r}; lava-ff runs CUBA neurons only")
    if schema.GRADED_SPIKE in n and bool(_scalar(n, schema.GRADED_SPIKE, where)):
        raise NetxFormatError(f"{where}: graded spikes are not supported")
    try:
        return FixedNeuronParams(vth=int(_scalar(n, schema.VTH_MANT, where)),
                                 i_decay=int(_scalar(n, schema.I_DECAY, where)),
                                 v_decay=int(_scalar(n, schema.V_DECAY, where)))
    except ValueError as err:
        raise NetxFormatError(f"{where}: {err}") from None


def load(path, *, num_classes: int = 10, time_steps: int = 10, overlay: str = "first_pixels",
         theta: float | None = None) -> NetworkSpec:
    """Read a netx HDF5 network into a :class:`NetworkSpec`.

    Files written by :func:`export` carry their FF configuration. For other
    netx files (e.g. a lava-dl slayer export of dense CUBA blocks) the FF
    settings come from the keyword arguments; ``overlay='first_pixels'``
    keeps the network's input width.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such netx file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise NetxFormatError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {err}") from None
    with f:
        try:
            return _read(f, path, num_classes, time_steps, overlay, theta)
        except (KeyError, OSError, TypeError) as err:
            raise NetxFormatError(f"{path}: damaged netx file ({type(err).__name__}: {err})") from None


def _read(f, path: Path, num_classes, time_steps, overlay, theta) -> NetworkSpec:
    if schema.LAYER not in f:
        raise NetxFormatError(f"{path}: not a netx network: no '{schema.LAYER}' group "
                              f"(top-level keys: {sorted(f.keys())})")
    group = f[schema.LAYER]
    names = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    if names != [str(i) for i in range(len(names))]:
        raise NetxFormatError(f"{path}: layer names must be 0..N-1, got {names}")
    weights, neurons = [], []
    for i, name in enumerate(names):
        g = group[name]
        kind = _text(g[schema.TYPE]) if schema.TYPE in g else "?"
        if kind in schema.NETX_UNSUPPORTED:
            raise NetxFormatError(f"{path}: layer {i} has type {kind!r}, which netx cannot run")
        if kind not in schema.FF_LOADABLE:
            raise NetxFormatError(f"{path}: layer {i} has type {kind!r}; lava-ff loads "
                                  f"{', '.join(schema.FF_LOADABLE)} layers (dense CUBA networks)")
        if kind != schema.DENSE:
            continue
        w = _layer_weights(g, i, path)
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise NetxFormatError(f"{path}: layer {i} expects {w.shape[1]} inputs but the previous "
                                  f"dense layer has {weights[-1].shape[0]} neurons")
        weights.append(w)
        neurons.append(_layer_neuron(g, i, path))
    if not weights:
        raise NetxFormatError(f"{path}: no dense layers")
    readout_weight = readout_bias = onchip_readout = onchip_scale = image_shape = None
    views = 1
    if schema.FF_GROUP in f:
        ff = f[schema.FF_GROUP]
        fmt = _text(ff[schema.FF_FORMAT]) if schema.FF_FORMAT in ff else "?"
        version = int(np.asarray(ff[schema.FF_VERSION][()])) if schema.FF_VERSION in ff else -1
        if fmt != schema.FF_FORMAT_NAME or version != schema.FF_FORMAT_VERSION:
            raise NetxFormatError(f"{path}: unknown lava_ff metadata {fmt!r} version {version}")
        config = FFConfig.from_dict(json.loads(_text(ff[schema.FF_CONFIG])))
        if schema.FF_READOUT_WEIGHT in ff:
            readout_weight = np.asarray(ff[schema.FF_READOUT_WEIGHT][()], np.float64)
            readout_bias = np.asarray(ff[schema.FF_READOUT_BIAS][()], np.float64)
        if schema.FF_ONCHIP_READOUT_WEIGHT in ff:
            onchip_readout = np.asarray(ff[schema.FF_ONCHIP_READOUT_WEIGHT][()])
            onchip_scale = np.asarray(ff[schema.FF_ONCHIP_READOUT_SCALE][()]).item() \
                if schema.FF_ONCHIP_READOUT_SCALE in ff else None
        if schema.FF_VIEWS in ff:
            views = np.asarray(ff[schema.FF_VIEWS][()]).item()
            image_shape = tuple(np.asarray(ff[schema.FF_IMAGE_SHAPE][()]).tolist()) \
                if schema.FF_IMAGE_SHAPE in ff else None
    else:
        fan_in = weights[0].shape[1]
        if overlay == "label_neurons" and fan_in <= num_classes:
            raise NetxFormatError(f"{path}: {fan_in} inputs leave no room for {num_classes} label neurons")
        config = FFConfig(
            in_features=fan_in - (num_classes if overlay == "label_neurons" else 0),
            layer_sizes=tuple(w.shape[0] for w in weights), num_classes=num_classes,
            time_steps=time_steps, overlay=overlay,
            neuron=dequantize_neuron(neurons[0]),
            theta=theta if theta is not None else 0.05 * weights[0].shape[0])
    try:
        return NetworkSpec(config=config, weights=tuple(weights), neurons=tuple(neurons),
                           readout_weight=readout_weight, readout_bias=readout_bias,
                           onchip_readout=onchip_readout, onchip_readout_scale=onchip_scale, views=views,
                           image_shape=image_shape)
    except ValueError as err:  # what the spec refuses, e.g. a damaged on-chip readout
        raise NetxFormatError(f"{path}: {err}") from None
