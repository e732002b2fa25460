"""ProcessModels of :class:`FFPhaseInput`: the same spikes, float or integer messages."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_phase_input.process import FFPhaseInput

from lava_ff.core.clock import step_windows, window_length, window_position
from lava_ff.core.inputs import phase_windows, readout_window


class _AbstractFFPhaseInputModel(PyLoihiProcessModel):
    """Encodes a sample's two windows at its first step, then sends them
    step by step (or, with ``messages="window"``, one window per step)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.data, self.labels = p["data"], p["labels"]
        self.config = p["config"]
        self.rng = np.random.default_rng(p["seed"])
        self.length = window_length(self.config.time_steps)
        self.per_window = p["messages"] == "window"
        self.windows_per_step = p["windows_per_step"]
        self.readout = p["schedule"] == "readout"
        self.windows = None

    def run_spk(self):
        if not self.per_window:
            self._send(*window_position(self.time_step, self.length))
            return
        for window in step_windows(self.time_step, self.windows_per_step):
            self._send(window, 0)

    def _send(self, window: int, step: int):
        """Step ``step`` of window ``window`` (with window messages, the whole window)."""
        sample, phase_index = divmod(window, 1 if self.readout else 2)
        inside = sample < len(self.data)
        if step == 0 and phase_index == 0 and inside:
            if self.readout:
                self.windows = readout_window(self.data[sample], self.config, self.rng)[None]
            else:
                self.windows = phase_windows(self.data[sample], int(self.labels[sample]),
                                             int(self.negatives[sample % len(self.negatives)]), self.config,
                                             self.rng)
            self.sample_index[0] = sample + 1
        if not inside:
            spikes = np.zeros(self.s_out.shape)
        elif self.per_window:
            spikes = self.windows[phase_index]
        else:
            spikes = self.windows[phase_index][:, step - 1] if step > 0 else np.zeros(self.s_out.shape)
        self.s_out.send(spikes)
        if step == 0:  # one phase (and readout label) message per window
            learns = inside and not self.readout
            self.phase_out.send(np.array([(1 if phase_index == 0 else -1) if learns else 0]))
            self.label_out.send(np.array([int(self.labels[sample]) if inside and self.readout else -1]))


@implements(proc=FFPhaseInput, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFPhaseInputModelFloat(_AbstractFFPhaseInputModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    phase_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    sample_index: np.ndarray = LavaPyType(np.ndarray, int)
    negatives: np.ndarray = LavaPyType(np.ndarray, int)


@implements(proc=FFPhaseInput, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFPhaseInputModelFixed(_AbstractFFPhaseInputModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    phase_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=2)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    sample_index: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    negatives: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
