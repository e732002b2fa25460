"""On-chip Forward-Forward learning: the rule, its phase schedule and its numpy reference.

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
  (:func:`lava_ff.kernels.ff_post_factors`); zero at every other step, so
  the weights change once per window;
* ``u0``: every learning epoch, which lasts one step.

That is the gradient-free rule of the offline trainer,
``dW = lr * m * post x pre`` (:func:`lava_ff.kernels.three_factor_update`),
with traces in place of rates. :class:`FFLearningRule` is the one place
that turns a learning rate into the rule strings, trace impulses and gains
of both models, so float and fixed learn at the same effective rate.

Phase schedule: every sample takes two windows of ``T + 1`` steps, first
with its true label overlaid (positive phase), then with a wrong label
(negative phase): a random one, or with ``FFConfig.negatives`` ``hard`` /
``mixed`` the wrong label the weights learned so far score highest
(:func:`lava_ff.negatives.wrong_labels`, refreshed every chunk of samples by
:func:`lava_ff.onchip_lava.train_onchip`). The first step of every window is silent, so each layer
(``l + 1`` steps behind the input: one ``Dense`` delay per layer) starts its
window after a reset with no input: every layer sees exactly the ``T``-step
forward pass of the offline model, and the trained weights need no
translation for inference.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from .config import (
    LOIHI2,
    FFConfig,
    FixedNeuronParams,
    check_positive_float,
    check_positive_int,
    dequantize_neuron,
)
from .kernels import (
    CubaState,
    cuba_step_fixed,
    cuba_step_float,
    ff_post_factors,
    goodness_scale,
    is_window_end,
    pre_trace_step,
    raw_goodness,
    readout_logits,
    readout_post_factors,
    three_factor_update,
    window_position,
)
from .negatives import check_labels, overlay_encoded

__all__ = [
    "FFLearningRule",
    "ONCHIP_GOODNESS",
    "check_rule_string",
    "post_synaptic_ports",
    "POST_SYNAPTIC_PORTS",
    "phase_windows",
    "readout_window",
    "INPUT_SCHEDULES",
    "READOUT_LOGIT_SCALE",
    "window_length",
    "check_latency",
    "MESSAGES",
    "check_messages",
    "message_shape",
    "simulate_onchip",
    "simulate_onchip_windows",
    "hidden_window_spikes",
    "simulate_readout_windows",
    "ReadoutResult",
    "ROUNDING_MODES",
    "ONCHIP_THRESHOLD",
    "OnChipResult",
    "deployable_weights",
    "check_learning_weights",
    "check_start_weights",
]

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


def check_rule_string(dw: str) -> str:
    """Parse ``dw`` with Lava's learning-rule parser; raise ``ValueError``
    naming the string if Lava would reject it (decimals, a bare ``u``, a
    constant outside ``mantissa in [-8, 7] * 2^e, e in [-7, 8]``, no
    dependency)."""
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule

    if not isinstance(dw, str) or not dw.strip():
        raise ValueError(f"learning rule string must be a non-empty str, got {dw!r}")
    try:
        Loihi3FLearningRule(dw=dw, x1_impulse=1, x1_tau=1, t_epoch=1, rng_seed=2)
    except Exception as err:  # Lava raises ValueError, AttributeError or KeyError
        raise ValueError(f"Lava's learning engine rejects the rule {dw!r}: {type(err).__name__}: "
                         f"{err} (constants are mantissa*2^exponent with mantissa in [-8, 7], "
                         "exponent in [-7, 8], no decimals; dependencies are x0, y0 or u0..u9)") from err
    return dw


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
            raise ValueError(f"pre_trace_tau must be an integer in [1, 255] steps, got {tau!r} "
                             "(tau = 0 would make the float engine's trace NaN)")
        imp = self.pre_trace_impulse
        if isinstance(imp, bool) or not isinstance(imp, (int, np.integer)) or not 1 <= imp < TRACE_UNITY:
            raise ValueError(f"pre_trace_impulse must be an integer in [1, {TRACE_UNITY - 1}], got {imp!r}")
        parts = self._decompose()
        if parts is None:
            smallest = self._scale(1, _EXP_MIN) / TRACE_UNITY
            if lr < smallest:
                raise ValueError(
                    f"learning_rate={lr!r} underflows to zero in fixed point: the smallest nonzero rate "
                    f"the learning engine realises is {smallest} (gain 1/128 on 1*2^{_EXP_MIN})")
            largest = self._scale(7, _EXP_MAX - FLOAT_EXPONENT_OFFSET) * (TRACE_UNITY - 1) / TRACE_UNITY
            raise ValueError(f"learning_rate={lr!r} is above the largest rate the engine realises, {largest}")
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
        return check_rule_string(f"{s}*u0*x1*y2 - {s}*u0*x1*y3")

    def lava_rule(self, *, fixed: bool):
        """A ``Loihi3FLearningRule`` for ``LearningDense`` (fixed: what Loihi runs)."""
        from lava.magma.core.learning.learning_rule import Loihi3FLearningRule

        impulse = self.pre_trace_impulse if fixed else self.pre_trace_impulse / TRACE_UNITY
        return Loihi3FLearningRule(dw=self.dw(fixed=fixed), x1_impulse=impulse, x1_tau=self.pre_trace_tau,
                                   t_epoch=self.t_epoch, rng_seed=self.rng_seed)

    def to_dict(self) -> dict:
        return {"learning_rate": self.learning_rate, "pre_trace_tau": self.pre_trace_tau,
                "pre_trace_impulse": self.pre_trace_impulse, "rng_seed": self.rng_seed,
                "realised_rate": self.realised_rate, "dw_fixed": self.dw(fixed=True),
                "dw_float": self.dw(fixed=False), "gain": self.gain}


# ------------------------------------------------------------ the schedule
#: a learning synapse's inputs from its post-synaptic neuron (each fed by the neuron's ``s_out_*`` twin)
POST_SYNAPTIC_PORTS = ("s_in_bap", "s_in_y1", "s_in_y2", "s_in_y3")


def post_synaptic_ports(lava_rule) -> tuple[str, ...]:
    """The synapse's post-synaptic inputs that ``lava_rule`` (a Lava
    ``Loihi3FLearningRule``) reads: ``s_in_y1..3`` for the traces in its
    products, ``s_in_bap`` if it depends on post-synaptic spikes (``y0``;
    a three-factor rule's ``y`` traces have no spike impulses). The engine
    reads an unconnected input as zeros, so wiring only these changes
    nothing in the learning and spares the simulator a message per input
    and step."""
    read = set(lava_rule.active_traces) | ({"bap"} if "y0" in lava_rule.active_traces_per_dependency else set())
    return tuple(port for port in POST_SYNAPTIC_PORTS if port[len("s_in_"):] in read)


def window_length(time_steps: int) -> int:
    """Steps per phase window: one silent step, then the ``T`` input steps."""
    return check_positive_int("time_steps", time_steps) + 1


def check_latency(latency, time_steps: int, name: str = "latency") -> int:
    """A layer's delay behind the input, a positive int below the window length."""
    length = window_length(time_steps)
    latency = check_positive_int(name, latency)
    if latency >= length:
        raise ValueError(f"{name}={latency} must be below the window length {length} (time_steps + 1): "
                         "a layer must start its window while the input still shows it")
    return latency


#: how the learning network's Processes exchange spikes and currents in Lava's simulator
MESSAGES = ("step", "window")


def check_messages(messages) -> str:
    """``"step"``: one message per port and time step, as Loihi 2 runs the
    network. ``"window"``: one Lava step per phase window, each message
    holding the window's ``T`` steps (``[n, T]``); the same arithmetic, in
    the same order, with the same random numbers, so the same weights bit
    for bit (tested), and a tenth of the runtime's message rounds. A
    simulator mode: Loihi 2 has no window messages."""
    if messages not in MESSAGES:
        raise ValueError(f"unknown messages {messages!r}; valid: {', '.join(MESSAGES)}")
    return messages


def message_shape(size: int, time_steps: int, messages: str) -> tuple[int, ...]:
    """The shape of a spike or current port of ``size`` units: ``(size,)``
    with step messages, ``(size, T)`` with window messages."""
    return (int(size), int(time_steps)) if messages == "window" else (int(size),)


def phase_windows(x: np.ndarray, label: int, negative_label: int, config: FFConfig,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """One sample's two windows ``[2, F', T]``: true label, then the wrong one.
    The input Process and :func:`simulate_onchip` both call this."""
    if label == negative_label:
        raise ValueError(f"the negative label must differ from the true label, both are {label}")
    return _encoded_windows(np.repeat(np.asarray(x)[None], 2, axis=0),
                            np.array([label, negative_label], dtype=np.int64), config, rng)


def _encoded_windows(batch: np.ndarray, labels: np.ndarray | None, config: FFConfig,
                     rng: np.random.Generator | None) -> np.ndarray:
    """``batch`` with ``labels`` overlaid (``None``: neutral) and encoded as ``config`` says, ``[B, F', T]``."""
    return overlay_encoded(batch, labels, config.num_classes, config.time_steps, config.encoding, rng,
                           scheme=config.overlay, label_scale=config.label_scale,
                           label_repeat=config.label_repeat)


#: the on-chip readout's logit per unit of ``W @ rates`` (W in float weight units), picked on MNIST validation
#: (784-1000-1000 after five FF passes, 6,000 images, the numpy reference: 96.83 % at 4 against 96.43 % at 1;
#: after one FF pass 94.25 against 93.95 %)
READOUT_LOGIT_SCALE = 4.0

#: what the input Process streams per sample: the FF phases, or one neutral window for an on-chip readout
INPUT_SCHEDULES = ("ff", "readout")


def readout_window(x: np.ndarray, config: FFConfig, rng: np.random.Generator | None = None) -> np.ndarray:
    """One sample's window ``[F', T]`` with the neutral label overlaid: what
    the readout sees at inference, and learns from on chip."""
    return _encoded_windows(np.asarray(x)[None], None, config, rng)[0]


def deployable_weights(learned: np.ndarray) -> np.ndarray:
    """Learned weights -> the 8-bit even grid inference (and netx) uses:
    floor to even, exactly what Lava's ``Dense(num_weight_bits=8)`` does to
    them on its first step, clamped to [-256, 254]."""
    w = check_learning_weights(np.rint(np.asarray(learned, np.float64)), "learned weights").astype(np.int32)
    even = np.left_shift(np.right_shift(w, LOIHI2.weight_exp), LOIHI2.weight_exp)
    return np.clip(even, LOIHI2.weight_min, LOIHI2.weight_max).astype(np.int32)


# --------------------------------------------------------- numpy reference
#: Neuron threshold (in units of 64 weight steps) that on-chip learning starts
#: from by default; :func:`lava_ff.onchip_train.initial_weights` scales the
#: weights with it. Measured with the numpy reference and Lava's shared-random
#: rounding on validation splits: digits (64-100-100, 1,000 samples, rate 4
#: per threshold unit) threshold 1 gave fixed 38 % vs float 80 %, threshold 4
#: gave 82 % vs 85 %. MNIST (784-500-500, 2,000 samples, theta 5, label
#: repeat 20) wants more: threshold 4 / rate 4 gave 57 % vs 82 %, threshold
#: 16 / rate 8 82 % vs 86 %, threshold 32 / rate 16 86.5 % vs 87.7 %
#: (``benchmarks/onchip_mnist.py`` defaults; 64 / 32 gave no more).
ONCHIP_THRESHOLD = 4.0

#: how :func:`simulate_onchip` turns fixed-point weight changes into integers
ROUNDING_MODES = ("expected", "shared", "independent")


class OnChipResult(NamedTuple):
    weights: list  # per layer, [out, in], float64 (fixed mode: the expected update, unrounded)
    goodness: np.ndarray  # raw goodness [layers, windows]


def simulate_onchip(weights: list, neuron: FixedNeuronParams, rule: FFLearningRule, config: FFConfig,
                    windows: np.ndarray, phases: np.ndarray, *, fixed: bool,
                    steps: int | None = None, rounding: str = "expected",
                    rng: np.random.Generator | None = None) -> OnChipResult:
    """Step-by-step numpy reference of the Lava learning network.

    ``windows`` ``[K, F', T]`` are the input spikes of ``K`` phase windows,
    ``phases`` their signs (+1 positive, -1 negative, 0 no learning). It
    mirrors the Processes: input -> (synapse, one-step delay) -> neuron ->
    next synapse, per-layer windows ``l + 1`` steps late, learning at the end
    of every step. Float mode is what Lava's float models compute; fixed
    mode uses the fixed neuron and integer third factors but accumulates the
    engine's expected update (no stochastic rounding; the synapse sums the
    nearest integer weights), so Lava fixed stays within the rounding bound
    of it (see the tests). ``steps``: stop early. Returns float64 weights in
    both modes.

    ``rounding`` (fixed mode only) says how a weight change becomes an
    integer: ``expected`` keeps the fraction (the default, above);
    ``shared`` rounds stochastically with one uniform number per step shared
    by every synapse, as Lava's bit-approximate engine does
    (``ConnVarRandom``); ``independent`` draws one number per synapse. ``rng``
    drives the last two.
    """
    windows, phases, w, rng = _simulation_inputs(weights, rule, config, windows, phases, fixed, rounding, rng)
    T = config.time_steps
    length = window_length(T)
    params = dequantize_neuron(neuron)
    sizes = [wi.shape[0] for wi in w]
    a_buff = [np.zeros(n) for n in sizes]
    x1 = [np.zeros(wi.shape[1]) for wi in w]
    states = [CubaState(np.zeros(n), np.zeros(n)) for n in sizes]
    counts = [np.zeros(n, np.int64) for n in sizes]
    latched = [0] * len(w)
    raw_log = np.zeros((len(w), len(windows)))
    impulse = rule.pre_trace_impulse if fixed else rule.pre_trace_impulse / TRACE_UNITY
    constant = rule.rule_constant(fixed=fixed) * rule.post_trace_retention
    total = len(windows) * length + len(w) if steps is None else steps
    for t in range(1, total + 1):
        k, step = window_position(t, length)
        inside = 0 <= k < len(windows)
        spikes = windows[k][:, step - 1].astype(bool) if inside and step > 0 else \
            np.zeros(windows.shape[1], bool)
        phase = int(phases[k]) if inside else 0
        for i in range(len(w)):
            a_in, a_buff[i] = a_buff[i], (np.rint(w[i]) if fixed else w[i])[:, spikes].sum(axis=1)
            if not fixed:
                a_buff[i] = a_buff[i] / LOIHI2.w_scale
            x1[i] = pre_trace_step(x1[i], spikes, rule.pre_trace_retention, impulse)
            win, nstep = window_position(t, length, latency=i + 1)
            if nstep == 0:
                states[i] = CubaState(np.zeros(sizes[i]), np.zeros(sizes[i]))
                counts[i][:] = 0
                latched[i] = phase
            if fixed:
                out, state, _ = cuba_step_fixed(a_in.astype(np.int64), CubaState(
                    states[i].u.astype(np.int64), states[i].v.astype(np.int64)), neuron)
            else:
                out, state, _ = cuba_step_float(a_in, states[i], params, neuron)
            states[i] = state
            counts[i] += out
            if is_window_end(win, nstep, length):
                raw = raw_goodness(config.goodness, counts[i], np.zeros(()))
                if win < len(windows):
                    raw_log[i, win] = raw
                scale = goodness_scale(config.goodness, sizes[i], T, fixed=fixed, vth=neuron.vth)
                y2, y3 = ff_post_factors(counts[i], raw, scale=scale, theta=config.theta, time_steps=T,
                                         phase=latched[i], gain=rule.gain, fixed=fixed)
                if latched[i] != 0:
                    w[i] = _learn(w[i], x1[i], y2 - y3, constant, rounding, rng)
            spikes = out.astype(bool)
    return OnChipResult(w, raw_log)


def _simulation_inputs(weights, rule, config, windows, phases, fixed, rounding, rng):
    """The checks both simulators make; returns ``(windows, phases, float64 weights, rng)``."""
    _check_rounding(rounding, fixed)
    if config.goodness not in ONCHIP_GOODNESS:
        raise ValueError(f"on-chip learning computes goodness {ONCHIP_GOODNESS}, got {config.goodness!r}")
    windows = np.asarray(windows)
    phases = np.asarray(phases, dtype=np.int64)
    if windows.ndim != 3 or len(windows) != len(phases):
        raise ValueError(f"windows must be [K, F, T] with one phase each, got {windows.shape} and "
                         f"{phases.shape}")
    w = [wi.astype(np.float64) for wi in check_start_weights(weights, config)]
    return windows, phases, w, np.random.default_rng(rule.rng_seed) if rng is None else rng


def _check_rounding(rounding: str, fixed: bool) -> None:
    """A ValueError naming ``rounding`` unless it is a known mode that fits ``fixed``."""
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; valid: {', '.join(ROUNDING_MODES)}")
    if rounding != "expected" and not fixed:
        raise ValueError(f"rounding={rounding!r} models the fixed engine; float mode has no rounding")


def _learn(w: np.ndarray, x1: np.ndarray, post: np.ndarray, constant: float, rounding: str,
           rng: np.random.Generator) -> np.ndarray:
    """One learning event of a layer, in place: the rule's update, rounded as
    ``rounding`` says, clamped. Only the rows of neurons with a nonzero
    third factor change (the others add zero), so only they are computed;
    ``independent`` still draws a number for every synapse, so the random
    stream does not depend on which neurons fired."""
    rows = np.flatnonzero(post)
    new = w[rows] + three_factor_update(x1[None], post[rows].astype(np.float64)[None], np.ones(1), constant)
    if rounding == "shared":
        draw = rng.random()
    elif rounding == "independent":
        draw = rng.random(w.shape)[rows]
    if rounding != "expected":
        new = np.floor(new) + (draw < new - np.floor(new))
    w[rows] = np.clip(new, LEARNED_WEIGHT_MIN, LEARNED_WEIGHT_MAX)
    return w


def simulate_onchip_windows(weights: list, neuron: FixedNeuronParams, rule: FFLearningRule, config: FFConfig,
                            windows: np.ndarray, phases: np.ndarray, *, fixed: bool, rounding: str = "expected",
                            rng: np.random.Generator | None = None, progress: bool = False) -> OnChipResult:
    """:func:`simulate_onchip`, window by window: the same weights and
    goodness, bit for bit, several times faster (for rule searches over
    whole training sets; ``progress`` shows a bar).

    The step reference's clock reduces to this: layer ``l``'s step ``s``
    receives its input's step ``s`` through a weight matrix that is constant
    over the window (it changes only at window ends, when the layer's input
    is silent); the pre-trace at the window end has seen the input's steps
    ``1..T`` and one silent step; layer ``l`` latches the phase of the input
    window running when its own window starts; and the learning events
    (which draw the ``rng``) come window by window, layer by layer. Needs no
    more layers than a window has steps (the step reference's clock
    interleaves windows differently beyond that).
    """
    windows, phases, w, rng = _simulation_inputs(weights, rule, config, windows, phases, fixed, rounding, rng)
    T = config.time_steps
    length = window_length(T)
    if len(w) > length:
        raise ValueError(f"simulate_onchip_windows needs at most {length} layers (T + 1), got {len(w)}")
    params = dequantize_neuron(neuron)
    x1 = [np.zeros(wi.shape[1]) for wi in w]
    raw_log = np.zeros((len(w), len(windows)))
    impulse = rule.pre_trace_impulse if fixed else rule.pre_trace_impulse / TRACE_UNITY
    constant = rule.rule_constant(fixed=fixed) * rule.post_trace_retention
    silent = [np.zeros(windows.shape[1], bool)] + [np.zeros(wi.shape[0], bool) for wi in w]
    for k in tqdm(range(len(windows)), desc="windows", unit="window", disable=not progress, mininterval=1):
        # the input's steps 0..T: silent, then the window's T steps
        pre = [silent[0]] + list(windows[k].T.astype(bool))
        for i in range(len(w)):
            n = w[i].shape[0]
            counts, out_steps = _neuron_window(np.rint(w[i]) if fixed else w[i], pre, neuron, params, fixed)
            for s in range(1, length):
                x1[i] = pre_trace_step(x1[i], pre[s], rule.pre_trace_retention, impulse)
            x1[i] = pre_trace_step(x1[i], silent[i], rule.pre_trace_retention, impulse)
            raw = raw_goodness(config.goodness, counts, np.zeros(()))
            raw_log[i, k] = raw
            latched = (k * length + i + 1) // length
            phase = int(phases[latched]) if latched < len(windows) else 0
            scale = goodness_scale(config.goodness, n, T, fixed=fixed, vth=neuron.vth)
            y2, y3 = ff_post_factors(counts, raw, scale=scale, theta=config.theta, time_steps=T,
                                     phase=phase, gain=rule.gain, fixed=fixed)
            if phase != 0:
                w[i] = _learn(w[i], x1[i], y2 - y3, constant, rounding, rng)
            pre = out_steps
    return OnChipResult(w, raw_log)


def _neuron_window(synapse: np.ndarray, pre: list, neuron: FixedNeuronParams, params, fixed: bool):
    """One layer's window: CUBA neurons reset, then driven through ``synapse``
    by the input steps ``pre`` (``pre[0]`` the silent step, whose current is
    zero). Returns the spike counts and every step's spikes (step 0 first)."""
    n = synapse.shape[0]
    state = CubaState(np.zeros(n), np.zeros(n))
    counts = np.zeros(n, np.int64)
    out_steps = []
    for s in range(len(pre)):
        a_in = np.zeros(n) if s == 0 else synapse[:, pre[s]].sum(axis=1)
        if fixed:
            out, state, _ = cuba_step_fixed(a_in.astype(np.int64), CubaState(
                state.u.astype(np.int64), state.v.astype(np.int64)), neuron)
        else:
            out, state, _ = cuba_step_float(a_in / LOIHI2.w_scale if s else a_in, state, params, neuron)
        counts += out
        out_steps.append(out.astype(bool))
    return counts, out_steps


def hidden_window_spikes(weights: list, neuron: FixedNeuronParams, config: FFConfig, windows: np.ndarray, *,
                         fixed: bool) -> np.ndarray:
    """The readout layers' spikes ``[K, H, T]`` (``FFConfig.readout_layers``
    side by side, each over its window's steps ``1..T``) for input windows
    ``[K, F', T]`` through layers that do not learn: what the on-chip
    readout's synapses receive (:func:`simulate_readout_windows`).
    ``weights`` as the synapses hold them (fixed: integers)."""
    windows = np.asarray(windows)
    if windows.ndim != 3:
        raise ValueError(f"windows must be [K, F, T], got shape {windows.shape}")
    w = [np.asarray(wi, np.float64) for wi in check_start_weights(weights, config)]
    params, silent = dequantize_neuron(neuron), np.zeros(windows.shape[1], bool)
    out = np.zeros((len(windows), config.readout_features, config.time_steps), bool)
    offsets = config.readout_offsets
    for k, window in enumerate(windows):
        pre = [silent] + list(window.T.astype(bool))
        for layer, wi in enumerate(w):
            _, pre = _neuron_window(wi, pre, neuron, params, fixed)
            if layer in offsets:
                out[k, offsets[layer]:offsets[layer] + wi.shape[0]] = np.stack(pre[1:], axis=1)
    return out


class ReadoutResult(NamedTuple):
    weights: np.ndarray  # [classes, hidden], float64
    scores: np.ndarray  # [windows, classes]: each window's summed input, as the readout neuron holds it


def simulate_readout_windows(weights: np.ndarray, rule: FFLearningRule, hidden_spikes: np.ndarray,
                             labels: np.ndarray, *, logit_scale: float, fixed: bool, rounding: str = "expected",
                             rng: np.random.Generator | None = None) -> ReadoutResult:
    """Numpy reference of the on-chip readout learning, window by window.

    ``hidden_spikes`` ``[K, H, T]``: the readout layers' spikes in ``K``
    neutral-label windows (:func:`hidden_window_spikes`), ``labels`` their
    true labels (``-1``: no learning). Per window the readout neuron ``c``
    sums its input into ``score_c = W_c @ counts`` and sends
    :func:`lava_ff.kernels.readout_post_factors`; the synapse's rule, the
    FF rule ``S*u0*x1*y2 - S*u0*x1*y3`` of ``rule``, then changes
    ``W[c, j]`` by ``constant * x1_j * (y2_c - y3_c)`` with the pre-trace
    ``x1`` after the window's ``T`` steps and the next window's silent
    step, as :func:`simulate_onchip_windows` does for an FF layer; fixed
    point with the same ``rounding`` modes."""
    spikes, labels = np.asarray(hidden_spikes), np.asarray(labels, np.int64)
    if spikes.ndim != 3 or len(spikes) != len(labels):
        raise ValueError(f"hidden_spikes must be [K, H, T] with one label each, got {spikes.shape} and "
                         f"{labels.shape}")
    w = check_learning_weights(weights, "readout weights", (weights.shape[0], spikes.shape[1])).astype(np.float64)
    if labels.size and labels.max() >= w.shape[0]:
        raise ValueError(f"labels must lie below the {w.shape[0]} readout classes, got {labels.max()}")
    _check_rounding(rounding, fixed)
    rng = np.random.default_rng(rule.rng_seed) if rng is None else rng
    time_steps = spikes.shape[2]
    impulse = rule.pre_trace_impulse if fixed else rule.pre_trace_impulse / TRACE_UNITY
    constant = rule.rule_constant(fixed=fixed) * rule.post_trace_retention
    x1, scores = np.zeros(w.shape[1]), np.zeros((len(spikes), w.shape[0]))
    silent = np.zeros(w.shape[1], bool)
    for k, window in enumerate(spikes):
        synapse = np.rint(w) if fixed else w / LOIHI2.w_scale
        scores[k] = synapse @ window.sum(axis=1)
        for step in list(window.T) + [silent]:
            x1 = pre_trace_step(x1, step, rule.pre_trace_retention, impulse)
        y2, y3 = readout_post_factors(readout_logits(scores[k], logit_scale=logit_scale, time_steps=time_steps,
                                                     fixed=fixed), int(labels[k]), gain=rule.gain, fixed=fixed)
        if labels[k] >= 0:
            w = _learn(w, x1, y2 - y3, constant, rounding, rng)
    return ReadoutResult(w, scores)


def check_phase_labels(labels: np.ndarray, negative_labels: np.ndarray, num_classes: int,
                       count: int, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays checked; a negative equal to its true label is named
    by its sample index (``first``: the index of the arrays' first sample)."""
    labels = check_labels(labels, num_classes, count)
    negative_labels = check_labels(negative_labels, num_classes, count)
    same = first + np.flatnonzero(labels == negative_labels)
    if len(same):
        raise ValueError(f"negative_labels equal the true labels at samples {same[:5].tolist()}; "
                         "a negative label must be wrong")
    return labels, negative_labels


def check_learning_weights(weights, name: str = "weights", shape: tuple | None = None) -> np.ndarray:
    """Weights a learning synapse starts from: finite, 2-D, within the
    engine's [-256, 255] (integers for fixed point: an offline-trained
    network's even 8-bit weights, or weights learned before; float64 from a
    float run)."""
    w = np.asarray(weights)
    if w.ndim != 2 or (shape is not None and w.shape != tuple(shape)):
        raise ValueError(f"{name} must have shape {shape if shape is not None else '[out, in]'}, got {w.shape}")
    if w.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numeric, got dtype {w.dtype}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} contain NaN or inf")
    if w.size and (w.min() < LEARNED_WEIGHT_MIN or w.max() > LEARNED_WEIGHT_MAX):
        raise ValueError(f"{name} outside the learning engine's [{LEARNED_WEIGHT_MIN}, {LEARNED_WEIGHT_MAX}] "
                         f"(integer weight units; float weights w are w * 64): [{w.min()}, {w.max()}]")
    return w.astype(np.int32) if w.dtype.kind in "iu" else w.astype(np.float64)


def check_start_weights(weights: list, config: FFConfig) -> list[np.ndarray]:
    """One :func:`check_learning_weights` matrix per layer, shapes chained."""
    if len(weights) != len(config.layer_sizes):
        raise ValueError(f"{len(weights)} weight matrices for {len(config.layer_sizes)} layers")
    fan_in, out = config.input_size, []
    for i, (wi, size) in enumerate(zip(weights, config.layer_sizes, strict=True)):
        out.append(check_learning_weights(wi, f"layer {i} weights", (size, fan_in)))
        fan_in = size
    return out
