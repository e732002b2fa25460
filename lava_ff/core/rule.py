"""THE FF three-factor rule: its constants, traces, third factors, Lava rule
strings and the offline update.

The network that learns in Lava (see :mod:`lava_ff.processes.ff_learning_neuron`
and :mod:`lava_ff.processes.ff_learning_dense`) is, per layer, a
``LearningDense`` synapse running Loihi 2's learning engine with a
three-factor rule, feeding an FF learning neuron (CUBA LIF) that measures its
goodness over each presentation window and returns the third factor::

    dw = S * u0 * x1 * y2  -  S * u0 * x1 * y3

* ``x1``: the pre-synaptic trace (impulse per spike, decay ``exp(-1/tau)``
  per step), kept by the synapse;
* ``y2``, ``y3``: sent by the neuron at the last step of its window,
  ``gain * rate * |m|`` on ``y2`` in the positive phase and on ``y3`` in the
  negative phase, with ``m = modulatory_factor(goodness, theta)``
  (:func:`lava_ff.core.rule.ff_post_factors`); zero at every other step, so
  the weights change once per window;
* ``u0``: every learning epoch, which lasts one step.

That is the gradient-free rule of the offline trainer,
``dW = lr * m * post x pre`` (:func:`lava_ff.core.rule.three_factor_update`),
with traces in place of rates. :class:`FFLearningRule` is the one place
that turns a learning rate into the rule strings, trace impulses and gains
of both models, so float and fixed learn at the same effective rate.

The offline gradient-free rule (``FFConfig.rule = "three_factor"``) calls
:func:`three_factor_update` with firing rates for ``pre`` and ``post``;
:func:`onchip_learning_rate` converts its step size into the on-chip
rule's (tested: one step of each changes the same synapses by the same
amount). :mod:`lava_ff.processes.learning_rule` hands the rule to Lava.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from lava_ff.core.checks import check_positive_float
from lava_ff.core.config import FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.goodness import modulatory_factor, sigmoid
from lava_ff.core.inputs import LABEL_NEGATIVES
from lava_ff.core.loihi import LOIHI2

__all__ = [
    'check_onchip_options', 'check_onchip_config',
    'onchip_learning_rate', 'offline_learning_rate',
    'three_factor_update', 'pre_trace_step', 'ff_post_factors', 'readout_logits', 'readout_post_factors',
    'ONCHIP_GOODNESS', 'TRACE_BITS', 'TRACE_UNITY', 'PRODUCT_SHIFT', 'WEIGHT_ACCUMULATOR_SHIFT',
    'LEARNED_WEIGHT_MIN', 'LEARNED_WEIGHT_MAX', 'Y_TAU', 'FLOAT_EXPONENT_OFFSET', 'FFLearningRule',
    'READOUT_LOGIT_SCALE', 'deployable_weights', 'ONCHIP_THRESHOLD', 'check_learning_weights',
    'check_start_weights', 'onchip_readout_linear',
]



def three_factor_update(pre_trace, post_trace, m, lr: float):
    """Gradient-free FF update ``dW[j, i] = lr * mean_b m_b * post_bj * pre_bi``.

    ``pre_trace`` ``[B, N_in]``, ``post_trace`` ``[B, N_out]``, ``m`` ``[B]``.
    For ``G = sum_j r_j**2`` this is the rate-approximation gradient of the
    FF loss up to a factor 2 absorbed in ``lr``: a Hebbian term gated by the
    sign and size of the goodness error. Works on numpy arrays and torch
    tensors; the on-chip rule implements the same product with traces.
    """
    batch = pre_trace.shape[0]
    return lr * ((m[:, None] * post_trace).T @ pre_trace) / batch


def onchip_learning_rate(three_factor_lr: float) -> float:
    """The on-chip rule's ``learning_rate`` (:class:`FFLearningRule`, integer
    weight units) that changes a synapse as much as the offline
    gradient-free rule's step ``three_factor_lr`` (:func:`three_factor_update`,
    float weight units, 1.0 = ``LOIHI2.w_scale`` integer units), for the
    same ``pre``, ``post`` and ``m``: ``dw = learning_rate * pre * post * m``
    on chip is ``w_scale * three_factor_lr * pre * post * m`` offline. (On
    chip ``pre`` is the pre-synaptic trace ``x1 / 128``, offline the rate.)"""
    return check_positive_float("three_factor_lr", three_factor_lr) * LOIHI2.w_scale


def offline_learning_rate(learning_rate: float) -> float:
    """The inverse of :func:`onchip_learning_rate`: the offline step of an on-chip ``learning_rate``."""
    return check_positive_float("learning_rate", learning_rate) / LOIHI2.w_scale


def pre_trace_step(trace: np.ndarray, spikes: np.ndarray, retention: float, impulse: float) -> np.ndarray:
    """One step of the pre-synaptic trace of Loihi's learning engine with a
    one-step learning epoch: ``x <- x * exp(-1 / tau) + impulse * s`` (the
    float model; the fixed engine rounds both terms stochastically)."""
    return trace * retention + impulse * np.asarray(spikes, dtype=np.float64)


def ff_post_factors(counts: np.ndarray, raw: float, *, scale: float, theta: float, time_steps: int,
                    phase: int, gain: int, fixed: bool) -> tuple[np.ndarray, np.ndarray]:
    """The third-factor traces ``(y2, y3)`` an FF learning neuron sends at the
    end of its window: ``y = gain / 128 * (count / T) * |m|`` on ``y2`` in
    the positive phase (``m > 0``: raise goodness) and on ``y3`` in the
    negative phase, with ``m = modulatory_factor(raw * scale, theta)``.

    The split by sign is Loihi's: traces are 7-bit unsigned, so the rule
    string subtracts the ``y3`` product. Fixed point sends integers
    ``(gain * count * round(128 |m|)) // (T * 128)`` in [0, 127] (``|m|``
    is a function of the integer goodness, a table lookup on chip); float
    sends the same quantity unrounded, divided by 128. ``phase == 0``:
    no learning, both zero.
    """
    counts = np.asarray(counts)
    zero = np.zeros(counts.shape, np.int64 if fixed else np.float64)
    if phase == 0:
        return zero, zero
    m = abs(float(modulatory_factor(np.float64(raw) * scale, theta, phase > 0)))
    if fixed:
        m_q = int(np.rint(m * 128))
        y = (int(gain) * counts.astype(np.int64) * m_q) // (time_steps * 128)
    else:
        y = gain / 128 * (counts.astype(np.float64) / time_steps) * m
    return (y, zero) if phase > 0 else (zero, y)


def readout_logits(score: np.ndarray, *, logit_scale: float, time_steps: int, fixed: bool) -> np.ndarray:
    """An on-chip readout neuron's logits from its window's summed input
    ``score`` (``sum_t a_in[t] = W @ counts``): ``logit_scale * W @ rates``
    with ``W`` in float weight units (integer units / 64; the float synapse
    already sends them divided by 64, the fixed one in integers)."""
    units = LOIHI2.w_scale if fixed else 1
    return logit_scale * np.asarray(score, np.float64) / (units * time_steps)


def readout_post_factors(logits: np.ndarray, label: int, *, gain: int, fixed: bool) -> tuple[np.ndarray, np.ndarray]:
    """The third factors ``(y2, y3)`` of an on-chip readout that learns a
    one-vs-rest logistic regression of the label: neuron ``c`` has the error
    ``e_c = [c == label] - sigmoid(logit_c)`` (``-dL/dlogit`` of its binary
    cross-entropy, from its own logit alone: a local rule) and sends
    ``gain / 128 * |e_c|`` on ``y2`` where ``e_c > 0`` (raise its weights
    from the active inputs) and on ``y3`` where ``e_c < 0``. Fixed point
    sends ``(gain * round(128 |e_c|)) // 128`` in [0, 127] (``|e_c|``: a
    table of the integer score, as the FF neuron's factor is); float the
    same unrounded, divided by 128. ``label < 0``: no learning, both zero."""
    logits = np.asarray(logits, np.float64)
    zero = np.zeros(logits.shape, np.int64 if fixed else np.float64)
    if label < 0:
        return zero, zero
    error = (np.arange(len(logits)) == label) - sigmoid(logits)
    if fixed:
        size = (int(gain) * np.rint(np.abs(error) * 128).astype(np.int64)) // 128
    else:
        size = gain / 128 * np.abs(error)
    return np.where(error > 0, size, zero), np.where(error < 0, size, zero)

#: goodness kinds a learning neuron computes from its spike counts
ONCHIP_GOODNESS = ("sum_sq_rate", "mean_sq_rate")
#: Loihi 2 learning engine numbers (lava.magma.core.learning.constants)
TRACE_BITS = 7  # x1, y2, y3: unsigned 7-bit
TRACE_UNITY = 1 << TRACE_BITS  # the float models carry traces divided by this
PRODUCT_SHIFT = 3  # two 7-bit factors + 4-bit mantissa = 18 bits > 15-bit accumulator
WEIGHT_ACCUMULATOR_SHIFT = 7  # 9-bit signed weights << 7 in the 16-bit accumulator
#: the engine's learned weights: 8 bits and a sign, any integer
LEARNED_WEIGHT_MIN, LEARNED_WEIGHT_MAX = -256, 255
#: Loihi3FLearningRule sets every y tau to this: y decays by exp(-1/65535) before use
Y_TAU = 65535
#: exponent range of a rule constant (the parser's), and the part usable here
_EXP_MIN, _EXP_MAX = -7, 8
#: float rule exponent = fixed exponent + this (traces / 128 twice, weights in integer units)
FLOAT_EXPONENT_OFFSET = 2 * TRACE_BITS - PRODUCT_SHIFT  # 11


@dataclass(frozen=True)
class FFLearningRule:
    """The on-chip FF rule from named hyper-parameters.

    Parameters
    ----------
    learning_rate : float
        ``dw = learning_rate * x * rate * m`` in integer weight units per
        window, with ``x = x1 / 128`` the pre-trace in [0, 1), ``rate`` the
        post-synaptic firing rate and ``m`` the modulatory factor. Realised
        as ``mantissa * 2**exponent * gain / 128`` (see :attr:`realised_rate`);
        must lie in about [0.07, 1778] (smaller underflows to zero in fixed point).
    pre_trace_tau : int
        Decay time constant of ``x1`` in steps, an integer in [1, 255].
    pre_trace_impulse : int
        Increment of ``x1`` per pre-synaptic spike, in 7-bit units [1, 127].
    rng_seed : int
        Seed of the fixed engine's stochastic rounding.

    Notes
    -----
    The learning epoch lasts one step: layer ``l`` finishes its window
    ``l + 1`` steps after the input, so window ends fall on every step
    residue and only a one-step epoch learns at each of them.
    """

    learning_rate: float = 16.0
    pre_trace_tau: int = 4
    pre_trace_impulse: int = 16
    rng_seed: int = 2
    #: (mantissa, fixed exponent, gain), derived once from learning_rate in __post_init__
    _parts: tuple = field(default=(), init=False, repr=False, compare=False)

    t_epoch = 1

    def __post_init__(self):
        check_positive_float("learning_rate", self.learning_rate)
        lr = self.learning_rate
        tau = self.pre_trace_tau
        if isinstance(tau, bool) or not isinstance(tau, (int, np.integer)) or not 1 <= tau <= 255:
            raise ConfigError(f"pre_trace_tau must be an integer in [1, 255] steps, got {tau!r} "
                             "(tau = 0 would make the float engine's trace NaN)")
        imp = self.pre_trace_impulse
        if isinstance(imp, bool) or not isinstance(imp, (int, np.integer)) or not 1 <= imp < TRACE_UNITY:
            raise ConfigError(f"pre_trace_impulse must be an integer in [1, {TRACE_UNITY - 1}], got {imp!r}")
        parts = self._decompose()
        if parts is None:
            smallest = self._scale(1, _EXP_MIN) / TRACE_UNITY
            if lr < smallest:
                raise ConfigError(
                    f"learning_rate={lr!r} underflows to zero in fixed point: the smallest nonzero rate "
                    f"the learning engine realises is {smallest} (gain 1/128 on 1*2^{_EXP_MIN})")
            largest = self._scale(7, _EXP_MAX - FLOAT_EXPONENT_OFFSET) * (TRACE_UNITY - 1) / TRACE_UNITY
            raise ConfigError(f"learning_rate={lr!r} is above the largest rate the engine realises, {largest}")
        object.__setattr__(self, "_parts", parts)
        if abs(self.realised_rate / lr - 1) > 0.05 or self.gain < 16:
            warnings.warn(
                f"learning_rate={lr!r} is realised in fixed point as {self.realised_rate} with a third-factor "
                f"gain of {self.gain}/128: updates are coarse and small ones round to zero; a rate of at "
                "least 16 keeps the gain above 1/8", stacklevel=2)

    # --------------------------------------------------------------- mapping
    @staticmethod
    def _scale(mantissa: int, exponent: int) -> float:
        """Effective rate of gain 1 for a fixed rule constant ``mantissa * 2^exponent``."""
        return mantissa * 2.0 ** (exponent + FLOAT_EXPONENT_OFFSET)

    def _decompose(self):
        """``(mantissa, fixed exponent, gain)`` realising the rate most closely;
        float exponents ``= fixed + 11`` must stay <= 8, so fixed <= -3."""
        best = None
        for exponent in range(_EXP_MIN, _EXP_MAX - FLOAT_EXPONENT_OFFSET + 1):
            for mantissa in range(1, 8):
                gain = round(self.learning_rate * TRACE_UNITY / self._scale(mantissa, exponent))
                if not 1 <= gain < TRACE_UNITY:
                    continue
                realised = self._scale(mantissa, exponent) * gain / TRACE_UNITY
                key = (round(abs(realised / self.learning_rate - 1), 3), -gain)
                if best is None or key < best[0]:
                    best = (key, (mantissa, exponent, gain))
        return None if best is None else best[1]

    @property
    def mantissa(self) -> int:
        return self._parts[0]

    @property
    def exponent(self) -> int:
        """The fixed rule's exponent; the float rule's is ``+ 11``."""
        return self._parts[1]

    @property
    def gain(self) -> int:
        """The neuron's third-factor gain, in 1/128 (fixed: an integer multiplier)."""
        return self._parts[2]

    @property
    def realised_rate(self) -> float:
        return self._scale(self.mantissa, self.exponent) * self.gain / TRACE_UNITY

    @property
    def pre_trace_retention(self) -> float:
        return math.exp(-1.0 / self.pre_trace_tau)

    @property
    def post_trace_retention(self) -> float:
        """``y2``/``y3`` decay once (``tau = 65535``) between arrival and use."""
        return math.exp(-1.0 / Y_TAU)

    def rule_constant(self, *, fixed: bool) -> float:
        """The rule's ``S`` as the engine applies it: fixed ``dw_int = S * x1 * y``
        on 7-bit integer traces; float ``dw = S * x1 * y`` on traces / 128."""
        e = self.exponent
        return self.mantissa * 2.0 ** (e - PRODUCT_SHIFT) if fixed else \
            self.mantissa * 2.0 ** (e + FLOAT_EXPONENT_OFFSET)

    def dw(self, *, fixed: bool) -> str:
        """Lava's rule string for the fixed (hardware) or float model."""
        e = self.exponent + (0 if fixed else FLOAT_EXPONENT_OFFSET)
        s = f"{self.mantissa}*2^{e}"
        return f"{s}*u0*x1*y2 - {s}*u0*x1*y3"

    def pre_trace_increment(self, *, fixed: bool) -> float:
        """``x1``'s increment per spike as the engine holds it: 7-bit units
        (fixed), or divided by 128 (float)."""
        return self.pre_trace_impulse if fixed else self.pre_trace_impulse / TRACE_UNITY

    def schedule(self, decay: float, epochs: int, name: str = "rate_decay") -> list[FFLearningRule]:
        """One rule per epoch, epoch ``e`` at ``learning_rate * decay**e``
        (``decay`` in (0, 1], ``name`` in the error). All are built now, so a
        rate that would underflow in fixed point by the last epoch fails
        before any learning."""
        if isinstance(decay, bool) or not isinstance(decay, (int, float, np.floating)) or not 0 < decay <= 1:
            raise ConfigError(f"{name} must be a number in (0, 1], got {decay!r}")
        return [self if decay == 1 else replace(self, learning_rate=self.learning_rate * decay**e)
                for e in range(epochs)]

    def to_dict(self) -> dict:
        return {"learning_rate": self.learning_rate, "pre_trace_tau": self.pre_trace_tau,
                "pre_trace_impulse": self.pre_trace_impulse, "rng_seed": self.rng_seed,
                "realised_rate": self.realised_rate, "dw_fixed": self.dw(fixed=True),
                "dw_float": self.dw(fixed=False), "gain": self.gain}


#: the on-chip readout's logit per unit of ``W @ rates`` (W in float weight units), picked on MNIST validation
#: (784-1000-1000 after five FF passes, 6,000 images, the numpy reference: 96.83 % at 4 against 96.43 % at 1;
#: after one FF pass 94.25 against 93.95 %)
READOUT_LOGIT_SCALE = 4.0


def deployable_weights(learned: np.ndarray) -> np.ndarray:
    """Learned weights -> the 8-bit even grid inference (and netx) uses:
    floor to even, exactly what Lava's ``Dense(num_weight_bits=8)`` does to
    them on its first step, clamped to [-256, 254]."""
    w = check_learning_weights(np.rint(np.asarray(learned, np.float64)), "learned weights").astype(np.int32)
    even = np.left_shift(np.right_shift(w, LOIHI2.weight_exp), LOIHI2.weight_exp)
    return np.clip(even, LOIHI2.weight_min, LOIHI2.weight_max).astype(np.int32)


# --------------------------------------------------------- numpy reference
#: Neuron threshold (in units of 64 weight steps) that on-chip learning starts
#: from by default; :func:`lava_ff.onchip.fit.initial_weights` scales the
#: weights with it. Measured with the numpy reference and Lava's shared-random
#: rounding on validation splits: digits (64-100-100, 1,000 samples, rate 4
#: per threshold unit) threshold 1 gave fixed 38 % vs float 80 %, threshold 4
#: gave 82 % vs 85 %. MNIST (784-500-500, 2,000 samples, theta 5, label
#: repeat 20) wants more: threshold 4 / rate 4 gave 57 % vs 82 %, threshold
#: 16 / rate 8 82 % vs 86 %, threshold 32 / rate 16 86.5 % vs 87.7 %
#: (``configs/mnist-onchip.toml``; 64 / 32 gave no more).
ONCHIP_THRESHOLD = 4.0


def check_learning_weights(weights, name: str = "weights", shape: tuple | None = None) -> np.ndarray:
    """Weights a learning synapse starts from: finite, 2-D, within the
    engine's [-256, 255] (integers for fixed point: an offline-trained
    network's even 8-bit weights, or weights learned before; float64 from a
    float run)."""
    w = np.asarray(weights)
    if w.ndim != 2 or (shape is not None and w.shape != tuple(shape)):
        raise ConfigError(f"{name} must have shape {shape if shape is not None else '[out, in]'}, got {w.shape}")
    if w.dtype.kind not in "iuf":
        raise ConfigError(f"{name} must be numeric, got dtype {w.dtype}")
    if not np.all(np.isfinite(w)):
        raise ConfigError(f"{name} contain NaN or inf")
    if w.size and (w.min() < LEARNED_WEIGHT_MIN or w.max() > LEARNED_WEIGHT_MAX):
        raise ConfigError(f"{name} outside the learning engine's [{LEARNED_WEIGHT_MIN}, {LEARNED_WEIGHT_MAX}] "
                         f"(integer weight units; float weights w are w * 64): [{w.min()}, {w.max()}]")
    return w.astype(np.int32) if w.dtype.kind in "iu" else w.astype(np.float64)


def check_start_weights(weights: list, config: FFConfig) -> list[np.ndarray]:
    """One :func:`check_learning_weights` matrix per layer, shapes chained."""
    if len(weights) != len(config.layer_sizes):
        raise ConfigError(f"{len(weights)} weight matrices for {len(config.layer_sizes)} layers")
    fan_in, out = config.input_size, []
    for i, (wi, size) in enumerate(zip(weights, config.layer_sizes, strict=True)):
        out.append(check_learning_weights(wi, f"layer {i} weights", (size, fan_in)))
        fan_in = size
    return out


def onchip_readout_linear(readout: np.ndarray, logit_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The on-chip readout in the linear-readout convention of the host and
    netx readouts (``logits = W @ rates + b``, :class:`FFReadout`):
    ``W = logit_scale * W_int / 64`` on the deployable integer weights, no
    bias, so the logits are the readout neuron's own
    (:func:`lava_ff.core.rule.readout_logits`)."""
    from lava_ff.core.checks import check_positive_float

    logit_scale = check_positive_float("logit_scale", logit_scale)
    weight = logit_scale * deployable_weights(readout).astype(np.float64) / LOIHI2.w_scale
    return weight, np.zeros(len(weight))


def check_onchip_options(*, loss: str = "softplus", schedule: str = "simultaneous", lr_decay: str = "none",
                         block_lr_scale=None, negatives: str = "random", goodness: str = "sum_sq_rate",
                         shift: int = 0, rotate: float = 0.0, zoom: float = 0.0, layers=(),
                         overlay: str | None = None) -> None:
    """A :class:`ConfigError` naming the first option Lava's learning engine
    cannot learn with: on chip every layer learns on every sample with the
    softplus loss, at one rule rate per run, from wrong labels, on the
    images as they are. The one home of these rules: the CLI asks before
    loading any data, :func:`check_onchip_config` for a built config."""
    offline = "; train offline (backend torch) for it"
    conv = [(i, e) for i, e in enumerate(layers) if not isinstance(e, (int, np.integer))]
    refusals = (
        (bool(conv), f"layer {conv[0][0]} ({conv[0][1]}) is a convolution: Lava's learning engine here learns "
                     "Dense synapses only, so on-chip learning needs dense layers" if conv else ""),
        (overlay == "groups", "overlay='groups' scores every class by its group of neurons; the on-chip FF "
                              "neuron learns from one label per window (use label_neurons or first_pixels)"),
        (loss != "softplus", f"loss={loss!r}: on-chip learning runs the softplus loss (the FF neuron sends "
                             "m = sigmoid(+-(theta - G)) per phase)"),
        (schedule != "simultaneous", f"schedule={schedule!r}: on-chip learning runs every layer on every sample"),
        (lr_decay != "none", f"lr_decay={lr_decay!r}: on-chip learning runs the rule at the fixed on-chip rate "
                             "within a run (the learning engine's rule constants do not change during a run; "
                             "decay it per epoch with the on-chip rate decay)"),
        (block_lr_scale is not None, f"block_lr_scale={block_lr_scale!r}: on-chip learning runs one on-chip rate "
                                     "(--onchip-lr) in every layer"),
        (negatives not in LABEL_NEGATIVES, f"negatives={negatives!r}: on-chip learning shows each sample with a "
                                           f"wrong label; use {', '.join(LABEL_NEGATIVES)}"),
        (goodness not in ONCHIP_GOODNESS, f"goodness={goodness!r}: a learning neuron computes "
                                          f"{' or '.join(ONCHIP_GOODNESS)} from its spike counts"),
        *((bool(value), f"{name}={value!r}: on-chip learning streams the images as they are, or their "
                        "one-pixel moves with on-chip views (--onchip-views)")
          for name, value in (("shift", shift), ("rotate", rotate), ("zoom", zoom))),
    )
    for refused, message in refusals:
        if refused:
            raise ConfigError(message + offline)


def check_onchip_config(config: FFConfig, settings=None) -> FFConfig:
    """``config`` (and the offline ``settings``' augmentation, if given) if
    Lava's learning engine can learn it, else :func:`check_onchip_options`'s
    :class:`ConfigError` naming the field."""
    augmentation = {} if settings is None else {"shift": settings.shift, "rotate": settings.rotate,
                                                "zoom": settings.zoom}
    check_onchip_options(loss=config.loss, schedule=config.schedule, lr_decay=config.lr_decay,
                         block_lr_scale=config.block_lr_scale, negatives=config.negatives,
                         goodness=config.goodness, layers=config.layers, overlay=config.overlay, **augmentation)
    return config
