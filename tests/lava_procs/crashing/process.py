"""Two tiny Processes for the safe-run tests: a source and a sink that can crash.

Kept in their own folder: Lava's compiler imports every sibling module of a
Process file to find its models.
"""

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class Source(AbstractProcess):
    """Sends a vector of ones every time step."""

    def __init__(self, *, shape=(3,)):
        super().__init__(shape=shape)
        self.s_out = OutPort(shape=shape)


class Sink(AbstractProcess):
    """Accumulates its input in ``total``; raises at step ``crash_at``."""

    def __init__(self, *, shape=(3,), crash_at=-1):
        super().__init__(shape=shape, crash_at=crash_at)
        self.a_in = InPort(shape=shape)
        self.total = Var(shape=shape, init=0)
