"""Run a lava-ff NIR file in another framework and compare it with lava-ff.

:func:`snntorch_spikes` imports a NIR graph with snnTorch's own NIR reader
and runs it on lava-ff's input spikes; :func:`float_spikes` runs lava-ff's
float model (the numpy twin of the ``floating_pt`` Processes) on the same
spikes; :func:`predictions_from_spikes` classifies from either, the way
lava-ff does (goodness under every candidate label, the linear readout on
the neutral label, both combined). :func:`compare` puts them together.
snnTorch comes with the ``interop`` extra (``pip install 'lava-ff[interop]'``).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from lava_ff.core.config import PREDICTION_COLUMNS
from lava_ff.core.errors import MissingExtraError
from lava_ff.core.goodness import combine_layer_scores, combined_scores, firing_rates, goodness
from lava_ff.core.inputs import prepare_inputs
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.neuron import cuba_forward_float, dequantize_neuron
from lava_ff.core.spec import NetworkSpec

__all__ = ["float_spikes", "snntorch_spikes", "candidate_inputs", "predictions_from_spikes", "compare"]


def float_spikes(spec: NetworkSpec, spikes_in: np.ndarray) -> list[np.ndarray]:
    """Every layer's spikes ``[B, N, T]`` (bool) in lava-ff's float model."""
    out = []
    for w, neuron in zip(spec.weights, spec.neurons, strict=True):
        current = np.einsum("oi,bit->bot", w / LOIHI2.w_scale, np.asarray(spikes_in, np.float64))
        spikes_in, _ = cuba_forward_float(current, dequantize_neuron(neuron))
        out.append(spikes_in)
    return out


def snntorch_spikes(graph, spikes_in: np.ndarray, batch: int = 500) -> list[np.ndarray]:
    """Every CubaLIF node's spikes ``[B, N, T]`` (bool) when snnTorch's NIR
    import (``snntorch.import_nir.import_from_nir``) runs ``graph`` (a
    ``nir.NIRGraph`` or a NIR file) on ``spikes_in`` ``[B, F, T]``, one
    time step per call, its state reset between batches."""
    try:
        import nir
        import snntorch
        import torch
        from snntorch.import_nir import import_from_nir
    except ImportError as err:
        raise MissingExtraError(f"running NIR graphs in snnTorch needs snnTorch ({err}): "
                                "pip install 'lava-ff[interop]'") from None
    if not isinstance(graph, nir.NIRGraph):
        graph = nir.read(graph)
    with contextlib.redirect_stdout(io.StringIO()):  # snnTorch prints what it does while it imports
        module = import_from_nir(graph)
    names = [name for name, node in graph.nodes.items() if isinstance(node, nir.CubaLIF)]
    neurons = [module.get_submodule(name) for name in names]
    recorded: dict[int, list] = {i: [] for i in range(len(neurons))}
    hooks = [n.register_forward_hook(lambda _m, _i, out, i=i: recorded[i].append(out.detach().clone()))
             for i, n in enumerate(neurons)]
    results = [[] for _ in neurons]
    try:
        with torch.no_grad():
            for start in range(0, len(spikes_in), batch):
                x = torch.as_tensor(np.asarray(spikes_in[start:start + batch], np.float32))
                for neuron in neurons:
                    if isinstance(neuron, snntorch.SpikingNeuron):
                        neuron.reset_mem()
                for values in recorded.values():
                    values.clear()
                for t in range(x.shape[-1]):
                    module(x[..., t])
                for i, values in recorded.items():
                    results[i].append(torch.stack(values, dim=-1).numpy() > 0)
    finally:
        for hook in hooks:
            hook.remove()
    return [np.concatenate(r) for r in results]


def candidate_inputs(spec: NetworkSpec, x: np.ndarray, rng_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Input spikes for every sample under every candidate label
    ``[B * C, F', T]`` (row ``b * C + c``), and under the neutral label ``[B, F', T]``;
    one seed draws both, so two models see the very same spikes."""
    classes = spec.config.num_classes
    rng = np.random.default_rng(rng_seed)
    x = prepare_inputs(x, spec.config)
    labelled = spec.encode(np.repeat(x, classes, axis=0), np.tile(np.arange(classes), len(x)), rng)
    return labelled, spec.encode(x, None, rng)


def predictions_from_spikes(spec: NetworkSpec, labelled: list[np.ndarray], neutral: list[np.ndarray]) -> np.ndarray:
    """``[B, 4]`` predicted labels in the columns of ``PREDICTION_COLUMNS``
    (goodness, goodness without layer 0, readout, combined) from each
    layer's spikes under every candidate label and under the neutral label.
    The readout columns stay -1 for a network without a readout."""
    cfg = spec.config
    classes = cfg.num_classes
    per_layer = np.stack([goodness(s, cfg.goodness) for s in labelled]).reshape(len(labelled), -1, classes)
    table = np.full((per_layer.shape[1], len(PREDICTION_COLUMNS)), -1, np.int64)
    table[:, 0] = combine_layer_scores(per_layer, False).argmax(1)
    table[:, 1] = combine_layer_scores(per_layer, True).argmax(1)
    if spec.readout_weight is not None:
        features = np.concatenate([firing_rates(neutral[i]) for i in cfg.readout_layers], axis=1)
        logits = features @ spec.readout_weight.T + spec.readout_bias
        table[:, 2] = logits.argmax(1)
        table[:, 3] = combined_scores(per_layer, logits, cfg.loss, cfg.theta, cfg.symba_alpha).argmax(1)
    return table


def compare(spec: NetworkSpec, graph, x: np.ndarray, labels: np.ndarray | None = None, *, seed: int = 0) -> dict:
    """lava-ff's float model against snnTorch running ``graph`` on the same
    input spikes: the fraction of equal spike slots (every neuron, time step
    and candidate label), the share of spikes both emit among those either
    emits, the fraction of samples whose spikes are all equal, and of equal
    predictions per column; with ``labels``, both models' accuracies."""
    labelled, neutral = candidate_inputs(spec, x, seed)
    ours = float_spikes(spec, labelled), float_spikes(spec, neutral)
    theirs = snntorch_spikes(graph, labelled), snntorch_spikes(graph, neutral)
    classes = spec.config.num_classes
    equal = [np.concatenate([(a == b).reshape(len(a), -1) for a, b in zip(o, t, strict=True)], axis=1)
             for o, t in zip(ours, theirs, strict=True)]
    same_sample = equal[0].reshape(len(x), classes, -1).all(axis=(1, 2)) & equal[1].all(axis=1)
    both = sum(int((a & b).sum()) for o, t in zip(ours, theirs, strict=True) for a, b in zip(o, t, strict=True))
    either = sum(int((a | b).sum()) for o, t in zip(ours, theirs, strict=True) for a, b in zip(o, t, strict=True))
    tables = [predictions_from_spikes(spec, *pair) for pair in (
        (ours[0], ours[1]), (theirs[0], theirs[1]))]
    columns = [c for i, c in enumerate(PREDICTION_COLUMNS) if (tables[0][:, i] >= 0).all()]
    result = {
        "samples": int(len(x)),
        "spikes_compared": int(sum(e.size for e in equal)),
        "spike_agreement": float(np.mean(np.concatenate([e.ravel() for e in equal]))),
        # of the (neuron, step, label) slots where either model spikes, the share where both do
        "spikes_shared": both / max(either, 1),
        "samples_with_identical_spikes": float(same_sample.mean()),
        "spikes_lava_ff": int(sum(s.sum() for group in ours for s in group)),
        "spikes_snntorch": int(sum(s.sum() for group in theirs for s in group)),
        "prediction_agreement": {c: float((tables[0][:, i] == tables[1][:, i]).mean())
                                 for i, c in enumerate(PREDICTION_COLUMNS) if c in columns},
    }
    if labels is not None:
        for name, table in (("lava_ff", tables[0]), ("snntorch", tables[1])):
            result[f"accuracy_{name}"] = {c: float((table[:, i] == labels).mean())
                                          for i, c in enumerate(PREDICTION_COLUMNS) if c in columns}
    return result
