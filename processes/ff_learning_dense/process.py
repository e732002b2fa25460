"""The FF learning synapse: Lava's ``LearningDense`` running the FF rule."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.variable import Var
from lava.proc.dense.process import LearningDense
from lava_ff.processes.learning_rule import lava_learning_rule

from lava_ff.core.clock import (
    check_latency,
    check_messages,
    check_packed_post,
    check_windows_per_step,
    message_shape,
)
from lava_ff.core.rule import FFLearningRule, check_learning_weights


def check_post_window(post_window) -> tuple[int, int]:
    """``(time_steps, latency)`` of a post-synaptic window schedule, checked."""
    if not isinstance(post_window, tuple) or len(post_window) != 2:
        raise ValueError(f"post_window must be a (time_steps, latency) tuple, got {post_window!r}")
    time_steps, latency = post_window
    return int(time_steps), check_latency(latency, time_steps, "post_window latency")


class FFLearningDense(LearningDense):
    """Dense synapses that learn with :class:`lava_ff.core.rule.FFLearningRule`
    in Loihi 2's learning engine (Lava's ``LearningDense`` semantics).

    Per step: ``a_out[t] = W @ s_in[t-1]`` (one-step delay, as ``Dense``),
    the pre-trace ``x1 <- x1 * exp(-1/tau) + impulse * s_in``, and ``y1..y3``
    taken from the post-synaptic :class:`FFLearningNeuron`. The learning
    epoch is one step; at its end ``W += S * x1 * y2 - S * x1 * y3``. The
    fixed model is Lava's bit-approximate engine (stochastic rounding,
    weights any integer in [-256, 255]); the float model keeps the weights in
    the same integer units and sends ``W @ s / 64``, the float neuron's
    current. Both take the hardware rule from ``rule`` and the float model
    swaps in :meth:`FFLearningRule.lava_rule` ``(fixed=False)``, so the two
    learn at the same effective rate.

    Parameters
    ----------
    weights : array [out, in]
        Starting weights in integer units within [-256, 255]: the even 8-bit
        weights of an offline-trained or netx-loaded network, or weights
        learned before (integers from a fixed run; the fixed model refuses
        non-integers).
    rule : FFLearningRule
    snapshot_path : str or None
        Where ``snapshot.get()`` writes the current weights as ``.npy``.
        Lava 0.10 moves a ``Var.get()`` one value per message (about 70 us
        each: 30 s for 784 x 500 weights); reading ``snapshot`` (one value,
        the number of snapshots taken) writes the whole matrix at once,
        atomically, for :meth:`lava_ff.lava.learning.OnChipNetwork.weights`.
    engine : {"streamlined", "lava"}
        How the models keep the learning engine's books (traces, spike
        times, random streams). ``"lava"``: Lava's engine methods, step by
        step. ``"streamlined"`` (default): the same arithmetic and the same
        random numbers for this rule's one-step epochs in a few array
        operations per step, about half the synapse's CPU time; the tests
        prove both give identical weights and traces.
    post_window : (time_steps, latency) or None
        The post-synaptic :class:`FFLearningNeuron`'s window schedule when it
        sends its third factor only at a window's last step
        (``third_factor_every_step=False``): the synapse then reads
        ``y1..y3`` on those steps only and takes them as zero on the others,
        which is what they are. Needs ``engine="streamlined"``. ``None``
        (default): read them every step.
    messages : {"step", "window"}
        ``"window"`` (see :func:`lava_ff.core.clock.check_messages`; needs
        ``post_window``): one message per window (``windows_per_step`` of
        them a Lava step). ``s_in`` takes the window's ``T`` input steps at
        once (``[in, T]``) and ``a_out`` sends their currents (``[out, T]``)
        in the same step; the learning engine
        then runs the window's ``T + 1`` one-step epochs (the first window
        also the ``latency`` epochs before it) in order, with the same
        random numbers as the step network, and learns at the last one from
        the ``y2``/``y3`` its neuron sends for the window.
    packed_post : bool
        With ``messages="window"``: read the window's ``y2`` and ``y3`` from
        one message, ``s_in_post`` (``[2, out]``), which a neuron built with
        ``packed_post=True`` sends on ``s_out_post``, instead of Lava's
        ``s_in_y2``/``s_in_y3`` ports: one message fewer a window (default
        False).
    windows_per_step : int
        With ``messages="window"``: windows per Lava step (default 1), each
        received, sent and learned from in turn, so that the next window's
        currents come from the weights learned at this one's end (see
        :func:`lava_ff.core.clock.check_windows_per_step`).
    pre_delay : int
        Steps the input spikes are held before they reach the synapse
        (current and pre-trace), an axonal delay in ``[0, time_steps]``: it
        lines up an earlier layer's windows with a later post-synaptic
        neuron's, as an on-chip readout of several layers needs (default 0).
        With ``messages="window"`` every layer's window arrives in the same
        Lava step, already lined up, and the delay is not applied.
    """

    ENGINES = ("streamlined", "lava")

    def __init__(self, *, weights: np.ndarray, rule: FFLearningRule, snapshot_path: str | None = None,
                 engine: str = "streamlined", post_window: tuple[int, int] | None = None,
                 messages: str = "step", pre_delay: int = 0, windows_per_step: int = 1,
                 packed_post: bool = False, name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        weights = check_learning_weights(weights)
        if isinstance(pre_delay, bool) or not isinstance(pre_delay, (int, np.integer)) or pre_delay < 0:
            raise ValueError(f"pre_delay must be a non-negative integer (steps), got {pre_delay!r}")
        if pre_delay and (post_window is None or pre_delay > post_window[0]):
            raise ValueError(f"pre_delay={pre_delay} needs a post_window whose time_steps it does not exceed, "
                             f"got post_window={post_window!r}")
        if not isinstance(rule, FFLearningRule):
            raise TypeError(f"rule must be an FFLearningRule, got {type(rule).__name__}")
        if engine not in self.ENGINES:
            raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(self.ENGINES)}")
        if post_window is not None:
            post_window = check_post_window(post_window)
            if engine != "streamlined":
                raise ValueError(f"post_window needs engine='streamlined' (Lava's engine reads the "
                                 f"post-synaptic traces every step), got engine={engine!r}")
        windows_per_step = check_windows_per_step(windows_per_step, messages)
        check_packed_post(packed_post, messages)
        if check_messages(messages) == "window" and post_window is None:
            raise ValueError("messages='window' needs post_window=(time_steps, latency): the window's "
                             "length and where the step network's learning epochs fall")
        super().__init__(weights=weights, learning_rule=lava_learning_rule(rule, fixed=True), num_weight_bits=8,
                         ff_rule=rule, snapshot_path=None if snapshot_path is None else str(snapshot_path),
                         engine=engine, post_window=post_window, messages=messages, pre_delay=int(pre_delay),
                         windows_per_step=windows_per_step, packed_post=packed_post, name=name)
        self.snapshot = Var(shape=(1,), init=0)
        self.s_in_post = InPort(shape=(2, weights.shape[0]))
        if messages == "window":  # replaces Dense's per-step ports before Lava collects the ports
            out_size, in_size = weights.shape
            self.s_in = InPort(shape=message_shape(in_size, post_window[0], messages))
            self.a_out = OutPort(shape=message_shape(out_size, post_window[0], messages))
