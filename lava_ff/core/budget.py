"""What a network asks of Loihi 2: the neuro-cores it needs, and the energy
and time one inference and one learning sample take.

:data:`LOIHI2_LIMITS` holds the per-core and per-chip limits the mapping
checks and :data:`LOIHI_COSTS` the per-operation energy and time it prices
activity with. Each figure names its source and says whether it is an
estimate. :func:`layer_budgets` maps every layer on cores of its own (no
two layers share a core) with as many neurons per core as every limit
allows; :func:`activity_cost` prices counted activity. Both are numpy
only; :func:`lava_ff.inspection.inspect` counts the activity in the
simulator and puts them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lava_ff.core.layers import Synapse
from lava_ff.core.loihi import LOIHI2

__all__ = ["Figure", "LOIHI2_LIMITS", "LOIHI_COSTS", "COST_CAVEAT", "LayerBudget", "layer_budgets", "chip_violations",
           "activity_cost"]


@dataclass(frozen=True)
class Figure:
    """A published or estimated hardware figure: its value, unit and source."""

    value: float
    unit: str
    source: str
    estimate: bool = False

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "source": self.source, "estimate": self.estimate}


_BRIEF = "Intel Labs, 'Taking Neuromorphic Computing to the Next Level with Loihi 2', technology brief, 2021"
_DAVIES = "Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', IEEE Micro 38(1), 2018"

#: Loihi 2's resource limits that :func:`layer_budgets` maps against
LOIHI2_LIMITS = {
    "cores_per_chip": Figure(128, "neuro-cores", _BRIEF),
    "neurons_per_core": Figure(8192, "neurons", f"1 million neurons per chip over 128 neuro-cores; {_BRIEF}"),
    "memory_per_core": Figure(192 * 1024, "bytes",
                              f"192 KB per neuro-core, shared by synapses, neuron state and traces; {_BRIEF}"),
    "axons_per_core": Figure(4096, "input axons",
                             f"a Loihi 1 core's fan-in ({_DAVIES}); Loihi 2's is not published", estimate=True),
    "bytes_per_weight": Figure(1, "bytes", "an 8-bit weight mantissa in a dense synapse list; sparse or "
                               "compressed encodings differ", estimate=True),
    "bytes_per_neuron": Figure(8, "bytes", "a CUBA neuron's 24-bit current and voltage, padded",
                               estimate=True),
    "bytes_per_trace": Figure(1, "bytes", "a 7-bit learning trace (Lava's learning engine holds them in 7 bits)",
                              estimate=True),
}

#: per-operation energy and time; Loihi 1's published figures, the only per-operation ones in print
LOIHI_COSTS = {
    "energy_per_synop": Figure(23.6e-12, "J", f"minimum energy per synaptic spike operation; {_DAVIES}"),
    "energy_per_weight_update": Figure(120e-12, "J", f"energy per synaptic update (pairwise STDP); {_DAVIES}"),
    "energy_per_neuron_update": Figure(52e-12, "J", f"energy per active neuron update; {_DAVIES}"),
    "time_per_synop": Figure(3.5e-9, "s", f"maximum time per synaptic spike operation; {_DAVIES}"),
    "time_per_weight_update": Figure(6.1e-9, "s", f"time per synaptic update (pairwise STDP); {_DAVIES}"),
}
#: what the cost estimates leave out, and how far off they may be
COST_CAVEAT = ("Dynamic energy of synaptic operations, neuron updates and weight updates only, priced with "
               "Loihi 1's per-operation figures (14 nm): Loihi 2 (Intel 4) publishes none, and Intel reports it "
               "up to 10x faster, so read the energy and latency as upper estimates good to about an order of "
               "magnitude. Static power, spike routing between cores, host I/O and the time-step barrier are "
               "not included. Latency is the busiest core's work: every layer's work spreads evenly over its "
               "cores, and all cores work at once.")


@dataclass(frozen=True)
class LayerBudget:
    """One layer on Loihi 2: its size, and the cores it takes.

    ``synapses`` counts connections, ``weights`` the weights stored (a
    convolution shares one kernel); ``fan_in`` is the input axons one neuron
    reads. ``neurons_per_core`` is 0 where even one neuron breaks a per-core
    limit: ``violations`` then says which and by how much."""

    name: str
    kind: str
    neurons: int
    fan_in: int
    synapses: int
    weights: int
    weight_bits: int
    plastic: bool
    neurons_per_core: int
    cores: int
    axons_per_core: int
    memory_per_core: int
    traces_per_core: int
    binding: str
    violations: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _limit(name: str) -> int:
    return int(LOIHI2_LIMITS[name].value)


def _axons(synapse: Synapse, neurons: int) -> int:
    """Input axons a core holding ``neurons`` of this layer reads: all of a
    dense layer's inputs; for a convolution, the input patch under the
    core's tile of output positions (all channels at each position)."""
    if not synapse.conv:
        return synapse.n_in
    out_channels, in_channels, kernel, _ = synapse.weight_shape
    _, height, width = synapse.pooled_shape
    out_h, out_w = height - kernel + 1, width - kernel + 1
    positions = min(math.ceil(neurons / out_channels), out_h * out_w)
    tile_h = min(math.ceil(math.sqrt(positions)), out_h)
    tile_w = min(math.ceil(positions / tile_h), out_w)
    # the deployed synapse reads the unpooled map: a kernel of kernel * pool at stride pool
    stride, span = synapse.pool, kernel * synapse.pool
    _, in_h, in_w = synapse.in_shape
    return in_channels * min((tile_h - 1) * stride + span, in_h) * min((tile_w - 1) * stride + span, in_w)


def _usage(synapse: Synapse, neurons: int, plastic: bool) -> dict[str, int]:
    """What a core holding ``neurons`` of this layer uses, limit by limit."""
    axons = _axons(synapse, neurons)
    stored = int(math.prod(synapse.weight_shape)) if synapse.conv else neurons * synapse.n_in
    traces = axons + 2 * neurons if plastic else 0  # the rule's x1 per axon; y2 and y3 per neuron
    memory = (stored * _limit("bytes_per_weight") + neurons * _limit("bytes_per_neuron")
              + traces * _limit("bytes_per_trace"))
    return {"neurons_per_core": neurons, "axons_per_core": axons, "memory_per_core": memory, "traces": traces}


def _fits(usage: dict[str, int]) -> list[str]:
    return [name for name in ("neurons_per_core", "axons_per_core", "memory_per_core")
            if usage[name] > _limit(name)]


def _layer(name: str, kind: str, synapse: Synapse, plastic: bool) -> LayerBudget:
    neurons = synapse.n_out
    low, high = 0, min(neurons, _limit("neurons_per_core"))
    while low < high:  # every usage grows with the neurons on a core: the most that fit
        mid = (low + high + 1) // 2
        low, high = (mid, high) if not _fits(_usage(synapse, mid, plastic)) else (low, mid - 1)
    per_core = low
    fan_in = synapse.weight_shape[1] * synapse.weight_shape[2] ** 2 if synapse.conv else synapse.n_in
    synapses, weight_bits = neurons * fan_in, LOIHI2.weight_bits
    # a convolution shares one kernel; a dense layer after a pool holds its weights once per pooled input
    weights = int(math.prod(synapse.weight_shape)) if synapse.conv else synapses
    if per_core == 0:
        one = _usage(synapse, 1, plastic)
        violations = tuple(f"{name}: one neuron needs {one[name]:,}, the limit is {_limit(name):,} "
                           f"({one[name] / _limit(name):.2f}x)" for name in _fits(one))
        return LayerBudget(name, kind, neurons, fan_in, synapses, weights, weight_bits, plastic, 0, 0,
                           one["axons_per_core"], one["memory_per_core"], one["traces"], _fits(one)[0], violations)
    usage = _usage(synapse, per_core, plastic)
    if per_core == neurons:
        binding = "none (the whole layer fits one core)"
    else:
        bound = _fits(_usage(synapse, per_core + 1, plastic))
        binding = bound[0] if bound else "neurons_per_core"
    return LayerBudget(name, kind, neurons, fan_in, synapses, weights, weight_bits, plastic, per_core,
                       math.ceil(neurons / per_core), usage["axons_per_core"], usage["memory_per_core"],
                       usage["traces"], binding)


def layer_budgets(spec, *, plastic: bool = False) -> list[LayerBudget]:
    """Every layer of ``spec`` (a :class:`lava_ff.core.spec.NetworkSpec`)
    mapped on Loihi 2 as deployed (a pool folded into the next layer's
    synapses); with a linear readout, a last ``readout`` row: the integer
    classifier that runs it on chip (``export(classifier=True)``, or a
    readout learned on chip). ``plastic``: the FF layers (and a readout
    learned on chip) learn on chip, so their cores also hold the rule's traces."""
    cfg = spec.config
    rows = []
    for i in range(len(spec.weights)):
        synapse = spec.synapse(i)
        kind = "conv" if synapse.conv else "dense"
        rows.append(_layer(f"layer {i}", kind, synapse, plastic))
    readout = spec.onchip_readout if spec.onchip_readout is not None else spec.readout_weight
    if readout is not None:
        rows.append(_layer("readout", "readout", Synapse.of((cfg.num_classes, cfg.readout_features)),
                           plastic and spec.onchip_readout is not None))
    return rows


def chip_violations(layers: list[LayerBudget]) -> list[str]:
    """The limits a network breaks: every layer's per-core ones, and one
    chip's neuro-cores (a network may span chips; the report says so)."""
    found = [f"{layer.name}: {text}" for layer in layers for text in layer.violations]
    cores = sum(layer.cores for layer in layers)
    if cores > _limit("cores_per_chip"):
        found.append(f"cores_per_chip: the network needs {cores:,} neuro-cores, one chip has "
                     f"{_limit('cores_per_chip')} ({cores / _limit('cores_per_chip'):.2f}x; "
                     f"{math.ceil(cores / _limit('cores_per_chip'))} chips)")
    return found


def activity_cost(layers: list[LayerBudget], *, synops, neuron_updates, weight_updates=None) -> dict[str, float]:
    """Energy (J) and latency (s) of activity counted per layer (sequences
    as long as ``layers``), priced with :data:`LOIHI_COSTS`. A layer's work
    spreads evenly over its cores, all cores work at once, and the latency
    is the busiest core's work (see :data:`COST_CAVEAT`)."""
    c = {name: figure.value for name, figure in LOIHI_COSTS.items()}
    weight_updates = [0.0] * len(layers) if weight_updates is None else weight_updates
    if not len(layers) == len(synops) == len(neuron_updates) == len(weight_updates):
        raise ValueError(f"{len(layers)} layers, but activity for {len(synops)}, {len(neuron_updates)} and "
                         f"{len(weight_updates)}")
    energy = sum(s * c["energy_per_synop"] + n * c["energy_per_neuron_update"] + u * c["energy_per_weight_update"]
                 for s, n, u in zip(synops, neuron_updates, weight_updates, strict=True))
    busiest = max(((s * c["time_per_synop"] + u * c["time_per_weight_update"]) / max(layer.cores, 1)
                   for layer, s, u in zip(layers, synops, weight_updates, strict=True)), default=0.0)
    return {"energy_joules": float(energy), "latency_seconds": float(busiest)}
