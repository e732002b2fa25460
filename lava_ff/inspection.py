"""The Loihi 2 budget of a trained network: ``lava-ff inspect`` and :func:`inspect`.

What the network is (layers, neurons, synapses, weight bits), what Loihi 2
resources it needs (:mod:`lava_ff.core.budget`: neuro-cores, synaptic
memory and fan-in per core, learning traces per core), and what it does,
counted in the simulator: spikes, synaptic operations and weight updates
per inference and per learning sample, priced in energy and latency with
published per-operation figures.

Inference is counted in the offline model, which spikes as the Lava and
netx networks do; learning in the numpy reference of Lava's learning
engine, which learns as Lava's fixed_pt engine does (stochastic rounding
shared across synapses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lava_ff.api import Dataset, Model, load, split_arrays
from lava_ff.core.budget import (
    COST_CAVEAT,
    LOIHI2_LIMITS,
    LOIHI_COSTS,
    LayerBudget,
    activity_cost,
    chip_violations,
    layer_budgets,
)
from lava_ff.core.checks import check_positive_int
from lava_ff.core.clock import window_length
from lava_ff.core.errors import ConfigError
from lava_ff.core.inputs import phase_windows, prepare_inputs, random_wrong_labels, readout_window, view_rows
from lava_ff.core.progress import tqdm
from lava_ff.core.rule import ONCHIP_GOODNESS, ONCHIP_THRESHOLD, FFLearningRule, deployable_weights
from lava_ff.onchip.fit import to_onchip_threshold
from lava_ff.onchip.reference import hidden_window_spikes, simulate_onchip_windows, simulate_readout_windows

__all__ = ["Inspection", "inspect"]

#: samples a learning measurement runs by default (two windows each)
LEARNING_SAMPLES = 200
_RULE_FIELDS = ("learning_rate", "pre_trace_tau", "pre_trace_impulse", "rng_seed")


@dataclass
class Inspection:
    """What :func:`inspect` found. ``layers``: one :class:`LayerBudget` per
    layer (the readout last where it runs on chip); ``violations``: each
    Loihi 2 limit the network breaks, by how much (empty: it fits one chip);
    ``inference`` and ``learning``: activity per inference and per learning
    sample, with their energy and latency (``None`` with ``notes`` saying why);
    ``readout_learning``: per sample the readout learns on chip from, for a
    network whose readout learned on chip; ``training``: the whole on-chip
    training its run recorded (every pass over its samples), priced the same way."""

    source: str
    layers: list[LayerBudget]
    inference: dict | None = None
    learning: dict | None = None
    readout_learning: dict | None = None
    training: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def cores(self) -> int:
        return sum(layer.cores for layer in self.layers)

    @property
    def violations(self) -> list[str]:
        return chip_violations(self.layers)

    @property
    def fits(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict:
        return {"source": self.source, "fits": self.fits, "cores": self.cores, "violations": self.violations,
                "layers": [layer.to_dict() for layer in self.layers], "inference": self.inference,
                "learning": self.learning, "readout_learning": self.readout_learning, "training": self.training,
                "notes": self.notes,
                "limits": {k: v.to_dict() for k, v in LOIHI2_LIMITS.items()},
                "costs": {k: v.to_dict() for k, v in LOIHI_COSTS.items()}, "cost_caveat": COST_CAVEAT}

    def report(self) -> str:
        """The inspection as Markdown tables, for a terminal or a notebook."""
        lines = [f"# Loihi 2 budget of {self.source}", "",
                 "| layer | kind | neurons | fan-in | synapses | weights | bits | neurons/core | cores | "
                 "axons/core | memory/core | traces/core | bound by |",
                 "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for b in self.layers:
            lines.append(f"| {b.name} | {b.kind}{' (learns)' if b.plastic else ''} | {b.neurons:,} | "
                         f"{b.fan_in:,} | {b.synapses:,} | {b.weights:,} | {b.weight_bits} | "
                         f"{b.neurons_per_core:,} | {b.cores:,} | {b.axons_per_core:,} | "
                         f"{b.memory_per_core / 1024:,.1f} KiB | {b.traces_per_core:,} | {b.binding} |")
        cores = LOIHI2_LIMITS["cores_per_chip"].value
        lines += ["", f"**{self.cores:,} neuro-cores** of one chip's {cores:g}: "
                  + ("fits." if self.fits else "does not fit:")]
        lines += [f"- {text}" for text in self.violations]
        for name, measured in (("inference", self.inference), ("learning sample", self.learning),
                               ("readout learning sample", self.readout_learning)):
            if measured is None:
                continue
            lines += ["", f"Per {name} ({measured['samples']:,} samples counted; {measured['how']}):", "",
                      "| windows | time steps | spikes | synaptic ops | neuron updates | weight updates | "
                      "energy | latency |", "|---:|---:|---:|---:|---:|---:|---:|---:|",
                      f"| {measured['windows']:g} | {measured['steps']:g} | {measured['spikes']:,.0f} | "
                      f"{measured['synops']:,.0f} | {measured['neuron_updates']:,.0f} | "
                      f"{measured['weight_updates']:,.0f} | {_si(measured['energy_joules'], 'J')} | "
                      f"{_si(measured['latency_seconds'], 's')} |"]
        if self.learning is not None:
            lines += ["", f"Weight updates count the synapses a learning event changes (nonzero pre trace and third "
                      f"factor). An engine that visits every plastic synapse at every learning event makes "
                      f"{self.learning['synapses_visited']:,.0f} updates per sample: "
                      f"{_si(self.learning['energy_joules_visiting_all'], 'J')} and "
                      f"{_si(self.learning['latency_seconds_visiting_all'], 's')}."]
        if self.training is not None:
            t = self.training
            lines += ["", f"The whole on-chip training its run recorded ({t['passes']} passes of the FF layers and "
                      f"{t['readout_passes']} of the readout over {t['samples']:,} samples): "
                      f"**{_si(t['energy_joules'], 'J')}**, {_si(t['latency_seconds'], 's')} of chip time "
                      f"({_si(t['energy_joules_visiting_all'], 'J')} and "
                      f"{_si(t['latency_seconds_visiting_all'], 's')} visiting every plastic synapse)."]
        lines += ["", *[f"- {note}" for note in self.notes], f"- {COST_CAVEAT}"]
        return "\n".join(lines)


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def inspect(model: Model | str | Path, data: Dataset | tuple | None = None, *, split: str = "test",
            limit: int | None = None, learning_samples: int = LEARNING_SAMPLES, seed: int = 0,
            measure: bool = True, progress: bool = True) -> Inspection:
    """The Loihi 2 budget of a trained network.

    Parameters
    ----------
    model : Model, or a path
        A :func:`lava_ff.api.train` / :func:`lava_ff.api.load` result, or a
        run folder, ``checkpoint.pt``, ``.net`` or ``.nir`` file.
    data : Dataset or (images, labels), optional
        What to count activity on: inference on ``split`` (all of it, or
        the first ``limit`` samples), learning on the first
        ``learning_samples`` of the training split. Default: the data set
        the run recorded; with none, only the resources are reported.
    learning_samples : int
        Samples whose on-chip learning is counted (0: none).
    seed : int
        Seed of the wrong labels the learning samples are shown with.
    measure : bool
        Count activity; ``False`` reports the layers and resources only.

    Examples
    --------
    >>> from lava_ff.api import train, load_dataset
    >>> data = load_dataset("digits")
    >>> net = train(data, layers=(100,), epochs=1, progress=False)
    >>> found = inspect(net, data, limit=50, learning_samples=10, progress=False)
    >>> found.fits, found.cores
    (True, 2)
    """
    if split not in ("test", "val"):
        raise ConfigError(f"unknown split {split!r}; valid: test, val")
    if limit is not None:
        check_positive_int("limit", limit)
    if isinstance(learning_samples, bool) or not isinstance(learning_samples, (int, np.integer)) \
            or learning_samples < 0:
        raise ConfigError(f"learning_samples must be an integer >= 0, got {learning_samples!r}")
    if not isinstance(model, Model):
        model = load(model)
    source = str(model.record.get("source", "a trained network"))
    notes: list[str] = []
    onchip_rule = model.record.get("rule")
    layers = layer_budgets(model.spec, plastic=isinstance(onchip_rule, dict))
    found = Inspection(source, layers, notes=notes)
    if not measure:
        return found
    if data is None:
        data = model.recorded_dataset()
        if data is None:
            notes.append("no activity counted: the network records no data set; pass one (lava-ff inspect --dataset)")
            return found
    images, labels, _ = split_arrays(data, split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    found.inference = _inference(model, layers, images, progress)
    if learning_samples:
        train_images, train_labels = (data.train.images, data.train.labels) if isinstance(data, Dataset) \
            else (images, labels)
        train_images, train_labels = train_images[:learning_samples], np.asarray(train_labels[:learning_samples])
        found.learning = _learning(model, train_images, train_labels, seed, notes, progress)
        found.readout_learning = _readout_learning(model, train_images, train_labels, notes)
        found.training = _training(model.record.get("onchip_training"), found.learning, found.readout_learning)
    return found


def _inference(model: Model, layers: list[LayerBudget], images, progress: bool) -> dict:
    """Activity per inference, counted in the offline model over ``images``:
    one window with the neutral label where the network has a readout (how
    it classifies by readout), else one window per candidate label."""
    net, spec, cfg = model.network, model.spec, model.config
    x = prepare_inputs(images, cfg)
    readout = spec.readout_weight is not None or spec.onchip_readout is not None
    hidden = len(spec.weights)
    spikes, synops = np.zeros(hidden), np.zeros(hidden)
    rng, batch, windows = np.random.default_rng(0), 250, 0
    for start in tqdm(range(0, len(x), batch), desc="inspect: inference", unit="batch", disable=not progress):
        xb = view_rows(x[start:start + batch], spec.image_shape, spec.views)
        inputs = net.encode(xb, None, rng) if readout else net.encode_candidates(xb, rng)
        outputs = net.layer_outputs(inputs)
        layer_spikes, layer_synops = net.layer_cost(inputs, outputs)
        spikes += layer_spikes
        synops += layer_synops
        windows += len(xb) if readout else len(xb) * cfg.num_classes
    n = max(len(x), 1)
    per_layer_synops = list(synops / n)
    if readout:
        per_layer_synops.append(net.readout_synops(list(spikes / n)))
    steps = windows / n * window_length(cfg.time_steps)
    neuron_updates = [b.neurons * steps for b in layers]
    return {"samples": len(x), "how": "classify by readout, neutral label" if readout else
            "classify by goodness, one window per label",
            "windows": windows / n, "steps": steps, "spikes": float(spikes.sum() / n),
            "synops": float(sum(per_layer_synops)), "neuron_updates": float(sum(neuron_updates)),
            "weight_updates": 0.0, "layer_spikes": list(spikes / n), "layer_synops": per_layer_synops,
            **activity_cost(layers, synops=per_layer_synops, neuron_updates=neuron_updates)}


def _learning_setup(model: Model, notes: list[str]):
    """``(config, start weights, neuron, rule)`` of on-chip learning from this
    network, or ``None`` with a note saying why it cannot learn on chip."""
    cfg, spec = model.config, model.spec
    refusal = ("its layers are convolutions, which learn offline only" if cfg.conv else
               "its class groups learn offline only" if cfg.overlay == "groups" else
               f"its goodness {cfg.goodness!r} is not one a learning neuron computes "
               f"({' or '.join(ONCHIP_GOODNESS)})" if cfg.goodness not in ONCHIP_GOODNESS else
               f"its {len(spec.weights)} layers exceed a window's {window_length(cfg.time_steps)} steps"
               if len(spec.weights) > window_length(cfg.time_steps) else None)
    if refusal is not None:
        notes.append(f"no learning counted: {refusal}")
        return None
    recorded = model.record.get("rule")
    if isinstance(recorded, dict):
        rule = FFLearningRule(**{k: recorded[k] for k in _RULE_FIELDS if k in recorded})
        notes.append(f"learning counted with the run's on-chip rule (rate {rule.learning_rate:g}) on its weights")
        return cfg, list(spec.weights), spec.neurons[0], rule
    config, weights, neuron, _ = to_onchip_threshold(model.network, max(cfg.neuron.threshold, ONCHIP_THRESHOLD))
    notes.append("learning counted as on-chip learning would continue from this offline network: the default "
                 f"on-chip rule, the neuron threshold moved to {config.neuron.threshold:g} with the weights")
    return config, weights, neuron, FFLearningRule()


def _learning(model: Model, images, labels, seed: int, notes: list[str], progress: bool) -> dict | None:
    """Activity per learning sample (a positive and a negative window), counted
    in the numpy reference of Lava's fixed_pt learning engine."""
    setup = _learning_setup(model, notes)
    if setup is None:
        return None
    config, weights, neuron, rule = setup
    rng = np.random.default_rng(seed)
    x = prepare_inputs(images, config)
    wrong = random_wrong_labels(labels, config.num_classes, rng)
    windows = np.concatenate([phase_windows(x[i], int(labels[i]), int(wrong[i]), config, rng) for i in range(len(x))])
    cost: dict = {}
    simulate_onchip_windows(weights, neuron, rule, config, windows, np.tile([1, -1], len(x)), fixed=True,
                            rounding="shared", rng=np.random.default_rng(rule.rng_seed), progress=progress,
                            cost=cost)
    hidden = layer_budgets(model.spec, plastic=True)[:len(weights)]  # learning layers hold their traces too
    n = max(len(x), 1)
    # an engine that visits every plastic synapse at both learning events, changed or not: the upper bound
    return _per_sample(hidden, "one positive and one negative window, Lava's fixed_pt learning engine", samples=len(x),
                       windows=2, steps=2 * window_length(config.time_steps), spikes=list(cost["spikes"] / n),
                       synops=list(cost["synops"] / n), updates=list(cost["weight_updates"] / n),
                       visited=[2.0 * b.synapses for b in hidden])


def _per_sample(layers: list[LayerBudget], how: str, *, samples: int, windows: int, steps: int, spikes: list,
                synops: list, updates: list, visited: list) -> dict:
    """A learning measurement: the activity per sample of ``layers`` (per
    layer: ``spikes``, ``synops``, weight ``updates`` made), every neuron
    updated at each of the ``steps``, priced as counted and as an engine
    that visits ``visited`` synapses per layer instead of the ones it changes."""
    neuron_updates = [b.neurons * steps for b in layers]
    every = activity_cost(layers, synops=synops, neuron_updates=neuron_updates, weight_updates=visited)
    return {"samples": samples, "how": how, "windows": float(windows), "steps": float(steps),
            "spikes": float(sum(spikes)), "synops": float(sum(synops)), "neuron_updates": float(sum(neuron_updates)),
            "weight_updates": float(sum(updates)), "layer_spikes": spikes, "layer_synops": synops,
            "layer_weight_updates": updates, "synapses_visited": float(sum(visited)),
            "energy_joules_visiting_all": every["energy_joules"],
            "latency_seconds_visiting_all": every["latency_seconds"],
            **activity_cost(layers, synops=synops, neuron_updates=neuron_updates, weight_updates=updates)}


def _readout_learning(model: Model, images, labels, notes: list[str]) -> dict | None:
    """Activity per sample of on-chip readout learning, for a network whose
    readout learned on chip: one neutral window through the FF layers, which
    do not learn, into the readout, which does; counted in the numpy
    references of Lava's fixed_pt engine, as the Lava run learns it."""
    spec, cfg = model.spec, model.config
    if spec.onchip_readout is None:
        return None
    recorded = model.record.get("readout_rule") or model.record.get("rule") or {}
    rule = FFLearningRule(**{k: recorded[k] for k in _RULE_FIELDS if k in recorded})
    if "readout_rule" not in model.record:
        notes.append("readout learning counted with the FF layers' trace constants: the run records no readout rule")
    ff = [deployable_weights(w) for w in spec.weights]  # as the readout's Lava run deploys them
    x = prepare_inputs(images, cfg)
    rng = np.random.default_rng(0)
    windows = np.stack([readout_window(x[i], cfg, rng) for i in range(len(x))])
    ff_cost: dict = {}
    simulate_onchip_windows(ff, spec.neurons[0], rule, cfg, windows, np.zeros(len(x)), fixed=True, cost=ff_cost)
    hidden = hidden_window_spikes(ff, spec.neurons[0], cfg, windows, fixed=True)
    readout_cost: dict = {}
    simulate_readout_windows(spec.onchip_readout, rule, hidden, labels, logit_scale=spec.onchip_readout_scale,
                             fixed=True, rounding="shared", cost=readout_cost)
    layers = layer_budgets(spec, plastic=True)
    n = max(len(x), 1)
    return _per_sample(layers, "one neutral window; the readout learns, the FF layers do not", samples=len(x),
                       windows=1, steps=window_length(cfg.time_steps), spikes=list(ff_cost["spikes"] / n),
                       synops=[*(ff_cost["synops"] / n), readout_cost["synops"][0] / n],
                       updates=[0.0] * len(ff) + [readout_cost["weight_updates"][0] / n],
                       visited=[0.0] * len(ff) + [float(layers[-1].synapses)])


def _training(recorded, learning: dict | None, readout: dict | None) -> dict | None:
    """The whole on-chip training ``recorded`` (``onchip_training``: samples,
    FF passes, readout passes), priced per sample by ``learning`` and
    ``readout``; None where either is missing, or the run recorded no passes."""
    if not isinstance(recorded, dict) or learning is None or (recorded["readout_passes"] and readout is None):
        return None
    ff = recorded["samples"] * recorded["passes"]
    ro = recorded["samples"] * recorded["readout_passes"]
    total = {key: ff * learning[key] + (ro * readout[key] if ro else 0.0)
             for key in ("energy_joules", "latency_seconds", "energy_joules_visiting_all",
                         "latency_seconds_visiting_all", "weight_updates", "synops")}
    return {**recorded, **total}
