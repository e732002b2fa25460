"""ProcessModels of :class:`FFGoodnessMonitor` (integer counts in both)."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_monitor.process import FFGoodnessMonitor

from lava_ff.core.clock import window_position
from lava_ff.core.goodness import raw_goodness, readout_messages


class _AbstractFFGoodnessMonitorModel(PyLoihiProcessModel):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.time_steps, self.copies, self.latency = p["time_steps"], p["copies"], p["latency"]
        self.table = np.zeros(self.copies)
        self.neutral_counts = None
        self.pending = {}

    def _check(self, window: int, step: int, spikes: np.ndarray) -> None:
        expected = self.proc_params["expected"]
        if expected is None or window >= len(expected):
            return
        reference = np.unpackbits(expected[window, step], count=spikes.size).astype(bool)
        wrong = np.flatnonzero(reference != spikes)
        self.spikes_checked[0] += spikes.size
        if wrong.size:
            if self.mismatches[0] == 0:
                self.first_mismatch[:] = (window, step, wrong[0])
            self.mismatches[0] += wrong.size

    def run_spk(self):
        p = self.proc_params
        spikes = np.asarray(self.s_in.recv()).astype(bool)
        window, step = window_position(self.time_step, self.time_steps, self.latency)
        if window >= 0:
            if step == 0:
                self.spike_count[:] = 0
            self.spike_count += spikes
            self._check(window, step, spikes)
            if step == self.time_steps - 1:
                copy = window % self.copies
                self.table[copy] = raw_goodness(p["goodness"], self.spike_count, None)
                if copy == p["neutral_copy"]:
                    self.neutral_counts = self.spike_count.copy()
                if copy == self.copies - 1:
                    self.pending[self.time_step + p["hold"]] = (self.table.copy(), self.neutral_counts)
        table = counts = None
        if self.time_step in self.pending:
            table, counts = self.pending.pop(self.time_step)
        goodness, features = readout_messages(self.g_out.shape, self.r_out.shape, p["layer_index"], table,
                                              p["readout_offset"], counts)
        self.g_out.send(goodness)
        self.r_out.send(features)


@implements(proc=FFGoodnessMonitor, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFGoodnessMonitorModelFloat(_AbstractFFGoodnessMonitorModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    g_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    r_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    spike_count: np.ndarray = LavaPyType(np.ndarray, int)
    mismatches: np.ndarray = LavaPyType(np.ndarray, int)
    spikes_checked: np.ndarray = LavaPyType(np.ndarray, int)
    first_mismatch: np.ndarray = LavaPyType(np.ndarray, int)


@implements(proc=FFGoodnessMonitor, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFGoodnessMonitorModelFixed(_AbstractFFGoodnessMonitorModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    g_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64, precision=64)
    r_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    spike_count: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    mismatches: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=64)
    spikes_checked: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=64)
    first_mismatch: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=64)
