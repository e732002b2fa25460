"""The FF spike replay: sends recorded spike windows, one or more per Lava step."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_ff.core.checks import check_positive_int
from lava_ff.core.clock import check_windows_per_step


class FFSpikeReplay(AbstractProcess):
    """Replays spike windows recorded elsewhere, ``windows_per_step`` a Lava
    step (the window messages of :func:`lava_ff.core.clock.check_messages`),
    in turn: window ``k`` goes out in step ``k // windows_per_step + 1``,
    its ``T`` spike vectors on ``s_out`` (``[size, T]``) and ``labels[k]``
    on ``label_out``; past the last window, zeros and ``-1``.
    ``window_index`` counts the windows sent.

    What an on-chip readout learns from while the FF layers below it are
    frozen: their spikes do not depend on what the readout learns, so
    :func:`lava_ff.lava.learning.train_onchip_readout` computes them once
    (:func:`lava_ff.onchip.reference.hidden_window_spikes`, the spikes
    Lava's learning neurons send, bit for bit) and replays them into the
    readout's synapse instead of simulating the layers again.

    ``packed``: the spikes ``[N, size, T]`` packed along the neuron axis,
    ``np.packbits(spikes, axis=1)`` (``uint8`` ``[N, ceil(size / 8), T]``):
    one bit per neuron-step, so a whole training set fits in memory.
    ``labels`` ``[N]``: each window's label, ``-1`` for none.
    """

    def __init__(self, *, packed: np.ndarray, labels: np.ndarray, size: int, windows_per_step: int = 1,
                 name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        size = check_positive_int("size", size)
        windows_per_step = check_windows_per_step(windows_per_step, "window")
        packed = np.asarray(packed)
        if packed.dtype != np.uint8 or packed.ndim != 3 or packed.shape[1] != -(-size // 8) or not packed.shape[2]:
            raise ValueError(f"packed must be np.packbits(spikes, axis=1) of spikes [N, {size}, T]: uint8 "
                             f"[N, {-(-size // 8)}, T], got {packed.dtype} {packed.shape}")
        labels = np.asarray(labels)
        if labels.shape != (len(packed),) or not np.issubdtype(labels.dtype, np.integer) or \
                (labels.size and labels.min() < -1):
            raise ValueError(f"labels must be {len(packed)} integers, -1 or more (one per window), got "
                             f"{labels.dtype} {labels.shape}")
        super().__init__(packed=packed, labels=labels.astype(np.int64), size=size,
                         windows_per_step=windows_per_step, name=name)
        self.num_windows = len(packed)
        self.s_out = OutPort(shape=(size, packed.shape[2]))
        self.label_out = OutPort(shape=(1,))
        self.window_index = Var(shape=(1,), init=0)
