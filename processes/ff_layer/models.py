"""ProcessModels of :class:`FFLayer`: one control flow, float and fixed numeric hooks."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_layer.process import FFLayer

from lava_ff.core.clock import window_position
from lava_ff.core.goodness import raw_goodness, readout_messages, voltage_goodness_step
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.neuron import CubaState, FixedNeuronParams, cuba_step_fixed, cuba_step_float, dequantize_neuron


def sparse_synaptic_input(spikes: np.ndarray, weights_t: np.ndarray) -> np.ndarray:
    """``spikes @ weights_t`` for binary ``spikes`` ``[copies, N_in]``, event-driven
    as on chip: only rows of ``weights_t`` ``[N_in, N_out]`` whose input fired
    are touched, and an input that fired in every copy (the shared image
    under different label overlays) is summed once for all copies."""
    fired = spikes.astype(bool)
    everywhere = fired.all(axis=0)
    shared = weights_t[np.flatnonzero(everywhere)].sum(axis=0)
    partial = np.flatnonzero(fired.any(axis=0) & ~everywhere)
    return shared + fired[:, partial].astype(weights_t.dtype) @ weights_t[partial]


def blas_dtype(n_in: int):
    """float32 sums the integer products exactly while ``n_in * 256 < 2**24``
    (8-bit weights); beyond that, float64 (exact below ``2**53``)."""
    return np.float32 if n_in * (-LOIHI2.weight_min) < 2**24 else np.float64


class _AbstractFFLayerModel(PyLoihiProcessModel):
    """Owns ``run_spk``; the leaves supply the arithmetic (``_setup``,
    ``_synaptic_input``, ``_neuron_step``, ``_voltage_term``)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.time_steps = proc_params["time_steps"]
        self.goodness_kind = proc_params["goodness"]
        self.layer_index = proc_params["layer_index"]
        self.readout_offset = proc_params["readout_offset"]
        self.neutral_rows = proc_params["neutral_rows"]
        #: a convolution's, or a pooled input's, synapses (None: plain dense, the event-driven product)
        synapse = proc_params["synapse"]
        self.synapse = synapse if synapse.conv or synapse.pool > 1 else None
        self._ready = False

    def _fixed_params(self) -> FixedNeuronParams:
        return FixedNeuronParams.from_lava_lif(self.vth[0], self.du[0], self.dv[0])

    def run_spk(self):
        if not self._ready:  # Var values arrive after __init__
            self._setup()
            self._ready = True
        _, step = window_position(self.time_step, self.time_steps)
        if step == 0:
            for var in (self.u, self.v, self.spike_count, self.voltage_goodness):
                var[...] = 0
        current = self._synaptic_input(self.s_in.recv())
        spikes, state, voltage = self._neuron_step(current, CubaState(self.u, self.v))
        self.u[...], self.v[...] = state.u, state.v
        self.spike_count += spikes
        if self.goodness_kind == "sum_sq_voltage":
            self.voltage_goodness += self._voltage_term(voltage)
        self.s_out.send(spikes)

        row = counts = None
        if step == self.time_steps - 1:
            row = raw_goodness(self.goodness_kind, self.spike_count, self.voltage_goodness)
            counts = self.spike_count[self.neutral_rows]
        goodness, features = readout_messages(self.g_out.shape, self.r_out.shape, self.layer_index, row,
                                              self.readout_offset, counts)
        self.g_out.send(goodness)
        self.r_out.send(features)


@implements(proc=FFLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFLayerModelFloat(_AbstractFFLayerModel):
    """Float64 on slayer's grid (states scaled by 4096, truncating decays):
    the Lava twin of the offline torch layer."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    g_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    r_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    vth: np.ndarray = LavaPyType(np.ndarray, int)
    du: np.ndarray = LavaPyType(np.ndarray, int)
    dv: np.ndarray = LavaPyType(np.ndarray, int)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    spike_count: np.ndarray = LavaPyType(np.ndarray, float)
    voltage_goodness: np.ndarray = LavaPyType(np.ndarray, float)

    def _setup(self):
        self.fixed_params = self._fixed_params()
        self.params = dequantize_neuron(self.fixed_params)
        if self.synapse is not None:  # W / 64 and spike counts: exact sums in float64
            self.scaled = np.asarray(self.weights, np.float64) / LOIHI2.w_scale
            return
        # W / 64 is a multiple of 1/32: exact in float32, and so are the sums
        n_in = self.weights.shape[1]
        self.weights_t = np.ascontiguousarray(self.weights.T / LOIHI2.w_scale, dtype=blas_dtype(n_in))

    def _synaptic_input(self, s_in):
        if self.synapse is not None:
            return self.synapse.current(self.scaled, s_in)
        return sparse_synaptic_input(s_in, self.weights_t).astype(np.float64)

    def _neuron_step(self, current, state):
        return cuba_step_float(current, state, self.params, self.fixed_params)

    def _voltage_term(self, voltage):
        return voltage_goodness_step(voltage, fixed=False, threshold=self.params.threshold)


@implements(proc=FFLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFLayerModelFixed(_AbstractFFLayerModel):
    """Loihi 2 integers, bit-exact with Lava's ``Dense`` + ``LIF`` fixed models."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    g_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64, precision=64)
    r_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=9)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    du: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    spike_count: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    voltage_goodness: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=64)

    def _setup(self):
        self.fixed_params = self._fixed_params()
        if self.synapse is not None:
            self.integer = np.asarray(self.weights, np.int64)
            return
        # Integer products summed in float BLAS: exact (see blas_dtype), far faster than int matmul.
        n_in = self.weights.shape[1]
        self.weights_t = np.ascontiguousarray(self.weights.T, dtype=blas_dtype(n_in))

    def _synaptic_input(self, s_in):
        if self.synapse is not None:
            return self.synapse.current(self.integer, s_in)
        return sparse_synaptic_input(s_in, self.weights_t).astype(np.int64)

    def _neuron_step(self, current, state):
        spikes, state, voltage = cuba_step_fixed(current, state, self.fixed_params)
        return spikes, state, voltage

    def _voltage_term(self, voltage):
        return voltage_goodness_step(voltage, fixed=True)
