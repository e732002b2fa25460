"""The FF input Process: streams a whole data set, label overlay included."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_ff.core.checks import check_positive_int
from lava_ff.core.config import ENCODINGS, OVERLAYS
from lava_ff.core.inputs import check_input_data, check_labels

INPUT_MODES = ("candidates", "neutral", "labels")


class FFInput(AbstractProcess):
    """Streams ``data`` sample after sample, ``time_steps`` steps each, with
    the label written into the input inside the Process (no ``Var.set`` per
    sample).

    ``mode`` decides the copies sent side by side on ``s_out``
    (shape ``(copies, features)``):

    * ``candidates``: one copy per class (label ``c`` overlaid on copy ``c``)
      and, with ``neutral=True``, a last copy with the neutral label: one
      pass scores every label and feeds the linear readout.
    * ``neutral``: one copy with the neutral label.
    * ``labels``: one copy with ``labels[k]`` overlaid on sample ``k``.

    ``batch`` > 1 sends that many samples side by side in every window,
    each with its copies: ``s_out`` ``(batch * copies, features)``, rows
    ``b * copies + c`` (past the last sample, zeros).

    With ``sequential=True`` the copies go one after another instead, each
    in a window of its own on ``s_out`` of shape ``(1, features)``: the
    layout for a plain netx network, which runs one copy. A sample then
    takes ``time_steps * windows_per_sample`` steps.

    ``data`` is either intensities in [0, 1], ``[N, F]``, encoded here with
    ``encoding``, or binary spike trains ``[N, F, time_steps]`` (binned event
    data), sent as they are. Past the last sample the Process sends zeros.
    ``sample_index`` counts the samples started.
    """

    def __init__(self, *, data: np.ndarray, num_classes: int, time_steps: int,
                 mode: str = "candidates", neutral: bool = True, labels: np.ndarray | None = None,
                 overlay: str = "label_neurons", label_scale: float = 1.0, label_repeat: int = 1,
                 encoding: str = "deterministic", seed: int = 0, sequential: bool = False,
                 batch: int = 1, name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        time_steps = check_positive_int("time_steps", time_steps)
        num_classes = check_positive_int("num_classes", num_classes)
        label_repeat = check_positive_int("label_repeat", label_repeat)
        batch = check_positive_int("batch", batch)
        if sequential and batch > 1:
            raise ValueError(f"batch={batch} needs the copies side by side: a sequential input sends one "
                             "window at a time")
        if mode not in INPUT_MODES:
            raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(INPUT_MODES)}")
        if overlay not in OVERLAYS:
            raise ValueError(f"unknown overlay {overlay!r}; valid: {', '.join(OVERLAYS)}")
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; valid: {', '.join(ENCODINGS)}")
        data = check_input_data(data, time_steps, encoding)
        if mode == "labels":
            if labels is None:
                raise ValueError("mode='labels' needs labels")
            labels = check_labels(labels, num_classes, len(data))
        copies = num_classes + int(neutral) if mode == "candidates" else 1
        extra = num_classes * label_repeat if overlay == "label_neurons" else 0
        features = data.shape[1] + extra
        super().__init__(data=data, num_classes=num_classes, time_steps=time_steps, mode=mode,
                         neutral=neutral, labels=labels, overlay=overlay, label_scale=label_scale,
                         label_repeat=label_repeat, encoding=encoding, seed=seed, sequential=sequential,
                         batch=batch, name=name)
        self.num_samples = len(data)
        self.copies = copies  # per sample: side by side, or one per window if sequential
        self.windows_per_sample = copies if sequential else 1
        self.batch = batch
        self.s_out = OutPort(shape=(1 if sequential else batch * copies, features))
        self.sample_index = Var(shape=(1,), init=0)
