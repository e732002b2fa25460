"""ProcessModel of :class:`FFClassReader`: reads voltages in the management phase of a window's last step."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_class_reader.process import FFClassReader

from lava_ff.core.clock import window_position


@implements(proc=FFClassReader, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFClassReaderModel(PyLoihiProcessModel):
    v_in: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32, precision=24)
    predictions: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.sum = None  # this sample's voltages, summed over its views so far

    def _row(self) -> int | None:
        """The data row whose neutral window ends at this time step, else None."""
        p = self.proc_params
        window, step = window_position(self.time_step, p["time_steps"], p["latency"])
        if step != p["time_steps"] - 1 or window < 0 or window % p["copies"] != p["neutral_copy"]:
            return None
        row = window // p["copies"]
        return row if row < p["num_samples"] * p["views"] else None

    def run_spk(self):
        pass

    def post_guard(self):
        return self._row() is not None

    def run_post_mgmt(self):
        sample, view = divmod(self._row(), self.proc_params["views"])
        voltage = np.asarray(self.v_in.read(), np.int64)
        self.sum = voltage if view == 0 else self.sum + voltage
        if view == self.proc_params["views"] - 1:
            self.predictions[sample] = int(np.argmax(self.sum))
