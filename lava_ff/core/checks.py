"""Validators shared by every layer: each names the value it refuses, as a :class:`ConfigError`.
"""

from __future__ import annotations

import math

import numpy as np

from lava_ff.core.errors import ConfigError

__all__ = ['check_positive_int', 'check_population_shape', 'check_positive_float', 'describe_changes']



def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_population_shape(shape, unit: str) -> tuple[int]:
    """A Process's ``shape``, a 1-tuple of a positive count of ``unit`` (e.g. ``"neurons"``)."""
    if not isinstance(shape, tuple) or len(shape) != 1:
        raise ConfigError(f"shape must be a 1-tuple ({unit},), got {shape!r}")
    return (check_positive_int("shape[0]", shape[0]),)


def check_positive_float(name: str, value) -> float:
    """``value`` as a float if it is a positive finite number, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


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
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)
