"""The on-chip readout neuron: learns a one-vs-rest logistic readout of the label through a ``LearningDense``."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava_ff.processes.learning_rule import lava_learning_rule

from lava_ff.core.checks import check_population_shape, check_positive_float
from lava_ff.core.clock import check_latency, check_messages, check_windows_per_step, message_shape
from lava_ff.core.rule import FFLearningRule


class FFReadoutNeuron(LearningNeuronProcess, AbstractProcess):
    """Readout neurons, one per class, that learn on chip from the last FF
    layer's spikes under the neutral label.

    Neuron ``c`` does not spike: over each window of ``time_steps + 1``
    steps (starting ``latency`` steps after the input's, reset at the first)
    it sums its input, ``score[c] = sum_t a_in[c, t] = W[c] @ counts`` (the
    synapse's weights times the hidden layer's spike counts; fixed point in
    integer weight units, float in units of 64, as the synapses send
    them). At the window's first step it latches the true label from
    ``label_in`` (``-1``: do not learn). At the last step it predicts
    ``argmax_c score`` (kept in ``prediction_log``) and, learning, sends the
    third factor of its own logistic loss
    (:func:`lava_ff.core.rule.readout_post_factors`)::

        logit[c] = logit_scale * score[c] / T          (weights in float units)
        e[c] = [c == label] - sigmoid(logit[c])
        y2[c] = gain/128 * max(e[c], 0),  y3[c] = gain/128 * max(-e[c], 0)

    which the synapse's rule ``S*u0*x1*y2 - S*u0*x1*y3`` (the FF rule, an
    :class:`lava_ff.core.rule.FFLearningRule`) turns into the delta rule
    ``dW[c, j] ~ lr * e[c] * x1[j]``: each neuron's error needs only its
    own score, so the rule is local, a table of the integer score on chip.
    ``y2``/``y3`` go out at the window's last step only (the synapse reads
    them there: build it with ``post_window=(time_steps, latency)``), or with
    ``messages="window"`` once per window, ``windows_per_step`` windows a
    Lava step, in turn.

    Parameters
    ----------
    shape : tuple of one int
        ``(classes,)``.
    time_steps : int
        ``T``: input steps per window.
    latency : int
        Steps this neuron runs behind the input (one per ``Dense`` on the way).
    logit_scale : float
        Logit per unit of ``W @ rates`` with ``W`` in float weight units.
    rule : FFLearningRule
        Provides the third-factor gain and the hardware rule.
    log_windows : int
        Length of ``prediction_log`` (0: keep none).
    messages : {"step", "window"}
    windows_per_step : int
        With window messages: windows per Lava step (default 1;
        :func:`lava_ff.core.clock.check_windows_per_step`).
    """

    def __init__(self, *, shape: tuple[int], time_steps: int, latency: int, logit_scale: float,
                 rule: FFLearningRule, log_windows: int = 0, messages: str = "step", windows_per_step: int = 1,
                 name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        check_population_shape(shape, "classes")
        if not isinstance(rule, FFLearningRule):
            raise TypeError(f"rule must be an FFLearningRule, got {type(rule).__name__}")
        latency = check_latency(latency, time_steps)
        logit_scale = check_positive_float("logit_scale", logit_scale)
        if isinstance(log_windows, bool) or not isinstance(log_windows, (int, np.integer)) or log_windows < 0:
            raise ValueError(f"log_windows must be a non-negative integer, got {log_windows!r}")
        messages = check_messages(messages)
        windows_per_step = check_windows_per_step(windows_per_step, messages)
        super().__init__(shape=shape, learning_rule=lava_learning_rule(rule, fixed=True), time_steps=time_steps,
                         latency=latency, logit_scale=logit_scale, gain=rule.gain, messages=messages,
                         windows_per_step=windows_per_step, name=name)
        self.a_in = InPort(shape=message_shape(shape[0], time_steps, messages))
        self.label_in = InPort(shape=(1,))
        self.score = Var(shape=shape, init=0)
        self.label = Var(shape=(1,), init=-1)
        self.prediction_log = Var(shape=(max(int(log_windows), 1),), init=-1)
