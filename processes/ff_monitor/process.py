"""A goodness monitor for a layer whose neurons live elsewhere (a netx network)."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_ff.core.checks import check_positive_int

RATE_GOODNESS = ("sum_sq_rate", "mean_sq_rate")


class FFGoodnessMonitor(AbstractProcess):
    """Turns a layer's spikes into FF goodness for :class:`FFReadout`.

    For a network that runs one copy at a time (a netx ``hdf5.Network``), the
    input sends the ``copies`` of a sample in consecutive windows of
    ``time_steps`` steps. The monitor's window ``w`` covers the time steps
    ``latency + w * time_steps + 1 .. latency + (w + 1) * time_steps`` (each
    Dense layer delays spikes by one step, so layer ``k`` of a netx network
    has ``latency = 1 + k``). At the end of a window it records the raw
    goodness ``sum_n count**2`` of copy ``w % copies``; once a sample's last
    copy is done it sends the table as row ``layer_index`` of ``g_out`` (and
    the neutral copy's counts into ``r_out`` at ``readout_offset``) ``hold``
    steps later, so that every layer's row reaches the readout on the same
    step.

    With ``expected_spikes`` (bool ``[windows, time_steps, N]``) it also
    compares every spike with a reference and counts ``mismatches``,
    ``spikes_checked`` (neuron-steps compared) and the ``first_mismatch``
    ``(window, step, neuron)``.
    """

    def __init__(self, *, shape: tuple[int], time_steps: int, copies: int, latency: int,
                 layer_index: int = 0, num_layers: int = 1, goodness: str = "sum_sq_rate",
                 hold: int = 0, readout_offset: int | None = None, readout_width: int = 1,
                 neutral_copy: int = -1, expected_spikes: np.ndarray | None = None,
                 name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        size = check_positive_int("shape[0]", int(np.prod(shape)))
        time_steps = check_positive_int("time_steps", time_steps)
        copies = check_positive_int("copies", copies)
        for label, value in (("latency", latency), ("hold", hold)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{label} must be a non-negative integer, got {value!r}")
        if goodness not in RATE_GOODNESS:
            raise ValueError(f"goodness {goodness!r} needs membrane voltages, which a monitor of "
                             f"spikes does not see; valid here: {', '.join(RATE_GOODNESS)}")
        if not 0 <= layer_index < num_layers:
            raise ValueError(f"layer_index={layer_index} outside [0, {num_layers - 1}]")
        packed = None
        if expected_spikes is not None:
            expected = np.asarray(expected_spikes)
            if expected.ndim != 3 or expected.shape[1:] != (time_steps, size):
                raise ValueError(f"expected_spikes must be [windows, {time_steps}, {size}], "
                                 f"got {expected.shape}")
            packed = np.packbits(expected.astype(bool), axis=-1)
        super().__init__(size=size, time_steps=time_steps, copies=copies, latency=int(latency),
                         layer_index=layer_index, goodness=goodness, hold=int(hold),
                         readout_offset=readout_offset, neutral_copy=neutral_copy % copies,
                         expected=packed, name=name)
        self.s_in = InPort(shape=(size,))
        self.g_out = OutPort(shape=(num_layers, copies))
        self.r_out = OutPort(shape=(1, readout_width))  # one sample: FFReadout's batch of 1
        self.spike_count = Var(shape=(size,), init=0)
        self.mismatches = Var(shape=(1,), init=0)
        self.spikes_checked = Var(shape=(1,), init=0)
        self.first_mismatch = Var(shape=(3,), init=-1)
