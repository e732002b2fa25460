"""The FF phase input: streams positive and negative phases of a data set for on-chip learning."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_ff.core.clock import check_messages, check_windows_per_step, message_shape, window_length
from lava_ff.core.config import FFConfig
from lava_ff.core.inputs import INPUT_SCHEDULES, check_input_data, check_labels, check_phase_labels


class FFPhaseInput(AbstractProcess):
    """Streams the on-chip FF schedule from inside the Process (no ``Var.set``
    per sample): for sample ``n``, window ``2n`` shows it with ``labels[n]``
    overlaid (positive phase, ``phase_out = +1``), window ``2n + 1`` with
    ``negative_labels[n]`` (negative phase, ``phase_out = -1``). A window is
    ``T + 1`` steps: a silent first step, then the ``T`` encoded steps
    (:func:`lava_ff.core.inputs.phase_windows`, shared with the numpy
    reference). Past the last sample it sends zeros and phase 0. The phase
    goes out once per window, at its first step (the learning neurons latch
    it at their windows' first steps), not a message per step.

    ``data``: intensities ``[N, F]`` in [0, 1] or binary spike trains
    ``[N, F, T]``; ``config`` says how labels are overlaid and inputs
    encoded. ``sample_index`` counts the samples started.

    ``negative_labels`` ``[B]``, ``B <= N``: the negatives of the first ``B``
    samples, held in the Var ``negatives``; sample ``n`` reads
    ``negatives[n % B]`` when its first window starts. ``B = N`` fixes every
    negative up front. With ``B < N`` the host writes each next block's
    negatives into ``negatives`` while the network is paused between runs of
    ``B`` samples (:meth:`lava_ff.lava.learning.OnChipNetwork.set_negatives`):
    how negatives chosen by the network being learned (hard negatives)
    reach the chip.

    ``schedule="readout"``: one window per sample instead, the image with
    the neutral label (:func:`lava_ff.core.inputs.readout_window`) and phase 0,
    so the FF layers do not learn, while ``label_out`` sends the sample's
    true label at the window's first step for an on-chip readout to learn
    from (:class:`lava_ff.processes.ff_readout_neuron.process.FFReadoutNeuron`);
    ``negative_labels`` is then unused (``None``). In the FF schedule and
    past the last sample ``label_out`` sends ``-1``: no readout learning.

    ``messages="window"`` (see :func:`lava_ff.core.clock.check_messages`): one
    message per window; ``s_out`` sends the window's ``T`` encoded steps
    at once (``[F', T]``; the silent step is left out) and ``phase_out`` its
    phase, for learning Processes built with the same ``messages``.
    ``windows_per_step`` (window messages only, see
    :func:`lava_ff.core.clock.check_windows_per_step`): that many windows a
    step, each sent in turn, for learning Processes built with the same.
    """

    def __init__(self, *, data: np.ndarray, labels: np.ndarray, negative_labels: np.ndarray | None,
                 config: FFConfig, seed: int = 0, messages: str = "step", schedule: str = "ff",
                 windows_per_step: int = 1, name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        if not isinstance(config, FFConfig):
            raise TypeError(f"config must be an FFConfig, got {type(config).__name__}")
        data = check_input_data(data, config.time_steps, config.encoding)
        if data.shape[1] != config.in_features:
            raise ValueError(f"data has {data.shape[1]} features, the network expects {config.in_features}")
        if schedule not in INPUT_SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; valid: {', '.join(INPUT_SCHEDULES)}")
        labels = check_labels(labels, config.num_classes, len(data))
        if schedule == "readout":
            if negative_labels is not None:
                raise ValueError("schedule='readout' shows every sample once, with the neutral label: "
                                 "negative_labels must be None")
            negative_labels = np.zeros(1, np.int64)  # the Var exists in both schedules; nothing reads it
        else:
            block = np.asarray(negative_labels).size
            if not 1 <= block <= len(data):
                raise ValueError(f"negative_labels must hold the negatives of the first 1..{len(data)} samples "
                                 f"(a block of samples), got {block}")
            _, negative_labels = check_phase_labels(labels[:block], negative_labels, config.num_classes, block)
        messages = check_messages(messages)
        windows_per_step = check_windows_per_step(windows_per_step, messages)
        super().__init__(data=data, labels=labels, config=config, seed=seed, messages=messages, schedule=schedule,
                         windows_per_step=windows_per_step, name=name)
        self.num_samples = len(data)
        self.window_length = window_length(config.time_steps)
        self.s_out = OutPort(shape=message_shape(config.input_size, config.time_steps, messages))
        self.phase_out = OutPort(shape=(1,))
        self.label_out = OutPort(shape=(1,))
        self.sample_index = Var(shape=(1,), init=0)
        self.negatives = Var(shape=(len(negative_labels),), init=negative_labels)
