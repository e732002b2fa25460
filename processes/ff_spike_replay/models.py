"""ProcessModels of :class:`FFSpikeReplay`: the same spikes, float or integer messages."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_spike_replay.process import FFSpikeReplay

from lava_ff.core.clock import step_windows


class _AbstractFFSpikeReplayModel(PyLoihiProcessModel):
    """Unpacks this step's windows and sends each with its label, in turn."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.packed, self.labels, self.size = proc_params["packed"], proc_params["labels"], proc_params["size"]
        self.windows_per_step = proc_params["windows_per_step"]

    def run_spk(self):
        for window in step_windows(self.time_step, self.windows_per_step):
            if window < len(self.labels):
                spikes = np.unpackbits(self.packed[window], axis=0, count=self.size)
                label = int(self.labels[window])
                self.window_index[0] = window + 1
            else:
                spikes, label = np.zeros(self.s_out.shape), -1
            self.s_out.send(spikes)
            self.label_out.send(np.array([label]))


@implements(proc=FFSpikeReplay, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFSpikeReplayModelFloat(_AbstractFFSpikeReplayModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    window_index: np.ndarray = LavaPyType(np.ndarray, int)


@implements(proc=FFSpikeReplay, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFSpikeReplayModelFixed(_AbstractFFSpikeReplayModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    window_index: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
