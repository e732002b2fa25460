"""An evaluation suite: FF variants and a BPTT baseline, side by side.

:func:`run_suite` trains each chosen method on each chosen data set and
measures clean test accuracy, time steps, training time and spikes per
inference; with ``corrupt=True`` it follows the IntFF robustness protocol
(75% of the training set corrupted, early stopping on a clean validation
split, clean test set) and with ``robustness=True`` it adds test-time
robustness curves. :func:`write_report` writes a markdown table and PNG
plots. ``benchmarks/suite.py`` is the command line.

Methods (:data:`METHODS`):

* ``ff-surrogate``: spiking FF, one layer per block, surrogate gradient
  through time inside the layer;
* ``ff-three-factor``: spiking FF with the gradient-free three-factor rule
  (the on-chip rule);
* ``intff``: Integrated FF, blocks of layers (default: blocks of 2) with
  backpropagation inside a block and FF losses at every layer;
* ``ffgaf``: FFGAF-style, the spike function as a black box (no surrogate
  derivative) and class-aware loss weights;
* ``bptt``: the same-size spiking network trained end to end with BPTT
  (lava-dl slayer), the backprop baseline.

Hyper-parameters are the library defaults (chosen earlier on validation
splits) and every method stops early on the validation split; the test split
is only measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lava_ff.core.checks import check_positive_float
from lava_ff.core.config import LR_DECAYS, SCHEDULES, FFConfig, check_greedy_epochs
from lava_ff.core.fileio import atomic_path, write_json
from lava_ff.core.imports import require_lava
from lava_ff.core.inputs import prepare_inputs
from lava_ff.offline.baselines import BPTTTrainer
from lava_ff.offline.train import Trainer, TrainSettings, evaluate_accuracy
from lava_ff.robustness import CORRUPTIONS, check_fractions, corrupt_training_set, robustness_curves

__all__ = [
    'METHODS', 'SUITE_DATASETS', 'check_names', 'check_methods', 'default_blocks', 'SuiteSettings', 'run_method',
    'run_suite', 'write_report',
]


METHODS = ("ff-surrogate", "ff-three-factor", "intff", "ffgaf", "bptt")
SUITE_DATASETS = ("digits", "mnist", "idx", "nmnist")


def check_names(kind: str, names, valid: tuple[str, ...]) -> list[str]:
    """Split and validate a list of method or data set names."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    if not names:
        raise ValueError(f"no {kind} chosen; valid: {', '.join(valid)}")
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    return names


def default_blocks(layers: int) -> tuple[int, ...]:
    """Blocks of two layers, the last one shorter if the count is odd."""
    return tuple([2] * (layers // 2) + [1] * (layers % 2))


@dataclass(frozen=True)
class SuiteSettings:
    layers: tuple[int, ...] = (500, 500)
    time_steps: int = 10
    epochs: int = 10
    batch_size: int = 100
    patience: int = 3
    limit: int | None = None  # training samples (and test samples) per data set
    blocks: tuple[int, ...] | None = None  # intff; None: default_blocks
    corrupt: bool = False
    fractions: tuple[float, ...] = (0.25, 0.25, 0.25, 0.25)
    robustness: bool = False
    robustness_samples: int = 2000  # test samples the robustness curves use (the first ones)
    #: per-layer FF loss of every FF method and its goodness scale (see FFConfig)
    loss: str = "softplus"
    alpha: float = 4.0
    #: Adam learning rate of the BPTT baseline (default: its validation pick)
    bptt_lr: float = BPTTTrainer.lr
    #: step size of the gradient-free rule (ff-three-factor); FFConfig's default
    three_factor_lr: float = FFConfig.three_factor_lr
    #: FF methods' layer schedule and step-size decay (see FFConfig); the
    #: BPTT baseline trains end to end at a constant rate either way
    schedule: str = "simultaneous"
    lr_decay: str = "none"
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        check_fractions(self.fractions)
        check_positive_float("bptt_lr", self.bptt_lr)
        check_positive_float("three_factor_lr", self.three_factor_lr)
        check_names("schedule", [self.schedule], SCHEDULES)
        check_names("lr_decay", [self.lr_decay], LR_DECAYS)
        # every FF method of the run must fit: the plain ones train one block per layer
        check_greedy_epochs(self.schedule, self.epochs, len(self.layers), "layers")


def _ff_config(method: str, in_features: int, settings: SuiteSettings, encoding: str) -> FFConfig:
    base = FFConfig(in_features=in_features, layer_sizes=settings.layers, time_steps=settings.time_steps,
                    theta=0.05 * settings.layers[0], encoding=encoding, seed=settings.seed,
                    loss=settings.loss, symba_alpha=settings.alpha,
                    schedule=settings.schedule, lr_decay=settings.lr_decay,
                    label_repeat=10 if encoding == "spikes" else 1)
    if method == "ff-three-factor":
        return replace(base, rule="three_factor", three_factor_lr=settings.three_factor_lr)
    if method == "intff":
        return replace(base, blocks=settings.blocks or default_blocks(len(settings.layers)))
    if method == "ffgaf":
        return replace(base, rule="ffgaf")
    return base


def check_methods(names) -> list[str]:
    """:func:`check_names` of methods, and a :class:`MissingExtraError` for
    one that needs what is not installed here (bptt: lava-dl's slayer blocks)."""
    methods = check_names("method", names, METHODS)
    if "bptt" in methods:
        require_lava("the bptt baseline (lava-dl's slayer blocks; the FF methods run without it)")
    return methods


def run_method(method: str, train, val, test, settings: SuiteSettings, encoding: str = "deterministic") -> dict:
    """Train one method on ``train`` (early stopping on ``val``) and measure it on ``test``."""
    check_methods([method])
    in_features = int(train.shape[0]) if encoding == "spikes" else int(np.prod(train.shape))
    train_settings = TrainSettings(epochs=settings.epochs, batch_size=settings.batch_size,
                                   patience=settings.patience, progress=settings.progress)
    test_x = prepare_inputs(test.images, FFConfig(in_features=in_features, encoding=encoding))
    test_y = np.asarray(test.labels)
    sample = test_x[:min(100, len(test_x))]
    start = time.perf_counter()
    if method == "bptt":
        cfg = _ff_config("ff-surrogate", in_features, settings, encoding)
        trainer = BPTTTrainer(cfg, train_settings, lr=settings.bptt_lr)
        trainer.fit(train.images, train.labels, val.images, val.labels)
        accuracy = {"accuracy": float(np.mean(trainer.net.predict(test_x) == test_y))}
        val_accuracy = max(h["val_accuracy"] for h in trainer.history)
    else:
        cfg = _ff_config(method, in_features, settings, encoding)
        trainer = Trainer(cfg, train_settings)
        trainer.fit(train.images, train.labels, val.images, val.labels, train.shape)
        scores = evaluate_accuracy(trainer.net, test_x, test_y)
        accuracy = {"accuracy": scores["goodness"], "accuracy_readout": scores["readout"],
                    "accuracy_combined": scores["combined"]}
        val_accuracy = max(h["val_goodness"] for h in trainer.history)
    net, epochs = trainer.net, len(trainer.history)
    spikes = net.spikes_per_inference(sample)

    def predict(x):
        return net.predict(prepare_inputs(x, cfg))  # both predict in batches

    wall = time.perf_counter() - start
    result = {"method": method, **accuracy, "val_accuracy": val_accuracy, "time_steps": cfg.time_steps,
              "train_seconds": float(trainer.train_seconds), "wall_seconds": wall, "epochs": epochs,
              "spikes_per_inference": spikes, "train_samples": len(train), "test_samples": len(test_y),
              "layers": list(cfg.layer_sizes), "config": cfg.to_dict()}
    if settings.robustness:
        if encoding == "spikes":
            raise ValueError("robustness curves corrupt images; this data set is event spike trains")
        n = settings.robustness_samples
        result["robustness"] = robustness_curves(predict, test.images[:n], test_y[:n],
                                                 np.random.default_rng(settings.seed))
        result["robustness"]["samples"] = min(n, len(test_y))
    return result


def _load(dataset: str, data: str | None, settings: SuiteSettings):
    from lava_ff.datasets import load_split

    train, val, test, _ = load_split(dataset, data, settings.seed, time_steps=settings.time_steps)
    if settings.limit:
        train, test = train.subset(slice(0, settings.limit)), test.subset(slice(0, settings.limit))
    return train, val, test


def run_suite(methods, datasets, settings: SuiteSettings, data: dict | None = None,
              on_result=None) -> list[dict]:
    """Every method on every data set. ``data`` maps data set names to folders
    (mnist, idx, nmnist). ``on_result(result)`` is called after each run."""
    from lava_ff.datasets import ImageSet

    methods = check_methods(methods)
    datasets = check_names("data set", datasets, SUITE_DATASETS)
    data = data or {}
    results = []
    for dataset in datasets:
        encoding = "spikes" if dataset == "nmnist" else "deterministic"
        if settings.corrupt and encoding == "spikes":
            raise ValueError("the corruption protocol corrupts images; nmnist holds event spike trains")
        train, val, test = _load(dataset, data.get(dataset), settings)
        kinds = None
        if settings.corrupt:
            images, labels, kinds = corrupt_training_set(
                np.asarray(train.images, np.float32), np.asarray(train.labels), train.num_classes,
                np.random.default_rng(settings.seed), settings.fractions)
            train = ImageSet(images, labels, train.num_classes, f"{train.name}[corrupted]")
        for method in methods:
            result = run_method(method, train, val, test, settings, encoding)
            result["dataset"] = dataset
            result["corrupted_training"] = None if kinds is None else {
                name: int((kinds == i).sum()) for i, name in enumerate(CORRUPTIONS)}
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def write_report(results: list[dict], out_dir, settings: SuiteSettings) -> list[Path]:
    """``results.json``, ``results.md`` (one table row per run) and, with
    robustness curves, ``robustness_<dataset>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.json", out / "results.md"]
    write_json(out / "results.json", results)
    protocol = ("IntFF corruption protocol: training set "
                + ", ".join(f"{f:.0%} {n}" for n, f in zip(CORRUPTIONS, settings.fractions, strict=True))
                + "; early stopping on a clean validation split; clean test set"
                if settings.corrupt else "clean training data; early stopping on the validation split")
    loss = settings.loss + ("" if settings.loss == "softplus" else f" (alpha {settings.alpha:g})")
    lines = ["# lava-ff evaluation suite", "",
             protocol + f"; per-layer FF loss {loss}; FF layer schedule {settings.schedule}, "
             f"step-size decay {settings.lr_decay}", "",
             "| data set | method | test accuracy | readout | combined | val accuracy | time steps | train s | "
             "epochs | spikes / inference |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        readout, combined = (f"{r[key]:.2%}" if r.get(key) is not None else "–"
                             for key in ("accuracy_readout", "accuracy_combined"))
        lines.append(f"| {r['dataset']} | {r['method']} | {r['accuracy']:.2%} | {readout} | {combined} | "
                     f"{r['val_accuracy']:.2%} | {r['time_steps']} | {r['train_seconds']:.0f} | {r['epochs']} | "
                     f"{r['spikes_per_inference']:.0f} |")
    lines += ["", "FF methods: test accuracy by goodness (every label overlaid, highest goodness wins, "
              "spikes counted over all label windows); readout: linear softmax on hidden rates; combined: "
              "both as one product of experts (each layer's label log-likelihood plus the readout's log-softmax). "
              f"bptt: output neuron with most spikes (end-to-end BPTT, Adam lr {settings.bptt_lr:g})."]
    samples = {r["robustness"]["samples"] for r in results if "robustness" in r}
    if samples:
        lines += ["", f"Robustness curves (robustness_<data set>.png): the first {max(samples)} test samples, "
                  "Gaussian noise std 0-0.5 and pixel dropout 0-0.8 at test time."]
    with atomic_path(out / "results.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    for dataset in dict.fromkeys(r["dataset"] for r in results):
        curves = [r for r in results if r["dataset"] == dataset and "robustness" in r]
        if not curves:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for r in curves:
            rob = r["robustness"]
            axes[0].plot(rob["noise_levels"], rob["noise_accuracy"], marker="o", label=r["method"])
            axes[1].plot(rob["drop_levels"], rob["drop_accuracy"], marker="o", label=r["method"])
        axes[0].set(xlabel="Gaussian noise std", ylabel="test accuracy", title=f"{dataset}: noise")
        axes[1].set(xlabel="fraction of pixels dropped", ylabel="test accuracy", title=f"{dataset}: dropout")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        path = out / f"robustness_{dataset}.png"
        with atomic_path(path, suffix=".tmp.png") as tmp:
            fig.savefig(tmp, dpi=120)
        plt.close(fig)
        written.append(path)
    return written
