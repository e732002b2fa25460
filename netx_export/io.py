"""Export lava-ff networks as netx HDF5 files and load netx files back.

``export(model, path)`` is pure (``model -> NetworkSpec -> HDF5``) and
atomic (a temporary file in the target folder, then ``os.replace``).
``load(path)`` reads our files and dense CUBA networks exported by lava-dl
slayer, and refuses anything else with the layer index and type named.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from lava_ff.netx_export import schema

from lava_ff.core.config import FFConfig
from lava_ff.core.errors import ConfigError, NetxFormatError
from lava_ff.core.fileio import atomic_path
from lava_ff.core.goodness import quantize_classifier
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.neuron import FixedNeuronParams, dequantize_neuron
from lava_ff.core.spec import NetworkSpec

__all__ = ["NetxFormatError", "export", "load", "has_classifier", "check_classifier"]


def _write_str(group, key: str, value: str) -> None:
    # slayer's layout: a (1,) fixed-length byte string
    group.create_dataset(key, (1,), "S10", [value.encode("ascii")])


def content_digest(f) -> str:
    """SHA-256 of every dataset in the open HDF5 file ``f`` but the checksum
    itself: each dataset's path, dtype, shape and bytes, in path order. Any
    change to a weight, a neuron parameter, the configuration or a readout
    changes it; the HDF5 layout around them does not."""
    import h5py

    digest = hashlib.sha256()
    skip = f"{schema.FF_GROUP}/{schema.FF_CHECKSUM}"
    datasets = []
    f.visititems(lambda name, item: datasets.append(name) if isinstance(item, h5py.Dataset) else None)
    for name in sorted(datasets):
        if name == skip:
            continue
        value = np.asarray(f[name][()])
        if value.dtype == object:  # variable-length strings: their UTF-8 bytes
            value = np.asarray([v if isinstance(v, bytes) else str(v).encode() for v in value.ravel()])
        for part in (name, value.dtype.str, repr(value.shape)):
            digest.update(part.encode() + b"\0")
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def _as_spec(model) -> NetworkSpec:
    if isinstance(model, NetworkSpec):
        return model
    if hasattr(model, "layers") and hasattr(model, "config"):
        return NetworkSpec.from_torch(model)
    raise TypeError(f"export needs an FFNetwork or a NetworkSpec, got {type(model).__name__}")


#: the classifier layer's neurons (export(classifier=True)): the current decays fully every step,
#: the voltage never leaks, and the threshold is the largest 17-bit one, out of the voltage's reach
CLASSIFIER_NEURON = FixedNeuronParams(vth=(1 << LOIHI2.vth_bits) - 1, i_decay=LOIHI2.decay_unity, v_decay=0)


def check_classifier(spec: NetworkSpec, where: str = "classifier=True") -> None:
    """Refuse, naming why, a network whose readout cannot become the netx
    file's last layer: it needs a linear readout of the last layer alone."""
    cfg = spec.config
    if spec.readout_weight is None:
        raise ConfigError(f"{where}: the network has no linear readout to put into the file")
    if cfg.readout_layers != [len(cfg.layer_sizes) - 1]:
        raise ConfigError(
            f"{where}: the readout reads layers {[i + 1 for i in cfg.readout_layers]}, and netx runs its layers "
            f"one after another, so its output neurons see layer {len(cfg.layer_sizes)} alone. Learn a readout of "
            "the last layer: lava-ff export --classifier --readout-from last, or ff.fit_readout(model, data, "
            "readout_from='last'), or train with --readout-from last")


def _write_layer(layers, i: int, weight: np.ndarray, neuron: FixedNeuronParams, bias: np.ndarray | None = None,
                 *, shape: tuple | None = None, stride: int = 1):
    """Layer ``i``: dense (``weight`` [out, in]) or, with 4-D ``weight``, a
    convolution of output ``shape`` (channels, height, width) at ``stride``."""
    g = layers.create_group(str(i))
    conv = np.ndim(weight) == 4
    _write_str(g, schema.TYPE, schema.CONV if conv else schema.DENSE)
    g.create_dataset(schema.SHAPE, data=np.array(shape if conv else [weight.shape[0]], dtype=np.int64))
    g.create_dataset(schema.WEIGHT, data=np.asarray(weight, dtype=np.int32))
    if conv:
        for key, value in ((schema.STRIDE, stride), (schema.PADDING, 0), (schema.DILATION, 1)):
            g.create_dataset(key, data=np.array([value, value], dtype=np.int64))
        g.create_dataset(schema.GROUPS, data=1)
    if bias is not None:
        g.create_dataset(schema.BIAS, data=np.asarray(bias, dtype=np.int32))
    n = g.create_group(schema.NEURON)
    _write_str(n, schema.NEURON_TYPE, schema.CUBA)
    n.create_dataset(schema.I_DECAY, data=neuron.i_decay)
    n.create_dataset(schema.V_DECAY, data=neuron.v_decay)
    n.create_dataset(schema.VTH_MANT, data=neuron.vth)
    n.create_dataset(schema.REF_DELAY, data=1)
    n.create_dataset(schema.GRADED_SPIKE, data=False)


def export(model, path, *, classifier: bool = False) -> Path:
    """Write ``model`` (an offline :class:`FFNetwork` or a :class:`NetworkSpec`,
    e.g. from on-chip training) as a netx HDF5 file. Never mutates the model.

    ``classifier=True`` adds the linear readout as the file's last layer
    (:func:`lava_ff.core.goodness.quantize_classifier`): integer Dense
    synapses onto one integrating neuron per class, so netx alone
    classifies, by the output neuron with the highest voltage at the end of
    the window. The readout must read the last layer alone (:func:`check_classifier`)."""
    import h5py

    spec = _as_spec(model)
    meta = spec_metadata(spec)
    if classifier:
        check_classifier(spec)
        weight_int, bias_int, exponent = quantize_classifier(spec.readout_weight, spec.readout_bias,
                                                             spec.config.time_steps)
        for key in (schema.FF_READOUT_WEIGHT, schema.FF_READOUT_BIAS):  # the layer holds them
            meta.pop(key)
        meta[schema.FF_CLASSIFIER_EXPONENT] = exponent
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            layers = f.create_group(schema.LAYER)
            index = 0
            if spec.config.conv:  # netx takes a convolution's input shape from an input layer
                g = layers.create_group(str(index))
                _write_str(g, schema.TYPE, schema.INPUT)
                g.create_dataset(schema.SHAPE, data=np.array(spec.config.image_shape, dtype=np.int64))
                index += 1
            shapes = spec.config.shapes
            for i, (w, neuron) in enumerate(zip(spec.weights, spec.neurons, strict=True)):
                if w.ndim == 2 and i and spec.weights[i - 1].ndim == 4:  # netx flattens (W, H, C) to (C, H, W)
                    _write_str(layers.create_group(str(index)), schema.TYPE, schema.FLATTEN)
                    index += 1
                folded, stride = spec.synapse(i).fold(w)
                _write_layer(layers, index, folded, neuron, shape=shapes[i].shape, stride=stride)
                index += 1
            if classifier:
                _write_layer(layers, index, weight_int, CLASSIFIER_NEURON, bias_int)
            ff = f.create_group(schema.FF_GROUP)
            ff.create_dataset(schema.FF_FORMAT, data=schema.FF_FORMAT_NAME)
            ff.create_dataset(schema.FF_VERSION, data=schema.FF_FORMAT_VERSION)
            for key, value in meta.items():
                ff.create_dataset(key, data=value)
            ff.create_dataset(schema.FF_CHECKSUM, data=content_digest(f))
    return path


def has_classifier(path) -> bool:
    """Whether the netx file ``path`` ends in the classifier layer (:func:`export` with ``classifier=True``)."""
    import h5py

    with h5py.File(path, "r") as f:
        return schema.FF_GROUP in f and schema.FF_CLASSIFIER_EXPONENT in f[schema.FF_GROUP]


def _text(dataset) -> str:
    value = dataset[()]
    if isinstance(value, np.ndarray):
        value = value.ravel()[0]
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _scalar(group, key: str, where: str):
    if key not in group:
        raise NetxFormatError(f"{where}: missing neuron/{key}")
    return np.asarray(group[key][()]).ravel()[0]


def _integer(group, key: str, where: str) -> int:
    """An integral scalar (int, bool or a float with no fraction); anything else is named."""
    value = _scalar(group, key, where)
    if not isinstance(value, (np.integer, np.floating, np.bool_, int, float)) or not np.isfinite(value) \
            or value != np.round(value):
        raise NetxFormatError(f"{where}: neuron/{key} must be an integer, got {value!r}")
    return int(value)


def _layer_weights(g, i: int, path: Path, *, bias: bool = False, conv: bool = False) -> np.ndarray:
    where = f"{path}: layer {i}"
    if schema.WEIGHT not in g:
        raise NetxFormatError(f"{where} ({'conv' if conv else 'dense'}) has no weight dataset")
    w = np.asarray(g[schema.WEIGHT][()])
    if conv:
        if w.ndim == 5 and w.shape[-1] == 1:  # slayer's [out, in, k, k, 1]
            w = w[..., 0]
        if w.ndim != 4:
            raise NetxFormatError(f"{where}: conv weight shape {w.shape} is not [out, in, k, k]")
    else:
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
    for key in (schema.DELAY,) if bias else (schema.BIAS, schema.DELAY):
        if key in g and np.any(np.asarray(g[key][()]) != 0):
            raise NetxFormatError(f"{where}: non-zero {key} is not supported by lava-ff's FF layers")
    return w


def _conv_stride(g, i: int, path: Path) -> int:
    """A convolution's square stride, with no padding, dilation or groups (what lava-ff writes)."""
    where = f"{path}: layer {i}"
    values = {}
    for key, default in ((schema.STRIDE, 1), (schema.PADDING, 0), (schema.DILATION, 1), (schema.GROUPS, 1)):
        value = np.asarray(g[key][()]).ravel() if key in g else np.array([default])
        if value.size not in (1, 2) or len(set(value.tolist())) != 1:
            raise NetxFormatError(f"{where}: conv {key} {value.tolist()}; lava-ff runs square ones")
        values[key] = int(value[0])
    if (values[schema.PADDING], values[schema.DILATION], values[schema.GROUPS]) != (0, 1, 1):
        raise NetxFormatError(f"{where}: conv padding {values[schema.PADDING]}, dilation "
                              f"{values[schema.DILATION]}, groups {values[schema.GROUPS]}; lava-ff runs 0, 1, 1")
    return values[schema.STRIDE]


def _unfolded(weights: list, strides: list, metadata: dict, path: Path) -> list:
    """The file's layers (pooling folded into the next layer's weights,
    :meth:`lava_ff.core.layers.Synapse.fold`) as the network's own weights,
    by the geometry its configuration gives."""
    try:
        config = FFConfig.from_dict(json.loads(str(metadata[schema.FF_CONFIG])))
    except (KeyError, ValueError, TypeError):
        return weights  # spec_from_parts names what is wrong with it
    if not config.conv:
        if any(w.ndim != 2 for w in weights):
            raise NetxFormatError(f"{path}: convolution layers in a file whose configuration has none")
        return weights
    if len(weights) != len(config.layer_sizes):
        raise NetxFormatError(f"{path}: {len(weights)} layers, its configuration has {len(config.layer_sizes)}")
    out = []
    for i, (w, stride) in enumerate(zip(weights, strides, strict=True)):
        try:
            synapse = config.synapse(i)
        except ValueError as err:
            raise NetxFormatError(f"{path}: layer {i}: {err}") from None
        unfolded = synapse.unfold(w, stride)
        if unfolded is None:
            raise NetxFormatError(f"{path}: layer {i} weights {w.shape} at stride {stride} are not the "
                                  f"{synapse.pool} x {synapse.pool} pooled {synapse.weight_shape} its "
                                  "configuration describes")
        out.append(unfolded)
    return out


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
        return FixedNeuronParams(vth=_integer(n, schema.VTH_MANT, where),
                                 i_decay=_integer(n, schema.I_DECAY, where),
                                 v_decay=_integer(n, schema.V_DECAY, where))
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
        except NetxFormatError:
            raise
        except Exception as err:  # h5py and numpy raise many types for a damaged file
            raise NetxFormatError(f"{path}: damaged netx file ({type(err).__name__}: {err})") from None


def _read(f, path: Path, num_classes, time_steps, overlay, theta) -> NetworkSpec:
    if schema.LAYER not in f:
        raise NetxFormatError(f"{path}: not a netx network: no '{schema.LAYER}' group "
                              f"(top-level keys: {sorted(f.keys())})")
    group = f[schema.LAYER]
    names = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    if names != [str(i) for i in range(len(names))]:
        raise NetxFormatError(f"{path}: layer names must be 0..N-1, got {names}")
    metadata = _read_metadata(f, path)
    exponent = None if metadata is None else metadata.pop(schema.FF_CLASSIFIER_EXPONENT, None)
    weights, neurons, strides = [], [], []
    for i, name in enumerate(names):
        g = group[name]
        kind = _text(g[schema.TYPE]) if schema.TYPE in g else "?"
        if kind in schema.NETX_UNSUPPORTED:
            raise NetxFormatError(f"{path}: layer {i} has type {kind!r}, which netx cannot run")
        if kind not in schema.FF_LOADABLE:
            raise NetxFormatError(f"{path}: layer {i} has type {kind!r}; lava-ff loads "
                                  f"{', '.join(schema.FF_LOADABLE)} layers (dense CUBA networks)")
        if kind == schema.CONV:
            if metadata is None:
                raise NetxFormatError(f"{path}: layer {i} is a convolution; lava-ff loads convolutions from "
                                      "the files it writes (with their lava_ff group)")
            weights.append(_layer_weights(g, i, path, conv=True))
            strides.append(_conv_stride(g, i, path))
            neurons.append(_layer_neuron(g, i, path))
            continue
        if kind != schema.DENSE:
            continue
        last = i == len(names) - 1
        w = _layer_weights(g, i, path, bias=exponent is not None and last)
        if weights and weights[-1].ndim == 2 and w.shape[1] != weights[-1].shape[0]:
            raise NetxFormatError(f"{path}: layer {i} expects {w.shape[1]} inputs but the previous "
                                  f"dense layer has {weights[-1].shape[0]} neurons")
        if exponent is not None and last:
            metadata.update(_classifier_readout(g, i, path, w, exponent))
            break
        weights.append(w)
        strides.append(1)
        neurons.append(_layer_neuron(g, i, path))
    if not weights:
        raise NetxFormatError(f"{path}: no dense layers")
    if metadata is not None:
        weights = _unfolded(weights, strides, metadata, path)
    return spec_from_parts(weights, neurons, metadata, where=str(path), error=NetxFormatError,
                           num_classes=num_classes, time_steps=time_steps, overlay=overlay, theta=theta)


def _read_metadata(f, path: Path) -> dict | None:
    """The ``lava_ff`` group's :func:`spec_metadata` (and the classifier's
    exponent), checksum verified; ``None`` for a file another tool wrote."""
    if schema.FF_GROUP not in f:
        return None
    ff = f[schema.FF_GROUP]
    fmt = _text(ff[schema.FF_FORMAT]) if schema.FF_FORMAT in ff else "?"
    version = int(np.asarray(ff[schema.FF_VERSION][()])) if schema.FF_VERSION in ff else -1
    if fmt != schema.FF_FORMAT_NAME or version not in schema.FF_READABLE_VERSIONS:
        raise NetxFormatError(f"{path}: unknown lava_ff metadata {fmt!r} version {version}")
    if version >= 2 or schema.FF_CHECKSUM in ff:
        if schema.FF_CHECKSUM not in ff:
            raise NetxFormatError(f"{path}: lava_ff version {version} without its checksum")
        stored, actual = _text(ff[schema.FF_CHECKSUM]), content_digest(f)
        if stored != actual:
            raise NetxFormatError(f"{path}: content does not match its checksum (stored {stored[:12]}..., "
                                  f"computed {actual[:12]}...): the file was changed or damaged")
    metadata = {key: (_text(ff[key]) if key == schema.FF_CONFIG else ff[key][()])
                for key in schema.FF_SPEC_KEYS if key in ff}
    if schema.FF_CLASSIFIER_EXPONENT in ff:
        metadata[schema.FF_CLASSIFIER_EXPONENT] = int(np.asarray(ff[schema.FF_CLASSIFIER_EXPONENT][()]))
    return metadata


def _classifier_readout(g, i: int, path: Path, weight: np.ndarray, exponent: int) -> dict:
    """The linear readout (:func:`spec_metadata`'s keys) that the classifier
    layer ``i`` (:func:`export` with ``classifier=True``) computes."""
    where = f"{path}: layer {i} (the classifier)"
    neuron = _layer_neuron(g, i, path)
    if neuron != CLASSIFIER_NEURON:
        raise NetxFormatError(f"{where}: its neurons must integrate ({CLASSIFIER_NEURON}), got {neuron}")
    bias = np.asarray(g[schema.BIAS][()]) if schema.BIAS in g else np.zeros(len(weight))
    if bias.shape != (len(weight),) or not np.array_equal(bias, np.round(bias)):
        raise NetxFormatError(f"{where}: bias must be {len(weight)} integers, got shape {bias.shape}")
    scale = 2.0 ** -exponent
    return {schema.FF_READOUT_WEIGHT: weight * scale, schema.FF_READOUT_BIAS: bias.astype(np.int64) * scale}


def spec_metadata(spec: NetworkSpec) -> dict:
    """What a file keeps beside the layers so a classifier can be rebuilt
    from it alone, under the ``schema.FF_*`` keys: the FF configuration
    (JSON), the linear readout, an on-chip readout and the views. The netx
    and NIR writers both store it; :func:`spec_from_parts` reads it back."""
    meta = {schema.FF_CONFIG: json.dumps(spec.config.to_dict())}
    if spec.readout_weight is not None:
        meta[schema.FF_READOUT_WEIGHT] = np.asarray(spec.readout_weight, np.float64)
        meta[schema.FF_READOUT_BIAS] = np.asarray(spec.readout_bias, np.float64)
    if spec.onchip_readout is not None:
        meta[schema.FF_ONCHIP_READOUT_WEIGHT] = np.asarray(spec.onchip_readout, np.int32)
        meta[schema.FF_ONCHIP_READOUT_SCALE] = float(spec.onchip_readout_scale)
    if spec.image_shape is not None:
        meta[schema.FF_VIEWS] = spec.views
        meta[schema.FF_IMAGE_SHAPE] = np.asarray(spec.image_shape, np.int64)
    return meta


def spec_from_parts(weights: list, neurons: list, metadata: dict | None, *, where: str, error: type,
                    num_classes: int = 10, time_steps: int = 10, overlay: str = "first_pixels",
                    theta: float | None = None) -> NetworkSpec:
    """A :class:`NetworkSpec` from a file's integer layers and its
    :func:`spec_metadata` (``None`` for a file another tool wrote: the FF
    settings then come from the keyword arguments, and
    ``overlay='first_pixels'`` keeps the network's input width). Anything
    inconsistent raises ``error`` naming ``where``."""
    readout_weight = readout_bias = onchip_readout = onchip_scale = image_shape = None
    views = 1
    if metadata is not None:
        try:
            config = FFConfig.from_dict(json.loads(str(metadata[schema.FF_CONFIG])))
        except (KeyError, ValueError, TypeError) as err:  # JSONDecodeError is a ValueError
            raise error(f"{where}: bad lava_ff/{schema.FF_CONFIG} ({type(err).__name__}: {err})") from None
        if schema.FF_READOUT_WEIGHT in metadata:
            readout_weight = np.asarray(metadata[schema.FF_READOUT_WEIGHT], np.float64)
            readout_bias = np.asarray(metadata.get(schema.FF_READOUT_BIAS), np.float64)
            expected = (config.num_classes, config.readout_features)
            if readout_weight.shape != expected or readout_bias.shape != (config.num_classes,):
                raise error(f"{where}: readout weight {readout_weight.shape} and bias {readout_bias.shape} "
                            f"do not fit the network's {expected}")
            if not (np.all(np.isfinite(readout_weight)) and np.all(np.isfinite(readout_bias))):
                raise error(f"{where}: the linear readout contains NaN or inf")
        if schema.FF_ONCHIP_READOUT_WEIGHT in metadata:
            onchip_readout = np.asarray(metadata[schema.FF_ONCHIP_READOUT_WEIGHT])
            onchip_scale = np.asarray(metadata[schema.FF_ONCHIP_READOUT_SCALE]).item() \
                if schema.FF_ONCHIP_READOUT_SCALE in metadata else None
        if schema.FF_VIEWS in metadata:
            views = np.asarray(metadata[schema.FF_VIEWS]).item()
            image_shape = tuple(np.asarray(metadata[schema.FF_IMAGE_SHAPE]).tolist()) \
                if schema.FF_IMAGE_SHAPE in metadata else None
    else:
        fan_in = weights[0].shape[1]
        if overlay == "label_neurons" and fan_in <= num_classes:
            raise error(f"{where}: {fan_in} inputs leave no room for {num_classes} label neurons")
        try:
            config = FFConfig(
                in_features=fan_in - (num_classes if overlay == "label_neurons" else 0),
                layer_sizes=tuple(w.shape[0] for w in weights), num_classes=num_classes,
                time_steps=time_steps, overlay=overlay,
                neuron=dequantize_neuron(neurons[0]),
                theta=theta if theta is not None else 0.05 * weights[0].shape[0])
        except ValueError as err:
            raise error(f"{where}: {err}") from None
    try:
        return NetworkSpec(config=config, weights=tuple(weights), neurons=tuple(neurons),
                           readout_weight=readout_weight, readout_bias=readout_bias,
                           onchip_readout=onchip_readout, onchip_readout_scale=onchip_scale, views=views,
                           image_shape=image_shape)
    except ValueError as err:  # what the spec refuses, e.g. a damaged on-chip readout
        raise error(f"{where}: {err}") from None
