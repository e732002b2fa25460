
"""ProcessModels of :class:`FFLearningDense`: Lava's learning engine, event-driven synapses."""

import collections
import os

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.learning.constants import (
    W_ACCUMULATOR_S,
    W_ACCUMULATOR_U,
    W_SYN_VAR_S,
    W_SYN_VAR_U,
    W_TRACE,
    GradedSpikeCfg,
)
from lava.magma.core.model.py.connection import (
    LearningConnectionModelBitApproximate,
    LearningConnectionModelFloat,
)
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.dense.models import AbstractPyDenseModelBitAcc, AbstractPyDenseModelFloat
from lava_ff.processes.ff_learning_dense.process import FFLearningDense
from lava_ff.processes.learning_rule import lava_learning_rule

from lava_ff.core.clock import is_window_end, step_windows, window_length, window_position
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.rule import LEARNED_WEIGHT_MAX, LEARNED_WEIGHT_MIN


class _Replay:
    """A receive port that first returns one message already read."""

    def __init__(self, port, message):
        self.port, self.message = port, message

    def recv(self):
        message, self.message = self.message, None
        return self.port.recv() if message is None else message


class _EpochRandoms:
    """The random numbers Lava's fixed engine uses at the end of each
    one-step learning epoch, drawn ahead in blocks.

    ``streams`` pairs each numpy generator with how often Lava advances it
    per step (its trace generators twice, around the arrival of the
    post-synaptic traces; the weights' once); the value in use at an
    epoch's end is every ``stride``-th draw. numpy draws floats one after
    another, so a block of draws equals as many single draws.
    """

    BLOCK = 1024

    def __init__(self, streams):
        self.streams, self.index, self.values = streams, self.BLOCK, None

    def next(self):
        if not self.streams:  # the float engine rounds nothing
            return None, None, None
        if self.index == self.BLOCK:
            self.values = np.stack([rng.random(stride * self.BLOCK)[stride - 1::stride]
                                    for rng, stride in self.streams])
            self.index = 0
        self.index += 1
        return self.values[:, self.index - 1]


class _FFLearningDenseMixin:
    """What both models share; the leaves supply the numeric hooks.

    Learning: the FF rule ``S*u0*x1*y2 - S*u0*x1*y3`` changes only synapses
    whose pre-trace ``x1`` and third factor ``y2``/``y3`` are both nonzero;
    every other synapse gets an exactly zero update, which Lava's engine
    (also its stochastic rounding of an unchanged weight) leaves as it is.
    So the engine's own applier, saturation and rounding run on that block
    alone: the same result as Lava's full-matrix pass, on the few percent of
    synapses that learn, and nothing at all on the steps without a third
    factor.

    Bookkeeping (``engine``): with ``"lava"``, Lava's engine methods keep
    the traces, spike times and random streams step by step; epochs without
    a third factor (all but a window's last step) are closed inside the
    spiking phase (:meth:`run_spk`), so Lava's learning phase, one message
    round through every Process, runs only when weights change. With
    ``"streamlined"`` (the default) each step does the same arithmetic in a
    few array operations, with Lava's own decay and impulse functions and
    the same random numbers (:class:`_EpochRandoms`), and learns inside the
    spiking phase: the weights change after this step's current is computed,
    as they do in Lava's learning phase. It needs what this rule has:
    one-step epochs, regular impulses and, in fixed point, whole-number
    impulses (their stochastic rounding never fires). Otherwise the Lava
    path runs.
    """

    snapshot: np.ndarray = LavaPyType(np.ndarray, int)

    _third_factor = False  # whether this step's learning epoch changes weights

    _weights_t = None  # [in, out] copy of the weights: a spike selects a contiguous row

    def __init__(self, proc_params):
        super().__init__(proc_params)
        # the rule, its impulses and Lava's random generators are set up by now
        self._streamlined = self._can_streamline()
        self._randoms = self._epoch_randoms() if self._streamlined else None
        # per trace kind: which traces decay (a nonzero tau) and their one-epoch retention,
        # Lava's own ``np.exp(-t / taus)`` at t = 1, computed once instead of every epoch
        self._retention = {kind: (taus != 0, np.exp(-1 / taus[taus != 0][:, np.newaxis]))
                           for kind, taus in (("x", self._x_taus), ("y", self._y_taus))}
        window = proc_params["post_window"]
        if window is not None and not self._streamlined:
            raise ValueError("post_window needs the streamlined bookkeeping, which this rule does not allow "
                             "(one-step epochs, regular impulses, whole fixed-point impulses)")
        self._post_window = None if window is None else (window_length(window[0]), window[1])
        self._per_window = proc_params["messages"] == "window"
        self._windows_per_step = proc_params["windows_per_step"]
        self._packed_post = proc_params["packed_post"]
        self._pre_delay, self._delay_line = proc_params["pre_delay"], None

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
        if self._per_window:
            for window in step_windows(self.time_step, self._windows_per_step):
                self._run_window(first=window == 0)
            return
        self.a_out.send(self.a_buff)
        s_in = self._delayed(self.s_in.recv().astype(bool))
        self.a_buff = self._accumulate(self._input_current(s_in))
        if self._streamlined:
            self._streamlined_epoch(s_in)
            return
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

    def _delayed(self, s_in):
        """``s_in`` as it arrived ``pre_delay`` steps ago (silence before the first)."""
        if not self._pre_delay:
            return s_in
        if self._delay_line is None:
            self._delay_line = collections.deque([np.zeros_like(s_in)] * self._pre_delay)
        self._delay_line.append(s_in)
        return self._delay_line.popleft()

    def lrn_guard(self):
        return self._third_factor

    # ------------------------------------------------- streamlined bookkeeping
    def _can_streamline(self) -> bool:
        return (self.proc_params["engine"] == "streamlined" and self._learning_rule.t_epoch == 1
                and self._graded_spike_cfg == GradedSpikeCfg.USE_REGULAR_IMPULSE and self._whole_impulses())

    def _epoch_traces(self, traces, kind, spiked, random):
        """One step of Lava's ``_compute_trace_histories`` at ``t_epoch = 1``:
        traces with a time constant decay once, then the ones whose neuron
        spiked this step get their impulse. Returns the epoch's end value."""
        live, retention = self._retention[kind]
        out = np.full(traces.shape, self._TRACE_FILL, dtype=self._TRACE_DTYPE)
        out[live] = self._decay(traces[live], retention, random)
        return self._impulse(out, kind, spiked) if spiked.any() else out

    def _streamlined_epoch(self, s_in):
        """This step's trace update and, at a window's end, its weight update."""
        x_random, y_random, w_random = self._randoms.next()
        x = self._epoch_traces(np.stack((self.x1, self.x2)), "x", s_in, x_random)
        self.x1[...], self.x2[...] = x
        self._post_synaptic_epoch(x, y_random, w_random)

    def _run_window(self, first: bool):
        """``messages="window"``: one window (the ``first`` of the run or not).

        The step network's synapse sends, at the post-synaptic neuron's step
        ``s``, the current of its input's step ``s`` (silent at ``s = 0``),
        and its learning epochs for the window see the input's steps
        ``1..T`` and then the next window's silent first step; it learns at
        the last of them with the ``y2``/``y3`` its neuron computed for the
        window. The same here: the currents of all ``T`` steps go out at
        once, then the ``T + 1`` epochs run in order (the first window also
        the ``latency`` silent epochs before the neuron's first window),
        each drawing its random numbers, and the last one learns."""
        s_in = self.s_in.recv().astype(bool)
        self.a_out.send(self._accumulate(np.stack([self._input_current(step) for step in s_in.T], axis=1)))
        silent = np.zeros(s_in.shape[0], bool)
        leading = self._post_window[1] if first else 0
        x = np.stack((self.x1, self.x2))
        for spiked in [silent] * leading + list(s_in.T) + [silent]:
            x_random, y_random, w_random = self._randoms.next()
            x = self._epoch_traces(x, "x", spiked, x_random)
        self.x1[...], self.x2[...] = x
        self._post_synaptic_epoch(x, y_random, w_random)

    def _post_synaptic_epoch(self, x, y_random, w_random):
        """The epoch's post-synaptic traces and, where they are nonzero, the weight update."""
        bap = self.s_in_bap.recv().astype(bool)
        if self._packed_post:  # y2 and y3 in one message; y1 is zero in this rule
            y_in = np.concatenate((np.zeros((1,) + self.y1.shape), self.s_in_post.recv())).astype(self.y1.dtype)
        elif self._per_window or self._post_window is None or self._post_window_end():
            y_in = np.stack((self.s_in_y1.recv(), self.s_in_y2.recv(), self.s_in_y3.recv()))
        else:  # the neuron sends its traces only at its window's end: zero until then
            y_in = np.zeros((3,) + self.y1.shape, self.y1.dtype)
        self.y1[...], self.y2[...], self.y3[...] = y_in
        if np.any(y_in[1]) or np.any(y_in[2]):
            y = self._epoch_traces(y_in, "y", bap, y_random)
            self._learn(x[0], y[1], y[2], w_random)

    def _post_window_end(self) -> bool:
        length, latency = self._post_window
        window, step = window_position(self.time_step, length, latency)
        return is_window_end(window, step, length)

    # ------------------------------------------------------------ the update
    def _apply_learning_rules(self, x_traces_history, y_traces_history):
        self._learn(x_traces_history[-1, 0], y_traces_history[-1, 1], y_traces_history[-1, 2],
                    self._weight_random())

    def _learn(self, x1, y2, y3, random):
        rows = np.flatnonzero((y2 != 0) | (y3 != 0))
        cols = np.flatnonzero(x1 != 0)
        if len(rows) == 0 or len(cols) == 0:
            return
        args = {"shape": (len(rows), len(cols)), "u": 1, "x1_u": x1[cols][np.newaxis, :],
                "y2_u": y2[rows][:, np.newaxis], "y3_u": y3[rows][:, np.newaxis]}
        block = np.ix_(rows, cols)
        updated = self._update_block(self.weights[block], args, random)
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

    s_in_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        proc_params.overwrite("learning_rule", lava_learning_rule(proc_params["ff_rule"], fixed=False))
        super().__init__(proc_params)

    _TRACE_FILL, _TRACE_DTYPE = np.nan, float  # Lava's float history: NaN where a trace has no tau

    def _accumulate(self, current):
        return current / LOIHI2.w_scale

    def _whole_impulses(self):
        return True  # float impulses add exactly

    def _epoch_randoms(self):
        return _EpochRandoms([])

    def _decay(self, values, retention, random):
        return retention * values  # Lava's float _decay_trace at t = 1

    def _impulse(self, values, kind, spiked):
        impulses = self._x_impulses if kind == "x" else self._y_impulses
        return np.where(spiked, values + impulses[:, np.newaxis], values)

    def _weight_random(self):
        return None

    def _update_block(self, weights, args, random):
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

    s_in_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=7)

    _TRACE_FILL, _TRACE_DTYPE = 0, int

    def _accumulate(self, current):
        return current

    def _whole_impulses(self):
        return not np.any(self._x_impulses_frac) and not np.any(self._y_impulses_frac)

    def _epoch_randoms(self):
        # Lava's generators (private attributes; the tests pin the result to Lava's own bookkeeping)
        return _EpochRandoms([(self._x_random._rng_trace_decay, 2), (self._y_random._rng_trace_decay, 2),
                              (self._conn_var_random._rng, 1)])

    def _decay(self, values, retention, random):
        # Lava's _decay_trace at t = 1: the decayed value's floor, plus one where random < its fraction
        decayed = retention * values
        return (np.floor(decayed) + (random < decayed % 1)).astype(int)

    def _impulse(self, values, kind, spiked):
        # Lava's _add_impulse with whole impulses (its stochastic rounding adds nothing), then its clip
        ints = self._x_impulses_int if kind == "x" else self._y_impulses_int
        return np.where(spiked, np.clip(values + ints[:, np.newaxis], 0, 2**W_TRACE - 1), values)

    def _weight_random(self):
        return self._conn_var_random.random_stochastic_round

    def _update_block(self, weights, args, random):
        # LearningConnectionModelBitApproximate._apply_learning_rules, on the block
        shift = W_ACCUMULATOR_S - W_SYN_VAR_S["weights"]
        accumulator = self._learning_rule_appliers["weights"].apply(weights << shift, **args)
        accumulator = self._saturate_synaptic_variable_accumulator("weights", accumulator)
        return self._saturate_synaptic_variable("weights", self._stochastic_round(accumulator, random))

    @staticmethod
    def _stochastic_round(accumulator, random):
        """Lava's ``_stochastic_round_synaptic_variable`` of the weights'
        accumulator, then its shift back to weights, in integers: with
        ``k`` fraction bits, ``floor(a / 2**k)`` is ``a >> k``, the fraction
        times ``2**k`` is ``a & (2**k - 1)``, and ``random < fraction`` is
        ``random * 2**k < a & (2**k - 1)`` (both sides exact in float64)."""
        bits = W_ACCUMULATOR_U - W_SYN_VAR_U["weights"]
        assert bits == W_ACCUMULATOR_S - W_SYN_VAR_S["weights"]  # Lava rounds and shifts back by the same
        return (accumulator >> bits) + ((accumulator & (2**bits - 1)) > random * 2**bits)
