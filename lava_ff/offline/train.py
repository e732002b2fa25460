"""Layer-local Forward-Forward training with atomic checkpoints and resume.

Two local rules (``FFConfig.rule``):

* ``surrogate``: per layer, backprop through time *within* the layer
  (slayer's surrogate spike gradient) of that layer's FF loss; an Adam
  optimiser per layer, outside the layer.
* ``three_factor``: gradient-free ``dW = lr * m * post_rate x pre_rate``
  (:func:`lava_ff.core.rule.three_factor_update`), the rule the on-chip
  learning engine runs; ``m`` is the goodness error of the phase.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lava_ff.core.checks import check_positive_int, describe_changes
from lava_ff.core.config import PREDICTION_COLUMNS, FFConfig, check_greedy_epochs
from lava_ff.core.errors import ConfigError, NetxFormatError
from lava_ff.core.fileio import atomic_path
from lava_ff.core.inputs import check_image_rows, hybrid_images, move_images, prepare_inputs, wrong_labels
from lava_ff.core.progress import tqdm
from lava_ff.core.rule import three_factor_update
from lava_ff.offline.distributed import DataParallel
from lava_ff.offline.model import (
    CandidateSpikes,
    FFNetwork,
    dense_spikes,
    torch_ff_loss,
    torch_pool,
    torch_softmax_ff_loss,
)

__all__ = [
    'CHECKPOINT', 'check_shift', 'random_shift', 'check_affine', 'affine_resample', 'random_affine',
    'TrainSettings', 'keep_best', 'patience_exhausted', 'save_checkpoint', 'load_checkpoint',
    'evaluate_accuracy', 'Trainer',
]


CHECKPOINT = "checkpoint.pt"


def check_shift(shift: int, image_shape: tuple[int, int], features: int) -> None:
    """A ValueError naming the value unless ``shift`` pixels is a positive
    translation inside ``image_shape`` and rows of ``features`` are such images."""
    height, width = image_shape
    check_image_rows(features, image_shape, "translation")
    check_positive_int("shift", shift)
    if shift >= min(height, width):
        raise ValueError(f"shift={shift} would move a {height}x{width} image out of its frame; "
                         f"use less than {min(height, width)}")


def _only_rows(x: np.ndarray, rows: slice | None, transform) -> np.ndarray:
    """``transform(x[rows], rows)`` put in place of rows ``rows`` of a copy
    of ``x`` (``rows=None``: ``transform(x, slice(None))``, all of them)."""
    if rows is None:
        return transform(x, slice(None))
    out = np.array(x, dtype=np.result_type(x.dtype, np.float32))
    out[rows] = transform(x[rows], rows)
    return out


def random_shift(x: np.ndarray, image_shape: tuple[int, int], shift: int, rng: np.random.Generator,
                 rows: slice | None = None) -> np.ndarray:
    """Flat images ``[N, H*W]``, each translated by its own random offset of
    up to ``shift`` pixels along each axis (uniform over ``[-shift, shift]``),
    the uncovered border filled with zeros: translation augmentation.

    ``rows``: move only those images (a data-parallel rank's share) and
    return the others as they are; the offsets are drawn for all ``N``, so
    ``rng`` ends where it ends without ``rows``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"random_shift needs flat images [N, H*W], got shape {x.shape}")
    check_shift(shift, image_shape, x.shape[1])
    # a draw d moves the image by shift - d (the draws of the padded-crop this replaced, kept for reproducibility)
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, len(x)))
    return _only_rows(x, rows, lambda part, r: move_images(part, image_shape, shift - dy[r], shift - dx[r]))


def check_affine(rotate: float, zoom: float) -> None:
    """A ValueError naming the value unless ``rotate`` is a finite angle in
    [0, 180) degrees and ``zoom`` a relative scale change in [0, 1)."""
    for name, value, high in (("rotate", rotate, 180.0), ("zoom", zoom, 1.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not 0.0 <= float(value) < high:
            raise ValueError(f"{name} must be a number in [0, {high:g}), got {value!r}")


def affine_resample(x: np.ndarray, image_shape: tuple[int, int], angles: np.ndarray,
                    scales: np.ndarray) -> np.ndarray:
    """Flat images ``[N, H*W]``, image ``n`` rotated counter-clockwise by
    ``angles[n]`` radians and scaled by ``scales[n]`` about its centre
    (bilinear interpolation, zeros outside the frame). Every output pixel
    is a convex combination of input pixels, so the value range is kept."""
    height, width = image_shape
    n = len(x)
    padded = np.zeros((n, height + 2, width + 2), np.float32)  # a zero border for samples outside the frame
    padded[:, 1:-1, 1:-1] = np.asarray(x, np.float32).reshape(n, height, width)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    dy, dx = np.mgrid[0:height, 0:width].astype(np.float64)
    dy, dx = dy - cy, dx - cx
    cos = (np.cos(angles) / scales)[:, None, None]
    sin = (np.sin(angles) / scales)[:, None, None]
    # each output pixel reads the input where the inverse transform sends it (row axis points down)
    src_y = cos * dy + sin * dx + cy
    src_x = -sin * dy + cos * dx + cx
    y0, x0 = np.floor(src_y), np.floor(src_x)
    fy, fx = (src_y - y0).astype(np.float32), (src_x - x0).astype(np.float32)
    rows = [np.clip(y0 + k + 1, 0, height + 1).astype(np.intp) for k in (0, 1)]
    cols = [np.clip(x0 + k + 1, 0, width + 1).astype(np.intp) for k in (0, 1)]
    image = np.arange(n)[:, None, None]
    out = ((1 - fy) * ((1 - fx) * padded[image, rows[0], cols[0]] + fx * padded[image, rows[0], cols[1]])
           + fy * ((1 - fx) * padded[image, rows[1], cols[0]] + fx * padded[image, rows[1], cols[1]]))
    return out.reshape(n, height * width)


def random_affine(x: np.ndarray, image_shape: tuple[int, int], rotate: float, zoom: float,
                  rng: np.random.Generator, rows: slice | None = None) -> np.ndarray:
    """Flat images ``[N, H*W]``, each rotated by its own random angle,
    uniform over ``[-rotate, rotate]`` degrees, and scaled by its own random
    factor, uniform over ``[1 - zoom, 1 + zoom]``, about its centre
    (:func:`affine_resample`). ``rows``: as for :func:`random_shift`."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"random_affine needs flat images [N, H*W], got shape {x.shape}")
    check_image_rows(x.shape[1], image_shape, "rotation and zoom")
    check_affine(rotate, zoom)
    angles = np.deg2rad(rng.uniform(-rotate, rotate, len(x)))
    scales = rng.uniform(1.0 - zoom, 1.0 + zoom, len(x))
    return _only_rows(x, rows, lambda part, r: affine_resample(part, image_shape, angles[r], scales[r]))


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 5
    batch_size: int = 100
    readout_epochs: int = 3
    eval_batch: int = 250
    progress: bool = True
    #: stop after this many epochs without a better validation accuracy and
    #: keep the best epoch's weights (None: train all epochs, keep the last)
    patience: int | None = None
    #: translation augmentation: every training image, every epoch, moves by
    #: a random offset of up to this many pixels per axis (0: none;
    #: :func:`random_shift`). Images only, not spike trains.
    shift: int = 0
    #: rotation augmentation: every training image, every epoch, turns by a
    #: random angle of up to this many degrees either way (0: none;
    #: :func:`random_affine`, applied before the shift)
    rotate: float = 0.0
    #: scale augmentation: every training image, every epoch, is scaled
    #: about its centre by a random factor in [1 - zoom, 1 + zoom] (0: none)
    zoom: float = 0.0
    #: the linear readout learns (on the hidden rates of the whole training
    #: set) after every this many epochs and always after the last (or, with
    #: early stopping, on the kept weights); epochs between report no readout
    #: accuracy. None: after the last epoch only. Computing those rates costs
    #: about a quarter of a 784-1000-1000 layer-1 epoch.
    readout_every: int | None = 1
    #: each epoch's record: ``text``, one readable line on stderr (also without progress bars);
    #: ``json``, one JSON line on stdout (for machines); ``none``, nothing
    epoch_log: str = "text"

    def __post_init__(self):
        check_positive_int("epochs", self.epochs)
        if self.epoch_log not in EPOCH_LOGS:
            raise ConfigError(f"unknown epoch_log {self.epoch_log!r}; valid: {', '.join(EPOCH_LOGS)}")
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("readout_epochs", self.readout_epochs)
        if self.patience is not None:
            check_positive_int("patience", self.patience)
        if self.readout_every is not None:
            check_positive_int("readout_every", self.readout_every)
        if isinstance(self.shift, bool) or not isinstance(self.shift, (int, np.integer)) or self.shift < 0:
            raise ValueError(f"shift must be a non-negative integer (pixels), got {self.shift!r}")
        check_affine(self.rotate, self.zoom)


#: how the trainer reports each epoch (TrainSettings.epoch_log)
EPOCH_LOGS = ("text", "json", "none")


def epoch_line(record: dict, epochs: int) -> str:
    """One readable line for an epoch's record: its losses per layer ("-":
    the layer did not learn) and the validation accuracies it measured."""
    losses = " ".join(f"L{i + 1} {'-' if v is None else f'{v:.3f}'}" for i, v in enumerate(record["layer_loss"]))
    measured = [(key[len("val_"):], value) for key, value in record.items()
                if key.startswith("val_") and value is not None]
    val = "  ".join(f"{name} {value:.2%}" for name, value in measured)
    return (f"epoch {record['epoch']}/{epochs}  loss {losses}" + (f"  val {val}" if val else "")
            + f"  ({record['train_seconds']:.1f} s)")


def check_memory(config: FFConfig, settings: TrainSettings) -> None:
    """Refuse, before any work, a run whose largest batch of spike tensors
    would not fit in this machine's memory: ``[rows, width, time_steps]``
    float32 tensors, a few alive at once, with ``rows`` the evaluation batch
    times every candidate label, or twice the training batch (positive and
    negative data, their gradients kept)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf: nothing to compare with
        return
    width = max(config.input_size, *config.layer_sizes)
    rows = max(3 * settings.eval_batch * (config.num_classes + 1), 16 * settings.batch_size)
    need = 4 * rows * width * config.time_steps
    if need > 0.8 * memory:
        raise ConfigError(f"time_steps={config.time_steps} with batch_size={settings.batch_size} and "
                          f"{width}-wide layers needs about {need / 2**30:.0f} GiB of spike tensors, more than this "
                          f"machine's {memory / 2**30:.0f} GiB allow: use fewer time steps or a smaller batch")


def keep_best(best: dict | None, epoch: int, score: float, net: torch.nn.Module) -> dict:
    """Early stopping's record: ``best`` unless ``score`` beats it, then the
    new epoch, score and a copy of ``net``'s weights."""
    if best is not None and score <= best["score"]:
        return best
    return {"epoch": epoch, "score": score,
            "model": {k: v.detach().clone() for k, v in net.state_dict().items()}}


def patience_exhausted(best: dict | None, epoch: int, patience: int | None) -> bool:
    """``patience`` epochs have passed since the best one (never without patience)."""
    return bool(patience) and best is not None and epoch - best["epoch"] >= patience


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write atomically: a temporary file in the same folder, then ``os.replace``.

    An interrupt at any moment leaves either the old or the new checkpoint.
    """
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint to resume from")
    try:
        # weights_only: tensors and plain values only, so loading a file never runs code from it
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a damaged or foreign file
        raise NetxFormatError(f"{path}: not a lava-ff checkpoint, or a damaged one; refused without running "
                              f"anything in it ({type(err).__name__}: {str(err).splitlines()[0][:200]})") from err


def evaluate_accuracy(net: FFNetwork, x: np.ndarray, y: np.ndarray, batch: int = 250,
                      rng: np.random.Generator | None = None, readout: bool = True,
                      parallel: DataParallel | None = None) -> dict:
    """Accuracy of the goodness readout (all layers and, if deeper, skipping
    the first), of the linear readout and of both as one product of experts
    (``combined``; :meth:`FFNetwork.combined_scores`). ``readout=False``:
    the last two are ``None``, not measured. With ``parallel`` each
    data-parallel rank classifies its share of the rows and the counts of
    correct answers are summed (for codes that draw no random numbers)."""
    rows = slice(None) if parallel is None else parallel.rows(len(x))
    table = net.prediction_table(x[rows], rng, batch, readout)
    correct = np.array([float((table[:, i] == np.asarray(y)[rows]).sum()) for i in range(len(PREDICTION_COLUMNS))])
    if parallel is not None:
        correct = parallel.sum(correct)
    out = {column: float(correct[i]) / max(len(x), 1) for i, column in enumerate(PREDICTION_COLUMNS)}
    if not readout:
        out["readout"] = out["combined"] = None
    if len(net.layers) == 1:
        out.pop("goodness_skip_first")
    return out


def _rows(spikes, rows: slice):
    """Rows ``rows`` of a batch of input spikes (a tensor, or :class:`CandidateSpikes` by sample)."""
    if isinstance(spikes, CandidateSpikes):
        return dataclasses.replace(spikes, images=spikes.images[rows])
    return spikes[rows]


@dataclass
class Trainer:
    """Trains an :class:`FFNetwork`; checkpoints into ``out_dir`` every epoch."""

    config: FFConfig
    settings: TrainSettings = field(default_factory=TrainSettings)
    out_dir: Path | None = None
    #: this process's rank among data-parallel ranks (:mod:`lava_ff.offline.distributed`); None: one process
    parallel: DataParallel | None = None

    def __post_init__(self):
        check_greedy_epochs(self.config.schedule, self.settings.epochs, len(self.config.layer_blocks),
                            "training blocks", self.config.block_epochs)
        check_memory(self.config, self.settings)
        torch.manual_seed(self.config.seed)
        self.net = FFNetwork(self.config)
        # one optimizer per training block (per layer unless IntFF blocks are set)
        self.optimizers = [torch.optim.Adam([p for i in block for p in self.net.layers[i].parameters()],
                                            lr=self.config.lr)
                           for block in self.config.layer_blocks]
        # FFGAF-style class-aware weighting: running rate at which each (true, wrong)
        # label pair is confused (negative goodness >= positive goodness)
        c = self.config.num_classes
        self.confusion = np.full((c, c), 1.0 / c)
        np.fill_diagonal(self.confusion, 0.0)
        self.best: dict | None = None
        self.readout_opt = torch.optim.Adam(self.net.readout.parameters(), lr=1e-2)
        self.rng = np.random.default_rng(self.config.seed)
        self.epoch = 0
        self.history: list[dict] = []
        self.train_seconds = 0.0
        self.samples_seen = 0
        #: data-parallel ranks' confusion-record updates of the current step, made once its update is reduced
        self._pending_records: list[tuple] = []

    # ----------------------------------------------------------- checkpoints
    @property
    def writes(self) -> bool:
        """Whether this process logs and writes checkpoints: a single process, or data-parallel rank 0."""
        return self.parallel is None or self.parallel.main

    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else Path(self.out_dir) / CHECKPOINT

    def state(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "model": self.net.state_dict(),
            "optimizers": [o.state_dict() for o in self.optimizers],
            "readout_opt": self.readout_opt.state_dict(),
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "epoch": self.epoch,
            "history": self.history,
            "train_seconds": self.train_seconds,
            "samples_seen": self.samples_seen,
            "confusion": self.confusion.tolist(),
            "best": self.best,
        }

    def load_state(self, state: dict) -> None:
        saved = FFConfig.from_dict(state["config"])
        if saved != self.config:
            detail = describe_changes(saved.to_dict(), self.config.to_dict(), was="checkpoint")
            raise ValueError(f"checkpoint was written with a different configuration ({detail}); "
                             "resume with the same options or choose another output folder")
        self.net.load_state_dict(state["model"])
        for opt, s in zip(self.optimizers, state["optimizers"], strict=True):
            opt.load_state_dict(s)
        self.readout_opt.load_state_dict(state["readout_opt"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.history = state["epoch"], state["history"]
        self.train_seconds, self.samples_seen = state["train_seconds"], state["samples_seen"]
        if "confusion" in state:
            self.confusion = np.asarray(state["confusion"], dtype=np.float64)
        self.best = state.get("best")

    def resume(self) -> bool:
        path = self.checkpoint_path
        if path is None or not path.is_file():
            return False
        self.load_state(load_checkpoint(path))
        return True

    # -------------------------------------------------------------- training
    def class_weights(self, labels: np.ndarray) -> torch.Tensor:
        """FFGAF-style class-aware loss weights: a class's weight grows with how
        often its samples are currently confused with another class (row sums
        of :attr:`confusion`), normalised to mean 1 over the classes."""
        hardness = self.confusion.sum(axis=1)
        weights = 1.0 + hardness / max(hardness.mean(), 1e-12)
        weights = weights / weights.mean()
        return torch.as_tensor(weights[np.asarray(labels)], dtype=torch.float32, device=self.net.device)

    def _reduce_step(self, tensors, rows: int, total: int) -> None:
        """Data-parallel ranks: sum a step's updates ``tensors`` over the ranks
        (:meth:`DataParallel.reduce_`), then gather the step's confusion-record
        hits and apply them in order: the record only weighs the next step's
        classes, so the ranks meet once per step, where they must."""
        if self.parallel is None:
            return
        self.parallel.reduce_(tensors, rows, total)
        pending, self._pending_records = self._pending_records, []
        for labels, wrong, hits in pending:
            self._update_confusion(labels, wrong, self.parallel.gather(hits, len(labels)))

    def _update_confusion(self, labels, wrong, hits, rate: float = 0.05) -> None:
        """Move ``confusion[true, wrong]`` towards ``hits`` (1: the wrong label's
        goodness reached the true one's). ``wrong``/``hits``: ``[B]`` or ``[B, K]``."""
        labels = np.asarray(labels)
        wrong = np.asarray(wrong).reshape(len(labels), -1)
        hits = np.asarray(hits, dtype=np.float64).reshape(wrong.shape)
        for true, negs, hit in zip(labels, wrong, hits, strict=True):
            self.confusion[true, negs] += rate * (hit - self.confusion[true, negs])

    def _negative_inputs(self, xb: np.ndarray, yb: np.ndarray, image_shape, rows: slice | None = None):
        """Negative data of the batch's rows ``rows`` (default: all) and the
        wrong labels the whole batch carries (None for hybrid images): every
        random draw is made for the whole batch, so data-parallel ranks draw
        the same numbers."""
        cfg = self.config
        rows = slice(None) if rows is None else rows
        kind = cfg.negatives
        if kind == "hybrid":
            hybrids = hybrid_images(xb.reshape((-1,) + tuple(image_shape)), self.rng)
            return self._encode(hybrids.reshape(len(xb), -1), None, rows), None
        wrong = wrong_labels(kind, yb, cfg.num_classes, self.rng, scores=lambda rows: self._label_scores(xb[rows]))
        return self._encode(xb, wrong, rows), wrong

    def _label_scores(self, xb: np.ndarray) -> np.ndarray:
        """Every label's goodness for the whole batch (what hard negatives are
        chosen by). Data-parallel ranks with the deterministic code (no random
        draws) score their own rows and gather the rest."""
        parallel = self.parallel
        if parallel is None or self.config.encoding != "deterministic":
            return self.net.label_scores(xb, self.rng)
        return parallel.gather(self.net.label_scores(xb[parallel.rows(len(xb))], self.rng), len(xb))

    def _augmented_rows(self, batch: int) -> slice | None:
        """The rows of a batch this process augments: all of them (None) in
        one process, and wherever a rank reads other ranks' images (hybrid
        negatives mix them, a random spike code encodes every row); else
        the rank's own share (:meth:`DataParallel.rows`)."""
        parallel = self.parallel
        if parallel is None or self.config.encoding != "deterministic" or self.config.negatives == "hybrid":
            return None
        return parallel.rows(batch)

    def _encode(self, x: np.ndarray, labels, rows: slice):
        """Spikes of rows ``rows`` of ``x`` under ``labels``: the deterministic
        code draws no random numbers, so only those rows are encoded; a random
        code encodes every row (the same draws on every rank) and keeps them."""
        net = self.net
        if self.config.encoding == "deterministic":
            return net.encode(x[rows], None if labels is None else labels[rows], self.rng)
        return _rows(net.encode(x, labels, self.rng), rows)

    def _objective(self, xb: np.ndarray, yb: np.ndarray, image_shape):
        """The layer inputs of one batch and the per-layer FF objective on them.

        Returns ``(inputs, objective, rows)``: ``inputs`` is the list of spike
        tensors every layer sees (``[positive, negative]``, or for
        ``loss='softmax'`` one tensor with every label overlaid on every
        sample), and ``objective(goodness_list) -> loss`` turns the layer's
        goodness of each input into its FF loss (FFGAF-style class weights
        and the confusion record included). The surrogate, FFGAF-style and
        three-factor rules all call it: the first two backpropagate it, the
        last takes ``m = -dL/dG`` from it. With data-parallel ranks every
        rank draws the whole batch's negatives and encodings (the same random
        numbers everywhere) and keeps ``rows``, its own share of them."""
        cfg, net, parallel = self.config, self.net, self.parallel
        classes = cfg.num_classes
        rows = slice(0, len(yb)) if parallel is None else parallel.rows(len(yb))
        local = yb[rows]
        batch = len(local)
        track = cfg.rule == "ffgaf"
        labels = None if cfg.negatives == "hybrid" else local
        weights = None
        if track and labels is not None:  # of mean 1 over the whole batch, then this rank's rows
            weights = self.class_weights(yb)
            weights = (weights / weights.mean())[rows]

        def record(wrong, hits):  # the confusion record, in the global batch's order on every rank
            if parallel is None:
                self._update_confusion(yb, wrong, hits)
            else:  # every rank knows the whole batch's wrong labels; the hits are gathered after the step
                self._pending_records.append((yb, wrong, hits))

        if cfg.loss == "softmax":
            target = torch.as_tensor(np.asarray(local, np.int64), device=net.device)

            def objective(goodness):
                scores = goodness[0].reshape(batch, -1, classes)  # [B, P, C]: P positions (1 but per position)
                scores = scores[:, 0] if scores.shape[1] == 1 else scores
                if track:
                    wrong = np.array([np.delete(np.arange(classes), y) for y in yb])  # the whole batch's
                    g = scores.detach().reshape(batch, -1, classes).mean(1).cpu().numpy()
                    true = g[np.arange(batch), local][:, None]
                    record(wrong, np.take_along_axis(g, wrong[rows], 1) >= true)
                return torch_softmax_ff_loss(scores, target, cfg.symba_alpha, weights)

            candidates = net.encode_candidates(xb[rows], self.rng) if cfg.encoding == "deterministic" else \
                _rows(net.encode_candidates(xb, self.rng), rows)
            return [candidates], objective, rows
        s_neg, wrong = self._negative_inputs(xb, yb, image_shape, rows)

        def objective(goodness):
            g_pos, g_neg = goodness
            if track and wrong is not None:
                record(wrong, (g_neg >= g_pos).cpu().numpy())
            return torch_ff_loss(g_pos, g_neg, cfg.theta, cfg.loss, cfg.symba_alpha, weights)

        return [self._encode(xb, None if labels is None else yb, rows), s_neg], objective, rows

    def _train_block(self, block: list[int], optimizer, inputs: list, objective, rows: int = 0,
                     total: int = 0) -> tuple:
        """One gradient step on one block of layers (surrogate or FFGAF-style):
        the sum of its layers' FF losses, backpropagated inside the block only
        (its inputs are detached). With data-parallel ranks the gradients
        are reduced over them (``rows`` of ``total`` here). Returns the
        per-layer losses and the block's detached output spikes."""
        net, batch_rows = self.net, total
        black_box = self.config.rule == "ffgaf"
        losses, total = [], 0.0
        for index in block:
            outputs = [net.layers[index](s, black_box=black_box) for s in inputs]
            loss = objective(net.goodness(outputs, [index] * len(outputs), objective=True))
            total = total + loss
            losses.append(float(loss.detach()))
            inputs = [torch_pool(spikes, net.config.shapes[index]) for spikes, _ in outputs]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        self._reduce_step([p.grad for i in block for p in net.layers[i].parameters()], rows, batch_rows)
        optimizer.step()
        for index in block:
            net.layers[index].clamp_()
        return losses, [s.detach() for s in inputs]

    def _three_factor_layer(self, layer, inputs: list, objective, lr: float, rows: int = 0,
                            total: int = 0) -> tuple:
        """The gradient-free rule on one layer: ``dW = lr * sum_rows (-dL/dG)
        * post_rate x pre_rate`` with ``G`` each input row's goodness.
        :func:`lava_ff.core.rule.three_factor_update` averages over the rows, so
        it gets ``-dL/dG`` times the row count (for the softplus loss exactly
        :func:`lava_ff.core.goodness.modulatory_factor`, what the on-chip neuron
        sends)."""
        net = self.net
        with torch.no_grad():
            outputs = [layer(s) for s in inputs]
        goodness = [g.detach().requires_grad_(True) for g in net.goodness(outputs)]
        loss = objective(goodness)
        grads = torch.autograd.grad(loss, goodness)
        with torch.no_grad():
            delta = torch.zeros_like(layer.weight)
            for spikes_in, (out, _), grad in zip(inputs, outputs, grads, strict=True):
                delta += three_factor_update(dense_spikes(spikes_in).mean(-1), out.mean(-1), -grad * len(grad), lr)
            self._reduce_step([delta], rows, total)  # every rank's mean over its rows -> the batch's mean
            layer.weight += delta
        layer.clamp_()
        return float(loss.detach()), [spikes for spikes, _ in outputs]

    def active_blocks(self, epoch: int) -> list[int]:
        """The training blocks that learn in ``epoch`` (0-based): all of them,
        or with ``schedule='greedy'`` block ``k`` alone during epochs
        ``[k E / K, (k + 1) E / K)`` of ``E`` epochs and ``K`` blocks (with
        ``block_epochs``, during its own count of epochs after those of the
        blocks before it)."""
        count = len(self.config.layer_blocks)
        if self.config.schedule != "greedy":
            return list(range(count))
        if self.config.block_epochs is None:
            return [min(epoch * count // self.settings.epochs, count - 1)]
        ends = np.cumsum(self.config.block_epochs)
        return [min(int(np.searchsorted(ends, epoch, side="right")), count - 1)]

    def readout_due(self, epoch: int) -> bool:
        """Whether the readout learns after (0-based) ``epoch``: every
        ``settings.readout_every`` epochs and after the last."""
        every, last = self.settings.readout_every, epoch + 1 == self.settings.epochs
        return last or (every is not None and (epoch + 1) % every == 0)

    def lr_scale(self, block: int, progress: float) -> float:
        """Step-size multiplier of training block ``block`` when ``progress``
        epochs of training are done (fractional: epochs plus the share of the
        current one's batches): 1 with ``lr_decay='none'``; with ``cosine``,
        ``(1 + cos(pi p)) / 2`` where ``p`` is the share of the block's own
        learning epochs (:meth:`active_blocks`) already done; times the
        block's own ``block_lr_scale``."""
        scale = 1.0 if self.config.block_lr_scale is None else self.config.block_lr_scale[block]
        if self.config.lr_decay == "none":
            return scale
        epochs = [e for e in range(self.settings.epochs) if block in self.active_blocks(e)]
        done = min(max(progress - epochs[0], 0.0) / len(epochs), 1.0)
        return scale * 0.5 * (1.0 + math.cos(math.pi * done))

    def _train_batch(self, xb: np.ndarray, yb: np.ndarray, image_shape,
                     active: list[int] | None = None, progress: float | None = None) -> list[float]:
        """One batch through the blocks in ``active`` (default: those of the
        current epoch, :meth:`active_blocks`); earlier blocks only run
        forward, later ones not at all. ``progress`` (default: the current
        epoch) sets the step sizes through :meth:`lr_scale`. Returns the loss
        of every layer, NaN for the layers that did not learn: with
        data-parallel ranks, the mean over this rank's rows
        (:meth:`_epoch_losses` makes the batch's means of them)."""
        cfg, net = self.config, self.net
        active = self.active_blocks(self.epoch) if active is None else active
        progress = float(self.epoch) if progress is None else progress
        inputs, objective, rows = self._objective(xb, yb, image_shape)
        share = (rows.stop - rows.start, len(yb))
        losses = []
        for k, (block, optimizer) in enumerate(zip(cfg.layer_blocks, self.optimizers, strict=True)):
            if k > max(active):
                losses += [math.nan] * len(block)
            elif k not in active:
                with torch.no_grad():
                    for index in block:
                        inputs = [torch_pool(net.layers[index](s)[0], cfg.shapes[index]) for s in inputs]
                losses += [math.nan] * len(block)
            elif cfg.rule == "three_factor":  # one layer per block
                loss, inputs = self._three_factor_layer(net.layers[block[0]], inputs, objective,
                                                        cfg.three_factor_lr * self.lr_scale(k, progress), *share)
                losses.append(loss)
            else:
                for group in optimizer.param_groups:
                    group["lr"] = cfg.lr * self.lr_scale(k, progress)
                block_losses, inputs = self._train_block(block, optimizer, inputs, objective, *share)
                losses += block_losses
        return losses

    def _epoch_losses(self, losses: list[list[float]], batch_rows: list[int]) -> list[float]:
        """Each layer's loss over an epoch: the mean over its steps of the
        batch's loss. ``losses`` holds each step's :meth:`_train_batch`
        result and ``batch_rows`` each step's batch size; data-parallel ranks
        weigh their means by their share of each batch and sum them over
        the ranks, once per epoch."""
        if self.parallel is None:
            return [float(v) for v in np.mean(losses, axis=0)]
        weighted = np.zeros(len(losses[0]))
        for step, total in zip(losses, batch_rows, strict=True):
            rows = self.parallel.rows(total)
            if rows.stop > rows.start:  # a rank without rows adds nothing (its mean is NaN)
                weighted += np.asarray(step) * (rows.stop - rows.start) / total
        return [float(v) for v in self.parallel.sum(weighted) / len(losses)]

    def train_readout(self, x: np.ndarray, y: np.ndarray) -> float:
        """Linear softmax readout on the (detached) hidden rates under a neutral label.

        Adam at a constant rate, then the readout keeps the average of its
        weights over the last epoch's steps (Polyak averaging), not the last
        step's: the last iterate scatters by about 0.15 pp of MNIST test
        accuracy from one batch order to the next, the average far less, and
        it scored higher on validation (readout +0.07 to +0.19 pp on each of
        four 784-2000-1000 networks, mean over four orders each). Returns the
        last epoch's mean training loss.

        Data-parallel ranks (with the deterministic spike code, which draws
        no random numbers) each compute the hidden rates of their share of
        the training set; every step, each rank sums the loss over the
        batch's rows it holds, and the gradients are summed over the ranks."""
        net, bs, parallel = self.net, self.settings.batch_size, self.parallel
        if self.config.encoding != "deterministic":
            parallel = None  # a random code draws numbers per row: every rank encodes every row
        held = slice(0, len(x)) if parallel is None else parallel.rows(len(x))
        part = x[held]
        features = torch.cat([net.hidden_rates(part[i:i + 500], self.rng) for i in range(0, len(part), 500)]
                             or [torch.zeros(0, net.readout.in_features, device=net.device)])
        targets = torch.from_numpy(np.asarray(y[held], dtype=np.int64)).to(net.device)
        params = list(net.readout.parameters())
        for _ in range(self.settings.readout_epochs):
            order = self.rng.permutation(len(x))
            averages = [torch.zeros_like(p, dtype=torch.float64) for p in params]
            losses = []
            for start in range(0, len(x), bs):
                idx = order[start:start + bs]
                local = idx[(idx >= held.start) & (idx < held.stop)] - held.start
                local = torch.from_numpy(local)
                loss = torch.nn.functional.cross_entropy(net.readout(features[local]), targets[local],
                                                         reduction="sum") / len(idx)
                self.readout_opt.zero_grad(set_to_none=False)
                loss.backward()
                if parallel is not None:
                    total = loss.detach().reshape(1)
                    parallel.reduce_([p.grad for p in params] + [total], 1, 1)
                    loss = total[0]
                self.readout_opt.step()
                losses.append(float(loss.detach()))
                for average, p in zip(averages, params, strict=True):
                    average += p.detach()
        with torch.no_grad():
            for average, p in zip(averages, params, strict=True):
                p.copy_(average / len(losses))
        return float(np.mean(losses))

    def fit(self, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray | None = None,
            val_y: np.ndarray | None = None, image_shape: tuple[int, int] | None = None) -> list[dict]:
        """Train until ``settings.epochs``; each epoch ends with a validation
        measurement (when ``val_x, val_y`` are given) and an atomic
        checkpoint, so ``resume()`` continues. ``image_shape`` (height,
        width), which augmentation and hybrid negatives need, defaults to
        that of ``train_x`` given as images ``[N, H, W]``.

        With ``settings.patience`` training stops early once the validation
        goodness accuracy has not improved for that many epochs, and the net
        keeps the best epoch's weights (early stopping on a clean validation
        split, as the IntFF robustness protocol asks); a greedy schedule
        stops early only after its last block has learned for an epoch."""
        if image_shape is None and np.ndim(train_x) == 3 and self.config.encoding != "spikes":
            image_shape = tuple(np.shape(train_x)[1:])
        if (val_x is None) != (val_y is None):
            raise ConfigError("give both val_x and val_y, or neither")
        if val_x is None and self.settings.patience:
            raise ConfigError(f"patience={self.settings.patience} stops on the validation accuracy: give val_x, val_y")
        needs_shape = self.settings.shift or self.settings.rotate or self.settings.zoom \
            or self.config.negatives == "hybrid"
        if needs_shape and image_shape is None:
            raise ConfigError("augmentation (shift, rotate, zoom) and hybrid negatives move pixels: give "
                              "image_shape, or train_x as images [N, H, W]")
        train_x = prepare_inputs(train_x, self.config)
        val_x = None if val_x is None else prepare_inputs(val_x, self.config)
        bs, shift = self.settings.batch_size, self.settings.shift
        rotate, zoom = self.settings.rotate, self.settings.zoom
        if shift or rotate or zoom:
            if self.config.encoding == "spikes":
                raise ValueError(f"shift={shift}, rotate={rotate}, zoom={zoom}: augmentation moves image "
                                 "pixels; encoding='spikes' trains on spike trains (use 0 for all three)")
            if shift:
                check_shift(shift, image_shape, train_x.shape[1])
        patience = self.settings.patience
        for epoch in range(self.epoch, self.settings.epochs):
            # a greedy schedule stops only after an epoch of its last block
            last_learned = max(self.active_blocks(max(epoch - 1, 0))) == len(self.config.layer_blocks) - 1
            if patience_exhausted(self.best, self.epoch, patience) and last_learned:
                break
            start = time.perf_counter()
            order = self.rng.permutation(len(train_x))
            active = self.active_blocks(epoch)
            layer_losses, batch_rows = [], []
            bar = tqdm(range(0, len(order), bs), desc=f"epoch {epoch + 1}/{self.settings.epochs}",
                       disable=not self.settings.progress or not self.writes, leave=False)
            for begin in bar:
                idx = order[begin:begin + bs]
                xb = train_x[idx]
                mine = self._augmented_rows(len(idx))
                if rotate or zoom:
                    xb = random_affine(xb, image_shape, rotate, zoom, self.rng, mine)
                if shift:
                    xb = random_shift(xb, image_shape, shift, self.rng, mine)
                layer_losses.append(self._train_batch(xb, train_y[idx], image_shape, active,
                                                      epoch + begin / len(order)))
                batch_rows.append(len(idx))
                bar.set_postfix_str("loss " + " ".join(f"L{i + 1} " + ("-" if math.isnan(v) else f"{v:.3f}")
                                                       for i, v in enumerate(layer_losses[-1])))
            with_readout = self.readout_due(epoch)
            readout_loss = self.train_readout(train_x, train_y) if with_readout else None
            self.train_seconds += time.perf_counter() - start
            self.samples_seen += len(order)
            # data-parallel ranks share the validation split where the spike code draws no random numbers
            shared = self.parallel if self.config.encoding == "deterministic" else None
            val = {} if val_x is None else \
                evaluate_accuracy(self.net, val_x, val_y, self.settings.eval_batch, self.rng, with_readout, shared)
            self.epoch = epoch + 1
            mean_loss = self._epoch_losses(layer_losses, batch_rows)
            record = {"epoch": self.epoch,  # None: the layer did not learn this epoch (greedy schedule)
                      "layer_loss": [None if math.isnan(v) else float(v) for v in mean_loss],
                      "readout_loss": readout_loss,
                      **{f"val_{k}": v for k, v in val.items()},
                      "train_seconds": self.train_seconds}
            self.history.append(record)
            if patience:
                self.best = keep_best(self.best, self.epoch, val["goodness"], self.net)
            if self.settings.epoch_log == "text" and self.writes:
                tqdm.write(epoch_line(record, self.settings.epochs), file=sys.stderr)
            elif self.settings.epoch_log == "json" and self.writes:
                print(json.dumps(record), flush=True)
            if self.checkpoint_path is not None and self.writes:
                save_checkpoint(self.checkpoint_path, self.state())
        if patience and self.best is not None:
            self.net.load_state_dict(self.best["model"])
            if not self.readout_due(self.best["epoch"] - 1):  # kept weights whose readout never learned
                start = time.perf_counter()
                self.train_readout(train_x, train_y)
                self.train_seconds += time.perf_counter() - start
            if self.checkpoint_path is not None and self.writes:
                save_checkpoint(self.checkpoint_path, self.state())
        return self.history

    @torch.no_grad()
    def goodness_samples(self, x: np.ndarray, y: np.ndarray, image_shape) -> tuple[list, list]:
        """Per-layer goodness of positive and negative data (for histograms)."""
        x = prepare_inputs(x, self.config)
        net = self.net
        g_pos = net.goodness(net.layer_outputs(net.encode(x, y, self.rng)))
        g_neg = net.goodness(net.layer_outputs(self._negative_inputs(x, y, image_shape)[0]))
        return [g.cpu().numpy() for g in g_pos], [g.cpu().numpy() for g in g_neg]
