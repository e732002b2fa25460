"""Loihi 2's numbers: bit widths, shifts and the 8-bit weight grid.

CUBA LIF in lava-dl slayer / Lava fixed point (the mapping netx uses):
state is kept at scale ``2**12`` (``w_scale=2**6`` times the 6-bit MSB
alignment of activations), a float weight ``w`` becomes the integer
``round(w * 64 / 2) * 2`` clamped to ``[-256, 254]`` (8-bit mantissa, weight
exponent 1), a threshold ``th`` becomes ``vth = th * 64`` and a decay ``d``
in [0, 1] becomes ``round(d * 4096)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_ff.core.errors import ConfigError

__all__ = ['Loihi2Numbers', 'LOIHI2', 'quantize_weights', 'check_integer_weights']



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


def quantize_weights(weights: np.ndarray) -> np.ndarray:
    """Float weights -> Loihi 2 integer weights (even integers in [-256, 254]).

    The same rounding as slayer's ``quantize_8bit``: round to the step
    ``2/64`` and clamp. Raises on NaN/inf, never wraps.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(weights)):
        raise ConfigError("weights contain NaN or inf")
    step = LOIHI2.weight_step
    ints = np.round(weights * LOIHI2.w_scale / step) * step
    return np.clip(ints, LOIHI2.weight_min, LOIHI2.weight_max).astype(np.int32)


def check_integer_weights(weights, name: str = "weights", shape: tuple | None = None) -> np.ndarray:
    """Validate Loihi 2 integer weights: a 2-D integer array of even values in
    ``[weight_min, weight_max]`` (8-bit mantissa, exponent 1). Float weights
    are refused with a pointer to :func:`quantize_weights`."""
    weights = np.asarray(weights)
    if shape is not None and len(shape) == 4:  # a convolution's [out, in, k, k]
        if weights.ndim != 4:
            raise ConfigError(f"{name} must be a 4-D [out, in, k, k] array, got shape {weights.shape}")
    elif weights.ndim != 2:
        raise ConfigError(f"{name} must be a 2-D [out, in] array, got shape {weights.shape}")
    if shape is not None and weights.shape != tuple(shape):
        raise ConfigError(f"{name} has shape {weights.shape}, expected {tuple(shape)}")
    if not np.issubdtype(weights.dtype, np.integer):
        raise ConfigError(
            f"{name} must be Loihi integer weights, got dtype {weights.dtype}; convert float "
            "weights with lava_ff.core.loihi.quantize_weights"
        )
    lo, hi = int(weights.min(initial=0)), int(weights.max(initial=0))
    if lo < LOIHI2.weight_min or hi > LOIHI2.weight_max:
        raise ConfigError(f"{name} range [{lo}, {hi}] exceeds the 8-bit Loihi range "
                         f"[{LOIHI2.weight_min}, {LOIHI2.weight_max}]")
    odd = np.flatnonzero(weights % LOIHI2.weight_step)
    if odd.size:
        raise ConfigError(f"{name} must be multiples of {LOIHI2.weight_step} (weight exponent "
                         f"{LOIHI2.weight_exp}); {name}.flat[{odd[0]}] = {weights.flat[odd[0]]}")
    return weights.astype(np.int64)
