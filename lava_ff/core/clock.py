"""The presentation-window clock every FF Process and reference reads.

A window is one silent step then the ``T`` input steps
(:func:`window_length`); layer ``l`` runs ``l + 1`` steps behind the
input (its latency); :func:`window_position` says where a Lava time step
falls, :func:`is_window_end` whether a layer learns at it. The simulator
may carry a whole window per Lava step (``messages="window"``).
"""

from __future__ import annotations

import numpy as np

from lava_ff.core.checks import check_positive_int
from lava_ff.core.errors import ConfigError

__all__ = [
    'window_position', 'is_window_end', 'window_length', 'check_latency', 'MESSAGES', 'check_messages',
    'message_shape', 'check_windows_per_step', 'SAMPLES_PER_STEP', 'check_samples_per_step', 'check_packed_post',
    'step_windows',
]



def window_position(time_step: int, window_length: int, latency: int = 0) -> tuple[int, int]:
    """``(window, step)`` of Lava's 1-based ``time_step`` when windows of
    ``window_length`` steps start ``latency`` steps late; ``window < 0``
    before the first one. The one clock every FF Process reads."""
    local = time_step - latency - 1
    return local // window_length, local % window_length


def is_window_end(window: int, step: int, window_length: int) -> bool:
    """Whether :func:`window_position`'s ``(window, step)`` is a window's
    last step, where a learning neuron sends its third factor and its
    synapse learns (both Processes and the reference ask this)."""
    return step == window_length - 1 and window >= 0


def window_length(time_steps: int) -> int:
    """Steps per phase window: one silent step, then the ``T`` input steps."""
    return check_positive_int("time_steps", time_steps) + 1


def check_latency(latency, time_steps: int, name: str = "latency") -> int:
    """A layer's delay behind the input, a positive int below the window length."""
    length = window_length(time_steps)
    latency = check_positive_int(name, latency)
    if latency >= length:
        raise ConfigError(f"{name}={latency} must be below the window length {length} (time_steps + 1): "
                         "a layer must start its window while the input still shows it")
    return latency


#: how the learning network's Processes exchange spikes and currents in Lava's simulator
MESSAGES = ("step", "window")


def check_messages(messages) -> str:
    """``"step"``: one message per port and time step, as Loihi 2 runs the
    network. ``"window"``: one message per port and phase window, each
    holding the window's ``T`` steps (``[n, T]``), one or more windows a
    Lava step (:func:`check_windows_per_step`); the same arithmetic, in
    the same order, with the same random numbers, so the same weights bit
    for bit (tested), and a tenth of the runtime's message rounds or fewer.
    A simulator mode: Loihi 2 has no window messages."""
    if messages not in MESSAGES:
        raise ConfigError(f"unknown messages {messages!r}; valid: {', '.join(MESSAGES)}")
    return messages


def message_shape(size: int, time_steps: int, messages: str) -> tuple[int, ...]:
    """The shape of a spike or current port of ``size`` units: ``(size,)``
    with step messages, ``(size, T)`` with window messages."""
    return (int(size), int(time_steps)) if messages == "window" else (int(size),)


def check_windows_per_step(windows_per_step, messages: str) -> int:
    """Windows one Lava step carries with ``messages="window"``: 1, or more
    (a sample's two phase windows, say), each exchanged in turn within the
    step, so that the weights a window learns drive the next one as they
    do one step later; fewer steps for Lava's runtime to synchronise. Step
    messages carry one time step: 1 only."""
    windows_per_step = check_positive_int("windows_per_step", windows_per_step)
    if windows_per_step > 1 and check_messages(messages) != "window":
        raise ConfigError(f"windows_per_step={windows_per_step} needs messages='window', got {messages!r}")
    return windows_per_step


#: samples a Lava step carries with window messages, unless told otherwise (:func:`check_samples_per_step`)
SAMPLES_PER_STEP = 10


def check_samples_per_step(samples_per_step, messages: str, samples_per_run: int | None = None) -> int:
    """Samples one Lava step carries: a positive int, 1 with step messages,
    and (given ``samples_per_run``) dividing the chunk, so that no step
    straddles two chunks (the host reads weights and sets negatives
    between them). ``None``: with window messages the largest that divides
    ``samples_per_run`` up to :data:`SAMPLES_PER_STEP`, else 1."""
    if samples_per_step is None:
        if check_messages(messages) != "window":
            return 1
        if samples_per_run is None:
            return SAMPLES_PER_STEP
        return max(k for k in range(1, min(SAMPLES_PER_STEP, samples_per_run) + 1) if samples_per_run % k == 0)
    samples_per_step = check_positive_int("samples_per_step", samples_per_step)
    if samples_per_step > 1 and check_messages(messages) != "window":
        raise ConfigError(f"samples_per_step={samples_per_step} needs messages='window', got {messages!r}")
    if samples_per_run is not None and samples_per_run % samples_per_step:
        raise ConfigError(f"samples_per_step={samples_per_step} must divide samples_per_run={samples_per_run}: "
                          "a Lava step must not straddle two chunks")
    return samples_per_step


def check_packed_post(packed_post, messages: str) -> bool:
    """Whether a learning neuron sends, and its synapse reads, a window's
    ``y2`` and ``y3`` as one ``[2, n]`` message: a bool, True with window
    messages only (the step network keeps Lava's ports, as Loihi 2 has them)."""
    if not isinstance(packed_post, (bool, np.bool_)):
        raise ConfigError(f"packed_post must be a bool, got {packed_post!r}")
    if packed_post and check_messages(messages) != "window":
        raise ConfigError(f"packed_post=True needs messages='window', got {messages!r}")
    return bool(packed_post)


def step_windows(time_step: int, windows_per_step: int) -> range:
    """The windows Lava's 1-based ``time_step`` carries with window
    messages, ``windows_per_step`` of them, in order."""
    return range((time_step - 1) * windows_per_step, time_step * windows_per_step)
