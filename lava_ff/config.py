"""Configuration and the one source of truth for Loihi 2 numbers.

``LOIHI2`` holds every bit width and shift; :func:`quantize_neuron` and
:func:`quantize_weights` map float parameters to the integers the fixed-point
models, the offline quantizer and the netx exporter all use.

CUBA LIF in lava-dl slayer / Lava fixed point (the mapping netx uses):
state is kept at scale ``2**12`` (``w_scale=2**6`` times the 6-bit MSB
alignment of activations), a float weight ``w`` becomes the integer
``round(w * 64 / 2) * 2`` clamped to ``[-256, 254]`` (8-bit mantissa, weight
exponent 1), a threshold ``th`` becomes ``vth = th * 64`` and a decay ``d``
in [0, 1] becomes ``round(d * 4096)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

__all__ = [
    "Loihi2Numbers",
    "LOIHI2",
    "NeuronParams",
    "FixedNeuronParams",
    "FFConfig",
    "GOODNESS_KINDS",
    "LOSS_KINDS",
    "ENCODINGS",
    "RULES",
    "OVERLAYS",
    "NEGATIVES",
    "SCHEDULES",
    "LR_DECAYS",
    "PREDICTION_COLUMNS",
    "quantize_neuron",
    "dequantize_neuron",
    "quantize_weights",
    "check_positive_int",
    "check_positive_float",
    "check_greedy_epochs",
    "describe_changes",
    "check_integer_weights",
]

GOODNESS_KINDS = ("sum_sq_rate", "mean_sq_rate", "sum_sq_voltage")
LOSS_KINDS = ("softplus", "symba", "softmax")
ENCODINGS = ("deterministic", "rate", "latency", "spikes")
RULES = ("surrogate", "three_factor", "ffgaf")
OVERLAYS = ("label_neurons", "first_pixels")
NEGATIVES = ("random", "hard", "mixed", "hybrid")
#: simultaneous: every block learns in every epoch; greedy: one block at a time
SCHEDULES = ("simultaneous", "greedy")
LR_DECAYS = ("none", "cosine")
#: optional FFConfig fields held as tuples (lists in to_dict's JSON form)
_TUPLE_FIELDS = ("blocks", "block_lr_scale", "block_epochs")
#: the columns of every prediction table ([N, 4]): torch, FFReadout, netx runs
PREDICTION_COLUMNS = ("goodness", "goodness_skip_first", "readout", "combined")


@dataclass(frozen=True)
class Loihi2Numbers:
    """Bit widths and shifts of Loihi 2's CUBA neuron and dense synapse."""

    state_bits: int = 24  # u and v
    decay_bits: int = 12  # du, dv in [0, 4095]; decay unity 4096
    weight_bits: int = 8  # mantissa
    weight_exp: int = 1  # slayer's 8-bit weights are even integers in [-256, 254]
    vth_bits: int = 17
    act_shift: int = 6  # activations MSB-aligned by 6 bits
    vth_shift: int = 6
    w_scale: int = 1 << 6  # float 1.0 == integer 64 (slayer w_scale)

    @property
    def decay_unity(self) -> int:
        return 1 << self.decay_bits

    @property
    def state_scale(self) -> int:
        return self.w_scale << self.act_shift  # 4096

    @property
    def max_state(self) -> int:
        return (1 << (self.state_bits - 1)) - 1

    @property
    def weight_min(self) -> int:
        return -(1 << (self.weight_bits - 1)) << self.weight_exp  # -256

    @property
    def weight_max(self) -> int:
        return ((1 << (self.weight_bits - 1)) - 1) << self.weight_exp  # 254

    @property
    def weight_step(self) -> int:
        return 1 << self.weight_exp


LOIHI2 = Loihi2Numbers()


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_population_shape(shape, unit: str) -> tuple[int]:
    """A Process's ``shape``, a 1-tuple of a positive count of ``unit`` (e.g. ``"neurons"``)."""
    if not isinstance(shape, tuple) or len(shape) != 1:
        raise ValueError(f"shape must be a 1-tuple ({unit},), got {shape!r}")
    return (check_positive_int("shape[0]", shape[0]),)


def check_positive_float(name: str, value) -> float:
    """``value`` as a float if it is a positive finite number, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_greedy_epochs(schedule: str, epochs: int, count: int, unit: str,
                        block_epochs: tuple[int, ...] | None = None) -> None:
    """The greedy schedule gives each of ``count`` training ``unit`` (layers
    or blocks) at least one epoch: a ValueError when ``epochs`` is fewer, or
    when an explicit split ``block_epochs`` does not add up to ``epochs``."""
    if block_epochs is not None and sum(block_epochs) != epochs:
        raise ValueError(f"block_epochs {list(block_epochs)} add up to {sum(block_epochs)} epochs but "
                         f"epochs={epochs}; give epochs={sum(block_epochs)} or another split")
    if schedule == "greedy" and epochs < count:
        raise ValueError(f"schedule 'greedy' trains its {unit} one at a time: epochs={epochs} is fewer than "
                         f"the {count} {unit}; give at least {count} epochs")


def describe_changes(stored: dict, current: dict, was: str = "stored") -> str:
    """The keys whose values differ between two (nested) settings dicts, as
    ``"theta: stored 1.0, now 2.0; neuron.vth: ..."`` (nested keys dotted);
    ``""`` when they agree. ``was`` names where ``stored`` came from."""
    stored, current = _flat(stored), _flat(current)
    differ = [key for key in sorted(set(stored) | set(current)) if stored.get(key) != current.get(key)]
    return "; ".join(f"{key}: {was} {stored.get(key)!r}, now {current.get(key)!r}" for key in differ)


def _flat(info: dict, prefix: str = "") -> dict:
    """``{"config": {"theta": 1}}`` -> ``{"config.theta": 1}``."""
    out = {}
    for key, value in info.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _check_fraction(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class NeuronParams:
    """Float CUBA LIF parameters (lava-dl slayer convention).

    ``threshold`` is snapped to the 1/64 grid that Loihi's 17-bit ``vth``
    mantissa represents, so float and fixed models spike at the same voltage.
    """

    threshold: float = 1.0
    current_decay: float = 0.25
    voltage_decay: float = 0.03

    def __post_init__(self):
        check_positive_float("threshold", self.threshold)
        th = self.threshold
        vth = round(th * LOIHI2.w_scale)
        if not 1 <= vth < (1 << LOIHI2.vth_bits):
            raise ValueError(
                f"threshold={th!r} maps to vth={vth}, outside Loihi's {LOIHI2.vth_bits}-bit "
                f"range [1, {(1 << LOIHI2.vth_bits) - 1}]"
            )
        object.__setattr__(self, "threshold", vth / LOIHI2.w_scale)
        for name in ("current_decay", "voltage_decay"):
            value = _check_fraction(name, getattr(self, name))
            object.__setattr__(self, name, round(value * LOIHI2.decay_unity) / LOIHI2.decay_unity)


@dataclass(frozen=True)
class FixedNeuronParams:
    """Integer CUBA parameters as Loihi 2 / netx store them."""

    vth: int  # threshold mantissa; effective threshold vth << 6
    i_decay: int  # netx iDecay; Lava's LIF du = i_decay - 1 (ds_offset = 1)
    v_decay: int  # netx vDecay == Lava's LIF dv

    def __post_init__(self):
        unity = LOIHI2.decay_unity
        if not 1 <= self.vth < (1 << LOIHI2.vth_bits):
            raise ValueError(f"vth={self.vth} outside [1, {(1 << LOIHI2.vth_bits) - 1}]")
        if not 1 <= self.i_decay <= unity:
            raise ValueError(f"i_decay={self.i_decay} outside [1, {unity}] (Lava du = i_decay - 1)")
        if not 0 <= self.v_decay < unity:
            raise ValueError(f"v_decay={self.v_decay} outside [0, {unity - 1}]")

    @property
    def lava_lif_params(self) -> dict:
        """Keyword arguments for ``lava.proc.lif.process.LIF`` in fixed point."""
        return {"vth": self.vth, "du": self.i_decay - 1, "dv": self.v_decay}

    @classmethod
    def from_lava_lif(cls, vth, du, dv) -> FixedNeuronParams:
        """The inverse of :attr:`lava_lif_params`: Lava's ``vth, du, dv`` -> integers."""
        return cls(vth=int(vth), i_decay=int(du) + 1, v_decay=int(dv))


def quantize_neuron(params: NeuronParams) -> FixedNeuronParams:
    """Float CUBA parameters -> Loihi 2 integers (slayer's mapping)."""
    unity = LOIHI2.decay_unity
    i_decay = round(params.current_decay * unity)
    if i_decay == 0:
        # Loihi cannot express "no current decay": ds_offset forces du + 1 >= 1.
        raise ValueError("current_decay=0 is not representable on Loihi 2 (minimum 1/4096)")
    return FixedNeuronParams(
        vth=round(params.threshold * LOIHI2.w_scale),
        i_decay=i_decay,
        v_decay=round(params.voltage_decay * unity),
    )


def dequantize_neuron(fixed: FixedNeuronParams) -> NeuronParams:
    """Loihi 2 integers -> the float CUBA parameters that quantize back to them."""
    unity = LOIHI2.decay_unity
    return NeuronParams(threshold=fixed.vth / LOIHI2.w_scale, current_decay=fixed.i_decay / unity,
                        voltage_decay=fixed.v_decay / unity)


def quantize_weights(weights: np.ndarray) -> np.ndarray:
    """Float weights -> Loihi 2 integer weights (even integers in [-256, 254]).

    The same rounding as slayer's ``quantize_8bit``: round to the step
    ``2/64`` and clamp. Raises on NaN/inf, never wraps.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights contain NaN or inf")
    step = LOIHI2.weight_step
    ints = np.round(weights * LOIHI2.w_scale / step) * step
    return np.clip(ints, LOIHI2.weight_min, LOIHI2.weight_max).astype(np.int32)


@dataclass(frozen=True)
class FFConfig:
    """Everything that defines an FF network and how it is trained."""

    in_features: int
    layer_sizes: tuple[int, ...] = (500, 500)
    num_classes: int = 10
    time_steps: int = 10
    neuron: NeuronParams = field(default_factory=NeuronParams)
    goodness: str = "sum_sq_rate"
    theta: float = 10.0
    loss: str = "softplus"
    symba_alpha: float = 4.0
    encoding: str = "deterministic"
    overlay: str = "label_neurons"
    label_scale: float = 1.0
    label_repeat: int = 1
    rule: str = "surrogate"
    negatives: str = "random"
    lr: float = 3e-3
    three_factor_lr: float = 0.05
    weight_scale: float = 0.3
    eval_skip_first: bool = False
    seed: int = 0
    #: Integrated FF (Tang): consecutive layers trained together, with
    #: backpropagation inside a block and none between blocks; e.g. (2, 1).
    #: ``None``: one layer per block (plain FF).
    blocks: tuple[int, ...] | None = None
    #: ``simultaneous``: every block learns on every batch, each on the
    #: previous block's current (still changing) spikes. ``greedy``: one
    #: block at a time, the epochs split evenly between them (or as
    #: ``block_epochs`` says), earlier blocks frozen, so a block learns on a
    #: fixed input.
    schedule: str = "simultaneous"
    #: Greedy schedule only: the epochs of each training block, e.g. (7, 3):
    #: layer 1 learns for 7 epochs, then layer 2 for 3 (the trainer's epochs
    #: must be their sum). ``None``: an even split.
    block_epochs: tuple[int, ...] | None = None
    #: ``none``: constant step sizes. ``cosine``: each block's step size
    #: (``lr``, or ``three_factor_lr`` for the gradient-free rule) follows a
    #: half cosine from its full value to zero over the epochs in which the
    #: block learns (all epochs, or its share under the greedy schedule).
    lr_decay: str = "none"
    #: Multiplier of the step size (``lr``, or ``three_factor_lr``) of each
    #: training block, e.g. ``(1, 0.3)``: deeper layers see sharper goodness
    #: differences and can need smaller steps. ``None``: 1 for every block.
    block_lr_scale: tuple[float, ...] | None = None

    def __post_init__(self):
        check_positive_int("in_features", self.in_features)
        check_positive_int("time_steps", self.time_steps)
        check_positive_int("num_classes", self.num_classes)
        check_positive_int("label_repeat", self.label_repeat)
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {self.num_classes}")
        sizes = tuple(self.layer_sizes)
        if not sizes:
            raise ValueError("layer_sizes must name at least one layer")
        for i, size in enumerate(sizes):
            check_positive_int(f"layer_sizes[{i}]", size)
        object.__setattr__(self, "layer_sizes", sizes)
        if isinstance(self.neuron, dict):
            object.__setattr__(self, "neuron", NeuronParams(**self.neuron))
        for name, allowed in (("goodness", GOODNESS_KINDS), ("loss", LOSS_KINDS),
                              ("encoding", ENCODINGS), ("overlay", OVERLAYS),
                              ("rule", RULES), ("negatives", NEGATIVES), ("schedule", SCHEDULES),
                              ("lr_decay", LR_DECAYS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; valid: {', '.join(allowed)}")
        for name in ("theta", "lr", "three_factor_lr", "symba_alpha", "weight_scale", "label_scale"):
            check_positive_float(name, getattr(self, name))
        if self.blocks is not None:
            blocks = tuple(self.blocks) if isinstance(self.blocks, (tuple, list)) else self.blocks
            if not isinstance(blocks, tuple) or not blocks or any(
                    isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1 for b in blocks):
                raise ValueError(f"blocks must be positive layer counts, got {self.blocks!r}")
            if sum(blocks) != len(sizes):
                raise ValueError(f"blocks {list(blocks)} cover {sum(blocks)} layers but the network has "
                                 f"{len(sizes)} (layer_sizes {list(sizes)}); block sizes must sum to the layer count")
            if self.rule == "three_factor":
                raise ValueError("blocks need a gradient rule (surrogate or ffgaf): the three-factor rule "
                                 "has no backpropagation to share inside a block")
            object.__setattr__(self, "blocks", tuple(int(b) for b in blocks))
        self._per_block("block_lr_scale", "multiplier", check_positive_float)
        self._per_block("block_epochs", "epoch count", check_positive_int)
        if self.block_epochs is not None and self.schedule != "greedy":
            raise ValueError(f"block_epochs {list(self.block_epochs)} splits the epochs of the greedy schedule; "
                             f"schedule={self.schedule!r} trains every block in every epoch "
                             "(use schedule='greedy', or drop block_epochs)")
        if self.rule == "ffgaf" and self.goodness == "sum_sq_voltage":
            raise ValueError("rule 'ffgaf' trains through firing rates; goodness 'sum_sq_voltage' has no "
                             "rate to pass the gradient through (use sum_sq_rate or mean_sq_rate)")
        if self.loss == "softmax" and self.negatives != "random":
            raise ValueError(f"loss 'softmax' contrasts every wrong label at once; negatives={self.negatives!r} "
                             "has no meaning with it (use negatives='random', or loss softplus/symba)")
        if self.encoding == "spikes" and self.negatives == "hybrid":
            raise ValueError("negatives='hybrid' mixes images; it needs intensity inputs, not encoding='spikes'")
        if self.overlay == "first_pixels" and self.in_features < self.num_classes:
            raise ValueError(
                f"overlay='first_pixels' needs in_features >= num_classes ({self.num_classes}), "
                f"got {self.in_features}"
            )

    def _per_block(self, name: str, what: str, check) -> None:
        """Validate the optional field ``name``, one ``what`` per training
        block, each through ``check`` (which names ``name[i]``), and store it
        as a tuple of the checked values."""
        values = getattr(self, name)
        if values is None:
            return
        if not isinstance(values, (tuple, list)) or len(values) != len(self.layer_blocks):
            raise ValueError(f"{name} {values!r} must give one {what} per training block "
                             f"({len(self.layer_blocks)}: one per layer, or per IntFF block)")
        object.__setattr__(self, name, tuple(check(f"{name}[{i}]", v) for i, v in enumerate(values)))

    @property
    def layer_blocks(self) -> list[list[int]]:
        """Layer indices of each training block (one layer each without ``blocks``)."""
        sizes = self.blocks or (1,) * len(self.layer_sizes)
        starts = np.cumsum((0,) + tuple(sizes))
        return [list(range(int(a), int(b))) for a, b in zip(starts[:-1], starts[1:], strict=True)]

    @property
    def input_size(self) -> int:
        """Width of the network's input layer (pixels plus label neurons)."""
        extra = self.num_classes * self.label_repeat if self.overlay == "label_neurons" else 0
        return self.in_features + extra

    @property
    def label_columns(self) -> slice:
        """Where the label is written in the network's input: the appended
        label neurons, or (``first_pixels``) the first ``num_classes`` pixels."""
        if self.overlay == "label_neurons":
            return slice(self.in_features, self.input_size)
        return slice(0, self.num_classes)

    @property
    def readout_layers(self) -> list[int]:
        """Layers whose rates feed the linear readout (Hinton skips the first if deeper)."""
        n = len(self.layer_sizes)
        return list(range(1, n)) if self.eval_skip_first and n > 1 else list(range(n))

    @property
    def readout_offsets(self) -> dict[int, int]:
        """Where each readout layer's rates start in the readout's feature vector."""
        starts = np.cumsum([0] + [self.layer_sizes[i] for i in self.readout_layers])
        return {layer: int(start) for layer, start in zip(self.readout_layers, starts, strict=False)}

    @property
    def readout_features(self) -> int:
        return sum(self.layer_sizes[i] for i in self.readout_layers)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["layer_sizes"] = list(self.layer_sizes)
        for key in _TUPLE_FIELDS:
            out[key] = None if out[key] is None else list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FFConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown FFConfig keys {sorted(unknown)}; valid: {sorted(known)}")
        data = dict(data)
        data["layer_sizes"] = tuple(data.get("layer_sizes", cls.layer_sizes))
        for key in _TUPLE_FIELDS:
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        if isinstance(data.get("neuron"), dict):
            data["neuron"] = NeuronParams(**data["neuron"])
        return cls(**data)


def check_integer_weights(weights, name: str = "weights", shape: tuple | None = None) -> np.ndarray:
    """Validate Loihi 2 integer weights: a 2-D integer array of even values in
    ``[weight_min, weight_max]`` (8-bit mantissa, exponent 1). Float weights
    are refused with a pointer to :func:`quantize_weights`."""
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [out, in] array, got shape {weights.shape}")
    if shape is not None and weights.shape != tuple(shape):
        raise ValueError(f"{name} has shape {weights.shape}, expected {tuple(shape)}")
    if not np.issubdtype(weights.dtype, np.integer):
        raise ValueError(
            f"{name} must be Loihi integer weights, got dtype {weights.dtype}; convert float "
            "weights with lava_ff.config.quantize_weights"
        )
    lo, hi = int(weights.min(initial=0)), int(weights.max(initial=0))
    if lo < LOIHI2.weight_min or hi > LOIHI2.weight_max:
        raise ValueError(f"{name} range [{lo}, {hi}] exceeds the 8-bit Loihi range "
                         f"[{LOIHI2.weight_min}, {LOIHI2.weight_max}]")
    odd = np.flatnonzero(weights % LOIHI2.weight_step)
    if odd.size:
        raise ValueError(f"{name} must be multiples of {LOIHI2.weight_step} (weight exponent "
                         f"{LOIHI2.weight_exp}); {name}.flat[{odd[0]}] = {weights.flat[odd[0]]}")
    return weights.astype(np.int64)
