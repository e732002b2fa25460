import numpy as np
from crashing.process import Sink, Source  # absolute: Lava loads this file by path
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol


@implements(proc=Source, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySourceModel(PyLoihiProcessModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        self.s_out.send(np.ones(self.s_out.shape))


@implements(proc=Sink, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySinkModel(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    total: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        self.total += self.a_in.recv()
        if self.time_step == self.proc_params["crash_at"]:
            raise ZeroDivisionError(f"deliberate crash at step {self.time_step}")
