"""ProcessModels of :class:`FFReadoutNeuron`: one control flow, float and fixed numeric hooks."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed, LearningNeuronModelFloat
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_readout_neuron.process import FFReadoutNeuron

from lava_ff.core.clock import is_window_end, step_windows, window_length, window_position
from lava_ff.core.rule import readout_logits, readout_post_factors


class _AbstractFFReadoutNeuronModel(PyLoihiProcessModel):
    """Owns ``run_spk``; the leaves supply ``FIXED`` and the Var types."""

    FIXED: bool

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.time_steps, self.latency, self.gain = p["time_steps"], p["latency"], p["gain"]
        self.logit_scale = p["logit_scale"]
        self.length = window_length(self.time_steps)
        self.per_window = p["messages"] == "window"
        self.windows_per_step = p["windows_per_step"]

    def run_spk(self):
        if self.per_window:  # this Lava step's windows in turn; a_in holds a window's steps 1..T
            for window in step_windows(self.time_step, self.windows_per_step):
                a_in = self.a_in.recv()
                self._start_window()
                self.score += a_in.sum(axis=1).astype(self.score.dtype)
                self._end_window(window)
            return
        a_in = self.a_in.recv()
        window, step = window_position(self.time_step, self.length, self.latency)
        if step == 0:
            self._start_window()
        self.score += np.asarray(a_in).astype(self.score.dtype)
        if is_window_end(window, step, self.length):
            self._end_window(window)

    def _start_window(self):
        self.score[...] = 0
        self.label[0] = int(self.label_in.recv()[0])  # sent at the input's window start

    def _end_window(self, window):
        """Log the prediction; send the third factor (zero without a label)."""
        if window < self.prediction_log.shape[0]:
            self.prediction_log[window] = int(np.argmax(self.score))
        logits = readout_logits(self.score, logit_scale=self.logit_scale, time_steps=self.time_steps,
                                fixed=self.FIXED)
        y2, y3 = readout_post_factors(logits, int(self.label[0]), gain=self.gain, fixed=self.FIXED)
        self.y2[...], self.y3[...] = y2, y3
        self.s_out_y1.send(np.zeros_like(self.y1))
        self.s_out_y2.send(self.y2)
        self.s_out_y3.send(self.y3)


@implements(proc=FFReadoutNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFReadoutNeuronModelFloat(_AbstractFFReadoutNeuronModel, LearningNeuronModelFloat):
    """Float64 scores (input in units of 64); third factors unrounded (``/ 128``)."""

    FIXED = False
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    score: np.ndarray = LavaPyType(np.ndarray, float)
    label: np.ndarray = LavaPyType(np.ndarray, int)
    prediction_log: np.ndarray = LavaPyType(np.ndarray, int)


@implements(proc=FFReadoutNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFReadoutNeuronModelFixed(_AbstractFFReadoutNeuronModel, LearningNeuronModelFixed):
    """Loihi 2 integers: the score of ``T`` steps of 24-bit currents; 7-bit third factors."""

    FIXED = True
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    score: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    label: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    prediction_log: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
