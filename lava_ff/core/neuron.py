"""THE CUBA neuron: its float and fixed parameters, the one mapping between
them, and one step and one window function each for float and fixed point.

The Lava Processes, the numpy reference of the learning engine, the torch
dynamics and the netx reader and writer all take their neuron from here.
CUBA LIF, integer form (Lava ``PyLifModelBitAcc`` and slayer's CPU kernel)::

    u[t] = rtz(u[t-1] * (4096 - i_decay), 12) + (a[t] << 6)     (wrapped to 24 bits)
    v[t] = rtz(v[t-1] * (4096 - v_decay), 12) + u[t]             (clipped to 24 bits)
    s[t] = v[t] > vth << 6;   v[t] = 0 where s[t]

``rtz`` is a right shift rounding toward zero; ``a[t] = W_int @ s_in[t]``.
The float model is the same recursion on ``x / 4096``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lava_ff.core.checks import _check_fraction, check_positive_float
from lava_ff.core.errors import ConfigError
from lava_ff.core.loihi import LOIHI2

__all__ = [
    'NeuronParams', 'FixedNeuronParams', 'quantize_neuron', 'dequantize_neuron', 'CubaState', 'rtz_shift',
    'cuba_step_fixed', 'cuba_forward_fixed', 'dense_cuba_forward_fixed', 'cuba_step_float', 'cuba_forward_float',
]



#: How far above the threshold, in units of one state step (1 / ``LOIHI2.state_scale``), the float
#: model's spike condition ``v >= threshold + eps`` sits: any fraction in (0, 1) of a step makes it
#: the fixed model's strict ``v > vth << 6`` on the integer grid the states live on; slayer takes a
#: hundredth (its ``threshold_eps``; a test compares the two where lava-dl is installed).
SPIKE_MARGIN = 0.01


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
            raise ConfigError(
                f"threshold={th!r} maps to vth={vth}, outside Loihi's {LOIHI2.vth_bits}-bit "
                f"range [1, {(1 << LOIHI2.vth_bits) - 1}]"
            )
        object.__setattr__(self, "threshold", vth / LOIHI2.w_scale)
        for name in ("current_decay", "voltage_decay"):
            value = _check_fraction(name, getattr(self, name))
            object.__setattr__(self, name, round(value * LOIHI2.decay_unity) / LOIHI2.decay_unity)

    @property
    def spike_level(self) -> float:
        """The voltage (float units) at or above which the float model
        spikes: the threshold plus :data:`SPIKE_MARGIN` of a state step, so
        that it spikes exactly where the fixed model's ``v > vth << 6`` does."""
        return self.threshold + SPIKE_MARGIN / LOIHI2.state_scale

    @property
    def fixed(self) -> FixedNeuronParams:
        """These parameters as Loihi 2's integers (:func:`quantize_neuron`)."""
        return quantize_neuron(self)

    def slayer_kwargs(self) -> dict:
        """Keyword arguments of lava-dl slayer's ``neuron.cuba.Neuron`` (and
        its blocks' neuron dict) for this neuron on Loihi's weight scale."""
        return {"threshold": self.threshold, "current_decay": self.current_decay,
                "voltage_decay": self.voltage_decay, "scale": LOIHI2.w_scale}


@dataclass(frozen=True)
class FixedNeuronParams:
    """Integer CUBA parameters as Loihi 2 / netx store them."""

    vth: int  # threshold mantissa; effective threshold vth << 6
    i_decay: int  # netx iDecay; Lava's LIF du = i_decay - 1 (ds_offset = 1)
    v_decay: int  # netx vDecay == Lava's LIF dv

    def __post_init__(self):
        unity = LOIHI2.decay_unity
        if not 1 <= self.vth < (1 << LOIHI2.vth_bits):
            raise ConfigError(f"vth={self.vth} outside [1, {(1 << LOIHI2.vth_bits) - 1}]")
        if not 1 <= self.i_decay <= unity:
            raise ConfigError(f"i_decay={self.i_decay} outside [1, {unity}] (Lava du = i_decay - 1)")
        if not 0 <= self.v_decay < unity:
            raise ConfigError(f"v_decay={self.v_decay} outside [0, {unity - 1}]")

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
        raise ConfigError("current_decay=0 is not representable on Loihi 2 (minimum 1/4096)")
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


class CubaState(NamedTuple):
    u: np.ndarray  # int64 current, 24-bit range
    v: np.ndarray  # int64 voltage, 24-bit range


def rtz_shift(x: np.ndarray, bits: int) -> np.ndarray:
    """Arithmetic right shift rounding toward zero (Loihi's decay shift)."""
    return np.sign(x) * np.right_shift(np.abs(x), bits)


def cuba_step_fixed(a_in: np.ndarray, state: CubaState, params: FixedNeuronParams):
    """One Loihi 2 CUBA LIF step; bit-exact with Lava's ``PyLifModelBitAcc``.

    ``a_in`` is the integer dendritic accumulation ``W_int @ s``; ``state``
    may hold ``u, v`` in any integer (or integral float) type, as Lava's
    int32 Vars do: the step widens them to int64, where ``u * 4096`` of a
    24-bit state cannot overflow. Returns ``(spikes bool, new_state (int64),
    voltage_before_reset)``.
    """
    a_in = np.asarray(a_in, dtype=np.int64)
    state = CubaState(np.asarray(state.u, np.int64), np.asarray(state.v, np.int64))
    unity, shift = LOIHI2.decay_unity, LOIHI2.decay_bits
    half = 1 << (LOIHI2.state_bits - 1)
    u = rtz_shift(state.u * (unity - params.i_decay), shift) + np.left_shift(a_in, LOIHI2.act_shift)
    # Loihi wraps the 24-bit current register (Lava: modulo 2**23 folding).
    u = np.where(u > half, u - 2 * half, u)
    u = np.where(u <= -half, u + 2 * half, u)
    v = rtz_shift(state.v * (unity - params.v_decay), shift) + u
    v = np.clip(v, -half + 1, half - 1)
    spikes = v > (params.vth << LOIHI2.vth_shift)
    return spikes, CubaState(u, np.where(spikes, 0, v)), v


def cuba_forward_fixed(a_in: np.ndarray, params: FixedNeuronParams) -> np.ndarray:
    """Integer CUBA LIF over time: ``a_in`` ``[B, N, T]`` ints -> spikes ``[B, N, T]``."""
    a_in = np.asarray(a_in, dtype=np.int64)
    state = CubaState(np.zeros(a_in.shape[:-1], np.int64), np.zeros(a_in.shape[:-1], np.int64))
    spikes = np.zeros(a_in.shape, dtype=bool)
    for t in range(a_in.shape[-1]):
        spikes[..., t], state, _ = cuba_step_fixed(a_in[..., t], state, params)
    return spikes


def dense_cuba_forward_fixed(weights_int: np.ndarray, spikes_in: np.ndarray,
                             params: FixedNeuronParams) -> np.ndarray:
    """A Dense + CUBA layer in integers (no synaptic delay; Lava adds one step)."""
    weights_int = np.asarray(weights_int, dtype=np.int64)
    if weights_int.min(initial=0) < LOIHI2.weight_min or weights_int.max(initial=0) > LOIHI2.weight_max:
        raise ConfigError(
            f"integer weights must lie in [{LOIHI2.weight_min}, {LOIHI2.weight_max}], got "
            f"[{weights_int.min()}, {weights_int.max()}]"
        )
    a_in = np.einsum("oi,bit->bot", weights_int, np.asarray(spikes_in, dtype=np.int64))
    return cuba_forward_fixed(a_in, params)


def cuba_step_float(current: np.ndarray, state: CubaState, params: NeuronParams,
                    fixed: FixedNeuronParams | None = None):
    """One float CUBA LIF step on slayer's grid; the float twin of :func:`cuba_step_fixed`.

    ``current`` is the weighted synaptic input in float units (``W @ s``).
    ``state`` holds ``u, v`` as float64 *scaled by 4096*, as slayer keeps
    them. Returns ``(spikes, new_state, voltage_before_reset)`` with the
    voltage in float units. ``fixed`` may pass the pre-computed
    :func:`quantize_neuron` of ``params``.
    """
    fixed = quantize_neuron(params) if fixed is None else fixed
    scale, unity = LOIHI2.state_scale, LOIHI2.decay_unity
    x = np.trunc(np.asarray(current, dtype=np.float64) * scale)
    u = np.trunc(state.u * (unity - fixed.i_decay) / unity) + x
    v = np.trunc(state.v * (unity - fixed.v_decay) / unity) + u
    spikes = v >= params.spike_level * scale
    return spikes, CubaState(u, np.where(spikes, 0.0, v)), v / scale


def cuba_forward_float(current_in: np.ndarray, params: NeuronParams):
    """Float CUBA LIF over time, the reference for slayer's ``cuba.Neuron``.

    ``current_in`` ``[B, N, T]`` is the weighted synaptic input in float units
    (``W @ s`` with float weights). Slayer evaluates the float model on the
    integer grid (states scaled by 4096, decays applied with a shift rounding
    toward zero), so this does the same in float64 and returns
    ``(spikes, voltage)`` with the voltage *before* reset, as slayer does.
    """
    fixed = quantize_neuron(params)
    current_in = np.asarray(current_in, dtype=np.float64)
    state = CubaState(np.zeros(current_in.shape[:-1]), np.zeros(current_in.shape[:-1]))
    spikes = np.zeros(current_in.shape, dtype=bool)
    voltage = np.zeros(current_in.shape)
    for t in range(current_in.shape[-1]):
        spikes[..., t], state, voltage[..., t] = cuba_step_float(current_in[..., t], state, params, fixed)
    return spikes, voltage
