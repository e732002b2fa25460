"""Spike encodings of static images and binning of event streams.

All encoders take intensities in [0, 1] of shape ``[B, F]`` and return
spikes ``[B, F, T]`` (float32 0/1), the layout lava-dl uses.
"""

from __future__ import annotations

import numpy as np

from .config import ENCODINGS, check_positive_int

__all__ = ["encode", "check_intensities", "check_spike_trains", "check_input_data", "bin_events"]


def check_intensities(x: np.ndarray, name: str = "input") -> np.ndarray:
    """Validate pixel intensities: finite, within [0, 1], 2-D ``[B, F]``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape [batch, features], got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be floating point in [0, 1], got dtype {x.dtype}")
    if np.isnan(x).any():
        raise ValueError(f"{name} contains NaN (first at flat index {int(np.flatnonzero(np.isnan(x))[0])})")
    lo, hi = float(x.min(initial=0.0)), float(x.max(initial=0.0))
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name} values must lie in [0, 1], got range [{lo}, {hi}]")
    return x


def check_spike_trains(x: np.ndarray, time_steps: int, name: str = "spike trains") -> np.ndarray:
    """Validate binary spike trains ``[B, F, T]`` with ``T == time_steps``."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != time_steps:
        raise ValueError(f"{name} must have shape [batch, features, {time_steps}], got {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError(f"{name} must be binary (0/1)")
    return x


def check_input_data(data: np.ndarray, time_steps: int, encoding: str) -> np.ndarray:
    """A data set an input Process streams: intensities ``[N, F]`` in [0, 1]
    (float32) or binary spike trains ``[N, F, time_steps]`` (uint8)."""
    data = np.asarray(data)
    if data.ndim == 3:
        data = check_spike_trains(data, time_steps, "spike-train data").astype(np.uint8)
    elif data.ndim != 2:
        raise ValueError(f"data must be intensities [N, F] or spikes [N, F, T], got shape {data.shape}")
    elif encoding == "spikes":
        raise ValueError(f"encoding='spikes' needs spike-train data [N, F, T], got intensities of shape {data.shape}")
    else:
        data = check_intensities(data, "data").astype(np.float32)
    if len(data) == 0:
        raise ValueError("data holds no samples")
    return data


def encode(x: np.ndarray, time_steps: int, kind: str = "deterministic",
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Encode intensities ``x`` ``[B, F]`` in [0, 1] as spike trains ``[B, F, T]``.

    * ``deterministic``: a regular train with ``floor(T * x)`` spikes,
      ``s[t] = floor((t + 1) x) - floor(t x)`` (what a constant input current
      into an integrate-and-fire encoder produces; identical in every run).
    * ``rate``: Bernoulli spikes with probability ``x`` per step (needs ``rng``).
    * ``latency``: one spike at ``t = round((1 - x) (T - 1))`` for ``x > 0``.
    * ``spikes``: the input already is binary spike trains ``[B, F, T]``
      (binned events); it is validated and returned as float32.
    """
    time_steps = check_positive_int("time_steps", time_steps)
    if kind == "spikes":
        return check_spike_trains(x, time_steps).astype(np.float32)
    x = check_intensities(x).astype(np.float32)
    if kind == "deterministic":
        t = np.arange(time_steps + 1, dtype=np.float32)
        # +1e-6 keeps exact products like 0.5 * 2 from flooring to 0.999...
        counts = np.floor(x[..., None] * t + 1e-6)
        return np.diff(counts, axis=-1).astype(np.float32)
    if kind == "rate":
        if rng is None:
            raise ValueError("rate encoding needs an explicit numpy Generator (rng=)")
        return (rng.random(x.shape + (time_steps,), dtype=np.float32) < x[..., None]).astype(np.float32)
    if kind == "latency":
        out = np.zeros(x.shape + (time_steps,), dtype=np.float32)
        when = np.rint((1.0 - x) * (time_steps - 1)).astype(np.int64)
        b, f = np.nonzero(x > 0)
        out[b, f, when[b, f]] = 1.0
        return out
    raise ValueError(f"unknown encoding {kind!r}; valid: {', '.join(ENCODINGS)}")


def bin_events(events: np.ndarray, sensor_size, time_steps: int,
               duration_us: int | None = None) -> np.ndarray:
    """Bin a tonic event array into binary spike frames ``[W*H*P, T]``.

    Events are split into ``time_steps`` equal bins over ``duration_us``
    (default: the recording's last timestamp + 1); a pixel spikes in a bin
    if it saw at least one event there. Flattening order is (p, y, x),
    i.e. ``index = (p * H + y) * W + x``.
    """
    time_steps = check_positive_int("time_steps", time_steps)
    width, height, polarities = sensor_size
    if len(events) == 0:
        raise ValueError("cannot bin an empty event recording")
    span = int(events["t"].max()) + 1 if duration_us is None else int(duration_us)
    if span <= 0:
        raise ValueError(f"duration_us must be positive, got {duration_us!r}")
    bins = np.minimum(events["t"].astype(np.int64) * time_steps // span, time_steps - 1)
    index = (events["p"].astype(np.int64) * height + events["y"]) * width + events["x"]
    frames = np.zeros((width * height * polarities, time_steps), dtype=np.float32)
    frames[index, bins] = 1.0
    return frames
