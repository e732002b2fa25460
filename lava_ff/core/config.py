""":class:`FFConfig`, everything that defines an FF network and how it
learns, and the vocabularies of its fields (goodness kinds, losses,
encodings, rules, overlays, negatives, schedules).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from lava_ff.core.checks import check_positive_float, check_positive_int
from lava_ff.core.errors import ConfigError
from lava_ff.core.layers import (
    ConvSpec,
    LayerShape,
    Synapse,
    check_image_shape,
    format_layers,
    layer_shapes,
    parse_layers,
)
from lava_ff.core.neuron import NeuronParams

__all__ = [
    'GOODNESS_KINDS', 'LOSS_KINDS', 'ENCODINGS', 'RULES', 'OVERLAYS', 'NEGATIVES', 'SCHEDULES', 'LR_DECAYS',
    'READOUT_FROM', 'GOODNESS_SCOPES',
    'PREDICTION_COLUMNS', 'CLASSIFY_MODES', 'LAVA_BATCH_COPIES', 'Classify', 'check_greedy_epochs', 'FFConfig',
]


GOODNESS_KINDS = ("sum_sq_rate", "mean_sq_rate", "sum_sq_voltage")
LOSS_KINDS = ("softplus", "symba", "softmax")
ENCODINGS = ("deterministic", "rate", "latency", "spikes")
RULES = ("surrogate", "three_factor", "ffgaf")
#: label_neurons / first_pixels: the label is written into the input; groups: it is not, and every
#: layer's neurons (a convolution's channels) are split into one group per class instead
OVERLAYS = ("label_neurons", "first_pixels", "groups")
NEGATIVES = ("random", "hard", "mixed", "hybrid")
#: simultaneous: every block learns in every epoch; greedy: one block at a time
SCHEDULES = ("simultaneous", "greedy")
LR_DECAYS = ("none", "cosine")
#: which layers the linear readout reads: every layer (or every one but the first, see
#: ``eval_skip_first``), or the last alone, which a netx file can carry to on-chip output neurons
READOUT_FROM = ("all", "last")
#: what a class-group objective scores: the whole layer, or each spatial position
GOODNESS_SCOPES = ("layer", "position")
#: optional FFConfig fields held as tuples (lists in to_dict's JSON form)
_TUPLE_FIELDS = ("blocks", "block_lr_scale", "block_epochs")
#: the columns of every prediction table ([N, 4]): torch, FFReadout, netx runs
PREDICTION_COLUMNS = ("goodness", "goodness_skip_first", "readout", "combined")
#: how a network classifies an image; the first is the default
CLASSIFY_MODES = ("combined", "goodness", "readout")
#: copies (images times their label windows) that Lava inference runs side by side by default
LAVA_BATCH_COPIES = 64


@dataclass(frozen=True)
class Classify:
    """What one classification mode runs per image and which prediction
    columns it fills, the one place every backend takes them from:

    * ``goodness``: one window per candidate label (``C`` windows), the
      label with the highest goodness; columns ``goodness`` and
      ``goodness_skip_first``.
    * ``readout``: one window under the neutral label, the linear readout
      of its spike counts; column ``readout``.
    * ``combined``: both (``C + 1`` windows), every column.

    >>> Classify("readout", 10).copies, Classify("goodness", 10).copies, Classify("combined", 10).copies
    (1, 10, 11)
    """

    mode: str
    num_classes: int

    def __post_init__(self):
        if self.mode not in CLASSIFY_MODES:
            raise ConfigError(f"unknown classification mode {self.mode!r}; valid: {', '.join(CLASSIFY_MODES)}")

    @property
    def candidates(self) -> bool:
        """Whether every candidate label gets a window (the goodness readout)."""
        return self.mode != "readout"

    @property
    def neutral(self) -> bool:
        """Whether the neutral-label window runs (the linear readout)."""
        return self.mode != "goodness"

    @property
    def copies(self) -> int:
        """Windows per image and view: the candidate labels, then the neutral one."""
        return self.num_classes * self.candidates + self.neutral

    def batch(self, batch: int | None = None) -> int:
        """Images per Lava window: ``batch``, by default as many as fill
        :data:`LAVA_BATCH_COPIES` copies (at least one)."""
        if batch is None:
            return max(1, LAVA_BATCH_COPIES // self.copies)
        return check_positive_int("batch", batch)

    @property
    def input_mode(self) -> tuple[str, bool]:
        """``(mode, neutral)`` of :class:`lava_ff.processes.ff_input.process.FFInput`."""
        return ("candidates", self.neutral) if self.candidates else ("neutral", True)

    @property
    def columns(self) -> tuple[str, ...]:
        """The prediction columns this mode fills."""
        return tuple(c for c in PREDICTION_COLUMNS
                     if (self.candidates and c.startswith("goodness")) or (self.neutral and c == "readout")
                     or (self.mode == "combined" and c == "combined"))


def check_greedy_epochs(schedule: str, epochs: int, count: int, unit: str,
                        block_epochs: tuple[int, ...] | None = None) -> None:
    """The greedy schedule gives each of ``count`` training ``unit`` (layers
    or blocks) at least one epoch: a ValueError when ``epochs`` is fewer, or
    when an explicit split ``block_epochs`` does not add up to ``epochs``."""
    if block_epochs is not None and sum(block_epochs) != epochs:
        raise ConfigError(f"block_epochs {list(block_epochs)} add up to {sum(block_epochs)} epochs but "
                         f"epochs={epochs}; give epochs={sum(block_epochs)} or another split")
    if schedule == "greedy" and epochs < count:
        raise ConfigError(f"schedule 'greedy' trains its {unit} one at a time: epochs={epochs} is fewer than "
                         f"the {count} {unit}; give at least {count} epochs")


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
    #: ``all``: the linear readout reads every layer's rates (all but the
    #: first with ``eval_skip_first``). ``last``: the last layer's alone, so
    #: that a netx file can hold the whole classifier (``export(classifier=True)``).
    readout_from: str = "all"
    #: the convolutional layers, the first ``len(conv)`` of the network
    #: (:mod:`lava_ff.core.layers`); their entries of ``layer_sizes`` are
    #: their neuron counts, channels x height x width
    conv: tuple[ConvSpec, ...] = ()
    #: (channels, height, width) of the input images: what a convolution reads
    image_shape: tuple[int, int, int] | None = None
    #: with class groups, what a layer's objective scores: ``layer``, each class's goodness over
    #: the whole layer; ``position``, each spatial position's own (the cross-entropy averaged over
    #: positions). Classification always scores the whole layer.
    goodness_scope: str = "layer"

    @classmethod
    def from_layers(cls, layers, image_shape, **fields) -> FFConfig:
        """A config from layer text or entries (``"c32k5p2,c64k3p2,1000"``,
        :func:`lava_ff.core.layers.parse_layers`) on images of
        ``image_shape``: ``in_features``, ``layer_sizes``, ``conv`` and
        ``image_shape`` derived from them. A network with convolutions
        splits its neurons into class groups (``overlay='groups'``)."""
        entries = parse_layers(layers)
        conv = tuple(e for e in entries if isinstance(e, ConvSpec))
        if not conv:
            sizes = tuple(entries)
            shape = None if image_shape is None else check_image_shape(image_shape)
            features = fields.pop("in_features", None)
            if features is None:
                if shape is None:
                    raise ConfigError("a dense network needs in_features or an image shape")
                features = int(np.prod(shape))
            return cls(in_features=features, layer_sizes=sizes, **fields)
        shape = check_image_shape(image_shape)
        shapes = layer_shapes(entries, shape)
        features = fields.pop("in_features", None)
        if features is not None and features != int(np.prod(shape)):
            raise ConfigError(f"in_features={features} but images of {shape} have {int(np.prod(shape))} values")
        fields.setdefault("overlay", "groups")
        return cls(in_features=int(np.prod(shape)), layer_sizes=tuple(s.size for s in shapes),
                   conv=conv, image_shape=shape, **fields)

    def __post_init__(self):
        check_positive_int("in_features", self.in_features)
        check_positive_int("time_steps", self.time_steps)
        check_positive_int("num_classes", self.num_classes)
        check_positive_int("label_repeat", self.label_repeat)
        if self.num_classes < 2:
            raise ConfigError(f"num_classes must be >= 2, got {self.num_classes}")
        sizes = tuple(self.layer_sizes)
        if not sizes:
            raise ConfigError("layer_sizes must name at least one layer")
        for i, size in enumerate(sizes):
            check_positive_int(f"layer_sizes[{i}]", size)
        object.__setattr__(self, "layer_sizes", sizes)
        self._check_conv()
        if isinstance(self.neuron, dict):
            object.__setattr__(self, "neuron", NeuronParams(**self.neuron))
        for name, allowed in (("goodness", GOODNESS_KINDS), ("loss", LOSS_KINDS),
                              ("encoding", ENCODINGS), ("overlay", OVERLAYS),
                              ("rule", RULES), ("negatives", NEGATIVES), ("schedule", SCHEDULES),
                              ("lr_decay", LR_DECAYS), ("readout_from", READOUT_FROM),
                              ("goodness_scope", GOODNESS_SCOPES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"unknown {name} {getattr(self, name)!r}; valid: {', '.join(allowed)}")
        for name in ("theta", "lr", "three_factor_lr", "symba_alpha", "weight_scale", "label_scale"):
            check_positive_float(name, getattr(self, name))
        if self.blocks is not None:
            blocks = tuple(self.blocks) if isinstance(self.blocks, (tuple, list)) else self.blocks
            if not isinstance(blocks, tuple) or not blocks or any(
                    isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1 for b in blocks):
                raise ConfigError(f"blocks must be positive layer counts, got {self.blocks!r}")
            if sum(blocks) != len(sizes):
                raise ConfigError(f"blocks {list(blocks)} cover {sum(blocks)} layers but the network has "
                                 f"{len(sizes)} (layer_sizes {list(sizes)}); block sizes must sum to the layer count")
            if self.rule == "three_factor":
                raise ConfigError("blocks need a gradient rule (surrogate or ffgaf): the three-factor rule "
                                 "has no backpropagation to share inside a block")
            object.__setattr__(self, "blocks", tuple(int(b) for b in blocks))
        self._per_block("block_lr_scale", "multiplier", check_positive_float)
        self._per_block("block_epochs", "epoch count", check_positive_int)
        if self.block_epochs is not None and self.schedule != "greedy":
            raise ConfigError(f"block_epochs {list(self.block_epochs)} splits the epochs of the greedy schedule; "
                             f"schedule={self.schedule!r} trains every block in every epoch "
                             "(use schedule='greedy', or drop block_epochs)")
        if self.rule == "ffgaf" and self.goodness == "sum_sq_voltage":
            raise ConfigError("rule 'ffgaf' trains through firing rates; goodness 'sum_sq_voltage' has no "
                             "rate to pass the gradient through (use sum_sq_rate or mean_sq_rate)")
        if self.loss == "softmax" and self.negatives != "random":
            raise ConfigError(f"loss 'softmax' contrasts every wrong label at once; negatives={self.negatives!r} "
                             "has no meaning with it (use negatives='random', or loss softplus/symba)")
        if self.encoding == "spikes" and self.negatives == "hybrid":
            raise ConfigError("negatives='hybrid' mixes images; it needs intensity inputs, not encoding='spikes'")
        if self.overlay == "first_pixels" and self.in_features < self.num_classes:
            raise ConfigError(
                f"overlay='first_pixels' needs in_features >= num_classes ({self.num_classes}), "
                f"got {self.in_features}"
            )

    def _check_conv(self) -> None:
        """The convolutions against the image shape and the layer sizes, and
        the class groups against the layers' widths."""
        conv = tuple(ConvSpec(**c) if isinstance(c, dict) else c for c in self.conv)
        if any(not isinstance(c, ConvSpec) for c in conv):
            raise ConfigError(f"conv must hold ConvSpec entries, got {self.conv!r}")
        object.__setattr__(self, "conv", conv)
        if self.image_shape is not None:
            shape = check_image_shape(self.image_shape)
            object.__setattr__(self, "image_shape", shape)
            if int(np.prod(shape)) != self.in_features:
                raise ConfigError(f"image shape {shape} has {int(np.prod(shape))} values but in_features="
                                  f"{self.in_features}")
        if conv:
            if self.image_shape is None:
                raise ConfigError(f"convolutions {[str(c) for c in conv]} need the image shape (image_shape)")
            if len(conv) > len(self.layer_sizes):
                raise ConfigError(f"{len(conv)} convolutions for {len(self.layer_sizes)} layers")
            entries = conv + self.layer_sizes[len(conv):]
            sizes = tuple(s.size for s in layer_shapes(entries, self.image_shape))
            if sizes != self.layer_sizes:
                raise ConfigError(f"layer_sizes {list(self.layer_sizes)} do not match the layers "
                                  f"{format_layers(entries)} on images of {self.image_shape}, which have "
                                  f"{list(sizes)} neurons")
            if self.overlay != "groups":
                raise ConfigError(f"a convolution has no place for a label in its input: overlay="
                                  f"{self.overlay!r} needs a dense network (use overlay='groups')")
        if self.goodness_scope != "layer" and self.overlay != "groups":
            raise ConfigError(f"goodness_scope={self.goodness_scope!r} scores class groups per position; it needs "
                              f"overlay='groups', got {self.overlay!r}")
        if self.overlay == "groups":
            for i, shape in enumerate(self.shapes):
                if shape.shape[0] < self.num_classes:
                    what = "channels" if i < len(conv) else "neurons"
                    raise ConfigError(f"layer {i} has {shape.shape[0]} {what}, fewer than the {self.num_classes} "
                                      f"classes: overlay='groups' needs at least one of them per class")
            if self.loss != "softmax":
                raise ConfigError(f"overlay='groups' scores every class at once, by its group's goodness: it "
                                  f"needs loss='softmax', got loss={self.loss!r}")
            if self.rule == "three_factor":
                raise ConfigError("overlay='groups' trains with a gradient rule (surrogate or ffgaf); the "
                                  "three-factor rule has one modulatory factor per sample, not per class group")

    @property
    def shapes(self) -> list[LayerShape]:
        """Every layer's :class:`lava_ff.core.layers.LayerShape`: channels x
        height x width of a convolution, ``(n, 1, 1)`` of a dense layer."""
        if not self.conv:
            return [LayerShape((n, 1, 1), (n, 1, 1)) for n in self.layer_sizes]
        return layer_shapes(self.layers, self.image_shape)

    def input_of(self, index: int) -> LayerShape:
        """What layer ``index`` reads: the image (or the input vector), or the
        previous layer, whose ``pool`` it sums its spikes over."""
        if index == 0:
            shape = self.image_shape if self.conv else (self.input_size, 1, 1)
            return LayerShape(shape, shape)
        return self.shapes[index - 1]

    def synapse(self, index: int) -> Synapse:
        """Layer ``index``'s synapses (:class:`lava_ff.core.layers.Synapse`):
        what they read, pooled how, and their weights' shape, ``[out, in]``
        of a dense layer (``in`` after the pooling) or ``[out, in, k, k]``
        of a convolution."""
        reads = self.input_of(index)
        if index < len(self.conv):
            conv = self.conv[index]
            shape = (conv.channels, reads.pooled[0], conv.kernel, conv.kernel)
        else:
            shape = (self.layer_sizes[index], int(np.prod(reads.pooled)))
        return Synapse.of(shape, reads.shape, reads.pool)

    @property
    def layers(self) -> tuple:
        """The layers as :func:`lava_ff.core.layers.parse_layers` entries:
        :class:`ConvSpec` for each convolution, neuron counts after them."""
        return self.conv + self.layer_sizes[len(self.conv):]

    def _per_block(self, name: str, what: str, check) -> None:
        """Validate the optional field ``name``, one ``what`` per training
        block, each through ``check`` (which names ``name[i]``), and store it
        as a tuple of the checked values."""
        values = getattr(self, name)
        if values is None:
            return
        if not isinstance(values, (tuple, list)) or len(values) != len(self.layer_blocks):
            raise ConfigError(f"{name} {values!r} must give one {what} per training block "
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
        if self.overlay == "groups":
            return self.in_features
        extra = self.num_classes * self.label_repeat if self.overlay == "label_neurons" else 0
        return self.in_features + extra

    @property
    def label_columns(self) -> slice:
        """Where the label is written in the network's input: the appended
        label neurons, or (``first_pixels``) the first ``num_classes`` pixels;
        none under ``groups``."""
        if self.overlay == "groups":
            return slice(self.in_features, self.in_features)
        if self.overlay == "label_neurons":
            return slice(self.in_features, self.input_size)
        return slice(0, self.num_classes)

    @property
    def readout_layers(self) -> list[int]:
        """Layers whose rates feed the linear readout (Hinton skips the first if deeper)."""
        n = len(self.layer_sizes)
        if self.readout_from == "last":
            return [n - 1]
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
        """The fields as JSON values; ``readout_from`` only where it is not
        ``all``, so that files of networks that read every layer stay what
        they always were (:meth:`from_dict` takes the default back)."""
        out = asdict(self)
        out["layer_sizes"] = list(self.layer_sizes)
        for key in _TUPLE_FIELDS:
            out[key] = None if out[key] is None else list(out[key])
        if out["readout_from"] == "all":
            del out["readout_from"]
        if out["goodness_scope"] == "layer":
            del out["goodness_scope"]
        if self.conv:
            out["conv"] = [c.to_dict() for c in self.conv]
            out["image_shape"] = list(self.image_shape)
        else:  # dense networks' files stay what they always were
            del out["conv"]
            if out["image_shape"] is None:
                del out["image_shape"]
            else:
                out["image_shape"] = list(self.image_shape)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FFConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown FFConfig keys {sorted(unknown)}; valid: {sorted(known)}")
        data = dict(data)
        data["layer_sizes"] = tuple(data.get("layer_sizes", cls.layer_sizes))
        for key in _TUPLE_FIELDS:
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        if isinstance(data.get("neuron"), dict):
            data["neuron"] = NeuronParams(**data["neuron"])
        if data.get("conv"):
            data["conv"] = tuple(ConvSpec(**c) if isinstance(c, dict) else c for c in data["conv"])
        if data.get("image_shape") is not None:
            data["image_shape"] = tuple(data["image_shape"])
        return cls(**data)
