"""ProcessModels of :class:`FFLearningDense`: Lava's learning engine, event-driven synapses."""

import os

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.learning.constants import W_ACCUMULATOR_S, W_SYN_VAR_S
from lava.magma.core.model.py.connection import (
    LearningConnectionModelBitApproximate,
    LearningConnectionModelFloat,
)
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.dense.models import AbstractPyDenseModelBitAcc, AbstractPyDenseModelFloat
from lava_ff.processes.ff_learning_dense.process import FFLearningDense

from lava_ff.config import LOIHI2
from lava_ff.onchip import LEARNED_WEIGHT_MAX, LEARNED_WEIGHT_MIN


class _Replay:
    """A receive port that first returns one message already read."""

    def __init__(self, port, message):
        self.port, self.message = port, message

    def recv(self):
        message, self.message = self.message, None
        return self.port.recv() if message is None else message


class _FFLearningDenseMixin:
    """What both models share; the leaves supply ``_accumulate`` (input current -> message) and ``_update_block``.

    Learning: the FF rule ``S*u0*x1*y2 - S*u0*x1*y3`` changes only synapses
    whose pre-trace ``x1`` and third factor ``y2``/``y3`` are both nonzero;
    every other synapse gets an exactly zero update, which Lava's engine
    (also its stochastic rounding of an unchanged weight) leaves as it is.
    So the engine's own applier, saturation and rounding run on that block
    alone: the same result as Lava's full-matrix pass, on the few percent of
    synapses that learn, and nothing at all on the steps without a third
    factor. The random streams advance every epoch, as in Lava. Epochs
    without a third factor (all but a window's last step) are closed inside
    the spiking phase (:meth:`run_spk`), so Lava's learning phase, one
    message round through every Process, runs only when weights change.
    """

    snapshot: np.ndarray = LavaPyType(np.ndarray, int)

    _third_factor = False  # whether this step's learning epoch changes weights

    _weights_t = None  # [in, out] copy of the weights: a spike selects a contiguous row

    def on_var_update(self):
        super().on_var_update()
        self._weights_t = None  # weights may have been set from the host

    def _input_current(self, s_in):
        """``sum_i W[:, i]`` over the inputs that spiked (``W @ s`` for binary
        ``s``, exact in integers), from the row-major transposed copy."""
        if self._weights_t is None:
            self._weights_t = np.ascontiguousarray(np.asarray(self.weights).T)
        return self._weights_t[s_in].sum(axis=0)

    def run_spk(self):
        self.a_out.send(self.a_buff)
        s_in = self.s_in.recv().astype(bool)
        self.a_buff = self._accumulate(self._input_current(s_in))
        self.recv_traces(s_in)
        epoch_end = super().lrn_guard()
        y_traces = self._y_traces
        self._third_factor = epoch_end and bool(np.any(y_traces[1]) or np.any(y_traces[2]))
        if epoch_end and not self._third_factor:
            # An epoch without a third factor changes no weight; its trace and
            # random-stream bookkeeping runs here, exactly as the learning
            # phase would, so the runtime skips that phase (a round of
            # messages to every Process) on all steps but the windows' ends.
            self.run_lrn()

    def lrn_guard(self):
        return self._third_factor

    def _apply_learning_rules(self, x_traces_history, y_traces_history):
        x1 = x_traces_history[-1, 0]
        y2, y3 = y_traces_history[-1, 1], y_traces_history[-1, 2]
        rows = np.flatnonzero((y2 != 0) | (y3 != 0))
        cols = np.flatnonzero(x1 != 0)
        if len(rows) == 0 or len(cols) == 0:
            return
        args = {"shape": (len(rows), len(cols)), "u": 1, "x1_u": x1[cols][np.newaxis, :],
                "y2_u": y2[rows][:, np.newaxis], "y3_u": y3[rows][:, np.newaxis]}
        block = np.ix_(rows, cols)
        updated = self._update_block(self.weights[block], args)
        self.weights[block] = updated
        if self._weights_t is not None:
            self._weights_t[np.ix_(cols, rows)] = updated.T

    def _get_var(self):
        message = self.service_to_process.recv()
        if self.var_id_to_var_map[int(message[0].item())] == "snapshot":
            self._write_snapshot()
        port = self.service_to_process
        self.service_to_process = _Replay(port, message)
        try:
            super()._get_var()
        finally:
            self.service_to_process = port

    def _write_snapshot(self):
        path = self.proc_params["snapshot_path"]
        if path is not None:
            partial = f"{path}.partial.npy"
            np.save(partial, np.asarray(self.weights))
            os.replace(partial, path)
        self.snapshot[0] += 1


@implements(proc=FFLearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFLearningDenseModelFloat(_FFLearningDenseMixin, LearningConnectionModelFloat,
                                  AbstractPyDenseModelFloat):
    """Lava's float engine on weights in integer units, clipped to the fixed range."""

    def __init__(self, proc_params):
        proc_params.overwrite("learning_rule", proc_params["ff_rule"].lava_rule(fixed=False))
        super().__init__(proc_params)

    def _accumulate(self, current):
        return current / LOIHI2.w_scale

    def _update_block(self, weights, args):
        return self._saturate_synaptic_variable("weights",
                                                self._learning_rule_appliers["weights"].apply(weights, **args))

    def _saturate_synaptic_variable(self, synaptic_variable_name, synaptic_variable_values):
        if synaptic_variable_name == "weights":
            return np.clip(synaptic_variable_values, LEARNED_WEIGHT_MIN, LEARNED_WEIGHT_MAX)
        return super()._saturate_synaptic_variable(synaptic_variable_name, synaptic_variable_values)


@implements(proc=FFLearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFLearningDenseModelFixed(_FFLearningDenseMixin, LearningConnectionModelBitApproximate,
                                  AbstractPyDenseModelBitAcc):
    """Lava's bit-approximate learning engine on integer weights."""

    def _accumulate(self, current):
        return current

    def _update_block(self, weights, args):
        # LearningConnectionModelBitApproximate._apply_learning_rules, on the block
        shift = W_ACCUMULATOR_S - W_SYN_VAR_S["weights"]
        accumulator = self._learning_rule_appliers["weights"].apply(weights << shift, **args)
        accumulator = self._saturate_synaptic_variable_accumulator("weights", accumulator)
        accumulator = self._stochastic_round_synaptic_variable(
            "weights", accumulator, self._conn_var_random.random_stochastic_round)
        return self._saturate_synaptic_variable("weights", accumulator >> shift)
