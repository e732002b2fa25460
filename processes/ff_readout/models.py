"""ProcessModels of :class:`FFReadout`: one control flow, float or integer readout."""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava_ff.processes.ff_readout.process import FFReadout

from lava_ff.core.clock import window_position
from lava_ff.core.goodness import combine_layer_scores, combined_scores


class _AbstractFFReadoutModel(PyLoihiProcessModel):
    """Owns ``run_spk``; the leaves supply ``_logits`` and the goodness scales."""

    scales_key = "layer_scales"

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.time_steps, self.num_samples = p["time_steps"], p["num_samples"]
        self.period, self.latency = p["period"], p["latency"]
        self.num_classes, self.views, self.batch = p["num_classes"], p["views"], p["batch"]
        self.scales = np.asarray(p[self.scales_key])[:, None]
        self.view_sums = {}  # per sample whose views are still arriving: its scores so far

    def run_spk(self):
        goodness = self.g_in.recv()
        features = self.r_in.recv()
        window, step = window_position(self.time_step, self.period, self.latency)
        if step != self.period - 1 or window < 0:
            return
        per_sample = self.proc_params["per_sample"]
        for b, row in enumerate(range(window * self.batch, (window + 1) * self.batch)):
            if row < self.num_samples * self.views:
                self._classify(row, goodness[:, b * per_sample:(b + 1) * per_sample], features[b])

    def _classify(self, row: int, goodness: np.ndarray, features: np.ndarray) -> None:
        """Score data row ``row`` (sample ``row // views``'s view ``row % views``)
        and, at its last view, store the sample's predictions."""
        sample, view = divmod(row, self.views)
        p = self.proc_params
        scores = {}
        if p["has_candidates"]:
            scores["per_layer"] = goodness[:, :self.num_classes] * self.scales
        if p["has_readout"]:
            scores["logits"] = self._logits(features)
            if p["has_candidates"]:
                scores["combined"] = combined_scores(scores["per_layer"], self._float_logits(scores["logits"]),
                                                     p["loss"], p["theta"], p["alpha"])
        sums = self._sum_views(sample, view, scores)
        if view != self.views - 1:
            return
        if p["has_candidates"]:
            self.predictions[sample, 0] = np.argmax(combine_layer_scores(sums["per_layer"], skip_first=False))
            self.predictions[sample, 1] = np.argmax(combine_layer_scores(sums["per_layer"], skip_first=True))
            if p["record_scores"]:
                self.scores[sample] = sums["per_layer"]
        if p["has_readout"]:
            self.predictions[sample, 2] = np.argmax(sums["logits"])
            if p["has_candidates"]:
                self.predictions[sample, 3] = np.argmax(sums["combined"])

    def _sum_views(self, sample: int, view: int, scores: dict) -> dict:
        """``scores`` summed with the sample's earlier views'; kept until its last view."""
        if view > 0:
            scores = {k: self.view_sums[sample][k] + v for k, v in scores.items()}
        if view == self.views - 1:
            self.view_sums.pop(sample, None)
        else:
            self.view_sums[sample] = scores
        return scores

    def _float_logits(self, logits):
        """``W @ counts / T + b`` from what :meth:`_logits` returns."""
        return logits


@implements(proc=FFReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFReadoutModelFloat(_AbstractFFReadoutModel):
    g_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    r_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    readout_weight: np.ndarray = LavaPyType(np.ndarray, float)
    readout_bias: np.ndarray = LavaPyType(np.ndarray, float)
    readout_weight_int: np.ndarray = LavaPyType(np.ndarray, np.int64)
    readout_bias_int: np.ndarray = LavaPyType(np.ndarray, np.int64)
    predictions: np.ndarray = LavaPyType(np.ndarray, int)
    scores: np.ndarray = LavaPyType(np.ndarray, float)

    def _logits(self, counts):
        return self.readout_weight @ (counts / self.time_steps) + self.readout_bias


@implements(proc=FFReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFFReadoutModelFixed(_AbstractFFReadoutModel):
    scales_key = "layer_scales_fixed"
    g_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64, precision=64)
    r_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    readout_weight: np.ndarray = LavaPyType(np.ndarray, float)
    readout_bias: np.ndarray = LavaPyType(np.ndarray, float)
    readout_weight_int: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    readout_bias_int: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    predictions: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    scores: np.ndarray = LavaPyType(np.ndarray, float)

    def _logits(self, counts):
        return self.readout_weight_int.astype(np.int64) @ np.asarray(counts, np.int64) + self.readout_bias_int

    def _float_logits(self, logits):
        # the integer logits are 2**e * T times the float ones (lava_ff.core.goodness.quantize_readout)
        return np.asarray(logits, np.float64) / (2.0 ** self.proc_params["readout_exponent"] * self.time_steps)
