"""The class reader: which output neuron of a netx classifier layer ends a window highest."""

from __future__ import annotations

from lava.magma.core.process.ports.ports import RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_ff.core.checks import check_positive_int
from lava_ff.core.inputs import check_views


class FFClassReader(AbstractProcess):
    """Reads the voltages of a netx file's classifier layer (``export(classifier=True)``)
    at the end of every neutral-label window and stores the class of the
    highest: what a deployment reads off the chip, one integer per image.

    Connect ``v_in`` to the classifier layer's voltage
    (``reader.v_in.connect_var(net.layers[-1].neuron.v)``). The layer's
    window ``w`` ends at time step ``latency + (w + 1) * time_steps``;
    window ``w`` is copy ``w % copies`` of data row ``w // copies``, and only
    copy ``neutral_copy`` is read. With ``views`` > 1, rows ``k * views + v``
    are sample ``k``'s views, and its voltages are summed over them before
    the argmax. ``predictions[k]`` is sample ``k``'s class (-1 until read).
    """

    def __init__(self, *, num_classes: int, num_samples: int, time_steps: int, latency: int,
                 copies: int = 1, neutral_copy: int = -1, views: int = 1, name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        num_classes = check_positive_int("num_classes", num_classes)
        num_samples = check_positive_int("num_samples", num_samples)
        time_steps = check_positive_int("time_steps", time_steps)
        copies = check_positive_int("copies", copies)
        latency = check_positive_int("latency", latency)
        views = check_views(views)
        if not -copies <= neutral_copy < copies:
            raise ValueError(f"neutral_copy={neutral_copy} outside the {copies} copies")
        super().__init__(num_classes=num_classes, num_samples=num_samples, time_steps=time_steps, latency=latency,
                         copies=copies, neutral_copy=neutral_copy % copies, views=views, name=name)
        self.v_in = RefPort(shape=(num_classes,))
        self.predictions = Var(shape=(num_samples,), init=-1)
