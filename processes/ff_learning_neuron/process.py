"""The FF learning neuron: CUBA LIF that measures its goodness and returns the third factor."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava_ff.processes.learning_rule import lava_learning_rule

from lava_ff.core.checks import check_population_shape
from lava_ff.core.clock import (
    check_latency,
    check_messages,
    check_packed_post,
    check_windows_per_step,
    message_shape,
)
from lava_ff.core.neuron import FixedNeuronParams
from lava_ff.core.rule import ONCHIP_GOODNESS, FFLearningRule


class FFLearningNeuron(LearningNeuronProcess, AbstractProcess):
    """CUBA LIF neurons that learn with Forward-Forward through a ``LearningDense``.

    Per step, in Loihi 2 integers (the float model runs the same recursion
    on ``x / 4096``)::

        u[t] = rtz(u[t-1] * (4096 - (du + 1)), 12) + (a_in[t] << 6)
        v[t] = rtz(v[t-1] * (4096 - dv), 12) + u[t]
        s_out[t] = v[t] > vth << 6;  v[t] = 0 where s_out[t];  count += s_out[t]

    Windows last ``time_steps + 1`` steps and start ``latency`` steps after
    the input's (one step per ``Dense`` on the way). At a window's first step
    ``u``, ``v`` and ``count`` reset and the neuron latches the phase on
    ``phase_in`` (+1 positive, -1 negative, 0 no learning). At its last
    step it computes the goodness ``G = sum_n count_n**2 / T**2`` and sends
    the third factor (:func:`lava_ff.core.rule.ff_post_factors`)::

        y2 = gain/128 * count/T * sigmoid(theta - G)     positive phase
        y3 = gain/128 * count/T * sigmoid(G - theta)     negative phase

    on ``s_out_y2`` / ``s_out_y3`` (zero at every other step), which the
    synapse's rule ``S*u0*x1*y2 - S*u0*x1*y3`` turns into a weight change
    that raises goodness for positive data and lowers it for negative data.
    ``s_out_bap`` repeats the spikes; ``y1`` stays zero. The phase arrives as
    one scalar per layer on ``phase_in``, one message per window, read at
    the window's first step (:class:`FFPhaseInput` sends it at its own
    window's first step; the channel holds it over the ``latency`` steps);
    Lava's per-neuron ``a_third_factor_in`` is left unused.

    ``third_factor_every_step=False`` sends ``y1..y3`` only at the window's
    last step, the only step they can be nonzero: two messages fewer per
    step in the simulator, the same learning. The synapse must then read
    them on that step only, an :class:`FFLearningDense` built with
    ``post_window=(time_steps, latency)`` of this neuron (as
    :func:`lava_ff.lava.learning.build_learning_network` wires them); a
    synapse that reads every step would wait forever for the messages
    this neuron no longer sends.

    ``messages="window"`` (see :func:`lava_ff.core.clock.check_messages`): one
    message per window, every layer's window ``k`` in Lava step
    ``k // windows_per_step + 1``;
    ``a_in`` takes the window's ``T`` currents at once (``[n, T]``),
    ``s_out`` sends its ``T`` spike vectors, ``s_out_bap`` the last step's
    and ``y1..y3`` go out every (window) step. The same spikes and third
    factors as the step network's (``latency`` then only names the step
    network the window network stands for).

    ``goodness_log[k]`` keeps the raw goodness ``sum_n count_n**2`` of window
    ``k`` (even ``k``: positive, odd: negative) for the first
    ``log_windows`` windows.

    Parameters
    ----------
    shape : tuple of one int
    neuron : FixedNeuronParams
    time_steps : int
        ``T``: input steps per window.
    latency : int
        Steps this layer runs behind the input (layer ``l`` -> ``l + 1``).
    theta : float
        Goodness threshold.
    rule : FFLearningRule
        Provides the third-factor gain and the hardware rule.
    goodness : str
        ``sum_sq_rate`` or ``mean_sq_rate``.
    log_windows : int
        Length of ``goodness_log`` (0: keep none).
    third_factor_every_step : bool
        Send ``y1..y3`` every step (Lava's convention, default) or only at
        the window's last step (see above).
    messages : {"step", "window"}
        One message per port and step (default) or per window (above).
    windows_per_step : int
        With window messages: windows per Lava step, each received and sent
        in turn (default 1; :func:`lava_ff.core.clock.check_windows_per_step`).
    packed_post : bool
        With window messages: send each window's ``y2`` and ``y3`` as one
        message on ``s_out_post`` (``[2, n]``), for an :class:`FFLearningDense`
        built with ``packed_post=True``, instead of on ``s_out_y1..y3``
        (default False).
    """

    def __init__(self, *, shape: tuple[int], neuron: FixedNeuronParams, time_steps: int, latency: int,
                 theta: float, rule: FFLearningRule, goodness: str = "sum_sq_rate", log_windows: int = 0,
                 third_factor_every_step: bool = True, messages: str = "step", windows_per_step: int = 1,
                 packed_post: bool = False, name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        check_population_shape(shape, "neurons")
        if not isinstance(neuron, FixedNeuronParams):
            raise TypeError(f"neuron must be FixedNeuronParams (integers), got {type(neuron).__name__}")
        if not isinstance(rule, FFLearningRule):
            raise TypeError(f"rule must be an FFLearningRule, got {type(rule).__name__}")
        latency = check_latency(latency, time_steps)
        if goodness not in ONCHIP_GOODNESS:
            raise ValueError(f"goodness {goodness!r} is not computed on chip; valid: {', '.join(ONCHIP_GOODNESS)}")
        if not isinstance(theta, (int, float)) or not np.isfinite(theta) or theta <= 0:
            raise ValueError(f"theta must be a positive finite number, got {theta!r}")
        if isinstance(log_windows, bool) or not isinstance(log_windows, (int, np.integer)) or log_windows < 0:
            raise ValueError(f"log_windows must be a non-negative integer, got {log_windows!r}")
        if not isinstance(third_factor_every_step, (bool, np.bool_)):
            raise TypeError(f"third_factor_every_step must be a bool, got {third_factor_every_step!r}")
        messages = check_messages(messages)
        windows_per_step = check_windows_per_step(windows_per_step, messages)
        check_packed_post(packed_post, messages)
        super().__init__(shape=shape, learning_rule=lava_learning_rule(rule, fixed=True), time_steps=time_steps,
                         latency=latency, theta=float(theta), gain=rule.gain, goodness=goodness,
                         third_factor_every_step=bool(third_factor_every_step), messages=messages,
                         windows_per_step=windows_per_step, packed_post=packed_post, name=name)
        self.a_in = InPort(shape=message_shape(shape[0], time_steps, messages))
        self.s_out_post = OutPort(shape=(2, shape[0]))
        self.phase_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=message_shape(shape[0], time_steps, messages))
        lif = neuron.lava_lif_params
        self.vth = Var(shape=(1,), init=lif["vth"])
        self.du = Var(shape=(1,), init=lif["du"])
        self.dv = Var(shape=(1,), init=lif["dv"])
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=0)
        self.spike_count = Var(shape=shape, init=0)
        self.phase = Var(shape=(1,), init=0)
        self.goodness_log = Var(shape=(max(int(log_windows), 1),), init=0)
