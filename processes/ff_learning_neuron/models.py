"""ProcessModels of :class:`FFLearningNeuron`: one control flow, float and fixed numeric hooks."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed, LearningNeuronModelFloat
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_learning_neuron.process import FFLearningNeuron

from lava_ff.core.clock import is_window_end, step_windows, window_length, window_position
from lava_ff.core.goodness import goodness_scale, raw_goodness
from lava_ff.core.neuron import CubaState, FixedNeuronParams, cuba_step_fixed, cuba_step_float, dequantize_neuron
from lava_ff.core.rule import ff_post_factors


class _AbstractFFLearningNeuronModel(PyLoihiProcessModel):
    """Owns ``run_spk``; the leaves supply ``FIXED`` and ``_neuron_step``."""

    FIXED: bool

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.time_steps, self.latency = p["time_steps"], p["latency"]
        self.length = window_length(self.time_steps)
        self.theta, self.gain, self.goodness_kind = p["theta"], p["gain"], p["goodness"]
        self.every_step = p["third_factor_every_step"]
        self.per_window = p["messages"] == "window"
        self.windows_per_step = p["windows_per_step"]
        self.packed_post = p["packed_post"]
        self._ready = False

    def _setup(self):
        self.fixed_params = FixedNeuronParams.from_lava_lif(self.vth[0], self.du[0], self.dv[0])
        self.params = dequantize_neuron(self.fixed_params)
        self.scale = goodness_scale(self.goodness_kind, self.u.shape[0], self.time_steps, fixed=self.FIXED,
                                    vth=self.fixed_params.vth)
        self.zeros = np.zeros(self.u.shape, self.y2.dtype)

    def run_spk(self):
        if not self._ready:  # Var values arrive after __init__
            self._setup()
            self._ready = True
        if self.per_window:
            for window in step_windows(self.time_step, self.windows_per_step):
                self._run_window(window)
            return
        a_in = self.a_in.recv()
        window, step = window_position(self.time_step, self.length, self.latency)
        if step == 0:  # latency < length: the first step 0 is window 0's
            self._start_window()
        spikes = self._step(a_in)
        y2 = y3 = self.zeros
        window_end = is_window_end(window, step, self.length)
        if window_end:
            y2, y3 = self._third_factor(window)
        self.y2[...], self.y3[...] = y2, y3
        self.s_out.send(spikes)
        self.s_out_bap.send(spikes)
        if self.every_step or window_end:
            self._send_third_factor(y2, y3)

    def _run_window(self, window: int):
        """``messages="window"``: window ``window`` (``windows_per_step`` of
        them a Lava step); ``a_in`` holds the currents of its steps ``1..T``
        (step 0's is zero)."""
        a_in = self.a_in.recv()
        self._start_window()
        self._step(np.zeros(self.u.shape))
        spikes = np.stack([self._step(a_in[:, s]) for s in range(self.time_steps)], axis=1)
        y2, y3 = self._third_factor(window)
        self.y2[...], self.y3[...] = y2, y3
        self.s_out.send(spikes)
        self.s_out_bap.send(spikes[:, -1])  # the window's last step, where the synapse learns
        self._send_third_factor(y2, y3)

    def _start_window(self):
        self.u[...] = self.v[...] = self.spike_count[...] = 0
        self.phase[0] = int(self.phase_in.recv()[0])  # sent at the input's window start

    def _step(self, a_in):
        spikes, state = self._neuron_step(a_in, CubaState(self.u, self.v))
        self.u[...], self.v[...] = state.u, state.v
        self.spike_count += spikes
        return spikes

    def _third_factor(self, window):
        """The window's goodness (logged) and its ``y2``, ``y3``."""
        raw = raw_goodness(self.goodness_kind, self.spike_count, self.zeros)
        if window < self.goodness_log.shape[0]:
            self.goodness_log[window] = raw
        y2, y3 = ff_post_factors(self.spike_count, raw, scale=self.scale, theta=self.theta,
                                 time_steps=self.time_steps, phase=int(self.phase[0]), gain=self.gain,
                                 fixed=self.FIXED)
        return y2.astype(self.zeros.dtype), y3.astype(self.zeros.dtype)

    def _send_third_factor(self, y2, y3):
        if self.packed_post:
            self.s_out_post.send(np.stack((y2, y3)))
            return
        self.s_out_y1.send(self.zeros)
        self.s_out_y2.send(y2)
        self.s_out_y3.send(y3)


@implements(proc=FFLearningNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFLearningNeuronModelFloat(_AbstractFFLearningNeuronModel, LearningNeuronModelFloat):
    """Float64 on slayer's grid; third factors unrounded (``/ 128``)."""

    FIXED = False
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    phase_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_post: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    vth: np.ndarray = LavaPyType(np.ndarray, int)
    du: np.ndarray = LavaPyType(np.ndarray, int)
    dv: np.ndarray = LavaPyType(np.ndarray, int)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    spike_count: np.ndarray = LavaPyType(np.ndarray, int)
    phase: np.ndarray = LavaPyType(np.ndarray, int)
    goodness_log: np.ndarray = LavaPyType(np.ndarray, float)

    def _neuron_step(self, a_in, state):
        spikes, state, _ = cuba_step_float(a_in, state, self.params, self.fixed_params)
        return spikes, state


@implements(proc=FFLearningNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFLearningNeuronModelFixed(_AbstractFFLearningNeuronModel, LearningNeuronModelFixed):
    """Loihi 2 integers; 7-bit third factors."""

    FIXED = True
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    phase_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=2)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    s_out_post: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    du: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    spike_count: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    phase: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=2)
    goodness_log: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=64)

    def _neuron_step(self, a_in, state):
        spikes, state, _ = cuba_step_fixed(a_in, state, self.fixed_params)
        return spikes, state
