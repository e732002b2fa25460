"""The public API: load data, train, evaluate on any backend, export and load.

Everything here is re-exported by ``lava_ff`` itself::

    import lava_ff as ff
    data = ff.load_dataset("digits")
    net = ff.train(data, layers=(200, 200), epochs=2)
    result = ff.evaluate(net, data, backend="lava-fixed")
    ff.export(net, "model.net")

A :class:`Model` is a trained network: its plain-numpy :class:`NetworkSpec`
(what Lava and netx run), the offline torch network with the same weights,
and what its run recorded. :func:`evaluate` returns an :class:`Evaluation`
whose :class:`Predictions` are read by column name.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from lava_ff.artifacts import NETX_SUFFIXES, NIR_SUFFIXES, load_trained, trained_spec
from lava_ff.core.config import PREDICTION_COLUMNS, FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.imports import quiet_import, require_lava
from lava_ff.core.inputs import prepare_inputs
from lava_ff.core.layers import ConvSpec, format_layers, parse_layers
from lava_ff.core.neuron import NeuronParams, quantize_neuron
from lava_ff.core.rule import ONCHIP_THRESHOLD, FFLearningRule, check_onchip_config
from lava_ff.core.spec import NetworkSpec
from lava_ff.datasets import ImageSet, load_split
from lava_ff.netx_export.io import export as export_netx
from lava_ff.nir_format import export as export_nir
from lava_ff.offline.model import FFNetwork
from lava_ff.offline.train import Trainer, TrainSettings
from lava_ff.onchip.fit import (
    initial_weights,
    onchip_fit,
    onchip_network,
    onchip_readout_predictions,
)

__all__ = ["Dataset", "Model", "Predictions", "Evaluation", "BACKENDS", "EXPORT_FORMATS", "load_dataset", "train",
           "fit_readout", "evaluate", "export", "load", "netx_network"]

#: what :func:`export` writes
EXPORT_FORMATS = ("netx", "nir")

#: evaluation backends and the Lava tag each runs under (None: the torch model)
BACKENDS = {"torch": None, "lava-float": "floating_pt", "lava-fixed": "fixed_pt", "netx-fixed": "fixed_pt",
            "loihi2": "loihi2"}
#: data set names :func:`load_dataset` knows; ``idx`` is any folder of MNIST-format files
DATASET_NAMES = ("digits", "mnist", "fashion-mnist", "idx", "nmnist")


@dataclass(frozen=True)
class Dataset:
    """A data set split three ways, as :func:`load_dataset` returns it.

    ``train`` and ``val`` come from the data set's training split (``val``
    held out for choosing models), ``test`` is its test split.
    ``image_shape`` is ``(height, width)``, or ``(features, time steps)``
    for event data binned into spike trains."""

    name: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    image_shape: tuple[int, int]

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def in_features(self) -> int:
        """Input features per sample: pixels, or event features for spike trains."""
        return int(self.image_shape[0]) if self.name == "nmnist" else int(np.prod(self.image_shape))


def load_dataset(name: str, path: str | Path | None = None, *, val_fraction: float = 0.1, seed: int = 0,
                 time_steps: int = 10, val_size: int | None = None) -> Dataset:
    """Load a data set from local files, split into train, validation and test.

    Parameters
    ----------
    name : str
        ``"digits"`` (8x8 digits that ship with scikit-learn, no ``path``),
        ``"mnist"``, ``"fashion-mnist"`` or ``"idx"`` (a folder of
        MNIST-format idx files), or ``"nmnist"`` (a folder of N-MNIST
        ``.bs2`` recordings, binned into ``time_steps`` spike frames).
    path : str or Path, optional
        The data set's folder (all but ``digits``).
    val_fraction : float
        Share of the training split held out for validation.
    seed : int
        Seed of the validation split (the CLI's ``--seed``).
    time_steps : int
        Spike frames per N-MNIST sample.
    val_size : int, optional
        Samples held out for validation instead of ``val_fraction`` of them
        (the CLI's ``--val-size``).

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> data.train.images.shape[1:], data.num_classes
    ((8, 8), 10)
    """
    if name not in DATASET_NAMES:
        raise ConfigError(f"unknown data set {name!r}; valid: {', '.join(DATASET_NAMES)}")
    train_split, val, test, shape = load_split(name, None if path is None else str(path), seed,
                                               val_fraction=val_fraction, time_steps=time_steps, val_size=val_size)
    return Dataset(name, train_split, val, test, tuple(int(s) for s in shape))


@dataclass
class Model:
    """A trained FF network, as :func:`train` and :func:`load` return it.

    ``spec`` is the plain-numpy network that Lava and netx run; ``network``
    the offline torch network with the same weights; ``record`` what its
    run recorded (``dataset``, ``views``, ``time_steps``, ``source``)."""

    spec: NetworkSpec
    network: FFNetwork
    record: dict = field(default_factory=dict)

    @property
    def config(self) -> FFConfig:
        return self.network.config

    def recorded_dataset(self) -> Dataset | None:
        """The data set its run trained on, split as the run split it (its
        folder, seed and validation size), or None where the run recorded no
        data set or no folder for one that needs it."""
        record = self.record
        name, folder = record.get("dataset"), record.get("data")
        if name is None or (name != "digits" and folder is None):
            return None
        return load_dataset(name, folder, seed=self.config.seed, time_steps=self.config.time_steps,
                            val_size=record.get("val_size"))

    @classmethod
    def from_network(cls, network: FFNetwork, record: dict | None = None) -> Model:
        return cls(NetworkSpec.from_torch(network), network, dict(record or {}))


#: FFConfig fields train() takes as options; the layers give the rest
_CONFIG_FIELDS = {f.name for f in dataclasses.fields(FFConfig)} - {"in_features", "layer_sizes", "neuron", "conv",
                                                                   "image_shape"}
_SETTINGS_FIELDS = {f.name for f in dataclasses.fields(TrainSettings)} - {"progress", "epochs"}
_NEURON_FIELDS = {f.name for f in dataclasses.fields(NeuronParams)}
_ONCHIP_FIELDS = {"learning_rate", "learning_rate_decay", "pre_trace_tau", "pre_trace_impulse", "samples_per_run",
                  "samples_per_step", "messages", "onchip_views"}
#: where :func:`train` learns: offline in torch, or in Lava's learning engine
TRAIN_BACKENDS = ("torch", "lava-float", "lava-fixed")


def train(data: Dataset | tuple, *, layers: tuple[int, ...] = (500, 500), epochs: int = 4, backend: str = "torch",
          out: str | Path | None = None, progress: bool = True, **options) -> Model:
    """Train an FF network, layer by layer, and return it: offline in torch,
    or on chip in Lava's learning engine (simulated).

    Parameters
    ----------
    data : Dataset or (images, labels)
        A :func:`load_dataset` result (trains on ``train``, validates on
        ``val``), or images ``[N, H, W]`` / ``[N, F]`` and labels, of which
        a tenth is held out for validation.
    layers : tuple of int
        Hidden layer sizes.
    epochs : int
        Training epochs (on chip: passes over the training split).
    backend : str
        ``torch`` (offline: surrogate gradients, the gradient-free rule or
        FFGAF, per ``rule``), or ``lava-float`` / ``lava-fixed``: every
        weight learned by the FF three-factor rule in Lava's learning engine,
        ``floating_pt`` / ``fixed_pt``; a linear readout then learns on the
        host from the learned layers' rates.
    out : str or Path, optional
        Folder for the checkpoints written as training goes (a run folder
        :func:`load` reads). Default: none kept.
    progress : bool
        Show progress bars.
    **options
        Any :class:`FFConfig` field (``rule``, ``loss``, ``goodness``,
        ``theta``, ``negatives``, ``lr``, ``time_steps``, ...), any
        :class:`NeuronParams` field (``threshold``, ``current_decay``,
        ``voltage_decay``) and any :class:`TrainSettings` field
        (``batch_size``, ``patience``, ``shift``, ``rotate``, ``zoom``,
        ``readout_epochs``, ...). On chip also ``learning_rate`` (the
        rule's, integer weight units), ``learning_rate_decay`` (per
        epoch), ``pre_trace_tau``, ``pre_trace_impulse``,
        ``samples_per_run``, ``samples_per_step``, ``messages`` and
        ``onchip_views`` (the passes learn on that many views of each
        image, the image and its one-pixel moves); the neuron ``threshold``
        defaults to the on-chip one (``ONCHIP_THRESHOLD``). An unknown name
        raises :class:`ConfigError` naming it, before any work.

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> net = train(data, layers=(100,), epochs=1, progress=False)
    >>> net.config.layer_sizes
    (100,)
    """
    if backend not in TRAIN_BACKENDS:
        raise ConfigError(f"unknown training backend {backend!r}; valid: {', '.join(TRAIN_BACKENDS)}")
    onchip = backend != "torch"
    if onchip:
        require_lava(f"train(backend={backend!r}) (on-chip learning in Lava)")
    known = _CONFIG_FIELDS | _SETTINGS_FIELDS | _NEURON_FIELDS | (_ONCHIP_FIELDS if onchip else set())
    unknown = sorted(set(options) - known)
    if unknown:
        extra = "" if onchip else f" (on-chip options such as {', '.join(sorted(_ONCHIP_FIELDS))} need " \
            "backend='lava-float' or 'lava-fixed')"
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}{extra}; valid: {', '.join(sorted(known))}")
    data = _as_dataset(data)
    neuron_options = {k: v for k, v in options.items() if k in _NEURON_FIELDS}
    if onchip:
        neuron_options.setdefault("threshold", ONCHIP_THRESHOLD)
    neuron = NeuronParams(**neuron_options)
    config_options = {k: v for k, v in options.items() if k in _CONFIG_FIELDS}
    if data.name == "nmnist":
        config_options.setdefault("encoding", "spikes")
    image = data.image_shape if data.name != "nmnist" else None
    if data.name == "nmnist" and any(isinstance(e, ConvSpec) for e in parse_layers(layers)):
        raise ConfigError(f"layers {format_layers(layers)!r}: a convolution reads images; nmnist samples are "
                          f"spike trains of shape {tuple(data.image_shape)}")
    config = FFConfig.from_layers(layers, image, in_features=data.in_features, neuron=neuron, **config_options)
    settings = TrainSettings(epochs=epochs, progress=progress, **{"epoch_log": "text" if progress else "none",
                                                                  **{k: v for k, v in options.items()
                                                                     if k in _SETTINGS_FIELDS}})
    record = {"dataset": data.name, "time_steps": config.time_steps, "views": 1, "backend": backend}
    if onchip:
        return _train_onchip(data, image, config, settings, BACKENDS[backend], out,
                             {k: v for k, v in options.items() if k in _ONCHIP_FIELDS}, record)
    trainer = Trainer(config, settings, out_dir=None if out is None else Path(out))
    trainer.fit(data.train.images, data.train.labels, val_x=data.val.images, val_y=data.val.labels,
                image_shape=data.image_shape)
    return Model.from_network(trainer.net, {**record, "history": trainer.history})


def _train_onchip(data: Dataset, image: tuple | None, config: FFConfig, settings: TrainSettings, tag: str, out,
                  options: dict, record: dict) -> Model:
    """:func:`train` on chip: every FF layer learns in Lava's engine
    (:func:`lava_ff.onchip.fit.onchip_fit`), then the host readout learns on
    the deployable layers' rates."""
    check_onchip_config(config, settings)
    rule = FFLearningRule(**{k: options[k] for k in ("learning_rate", "pre_trace_tau", "pre_trace_impulse")
                             if k in options})
    neuron = quantize_neuron(config.neuron)
    train_x, val_x = prepare_inputs(data.train.images, config), prepare_inputs(data.val.images, config)
    with tempfile.TemporaryDirectory(prefix="lava_ff_onchip_") as scratch:
        run = onchip_fit(config, initial_weights(config), neuron, rule, train_x, np.asarray(data.train.labels),
                         tag=tag, epochs=settings.epochs, out_dir=Path(out) if out is not None else Path(scratch),
                         val_x=val_x, val_y=np.asarray(data.val.labels), progress=settings.progress,
                         seed=config.seed, rate_decay=options.get("learning_rate_decay", 1.0),
                         samples_per_run=options.get("samples_per_run", 500),
                         messages=options.get("messages", "window"),
                         samples_per_step=options.get("samples_per_step"),
                         views=options.get("onchip_views", 1),
                         image_shape=image)
    trainer = Trainer(config, replace(settings, epochs=1))
    trainer.net.load_state_dict(onchip_network(config, run["weights"], neuron).state_dict())
    trainer.train_readout(train_x, np.asarray(data.train.labels))
    return Model.from_network(trainer.net, {**record, "history": run["history"], "rule": rule.to_dict(),
                                            "onchip_training": {"samples": len(train_x), "passes": settings.epochs,
                                                                "readout_passes": 0},
                                            "train_seconds": run["train_seconds"],
                                            "samples_per_second": run["samples_per_second"]})


def fit_readout(model: Model | str | Path, data: Dataset | tuple, *, readout_from: str = "last",
                epochs: int = 3, progress: bool = True) -> Model:
    """``model`` with its linear readout learned anew on ``data``'s training
    split, reading ``readout_from``: ``last`` (the last layer alone, which
    :func:`export` with ``classifier=True`` puts into a netx file) or
    ``all``. The FF layers stay as they are; the readout learns as in
    :func:`train` (Adam, ``epochs`` passes, weights averaged over the last).

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> net = train(data, layers=(60, 40), epochs=2, progress=False)
    >>> fit_readout(net, data, progress=False).spec.readout_weight.shape
    (10, 40)
    """
    if not isinstance(model, Model):
        model = load(model)
    data = _as_dataset(data)
    config = replace(model.config, readout_from=readout_from)
    spec = replace(model.spec, config=config, readout_weight=None, readout_bias=None)
    trained_epochs = sum(config.block_epochs) if config.block_epochs else len(config.layer_blocks)  # as trained
    trainer = Trainer(config, TrainSettings(epochs=trained_epochs, readout_epochs=epochs, progress=progress,
                                            epoch_log="none"))
    trainer.net.load_state_dict(FFNetwork.from_spec(spec).state_dict())  # as _train_onchip hands over its layers
    trainer.train_readout(prepare_inputs(data.train.images, config), np.asarray(data.train.labels))
    return Model(NetworkSpec.from_torch(trainer.net), trainer.net, {**model.record, "readout_from": readout_from})


def _as_dataset(data) -> Dataset:
    """A :class:`Dataset`, or ``(images, labels)`` split 9:1 into train and validation."""
    if isinstance(data, Dataset):
        return data
    if not (isinstance(data, tuple) and len(data) == 2):
        raise ConfigError(f"data must be a Dataset (load_dataset) or (images, labels), got {type(data).__name__}")
    images, labels = np.asarray(data[0], np.float32), np.asarray(data[1])
    if images.ndim == 2:  # flat features: square images where they are
        side = math.isqrt(images.shape[1])
        images = images.reshape(len(images), side, side) if side * side == images.shape[1] else images[:, :, None]
    classes = int(labels.max()) + 1 if labels.size else 0
    full = ImageSet(images, labels.astype(np.int64), max(classes, 2), "arrays")
    train_split, val = full.split(0.1, seed=0)
    return Dataset("arrays", train_split, val, val, full.shape)


class Predictions:
    """Predicted labels by column: ``goodness`` (argmax over every label's
    goodness), ``goodness_skip_first`` (without layer 1), ``readout`` (the
    linear readout of the neutral window) and ``combined`` (both as one
    product of experts), plus ``onchip_readout`` and ``onchip_combined``
    for a network whose readout was learned on chip.

    >>> p = Predictions({"goodness": np.array([1, 2])})
    >>> p["goodness"].tolist(), p.columns
    ([1, 2], ('goodness',))
    """

    def __init__(self, columns: dict[str, np.ndarray]):
        self._columns = {name: np.asarray(values, np.int64) for name, values in columns.items()}

    @classmethod
    def from_table(cls, table: np.ndarray, onchip: np.ndarray | None = None,
                   columns: tuple[str, ...] = PREDICTION_COLUMNS,
                   onchip_columns: tuple[str, ...] = ("readout", "combined")) -> Predictions:
        """The ``columns`` of a ``[N, 4]`` table in ``PREDICTION_COLUMNS`` order, and the
        ``onchip_columns`` of an on-chip readout's ``[N, 2]`` (readout, combined)."""
        kept = {name: table[:, i] for i, name in enumerate(PREDICTION_COLUMNS) if name in columns}
        if onchip is not None:
            kept.update({f"onchip_{name}": onchip[:, i] for i, name in enumerate(("readout", "combined"))
                         if name in onchip_columns})
        return cls(kept)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self._columns:
            raise KeyError(f"no prediction column {column!r}; columns: {', '.join(self._columns)}")
        return self._columns[column]

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def accuracy(self, labels: np.ndarray) -> dict[str, float]:
        labels = np.asarray(labels)
        return {name: float(np.mean(values == labels)) for name, values in self._columns.items()}

    def agreement(self, other: Predictions) -> dict[str, float]:
        """Per shared column, the share of samples where both predict the same label."""
        return {name: float(np.mean(values == other[name])) for name, values in self._columns.items()
                if name in other.columns}

    def __repr__(self) -> str:
        return f"Predictions({len(self)} samples; columns {', '.join(self._columns)})"


@dataclass
class Evaluation:
    """What :func:`evaluate` measured: accuracy per column, the predictions,
    their agreement with the torch model (Lava and netx backends), samples/s,
    the defaults it took from the run (``views``, ``dataset``), and what
    classifying one image costs (``cost``: ``windows``, ``spikes`` and
    ``synops`` per image, counted in the torch model, which spikes as the
    Lava and netx networks do)."""

    backend: str
    samples: int
    views: int
    accuracy: dict[str, float]
    predictions: Predictions
    agreement_with_torch: dict[str, float] | None
    samples_per_second: float
    details: dict = field(default_factory=dict)
    classify: str = "combined"
    cost: dict = field(default_factory=dict)
    batch: int = 1


def evaluate(model: Model | str | Path, data: Dataset | ImageSet | tuple, *, backend: str = "torch",
             split: str = "test", views: int | None = None, limit: int | None = None,
             classify: str = "combined", batch: int | None = None, progress: bool = True) -> Evaluation:
    """Classify a data split with ``model`` on one backend.

    Parameters
    ----------
    model : Model, or a path
        A :func:`train` / :func:`load` result, or a run folder,
        ``checkpoint.pt`` or ``.net`` file.
    data : Dataset, ImageSet or (images, labels)
        What to classify: the images :func:`train` takes (``[N, H, W]`` or
        ``[N, F]``; spike trains ``[N, F, T]``); of a :class:`Dataset`, the
        ``split``.
    backend : str
        ``torch`` (the offline model), ``lava-float`` / ``lava-fixed``
        (lava-ff's Processes in Lava's simulator, ``floating_pt`` /
        ``fixed_pt``) or ``netx-fixed`` (the exported netx file loaded by
        lava-dl's ``netx.hdf5.Network``), or ``loihi2`` (that netx network
        on Loihi 2 through ``Loihi2HwCfg``; needs lava-loihi).
    split : str
        ``test`` or ``val``, for a :class:`Dataset`.
    views : int, optional
        Sum each image's scores over its first ``views`` views (1 to 5).
        Default: the model's own (what its on-chip readout learned on).
    limit : int, optional
        Classify only the first ``limit`` samples.
    classify : str
        ``combined`` (default: every candidate label's window and the
        neutral one, all prediction columns), ``goodness`` (one window per
        candidate label) or ``readout`` (one window, the neutral label's,
        and the linear readout: 1/11 of the work for ten classes). Only
        what the mode needs runs, on every backend.
    batch : int, optional
        ``lava-float`` / ``lava-fixed``: images side by side in every
        window, each with its copies; the predictions do not change.
        Default: as many as make 64 copies (``LAVA_BATCH_COPIES``). netx
        runs one copy of the network, one window after another.

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> net = train(data, layers=(100,), epochs=1, progress=False)
    >>> result = evaluate(net, data, limit=50, progress=False)
    >>> sorted(result.accuracy)[:2]
    ['combined', 'goodness']
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if split not in ("test", "val"):
        raise ConfigError(f"unknown split {split!r}; valid: test, val")
    if backend != "torch":
        require_lava(f"evaluate(backend={backend!r})")
    if not isinstance(model, Model):
        model = load(model)
    mode = model.spec.classify_mode(classify)
    lava_own = backend in ("lava-float", "lava-fixed")
    if batch is not None and not lava_own:
        raise ConfigError(f"batch={batch!r}: only lava-float and lava-fixed run images side by side; "
                          f"{backend} runs one image at a time")
    batch = mode.batch(batch) if lava_own else 1
    images, labels, image_shape = split_arrays(data, split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    spec, net, cfg = model.spec, model.network, model.config
    x = prepare_inputs(images, cfg)
    if x.shape[1] != cfg.in_features:
        raise ConfigError(f"the model expects {cfg.in_features} input features per sample, the data has "
                          f"{x.shape[1]}")
    views = spec.views if views is None else views
    image_views = {"views": views, "image_shape": tuple(image_shape) if views > 1 else None}
    start, cost = time.perf_counter(), {}
    reference = net.prediction_table(x, **image_views, classify=classify, cost=cost)
    torch_seconds = time.perf_counter() - start
    image_views["classify"] = classify
    details, run = {}, {}
    if backend == "torch":
        table, rate = reference, len(x) / max(torch_seconds, 1e-9)
    elif backend in ("netx-fixed", "loihi2"):
        from lava_ff.netx_export.run import build_netx_network, run_netx_inference

        source = model.record.get("source")
        with tempfile.TemporaryDirectory(prefix="lava_ff_netx_") as tmp:
            path = Path(source) if source and Path(source).suffix in NETX_SUFFIXES else \
                export_netx(spec, Path(tmp) / "model.net")
            if str(path) == source:
                details["netx_file"] = source
            run = run_netx_inference(build_netx_network(path, x, spec=spec, **image_views), BACKENDS[backend],
                                     progress=progress)
        table, rate = run["predictions"], run["samples_per_second"]
        details["startup_seconds"] = run["startup_seconds"]
        if run.get("host_readout") and "classifier_predictions" in run:  # the file's output neurons, against
            details["classifier_agreement_with_readout"] = float(  # lava-ff's readout of the same spikes
                np.mean(run["classifier_predictions"] == table[:, 2]))
    else:
        from lava_ff.lava.inference import build_lava_network, run_lava_inference

        run = run_lava_inference(build_lava_network(spec, x, **image_views, batch=batch), BACKENDS[backend],
                                 progress=progress)
        table, rate = run["predictions"], run["samples_per_second"]
        details["startup_seconds"] = run["startup_seconds"]
    onchip = host = None
    if spec.onchip_readout is not None and mode.neutral:
        host = onchip_readout_predictions(spec.config, list(spec.weights), spec.neurons[0], spec.onchip_readout, x,
                                          logit_scale=spec.onchip_readout_scale, views=views,
                                          image_shape=image_views["image_shape"])
        onchip = run.get("onchip_predictions", host)
    columns = tuple(c for c in mode.columns if spec.readout_weight is not None or c not in ("readout", "combined"))
    if len(cfg.layer_sizes) == 1:  # "skipping layer 1" of a one-layer network is no classifier
        columns = tuple(c for c in columns if c != "goodness_skip_first")
    onchip_columns = tuple(c for c in ("readout", "combined") if c in mode.columns)
    predictions = Predictions.from_table(table, onchip, columns, onchip_columns)
    if "classifier_predictions" in run:
        predictions = Predictions({**{c: predictions[c] for c in predictions.columns},
                                   "classifier": run["classifier_predictions"]})
    agreement = None
    if backend != "torch":
        agreement = predictions.agreement(Predictions.from_table(reference, host, columns, onchip_columns))
    accuracy = predictions.accuracy(labels)
    per_image = {key: value / max(len(x), 1) for key, value in cost.items()}
    return Evaluation(backend, len(x), views, accuracy, predictions, agreement, rate, details, classify, per_image,
                      batch)


def split_arrays(data, split: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``(images, labels, image shape)`` of what :func:`evaluate` classifies."""
    if isinstance(data, Dataset):
        chosen = data.test if split == "test" else data.val
        return chosen.images, np.asarray(chosen.labels), data.image_shape
    if isinstance(data, ImageSet):
        return data.images, np.asarray(data.labels), data.shape
    if isinstance(data, tuple) and len(data) == 2:
        images = np.asarray(data[0], np.float32)
        return images, np.asarray(data[1]), tuple(images.shape[1:]) if images.ndim == 3 else (images.shape[1],)
    raise ConfigError(f"data must be a Dataset, an ImageSet or (images, labels), got {type(data).__name__}")


def export_format(path: str | Path, format: str | None = None, *,  # noqa: A002  (the CLI's --format)
                  classifier: bool = False) -> str:
    """The format :func:`export` writes ``path`` in (``format``, by default
    ``nir`` for a ``.nir`` path and ``netx`` otherwise), or a
    :class:`ConfigError`, before any work, for an unknown format, a suffix
    that :func:`load` would read as the other format, or ``classifier``
    asked of NIR."""
    if format is None:
        format = "nir" if Path(path).suffix in NIR_SUFFIXES else "netx"  # noqa: A001
    if format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {format!r}; valid: {', '.join(EXPORT_FORMATS)}")
    if (format == "nir") != (Path(path).suffix in NIR_SUFFIXES):  # load() tells the formats apart by it
        raise ConfigError(f"{path}: a {format} file needs " + (f"the suffix {NIR_SUFFIXES[0]}" if format == "nir"
                                                               else f"a suffix other than {NIR_SUFFIXES[0]}"))
    if classifier and format != "netx":
        raise ConfigError(f"classifier=True writes netx output neurons; {format} files hold the readout as "
                          "lava-ff metadata instead (export with format='netx')")
    return format


def export(model: Model | NetworkSpec | FFNetwork | str | Path, path: str | Path, *,
           format: str | None = None, classifier: bool = False) -> Path:  # noqa: A002  (the CLI's --format)
    """Write ``model`` (a :class:`Model`, a :class:`NetworkSpec`, an offline
    :class:`FFNetwork`, or the path of one) as a netx HDF5 file that lava-dl's
    ``netx.hdf5.Network`` loads, or as a NIR graph (:mod:`lava_ff.nir_format`)
    that snnTorch, Norse, Rockpool, Sinabs and others read; :func:`load`
    reads either back. ``format`` is ``"netx"`` or ``"nir"``; by default a
    ``.nir`` path gets NIR and any other netx. Returns the path; the file
    appears whole or not at all.

    ``classifier=True`` (netx) puts the linear readout into the file as its
    last layer, integer synapses onto one integrating neuron per class: a
    lava-dl user classifies with ``netx.hdf5.Network`` alone, by the output
    neuron with the highest voltage at the end of the window. The readout
    must read the last layer alone (:func:`fit_readout`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> net = train(load_dataset("digits"), layers=(50,), epochs=1, progress=False)
    >>> export(net, pathlib.Path(tempfile.mkdtemp()) / "model.net").suffix
    '.net'
    >>> export(net, pathlib.Path(tempfile.mkdtemp()) / "model.nir").suffix
    '.nir'
    """
    format = export_format(path, format, classifier=classifier)  # noqa: A001
    if isinstance(model, (str, Path)):
        model = load(model)
    spec = model.spec if isinstance(model, Model) else model
    return export_nir(spec, path) if format == "nir" else export_netx(spec, path, classifier=classifier)


def netx_network(path: str | Path):
    """lava-dl's own ``netx.hdf5.Network`` of a netx file that :func:`export`
    wrote: the FF layers as Lava ``Dense`` + ``LIF`` blocks, with nothing of
    lava-ff's (wire a readout to its spikes, or see :func:`evaluate`).
    Needs the ``lava`` extra (lava-dl)."""
    require_lava("netx_network (lava-dl's netx)")
    import lava_ff.processes  # noqa: F401  (before netx: Lava chooses its multiprocessing start method)

    netx = quiet_import("lava.lib.dl.netx")

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such netx file")
    return netx.hdf5.Network(net_config=str(path))


def load(path: str | Path) -> Model:
    """A trained network from a ``lava-ff train`` run folder, a
    ``checkpoint.pt``, a netx ``.net`` file or a NIR ``.nir`` file (one
    lava-ff wrote, or a dense CUBA network another framework wrote:
    :func:`lava_ff.nir_format.from_graph`), with what its run recorded
    (its ``metrics.json``: data set, views, time steps).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> net = train(load_dataset("digits"), layers=(50,), epochs=1, progress=False)
    >>> path = export(net, pathlib.Path(tempfile.mkdtemp()) / "model.net")
    >>> load(path).spec.weights[0].shape
    (50, 74)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such run folder, checkpoint, netx or NIR file")
    network = load_trained(str(path))
    spec = trained_spec(str(path), network)
    record = {"source": str(path), "views": spec.views, "time_steps": spec.config.time_steps}
    metrics = path / "metrics.json" if path.is_dir() else path.parent / "metrics.json"
    if metrics.is_file():
        try:
            recorded = json.loads(metrics.read_text())
        except json.JSONDecodeError:
            recorded = {}
        if isinstance(recorded, dict) and isinstance(recorded.get("dataset"), str):
            record["dataset"] = recorded["dataset"]
            for key in ("data", "val_size"):  # the data set's folder, and the validation split's size
                if isinstance(recorded.get(key), (str, int)) and not isinstance(recorded.get(key), bool):
                    record[key] = recorded[key]
            if isinstance(recorded.get("rule"), dict):  # an on-chip run's learning rule
                record["rule"] = recorded["rule"]
                record.update(_recorded_onchip_training(recorded))
    return Model(spec, network, record)


def _recorded_onchip_training(recorded: dict) -> dict:
    """What an on-chip run's ``metrics.json`` says about its learning: the
    on-chip readout's first rule (``readout_rule``) and the passes it made
    (``onchip_training``: samples, FF passes, readout passes), each where recorded."""
    found = {}
    readout = recorded.get("onchip_readout")
    rules = readout.get("rules") if isinstance(readout, dict) else None
    if isinstance(rules, list) and rules and isinstance(rules[0], dict):
        found["readout_rule"] = rules[0]
    counts = {"samples": recorded.get("train_samples"), "passes": recorded.get("epochs"),
              "readout_passes": len(rules) if isinstance(rules, list) else 0}
    if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()):
        found["onchip_training"] = counts
    return found
