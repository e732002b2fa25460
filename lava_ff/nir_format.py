"""NIR export and import of lava-ff networks.

NIR (the Neuromorphic Intermediate Representation, ``nir >= 1.0``) is the
graph format that snnTorch, Norse, Rockpool, Sinabs, SpiNNaker 2 and Xylo
read and write. A lava-ff network becomes the chain::

    input -> fc0 (Linear) -> lif0 (CubaLIF) -> fc1 (Linear) -> lif1 (CubaLIF) -> ... -> output

with the FF settings (how the label enters the input, time steps, goodness)
and the linear readout in the graph's ``lava_ff`` metadata, so the file
stands alone.

Loihi's discrete decays and NIR's time constants
------------------------------------------------
Loihi 2 (and lava-ff, in float and fixed point) steps a CUBA neuron as::

    u[t] = (1 - du) u[t-1] + W s[t]        du = i_decay / 4096
    v[t] = (1 - dv) v[t-1] + u[t]          dv = v_decay / 4096
    spike where v[t] > threshold, then v[t] = 0

NIR's CubaLIF is continuous: ``tau_syn dI/dt = -I + w_in S`` and
``tau_mem dv/dt = (v_leak - v) + r I``. One forward-Euler step of length
``dt`` gives ``I += dt/tau_syn (w_in S - I)`` and ``v += dt/tau_mem (r I - v)``,
which is Loihi's step exactly when::

    tau_syn = dt / du      w_in = tau_syn / dt = 1 / du
    tau_mem = dt / dv      r    = tau_mem / dt = 1 / dv      v_leak = v_reset = 0

(``dv = 0``, a voltage that never decays, is ``tau_mem = r = inf``). The
Linear weights are the integer weights over 64 (Loihi's weight scale), so
``W s`` is the current in threshold units, and ``v_threshold`` is the
threshold mantissa over 64. lava-ff writes ``dt`` = :data:`DT` (0.1 ms, the
step snnTorch's NIR import and export assume) and records it; reading
inverts the mapping (``du = dt / tau_syn``), so lava-ff -> NIR -> lava-ff
returns the same integers.

Two differences remain between a simulator that runs the NIR equations in
float and Loihi: Loihi keeps its states on a grid of 1/4096 of the weight
unit and rounds each decay toward zero, and it spikes on ``v > threshold``
(float simulators differ on ``>`` and ``>=``). Spikes therefore agree
closely, not always exactly; ``benchmarks/nir_interop.py`` measures it.

Reading a graph another framework wrote: its dense CUBA chain is mapped to
Loihi's grid (weights rounded to Loihi's 8-bit steps, decays to 1/4096,
thresholds to 1/64), with the FF settings from the keyword arguments. A
graph with a node lava-ff can't run (a convolution, recurrence, another
neuron type, a cycle) is refused with the node's name and type.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from lava_ff.core.errors import NirFormatError
from lava_ff.core.fileio import atomic_path
from lava_ff.core.loihi import LOIHI2, quantize_weights
from lava_ff.core.neuron import FixedNeuronParams
from lava_ff.core.spec import NetworkSpec
from lava_ff.netx_export import schema
from lava_ff.netx_export.io import spec_from_parts, spec_metadata

__all__ = ["DT", "NIR_FORMAT_NAME", "NIR_FORMAT_VERSION", "NirFormatError", "to_graph", "from_graph", "export",
           "load", "neuron_to_nir", "neuron_from_nir"]

#: the time step, in seconds, that lava-ff's NIR files assume (snnTorch's NIR convention)
DT = 1e-4
NIR_FORMAT_NAME = "lava-ff-nir"
NIR_FORMAT_VERSION = 1
#: graph metadata keys besides netx_export.schema.FF_SPEC_KEYS
META_FORMAT, META_VERSION, META_DT, META_LABEL_INPUT = "format", "version", "dt", "label_input"


def _nir():
    import nir

    return nir


def neuron_to_nir(neuron: FixedNeuronParams, size: int, dt: float = DT) -> dict:
    """The CubaLIF parameters (arrays of ``size``) of Loihi's integer neuron (module docstring)."""
    unity = LOIHI2.decay_unity
    with np.errstate(divide="ignore"):
        tau_syn = dt * unity / np.float64(neuron.i_decay)
        tau_mem = dt * unity / np.float64(neuron.v_decay) if neuron.v_decay else np.float64(np.inf)
    full = lambda value: np.full(size, value, dtype=np.float64)  # noqa: E731
    return {"tau_syn": full(tau_syn), "tau_mem": full(tau_mem), "r": full(tau_mem / dt), "v_leak": full(0.0),
            "v_threshold": full(neuron.vth / LOIHI2.w_scale), "v_reset": full(0.0), "w_in": full(tau_syn / dt)}


def _uniform(values, what: str, where: str) -> float:
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(values == values[0]):
        raise NirFormatError(f"{where}: {what} differs between neurons ({np.unique(values)[:4]}...); lava-ff's "
                             "layers share one neuron")
    return float(values[0])


def neuron_from_nir(node, where: str, dt: float = DT) -> tuple[FixedNeuronParams, np.ndarray]:
    """Loihi's integer neuron for a CubaLIF node, and the factor per neuron
    that its input current carries into Loihi's ``u`` (``w_in du r dv``: 1
    for the nodes lava-ff writes), or :class:`NirFormatError` naming ``where``."""
    unity = LOIHI2.decay_unity
    for name in ("v_leak", "v_reset"):
        value = getattr(node, name, None)
        if value is not None and np.any(np.asarray(value) != 0):
            raise NirFormatError(f"{where}: CubaLIF with nonzero {name}; Loihi's CUBA neuron leaks to 0 and "
                                 "resets to 0")
    tau_syn, tau_mem = (_uniform(getattr(node, k), k, where) for k in ("tau_syn", "tau_mem"))
    threshold = _uniform(node.v_threshold, "v_threshold", where)
    if not (tau_syn > 0 and tau_mem > 0 and threshold > 0):
        raise NirFormatError(f"{where}: tau_syn={tau_syn}, tau_mem={tau_mem} and v_threshold={threshold} must "
                             "be positive")
    du, dv = dt / tau_syn, dt / tau_mem
    i_decay, v_decay = round(du * unity), round(dv * unity)
    r = np.asarray(node.r, dtype=np.float64) * np.ones(np.shape(node.v_threshold))
    w_in = np.asarray(node.w_in, dtype=np.float64) * np.ones(np.shape(node.v_threshold))
    with np.errstate(invalid="ignore"):
        gain = w_in * du * np.where(np.isinf(r) & (dv == 0), 1.0, r * dv)  # r = tau_mem/dt = inf when dv = 0
    vth = round(threshold * LOIHI2.w_scale)
    try:
        neuron = FixedNeuronParams(vth=vth, i_decay=i_decay, v_decay=v_decay)
    except ValueError as err:
        raise NirFormatError(f"{where}: tau_syn={tau_syn:g} s, tau_mem={tau_mem:g} s and v_threshold={threshold:g} "
                             f"at dt={dt:g} s have no Loihi 2 equivalent ({err})") from None
    if not np.all(np.isfinite(gain)) or np.any(gain <= 0):
        raise NirFormatError(f"{where}: w_in and r must be positive and finite, got w_in={w_in.ravel()[:3]}, "
                             f"r={r.ravel()[:3]}")
    return neuron, gain


def _label_input(spec: NetworkSpec) -> str:
    cfg = spec.config
    where = (f"inputs {cfg.in_features}..{cfg.input_size - 1} are {cfg.num_classes * cfg.label_repeat} label neurons"
             if cfg.overlay == "label_neurons" else f"the label overwrites inputs 0..{cfg.num_classes - 1}")
    return (f"{cfg.time_steps} time steps per sample; {cfg.in_features} data inputs ({cfg.encoding} encoding); "
            f"{where}: the candidate label's one-hot code (times {cfg.label_scale:g}) spikes there "
            f"(the neutral label 1/{cfg.num_classes} for the readout). FF classifies by the goodness "
            f"({cfg.goodness}) of every layer's spikes under each candidate label; the readout is a linear map "
            "of the spike rates of layers " + ", ".join(f"lif{i}" for i in cfg.readout_layers) +
            " (metadata readout_weight, readout_bias).")


def to_graph(model):
    """The ``nir.NIRGraph`` of a lava-ff network (an :class:`FFNetwork`, a
    :class:`NetworkSpec` or a :class:`lava_ff.Model`)."""
    nir = _nir()
    spec = _as_spec(model)
    spec.check_runs_in("NIR export (lava-ff writes NIR's Linear and CubaLIF nodes, not Conv2d)")
    nodes = {"input": nir.Input(input_type=np.array([spec.config.input_size]))}
    edges, previous = [], "input"
    for i, (w, neuron) in enumerate(zip(spec.weights, spec.neurons, strict=True)):
        nodes[f"fc{i}"] = nir.Linear(weight=np.asarray(w, np.float64) / LOIHI2.w_scale)
        nodes[f"lif{i}"] = nir.CubaLIF(**neuron_to_nir(neuron, w.shape[0]))
        edges += [(previous, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        previous = f"lif{i}"
    nodes["output"] = nir.Output(output_type=np.array([spec.weights[-1].shape[0]]))
    edges.append((previous, "output"))
    meta = {META_FORMAT: NIR_FORMAT_NAME, META_VERSION: NIR_FORMAT_VERSION, META_DT: DT,
            META_LABEL_INPUT: _label_input(spec), **spec_metadata(spec)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={schema.FF_GROUP: meta})


def _as_spec(model) -> NetworkSpec:
    if isinstance(model, NetworkSpec):
        return model
    if hasattr(model, "spec") and isinstance(model.spec, NetworkSpec):
        return model.spec
    if hasattr(model, "layers") and hasattr(model, "config"):
        return NetworkSpec.from_torch(model)
    raise TypeError(f"NIR export needs an FFNetwork, a NetworkSpec or a Model, got {type(model).__name__}")


def export(model, path) -> Path:
    """Write ``model`` as a NIR file (HDF5), atomically. Never mutates the model."""
    nir = _nir()
    path = Path(path)
    graph = to_graph(model)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return path


def _chain(graph, where: str) -> list[str]:
    """The node names from the one Input to the one Output, or an error
    naming the node (and its type) that makes the graph no plain chain."""
    nir = _nir()
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    for name, node in graph.nodes.items():
        if not isinstance(node, (nir.Input, nir.Output, nir.Linear, nir.Affine, nir.CubaLIF)):
            raise NirFormatError(f"{where}: node {name!r} has type {kinds[name]}; lava-ff runs dense CUBA "
                                 "networks: Input, Linear or Affine, CubaLIF, Output")
    inputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Input)]
    outputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NirFormatError(f"{where}: {len(inputs)} Input and {len(outputs)} Output nodes; lava-ff runs "
                             "graphs with one of each")
    successors: dict[str, list[str]] = {name: [] for name in graph.nodes}
    predecessors: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for a, b in graph.edges:
        for end in (a, b):
            if end not in graph.nodes:
                raise NirFormatError(f"{where}: an edge ({a!r}, {b!r}) names {end!r}, which is no node")
        successors[a].append(b)
        predecessors[b].append(a)
    order, name, seen = [], inputs[0], set()
    while True:
        if name in seen:
            raise NirFormatError(f"{where}: node {name!r} ({kinds[name]}) closes a cycle; lava-ff runs "
                                 "feed-forward chains")
        seen.add(name)
        order.append(name)
        if name == outputs[0]:
            break
        if len(successors[name]) != 1:
            raise NirFormatError(f"{where}: node {name!r} ({kinds[name]}) feeds {len(successors[name])} nodes "
                                 f"({', '.join(successors[name]) or 'none'}); lava-ff runs one chain from Input "
                                 "to Output")
        name = successors[name][0]
        if len(predecessors[name]) != 1:
            raise NirFormatError(f"{where}: node {name!r} ({kinds[name]}) has {len(predecessors[name])} inputs "
                                 f"({', '.join(predecessors[name])}): recurrence or a merge, which lava-ff "
                                 "doesn't run")
    left = sorted(set(graph.nodes) - seen)
    if left:
        raise NirFormatError(f"{where}: node {left[0]!r} ({kinds[left[0]]}) is not on the chain from Input to "
                             "Output")
    return order


def from_graph(graph, *, where: str = "NIR graph", num_classes: int = 10, time_steps: int = 10,
               overlay: str = "first_pixels", theta: float | None = None, dt: float | None = None) -> NetworkSpec:
    """A :class:`NetworkSpec` of a NIR graph of a dense CUBA network.

    A graph lava-ff wrote carries its FF settings and ``dt``; for another
    one, the FF settings come from the keyword arguments (as for a netx file
    another tool wrote) and ``dt`` defaults to :data:`DT`, and its weights,
    decays and thresholds are mapped to Loihi's grid (a warning gives the
    largest weight change)."""
    nir = _nir()
    meta = (graph.metadata or {}).get(schema.FF_GROUP) if isinstance(graph.metadata, dict) else None
    ours = isinstance(meta, dict)
    if ours:
        fmt, version = str(meta.get(META_FORMAT, "?")), int(np.asarray(meta.get(META_VERSION, -1)))
        if fmt != NIR_FORMAT_NAME or version != NIR_FORMAT_VERSION:
            raise NirFormatError(f"{where}: unknown lava_ff metadata {fmt!r} version {version}")
        dt = float(np.asarray(meta.get(META_DT, DT))) if dt is None else dt
    dt = DT if dt is None else float(dt)
    if not (np.isfinite(dt) and dt > 0):
        raise NirFormatError(f"{where}: dt must be a positive number of seconds, got {dt!r}")
    order = _chain(graph, where)
    weights, neurons, pending, moved = [], [], None, 0.0
    for name in order[1:-1]:
        node = graph.nodes[name]
        if isinstance(node, (nir.Linear, nir.Affine)):
            if pending is not None:
                raise NirFormatError(f"{where}: node {name!r} ({type(node).__name__}) follows another weight "
                                     "node; lava-ff needs a CubaLIF after each")
            w = np.asarray(node.weight, dtype=np.float64)
            if w.ndim != 2 or not np.all(np.isfinite(w)):
                raise NirFormatError(f"{where}: node {name!r} needs a finite 2-D weight, got shape {w.shape}")
            bias = getattr(node, "bias", None)
            if bias is not None and np.any(np.asarray(bias) != 0):
                raise NirFormatError(f"{where}: node {name!r} (Affine) has a nonzero bias, which lava-ff's "
                                     "layers don't have")
            pending = (name, w)
            continue
        if pending is None:
            raise NirFormatError(f"{where}: node {name!r} (CubaLIF) has no Linear or Affine node before it")
        neuron, gain = neuron_from_nir(node, f"{where}: node {name!r}", dt)
        w = pending[1] * gain.reshape(-1, 1)
        if w.shape[0] != gain.size:
            raise NirFormatError(f"{where}: node {pending[0]!r} has {w.shape[0]} outputs, {name!r} "
                                 f"{gain.size} neurons")
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise NirFormatError(f"{where}: node {pending[0]!r} expects {w.shape[1]} inputs, the layer before "
                                 f"has {weights[-1].shape[0]}")
        ints = quantize_weights(w)
        moved = max(moved, float(np.abs(ints / LOIHI2.w_scale - w).max(initial=0.0)))
        weights.append(ints.astype(np.int64))
        neurons.append(neuron)
        pending = None
    if pending is not None:
        raise NirFormatError(f"{where}: node {pending[0]!r} has no CubaLIF after it")
    if not weights:
        raise NirFormatError(f"{where}: no Linear + CubaLIF layers")
    if not ours and moved > 0:
        warnings.warn(f"{where}: weights mapped to Loihi 2's 8-bit grid (steps of {LOIHI2.weight_step}/"
                      f"{LOIHI2.w_scale}); the largest change is {moved:.4g}", stacklevel=2)
    metadata = None
    if ours:
        metadata = {key: meta[key] for key in schema.FF_SPEC_KEYS if key in meta}
        if schema.FF_CONFIG in metadata:
            metadata[schema.FF_CONFIG] = _text(metadata[schema.FF_CONFIG])
    return spec_from_parts(weights, neurons, metadata, where=where, error=NirFormatError, num_classes=num_classes,
                           time_steps=time_steps, overlay=overlay, theta=theta)


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0]
    return value.decode() if isinstance(value, bytes) else str(value)


def load(path, **options) -> NetworkSpec:
    """Read a NIR file into a :class:`NetworkSpec` (:func:`from_graph` takes
    ``options``). Only the node types NIR defines are built; nothing in the
    file is run."""
    nir = _nir()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such NIR file")
    try:
        graph = nir.read(path)
    except Exception as err:  # h5py, nir's asserts and numpy raise many types for a damaged file
        raise NirFormatError(f"{path}: not a readable NIR graph ({type(err).__name__}: {err})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise NirFormatError(f"{path}: holds a single {type(graph).__name__} node, not a graph")
    try:
        return from_graph(graph, where=str(path), **options)
    except (NirFormatError, TypeError) as err:
        if isinstance(err, NirFormatError) or "unexpected keyword" in str(err):  # a bad option is the caller's
            raise
        raise NirFormatError(f"{path}: damaged NIR graph ({type(err).__name__}: {err})") from None
    except Exception as err:  # numpy and nir raise many types for a damaged graph
        raise NirFormatError(f"{path}: damaged NIR graph ({type(err).__name__}: {err})") from None

