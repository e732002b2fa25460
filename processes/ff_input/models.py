"""ProcessModels of :class:`FFInput`: the same spikes, float or integer messages."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_input.process import FFInput

from lava_ff.core.clock import window_position
from lava_ff.core.inputs import overlay_encoded


class _AbstractFFInputModel(PyLoihiProcessModel):
    """Encodes one sample's window at its first step, then sends it step by step."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.data, self.labels = p["data"], p["labels"]
        self.time_steps, self.num_classes = p["time_steps"], p["num_classes"]
        self.rng = np.random.default_rng(p["seed"])
        self.copies = len(self._copy_labels(0))
        self.windows_per_sample = self.copies if p["sequential"] else 1
        self.window = None

    def _copy_labels(self, sample: int):
        p = self.proc_params
        if p["mode"] == "candidates":
            return list(range(self.num_classes)) + ([None] if p["neutral"] else [])
        if p["mode"] == "labels":
            return [int(self.labels[sample])]
        return [None]

    def _encode_window(self, sample: int) -> np.ndarray:
        """``[copies, features, T]`` spikes of one sample, label overlaid:
        the labelled copies in one batch, then the neutral copy if any."""
        p = self.proc_params
        x = self.data[sample][None]
        encoding = "spikes" if x.ndim == 3 else p["encoding"]
        labels = self._copy_labels(sample)
        labelled = np.array([label for label in labels if label is not None], dtype=np.int64)
        groups = [(np.repeat(x, len(labelled), axis=0), labelled)] if len(labelled) else []
        if None in labels:
            groups.append((x, None))
        return np.concatenate([
            overlay_encoded(batch, group_labels, self.num_classes, self.time_steps, encoding, self.rng,
                            scheme=p["overlay"], label_scale=p["label_scale"], label_repeat=p["label_repeat"])
            for batch, group_labels in groups])

    def run_spk(self):
        window, step = window_position(self.time_step, self.time_steps)
        group, copy = divmod(window, self.windows_per_sample)
        if step == 0 and copy == 0:
            batch = self.proc_params["batch"]
            samples = range(group * batch, (group + 1) * batch)
            self.window = np.concatenate([
                self._encode_window(k) if k < len(self.data)
                else np.zeros((self.copies,) + self.s_out.shape[1:] + (self.time_steps,)) for k in samples])
            self.sample_index[0] = min(samples.stop, len(self.data))
        if self.windows_per_sample > 1:
            self.s_out.send(self.window[copy:copy + 1, :, step])
        else:
            self.s_out.send(self.window[..., step])


@implements(proc=FFInput, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFInputModelFloat(_AbstractFFInputModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    sample_index: np.ndarray = LavaPyType(np.ndarray, int)


@implements(proc=FFInput, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFInputModelFixed(_AbstractFFInputModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    sample_index: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
