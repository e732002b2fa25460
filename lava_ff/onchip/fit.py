"""On-chip FF training in Lava's simulator, epoch by epoch, with atomic checkpoints.

:func:`onchip_fit` runs :func:`lava_ff.lava.learning.train_onchip` over a
training set for some epochs. After every chunk of samples it writes
``OUT/onchip_state.npz`` atomically (the learned weights, the epoch and the
position in it); ``resume=True`` starts a fresh Lava network from those
weights at the next sample. (The pre-traces and the fixed engine's random
streams restart, so a resumed run is not bit-identical to an uninterrupted
one; the weights, order and negatives are.)

:func:`onchip_network` turns learned weights into the offline
:class:`lava_ff.offline.model.FFNetwork` that evaluation, the Lava inference path and
netx export take: weights floored to the even 8-bit grid
(:func:`lava_ff.core.rule.deployable_weights`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from lava_ff.core.checks import describe_changes
from lava_ff.core.config import FFConfig
from lava_ff.core.fileio import atomic_path
from lava_ff.core.goodness import combined_scores
from lava_ff.core.inputs import check_views, random_views, sum_views, view_rows, wrong_labels
from lava_ff.core.loihi import LOIHI2, quantize_weights
from lava_ff.core.neuron import FixedNeuronParams, dequantize_neuron, quantize_neuron
from lava_ff.core.rule import (
    READOUT_LOGIT_SCALE,
    FFLearningRule,
    check_onchip_config,
    deployable_weights,
    readout_logits,
)
from lava_ff.core.spec import NetworkSpec
from lava_ff.lava.learning import OnChipReadout, train_onchip, train_onchip_readout, weight_updates
from lava_ff.offline.model import FFNetwork
from lava_ff.offline.train import evaluate_accuracy
from lava_ff.onchip.reference import hidden_window_spikes

__all__ = [
    'ONCHIP_STATE', 'ONCHIP_READOUT_STATE', 'VIEW_STREAM', 'pass_images', 'initial_weights', 'to_onchip_threshold',
    'onchip_network', 'onchip_label_scores', 'onchip_wrong_labels', 'onchip_readout_scores', 'onchip_readout_accuracy',
    'onchip_readout_predictions', 'ReadoutTask', 'onchip_fit',
]


ONCHIP_STATE = "onchip_state.npz"
ONCHIP_READOUT_STATE = "onchip_readout_state.npz"
#: the random stream of the views a readout pass shows (``[seed, epoch, VIEW_STREAM]``), apart from the order's
VIEW_STREAM = 7


def initial_weights(config: FFConfig) -> list[np.ndarray]:
    """The offline model's random initialisation in units of the neuron
    threshold, on the 8-bit grid.

    The offline initialisation is drawn for a threshold of 1 (64 weight
    units); a higher threshold multiplies the weights by it, so the network
    starts with the same dynamics but its weights use more of the 8-bit
    range. That is what fixed-point on-chip learning needs: Lava's engine
    rounds every update stochastically with one random number shared by all
    synapses, and updates far below one weight unit then move whole rows
    together (see :func:`lava_ff.onchip.reference.simulate_onchip`, ``rounding``).
    """

    # the raw float draws scaled in their own precision (float32), as the layers hold them
    draws = [layer.weight.detach().cpu().numpy() for layer in FFNetwork(config).layers]
    return _scaled_weights(draws, np.float32(config.neuron.threshold))[0]


def to_onchip_threshold(net, threshold: float) -> tuple[FFConfig, list[np.ndarray], FixedNeuronParams, float]:
    """An offline-trained :class:`lava_ff.offline.model.FFNetwork` moved to the
    on-chip neuron ``threshold``: ``(config, integer weights, neuron,
    clipped)``, the start of a continual-learning run.

    Weights and threshold are multiplied by the same factor, which keeps the
    CUBA dynamics (linear in both) and so the spikes and goodness, up to the
    8-bit grid and the decays' truncation of the scaled state (a power of two
    keeps the grid; on MNIST at 1 -> 32 the offline model's accuracy on its
    classes moved from 97.28 to 97.24 %), while the on-chip learning rate (in
    integer weight units) and the fixed engine's rounding meet the weights
    at the scale they were tuned at (:func:`initial_weights`). ``clipped`` is
    the fraction of weights the 8-bit range cut to its ends; above a few per
    cent the start is no longer the offline model, and a lower ``threshold``
    keeps more.
    """

    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold={threshold!r}: the on-chip neuron threshold must be a positive number")
    config = net.config
    # the weights the offline model runs with (its 8-bit grid): a power-of-two factor keeps them exactly
    deployed = [layer.integer_weight() / LOIHI2.w_scale for layer in net.layers]
    weights, clipped = _scaled_weights(deployed, threshold / config.neuron.threshold)
    config = dataclasses.replace(config, neuron=dataclasses.replace(config.neuron, threshold=float(threshold)))
    return config, weights, quantize_neuron(config.neuron), clipped


def _scaled_weights(weights: list[np.ndarray], factor) -> tuple[list[np.ndarray], float]:
    """Float ``weights`` times ``factor`` on the 8-bit grid (which
    :func:`lava_ff.core.loihi.quantize_weights` clamps to its range), and the
    fraction of them outside that range."""
    lo, hi = LOIHI2.weight_min / LOIHI2.w_scale, LOIHI2.weight_max / LOIHI2.w_scale
    scaled = [w * factor for w in weights]
    clipped = sum(int(np.count_nonzero((w < lo) | (w > hi))) for w in scaled) / sum(w.size for w in scaled)
    return [quantize_weights(w) for w in scaled], clipped


def onchip_network(config: FFConfig, learned: list, neuron: FixedNeuronParams):
    """An :class:`FFNetwork` with the deployable version of ``learned``."""


    cfg = replace(config, neuron=dequantize_neuron(neuron))
    spec = NetworkSpec(cfg, tuple(deployable_weights(w) for w in learned), (neuron,) * len(learned))
    return FFNetwork.from_spec(spec)


def onchip_label_scores(config: FFConfig, neuron: FixedNeuronParams):
    """``label_scores(weights, x)``: the goodness of every label ``[N, classes]``
    of samples ``x`` under learned ``weights``, on their deployable network
    (how hard negatives are chosen on chip; :func:`lava_ff.lava.learning.train_onchip`)."""
    return lambda weights, x: onchip_network(config, weights, neuron).label_scores(x)


def onchip_wrong_labels(config: FFConfig, weights: list, neuron: FixedNeuronParams, x: np.ndarray,
                        y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The negatives' wrong labels for samples ``x, y`` as ``config.negatives``
    says (:func:`lava_ff.core.inputs.wrong_labels`), ``hard`` ones scored by the
    deployable network of the learned ``weights``: what the Lava run and the
    numpy reference both hand each chunk."""
    scores = onchip_label_scores(config, neuron)
    return wrong_labels(config.negatives, y, config.num_classes, rng, scores=lambda rows: scores(weights, x[rows]))


def _save_state(path: Path, weights: list, epoch: int, position: int, seconds: float, updates: int,
                history: list, run: dict, pass_start: dict | None = None) -> None:
    """The state after ``position`` samples of pass ``epoch``; mid-pass, also
    ``pass_start``: the weights, seconds and updates the pass started from,
    which a resume restarts the pass from."""
    start = {} if pass_start is None else {
        **{f"start_{i}": w for i, w in enumerate(pass_start["weights"])},
        "start_seconds": pass_start["seconds"], "start_updates": pass_start["updates"]}
    with atomic_path(path, suffix=".tmp.npz") as tmp:
        np.savez(tmp, *weights, epoch=epoch, position=position, seconds=seconds, updates=updates,
                 history=json.dumps(history), run=json.dumps(run), **start)


def load_state(path: Path, layers: int) -> dict:

    try:
        with np.load(path) as data:
            return {"weights": [data[f"arr_{i}"] for i in range(layers)], "epoch": int(data["epoch"]),
                    "position": int(data["position"]), "seconds": float(data["seconds"]),
                    "updates": int(data["updates"]), "history": json.loads(str(data["history"])),
                    # states written before the run description was stored carry none
                    "run": json.loads(str(data["run"])) if "run" in data else None,
                    # mid-pass: where the pass started (states written before it was stored carry none)
                    "pass_start": {"weights": [data[f"start_{i}"] for i in range(layers)],
                                   "seconds": float(data["start_seconds"]),
                                   "updates": int(data["start_updates"])} if "start_0" in data else None}
    except Exception as err:
        raise ValueError(f"{path}: corrupt on-chip training state ({type(err).__name__}: {err})") from err


def _check_resumable(path: Path, stored: dict | None, current: dict) -> None:
    """Refuse to resume ``path`` into another run (``stored`` None: a state
    from before runs were described, taken as is)."""
    detail = "" if stored is None else describe_changes(stored, current, was="state")
    if detail:
        raise ValueError(f"{path} was trained by another run ({detail}); resume it with the same settings "
                         "or choose another output folder")


def onchip_readout_scores(config: FFConfig, weights: list, neuron: FixedNeuronParams, readout: np.ndarray,
                          x: np.ndarray, batch: int = 1000, *, views: int = 1,
                          image_shape: tuple | None = None) -> np.ndarray:
    """What the on-chip readout computes at inference, ``[N, classes]``: each
    sample's neutral-label window through the deployable FF network, and the
    readout neuron's score ``W @ counts`` of the readout layers' spike
    counts with the readout's deployable weights (integer units; the same
    argmax as its logits). With ``views`` > 1, summed over the sample's
    first ``views`` views (:mod:`lava_ff.core.inputs`, images of ``image_shape``),
    one window each."""
    scores = _readout_scores(onchip_network(config, weights, neuron), config, readout,
                             view_rows(x, image_shape, views), batch)
    return sum_views(scores, views)


def _readout_scores(net, config: FFConfig, readout: np.ndarray, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    """:func:`onchip_readout_scores` on the deployable network ``net`` already built."""

    w = deployable_weights(readout).astype(np.float64)
    if w.shape != (config.num_classes, config.readout_features):
        raise ValueError(f"readout weights must have shape {(config.num_classes, config.readout_features)}, "
                         f"got {w.shape}")
    out = []
    with torch.no_grad():
        for begin in range(0, len(x), batch):
            outputs = net.layer_outputs(net.encode(x[begin:begin + batch], None))
            counts = torch.cat([outputs[layer][0].sum(-1) for layer in config.readout_layers], dim=1)
            out.append(counts.double().cpu().numpy() @ w.T)
    return np.concatenate(out) if out else np.zeros((0, config.num_classes))


def onchip_readout_accuracy(config: FFConfig, weights: list, neuron: FixedNeuronParams, readout: np.ndarray,
                            x: np.ndarray, y: np.ndarray, *, views: int = 1, image_shape: tuple | None = None) -> float:
    """Accuracy of :func:`onchip_readout_scores`'s argmax on ``x, y``."""
    scores = onchip_readout_scores(config, weights, neuron, readout, x, views=views, image_shape=image_shape)
    return float(np.mean(scores.argmax(axis=1) == np.asarray(y)))


def onchip_readout_predictions(config: FFConfig, weights: list, neuron: FixedNeuronParams, readout: np.ndarray,
                               x: np.ndarray, *, logit_scale: float, batch: int = 250, views: int = 1,
                               image_shape: tuple | None = None) -> np.ndarray:
    """``[N, 2]`` labels the on-chip readout predicts: by its own scores
    (:func:`onchip_readout_scores`'s argmax) and combined with the goodness
    of every candidate label as one product of experts
    (:func:`lava_ff.core.goodness.combined_scores`, the readout's logits
    ``logit_scale * W @ rates``): the readout and combined columns of
    ``PREDICTION_COLUMNS`` for this readout. With ``views`` > 1 both
    scores are summed over each sample's views (:mod:`lava_ff.core.inputs`), as
    :class:`FFReadout` with ``views`` does."""

    net = onchip_network(config, weights, neuron)
    cfg = net.config
    rows_x = view_rows(x, image_shape, views)
    scores = _readout_scores(net, config, readout, rows_x)
    combined = np.zeros_like(scores)
    for begin in range(0, len(rows_x), batch):
        rows = slice(begin, begin + batch)
        logits = readout_logits(scores[rows], logit_scale=logit_scale, time_steps=cfg.time_steps, fixed=True)
        combined[rows] = combined_scores(net.layer_label_scores(rows_x[rows]), logits, cfg.loss, cfg.theta,
                                         cfg.symba_alpha)
    return np.stack([sum_views(scores, views).argmax(axis=1), sum_views(combined, views).argmax(axis=1)], axis=1)


def _checked_views(views, image_shape, what: str) -> int:
    """``views``, or a ValueError unless it is a view count (1 to 5) with the image shape views need."""
    views = check_views(views)
    if views > 1 and (image_shape is None or len(image_shape) != 2):
        raise ValueError(f"{what} on {views} views needs the image shape (height, width), got {image_shape!r}")
    return views


def pass_images(x: np.ndarray, order: np.ndarray, seed: int, epoch: int, views: int = 1,
                image_shape: tuple | None = None) -> np.ndarray:
    """Pass ``epoch``'s training images in ``order``: with ``views`` > 1,
    each image as one of its first ``views`` views (the image, then moved
    one pixel up, down, left, right; :mod:`lava_ff.core.inputs`), drawn per
    image from ``[seed, epoch, VIEW_STREAM]`` alone, so that a pass resumed
    midway shows the views it would have shown."""
    if _checked_views(views, image_shape, "a pass") == 1:
        return x[order]
    choice = np.random.default_rng([seed, epoch, VIEW_STREAM]).integers(views, size=len(x))
    return random_views(x[order], image_shape, views, choice[order])


@dataclasses.dataclass(frozen=True)
class _FFTask:
    """What :func:`onchip_fit` trains by default: the FF layers, on ``views``
    views of images of ``image_shape`` (:func:`pass_images`)."""

    views: int = 1
    image_shape: tuple | None = None
    state = ONCHIP_STATE

    def __post_init__(self):
        _checked_views(self.views, self.image_shape, "on-chip FF learning")

    def train(self, config, weights, neuron, rule, x, y, **kwargs):

        return train_onchip(config, weights, neuron, rule, x, y, **kwargs,
                            label_scores=onchip_label_scores(config, neuron))

    def inputs(self, x, order, seed, epoch):
        return pass_images(x, order, seed, epoch, self.views, self.image_shape)

    @staticmethod
    def updates(samples, weights):

        return weight_updates(samples, weights)

    def validate(self, config, weights, neuron, x, y):

        # goodness only: the chip learns no readout here (the host trains one after the last epoch),
        # so neither it nor the combined classifier is measured, and the record carries neither
        accuracy = evaluate_accuracy(onchip_network(config, weights, neuron), x, y, readout=False)
        return {f"val_{k}": v for k, v in accuracy.items() if v is not None}

    def describe(self, config: FFConfig) -> dict:
        """What a resumed state must match beyond the network: the views (named only where there are
        several, so a state of a run on the images as they are matches as before)."""
        return {"views": self.views, "image_shape": list(self.image_shape)} if self.views > 1 else {}


@dataclasses.dataclass(frozen=True)
class ReadoutTask:
    """:func:`onchip_fit` trains an on-chip readout instead: ``start_weights``
    is then ``[readout weights]`` and the FF layers run the learned
    ``ff_weights`` (deployed on the even 8-bit grid) without learning; the
    readout neuron's logit is ``logit_scale * W @ rates`` over the rates of
    the readout layers (``FFConfig.readout_layers``).

    ``views`` > 1: every pass shows each image as one of its first
    ``views`` views (:mod:`lava_ff.core.inputs`; images of ``image_shape``), drawn
    at random per pass from ``[seed, epoch]`` alone, so a resumed pass shows
    the same ones; validation then sums the readout's scores over the
    views, as the deployed network with ``views`` does."""

    ff_weights: tuple
    logit_scale: float = READOUT_LOGIT_SCALE
    views: int = 1
    image_shape: tuple | None = None
    state = ONCHIP_READOUT_STATE
    #: the frozen layers' packed spikes of the windows a pass showed, by tag and window digest, kept where
    #: every pass shows the same windows (one view, an encoding that draws nothing): later passes replay
    #: them without computing them again
    spike_memory: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        _checked_views(self.views, self.image_shape, "a readout")

    def inputs(self, x, order, seed, epoch):
        """This pass's training images in ``order``: each as its drawn view."""
        return pass_images(x, order, seed, epoch, self.views, self.image_shape)

    def train(self, config, weights, neuron, rule, x, y, **kwargs):

        on_chunk = kwargs.pop("on_chunk", None)  # it checkpoints a list of matrices
        deployed = self.deployed()
        # window messages: the frozen layers' spikes are computed once and replayed (the same readout, bit for bit)
        frozen = functools.partial(hidden_window_spikes, deployed, neuron, config, fixed=kwargs["tag"] == "fixed_pt") \
            if kwargs.get("messages", "window") == "window" else None
        run = train_onchip_readout(config, deployed, neuron, OnChipReadout(weights[0], rule, self.logit_scale),
                                   x, y, on_chunk=None if on_chunk is None else
                                   lambda done, learned: on_chunk(done, [learned]), frozen_spikes=frozen,
                                   spike_memory=self.spike_memory.setdefault(kwargs["tag"], {})
                                   if self.views == 1 and config.encoding != "rate" else None, **kwargs)
        return {**run, "weights": [run["weights"]]}

    def deployed(self) -> list:
        return [deployable_weights(w) for w in self.ff_weights]

    @staticmethod
    def updates(samples, weights):
        return samples * weights[0].size

    def validate(self, config, weights, neuron, x, y):
        return {"val_onchip_readout": onchip_readout_accuracy(config, self.deployed(), neuron, weights[0], x, y,
                                                              views=self.views, image_shape=self.image_shape)}

    def resumable(self, path: Path, config: FFConfig) -> bool:
        """Whether ``path`` holds a readout state of these FF weights, layers and scale."""
        if not Path(path).is_file():
            return False
        stored = load_state(Path(path), 1)["run"] or {}
        return stored.get("readout") == self.describe(config)

    def describe(self, config: FFConfig) -> dict:
        """What a resumed state must match: the FF weights, the layers it reads, the logit scale and the
        views and image shape (named only where there are several views, so a one-view state of earlier
        runs still matches)."""

        digest = hashlib.sha256(b"".join(np.ascontiguousarray(deployable_weights(w)).tobytes()
                                         for w in self.ff_weights)).hexdigest()
        views = {"views": self.views, "image_shape": list(self.image_shape)} if self.views > 1 else {}
        return {"ff_weights_sha256": digest, "logit_scale": self.logit_scale,
                "layers": list(config.readout_layers), **views}


def onchip_fit(config: FFConfig, start_weights: list, neuron: FixedNeuronParams, rule: FFLearningRule,
               train_x: np.ndarray, train_y: np.ndarray, *, tag: str, epochs: int, out_dir: Path,
               val_x: np.ndarray | None = None, val_y: np.ndarray | None = None, resume: bool = False,
               samples_per_run: int = 500, progress: bool = True, seed: int = 0, rate_decay: float = 1.0,
               messages: str = "window", readout: ReadoutTask | None = None,
               samples_per_step: int | None = None, views: int = 1,
               image_shape: tuple | None = None) -> dict:
    """Train on chip (simulated) for ``epochs`` passes; returns the learned
    weights, per-epoch history (validation accuracy, the rule's learning
    rate), wall time, samples/s and weight updates.

    ``rate_decay``: epoch ``e`` (from 0) runs the rule at
    ``rule.learning_rate * rate_decay**e`` (a new rule, hence a new Lava
    network, per epoch: the engine's constants are fixed within a run).
    Every epoch's rule is built before training starts, so a rate that
    would underflow in fixed point by the last epoch fails at once.

    ``resume=True`` refuses a state trained with another network, neuron,
    training-set size or seed (its position would point at other samples);
    a different ``rule`` is allowed (a step-size schedule across resumes)
    and each epoch's record names the learning rate it ran at. A pass
    interrupted midway restarts from its beginning, with the weights it
    started from: the Lava network's traces, random streams and windows in
    flight cannot be carried across runs, so only a whole pass resumes
    bit-identically to an uninterrupted run. The state saved after every
    chunk holds both: the weights learned so far, and the pass's start.

    ``messages``: the Lava network's steps, ``samples_per_step`` the samples
    each carries (:func:`lava_ff.lava.learning.train_onchip`; the same
    weights whatever it is).

    ``views`` > 1: every pass shows each image as one of its first
    ``views`` views (the image moved by up to one pixel; ``image_shape``
    its height and width), drawn anew per pass (:func:`pass_images`):
    the FF layers learn on the views, and validation scores the images as
    they are. A state trained on other views is not resumed.

    ``readout``: train an on-chip readout on the learned FF layers instead
    (:class:`ReadoutTask`, :func:`lava_ff.lava.learning.train_onchip_readout`),
    with its own state file, ``OUT/onchip_readout_state.npz``; validation
    records ``val_onchip_readout``, the readout's accuracy."""

    if readout is not None and views != 1:
        raise ValueError(f"views={views!r} is the FF passes' option; a readout learns on ReadoutTask.views")
    task = _FFTask(views, None if image_shape is None else tuple(image_shape)) if readout is None else readout
    check_onchip_config(config)

    rules = rule.schedule(rate_decay, epochs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / task.state
    train_x, train_y = np.asarray(train_x), np.asarray(train_y)
    # as the state stores it (JSON: tuples come back as lists)
    run_info = json.loads(json.dumps({"config": config.to_dict(), "neuron": asdict(neuron),
                                      "train_samples": len(train_x), "seed": seed,
                                      **(task.describe(config) if readout is None
                                         else {"readout": readout.describe(config)})}))
    weights, epoch, position, seconds, updates, history = list(start_weights), 0, 0, 0.0, 0, []
    if resume:
        if not state_path.is_file():
            raise FileNotFoundError(f"{state_path}: no on-chip training state to resume from")
        state = load_state(state_path, len(start_weights))
        _check_resumable(state_path, state["run"], run_info)
        weights, epoch, position = state["weights"], state["epoch"], state["position"]
        seconds, updates, history = state["seconds"], state["updates"], state["history"]
        if position and state["pass_start"] is not None:  # restart the pass: bit-identical to one run
            start = state["pass_start"]
            weights, seconds, updates = start["weights"], start["seconds"], start["updates"]
            if progress:
                print(f"{state_path}: pass {epoch + 1} stopped after {position} of {len(train_x)} samples; "
                      "it restarts from its beginning", file=sys.stderr)
            position = 0
    samples_run, run_seconds = 0, 0.0
    while epoch < epochs:
        order = np.random.default_rng([seed, epoch]).permutation(len(train_x))[position:]
        begin, base = time.perf_counter(), position

        def checkpoint(done, learned, epoch=epoch, base=base, begin=begin, seconds=seconds, updates=updates,
                       start_weights=weights):
            # a pass begun at its start can restart from there: its weights, seconds and updates then
            pass_start = {"weights": start_weights, "seconds": seconds, "updates": updates} if base == 0 else None
            _save_state(state_path, learned, epoch, base + done, seconds + time.perf_counter() - begin,
                        updates + task.updates(done, learned), history, run_info, pass_start=pass_start)

        if len(order):
            run = task.train(config, weights, neuron, rules[epoch], task.inputs(train_x, order, seed, epoch),
                             train_y[order], tag=tag,
                             rng=np.random.default_rng([seed, epoch, position]),
                             samples_per_run=samples_per_run, progress=progress, on_chunk=checkpoint,
                             messages=messages, samples_per_step=samples_per_step)
            weights, seconds, updates = run["weights"], seconds + run["seconds"], updates + run["weight_updates"]
            samples_run, run_seconds = samples_run + len(order), run_seconds + run["seconds"]
        epoch, position = epoch + 1, 0
        record = {"epoch": epoch, "seconds": seconds, "learning_rate": rules[epoch - 1].learning_rate}
        if val_x is not None:
            record.update(task.validate(config, weights, neuron, val_x, val_y))
        history.append(record)
        _save_state(state_path, weights, epoch, 0, seconds, updates, history, run_info)
    return {"weights": weights, "history": history, "train_seconds": seconds, "weight_updates": updates,
            "samples_per_second": samples_run / run_seconds if samples_run else None}
