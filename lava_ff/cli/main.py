"""``lava-ff``: train, evaluate, export, inspect and demo Forward-Forward spiking networks.

lava-ff train --dataset digits --out runs/digits
lava-ff train --dataset mnist --data ../shared/data/mnist --layers 500,500 --out runs/mnist
lava-ff train ... --resume            # continue from runs/.../checkpoint.pt
lava-ff evaluate --model runs/digits --dataset digits
lava-ff evaluate --model runs/digits --dataset digits --backend lava-fixed --limit 200
lava-ff export --model runs/digits --out runs/digits/model.net
lava-ff evaluate --model runs/digits/model.net --dataset digits --backend netx-fixed --limit 50
lava-ff inspect runs/digits           # its Loihi 2 budget: cores, spikes, energy per inference and learning sample
lava-ff demo                          # digits, or MNIST when --data has it
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path

import numpy as np

from lava_ff import __version__
from lava_ff.cli.configfile import warn_deprecated
from lava_ff.core.checks import check_positive_float
from lava_ff.core.config import CLASSIFY_MODES, GOODNESS_SCOPES, LAVA_BATCH_COPIES, PREDICTION_COLUMNS, READOUT_FROM
from lava_ff.core.errors import DatasetError, LavaFFError, LavaRunError, NetxFormatError
from lava_ff.core.fileio import check_output_dir, write_history_csv, write_json
from lava_ff.core.imports import LAVA_EXTRA, lava_installed, require_lava
from lava_ff.core.inputs import check_views
from lava_ff.core.rule import check_onchip_options
from lava_ff.datasets import DATASETS, load_split

__all__ = [
    'entry', 'cmd_train', 'cmd_train_onchip', 'BACKENDS', 'ONCHIP_BACKENDS', 'summarise_predictions', 'cmd_evaluate',
    'cmd_export', 'cmd_demo', 'build_parser', 'main',
]


def _positive_ints(what: str):
    """An argparse type: comma-separated positive integers, errors naming ``what``."""
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(s) for s in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}s must be comma-separated integers, got {text!r}") from None
        bad = [v for v in values if v < 1]
        if bad:
            raise argparse.ArgumentTypeError(f"{what} {bad[0]} is not positive (in {text!r})")
        return values
    return parse


def _layers(text: str) -> tuple:
    """An argparse type: layer entries, ``500,500`` or ``c32k5p2,c64k3p2,1000`` (:func:`parse_layers`)."""
    from lava_ff.core.errors import ConfigError
    from lava_ff.core.layers import parse_layers

    try:
        return parse_layers(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _scales(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


class _DeprecatedFlag(argparse.Action):
    """An old flag name: sets its new flag's value and says once, on stderr, what it is called now."""

    def __call__(self, parser, namespace, values, option_string=None):
        warn_deprecated(option_string)
        setattr(namespace, self.dest, values)


def _deprecated_alias(group, old: str, new: str) -> None:
    """``old`` as a hidden, deprecated spelling of ``new`` (same destination, same type)."""
    target = next(a for a in group._actions if new in a.option_strings)
    group.add_argument(old, dest=target.dest, type=target.type, default=argparse.SUPPRESS,
                       action=_DeprecatedFlag, help=argparse.SUPPRESS, metavar=target.metavar)


def _group(p: argparse.ArgumentParser, title: str):
    """The argument group ``title`` of ``p``, made on first use (train and evaluate share the data group)."""
    for group in p._action_groups:
        if group.title == title:
            return group
    return p.add_argument_group(title)


def _add_common(p: argparse.ArgumentParser) -> None:
    data = _group(p, "data")
    data.add_argument("--dataset", choices=DATASETS, default="digits",
                      help="digits (ships with scikit-learn), mnist / fashion-mnist / idx (an MNIST-format "
                           "folder), nmnist (N-MNIST .bs2 folder). Default: digits (evaluate, inspect: the data "
                           "set the run recorded)")
    data.add_argument("--data", default=None, help="the data set's folder (all but digits)")
    data.add_argument("--limit", type=_positive_int, default=None,
                      help="use only the first N training and test samples (quick runs)")
    data.add_argument("--seed", type=_non_negative_int, default=0,
                      help="seed for splits, init and spikes, a non-negative integer (default 0)")
    data.add_argument("--val-size", type=_positive_int, default=None, metavar="N",
                      help="hold out N training samples for validation, drawn at random with --seed "
                           "(default: a tenth of the training split)")


def _add_train_options(p: argparse.ArgumentParser) -> None:
    from lava_ff.core.clock import MESSAGES, SAMPLES_PER_STEP
    from lava_ff.core.config import (
        ENCODINGS,
        GOODNESS_KINDS,
        LOSS_KINDS,
        LR_DECAYS,
        NEGATIVES,
        OVERLAYS,
        RULES,
        SCHEDULES,
    )
    from lava_ff.core.rule import READOUT_LOGIT_SCALE

    data, network, offline = _group(p, "data"), _group(p, "network"), _group(p, "offline learning")
    backend, output = _group(p, "backend"), _group(p, "output")
    network.add_argument("--layers", type=_layers, default=(500, 500),
                         help="the layers, comma separated: a neuron count for a dense layer, c<channels>k<kernel>"
                              "[p<pool>] for a convolution (stride 1, no padding; its spikes sum-pooled "
                              "pool x pool into the next layer), convolutions first; e.g. c32k5p2,c64k3p2,1000 "
                              "(default 500,500)")
    network.add_argument("--time-steps", type=_positive_int, default=10, help="steps per sample (default 10)")
    offline.add_argument("--epochs", type=_positive_int, default=5, help="training epochs (default 5)")
    offline.add_argument("--batch-size", type=_positive_int, default=100, help="mini-batch size (default 100)")
    offline.add_argument("--rule", choices=RULES, default="surrogate",
                         help="surrogate: BPTT within each layer; three_factor: gradient-free "
                              "m * pre * post rule (the on-chip rule); ffgaf: FFGAF-style, the spike function "
                              "as a black box (no surrogate derivative) plus class-aware loss weights. "
                              "Default surrogate")
    offline.add_argument("--blocks", type=_positive_ints("block size"), default=None, metavar="N,N,...",
                         help="Integrated FF: train consecutive layers in blocks of these sizes, backpropagating "
                              "inside a block only (e.g. 2,1 for three layers); sizes must sum to the layer count")
    offline.add_argument("--schedule", choices=SCHEDULES, default="simultaneous",
                         help="simultaneous: every layer (block) learns on every batch; greedy: one at a time, the "
                              "epochs split evenly (or by --block-epochs), earlier layers frozen, so each learns on a "
                              "fixed input (needs epochs >= layers or blocks). Default simultaneous")
    offline.add_argument("--block-epochs", type=_positive_ints("epoch count"), default=None, metavar="N,N,...",
                         help="with --schedule greedy: the epochs of each layer (block), e.g. 7,3 to give layer 1 "
                              "seven epochs and layer 2 three; they must add up to --epochs. Default: an even split")
    offline.add_argument("--lr-decay", choices=LR_DECAYS, default="none",
                         help="none: constant step sizes; cosine: each layer's (block's) step size falls along a half "
                              "cosine to zero over the epochs in which it learns (its share under --schedule greedy). "
                              "Default none")
    offline.add_argument("--block-lr-scale", type=_scales, default=None, metavar="S,S,...",
                         help="multiply each layer's (block's) step size by these factors, one per layer or block, "
                              "e.g. 1,0.3 for a gentler second layer. Default 1 for every layer")
    network.add_argument("--goodness", choices=GOODNESS_KINDS, default="sum_sq_rate",
                         help="a layer's goodness: the sum (or mean) of its neurons' squared firing rates, or "
                              "the sum of their squared positive membrane voltages")
    network.add_argument("--loss", choices=LOSS_KINDS, default="softplus",
                         help="per-layer FF loss: softplus (Hinton: positive goodness above theta, negative "
                              "below), symba (softplus of -alpha x (G_pos - G_neg)), or softmax (cross-entropy "
                              "over alpha x the goodness of every label: all wrong labels are negatives at "
                              "once). On-chip learning runs softplus. Default softplus")
    network.add_argument("--alpha", type=float, default=4.0,
                         help="scale of the goodness in the symba and softmax losses (default 4; 1 for softmax "
                              "on MNIST, chosen on the validation split)")
    network.add_argument("--theta", type=float, default=None,
                         help="goodness threshold θ > 0 (default 0.05 x first layer width)")
    network.add_argument("--encoding", choices=ENCODINGS, default="deterministic",
                         help="how images become spikes (default deterministic); nmnist always uses its "
                              "events binned into --time-steps frames (spikes)")
    network.add_argument("--overlay", choices=OVERLAYS, default=None,
                         help="where the label enters: extra label neurons beside the pixels (default for dense "
                              "networks), the first pixels of the image (Hinton's layout), or nowhere: groups "
                              "splits every layer's neurons (a convolution's channels) into one group per class "
                              "and scores each class by its group's goodness (default, and the only choice, "
                              "with convolutions)")
    network.add_argument("--label-repeat", type=_positive_int, default=1,
                         help="label input neurons per class with --overlay label_neurons (default 1; on MNIST "
                              "the on-chip rule needs ~20, or 10 labels are lost among 784 pixels)")
    offline.add_argument("--negatives", choices=NEGATIVES, default="random",
                         help="random wrong label, hard (most plausible wrong label), mixed (hard or random, "
                              "half each), or hybrid (unsupervised: Hinton's masked image mixtures; offline only)")
    offline.add_argument("--adam-lr", type=float, default=3e-3,
                         help="Adam's learning rate for the FF layers under the gradient rules (surrogate, ffgaf)")
    offline.add_argument("--rule-lr", type=float, default=0.05,
                         help="step size of the gradient-free three-factor rule (--rule three_factor); 0.05 suits "
                              "the softplus/symba losses, about 0.6 the softmax loss (validation picks on MNIST)")
    _deprecated_alias(offline, "--lr", "--adam-lr")
    _deprecated_alias(offline, "--three-factor-lr", "--rule-lr")
    network.add_argument("--threshold", type=float, default=None,
                         help="neuron threshold (1/64 grid; default 1, and 4 for on-chip learning with "
                              "--backend lava-float|lava-fixed: weights scale with it, so fixed-point updates "
                              "are several weight units and survive the engine's stochastic rounding; "
                              "with --init-from, the model's weights scale from its own threshold to this one, "
                              "by default to 4 or the model's own if higher)")
    network.add_argument("--current-decay", type=float, default=0.25,
                         help="CUBA current decay per step, in [0, 1] on the 1/4096 grid")
    network.add_argument("--voltage-decay", type=float, default=0.03,
                         help="CUBA voltage decay per step, in [0, 1] on the 1/4096 grid")
    output.add_argument("--json", action="store_true",
                        help="each epoch's record as one JSON line on stdout instead of a readable line on stderr")
    output.add_argument("--config", default=None, metavar="FILE",
                        help="take options from a TOML or JSON file (a run's metrics.json too); flags given "
                             "with it override the file")
    output.add_argument("--out", default="runs/train", help="output folder (checkpoint, metrics, plots)")
    output.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    offline.add_argument("--patience", type=_positive_int, default=None,
                         help="early stopping: stop after this many epochs without a better validation "
                              "accuracy and keep the best epoch (default: train all epochs)")
    offline.add_argument("--readout-every", type=_positive_int, default=1, metavar="N",
                         help="train the linear readout after every N epochs and after the last (default 1; "
                              "N >= --epochs: after the last only, which saves computing the hidden rates of "
                              "the training set every epoch; epochs without it report no readout accuracy)")
    network.add_argument("--goodness-scope", choices=GOODNESS_SCOPES, default="layer",
                         help="with class groups (--overlay groups, and every network with convolutions), what a "
                              "layer's objective scores: each class's goodness over the whole layer (default), or "
                              "each spatial position's own, the cross-entropy averaged over positions")
    offline.add_argument("--readout-from", choices=READOUT_FROM, default="all",
                         help="layers the linear readout reads: all (default) or the last alone, which "
                              "lava-ff export --classifier can put on chip as output neurons of the netx file")
    offline.add_argument("--readout-epochs", type=_positive_int, default=3, metavar="N",
                         help="epochs of the host's linear softmax readout each time it learns (default 3; "
                              "Adam at a constant rate, weights averaged over the last epoch)")
    offline.add_argument("--shift", type=int, default=0, metavar="PIXELS",
                         help="translation augmentation (offline training): each training image moves by a "
                              "random offset of up to PIXELS per axis, anew every epoch (default 0: none)")
    offline.add_argument("--rotate", type=float, default=0.0, metavar="DEGREES",
                         help="rotation augmentation (offline training): each training image turns by a random "
                              "angle of up to DEGREES either way, anew every epoch, before --shift (default 0)")
    offline.add_argument("--zoom", type=float, default=0.0, metavar="FRACTION",
                         help="scale augmentation (offline training): each training image is scaled about its "
                              "centre by a random factor in [1-FRACTION, 1+FRACTION] (default 0)")
    output.add_argument("--no-progress", action="store_true", help="no progress bars")
    backend.add_argument("--backend", choices=["torch", "lava-float", "lava-fixed", "loihi2"], default="torch",
                         help="torch: offline training (CPU, or CUDA when present); lava-float / lava-fixed: "
                              "on-chip FF learning in Lava's simulator (floating_pt / fixed_pt learning engine); "
                              "loihi2: on Loihi 2 hardware (needs lava-loihi; stops with a message otherwise)")
    onchip = _group(p, "on-chip learning (--backend lava-float|lava-fixed)")
    onchip.add_argument("--init-from", default=None, metavar="MODEL",
                        help="start from an offline-trained model (folder, checkpoint.pt or .net) instead "
                             "of random weights: continual learning; its configuration is used, its "
                             "threshold and weights scaled together to the on-chip --threshold")
    onchip.add_argument("--onchip-rule-lr", type=float, default=16.0,
                        help="the FF layers' on-chip rule learning rate: dw = lr * pre_trace * rate * m in integer "
                             "weight units (default 16; below ~0.07 it underflows in fixed point and is refused)")
    onchip.add_argument("--onchip-rule-lr-decay", type=float, default=1.0, metavar="FACTOR",
                        help="epoch e runs at --onchip-rule-lr * FACTOR**e, FACTOR in (0, 1] (default 1: no decay; "
                             "0.5 halves the rate every pass; MNIST's best measured: 5 passes at 0.7071, 16 down to 4)")
    _deprecated_alias(onchip, "--onchip-lr", "--onchip-rule-lr")
    _deprecated_alias(onchip, "--onchip-lr-decay", "--onchip-rule-lr-decay")
    onchip.add_argument("--pre-trace-tau", type=int, default=4, help="pre-trace decay in steps (default 4)")
    onchip.add_argument("--pre-trace-impulse", type=int, default=16,
                        help="pre-trace increment per spike, 7-bit units (default 16)")
    data.add_argument("--train-classes", type=_classes, default=None, metavar="C,C,...",
                      help="learn only these classes: offline, the old classes a continual-learning run "
                           "starts from; on chip (with --init-from), the new ones. Test accuracy is then "
                           "also reported on these and on the other classes")
    onchip.add_argument("--replay", type=_non_negative_int, default=0, metavar="N",
                        help="with --train-classes: also learn N training images of the other (old) classes, "
                             "drawn at random once (a rehearsal buffer the host streams with the new data), "
                             "against forgetting them; validation then covers all classes (default 0)")
    onchip.add_argument("--onchip-readout-epochs", type=_non_negative_int, default=0, metavar="N",
                        help="after the FF passes, N passes of on-chip readout learning: one readout neuron per "
                             "class behind the last layer learns a one-vs-rest logistic readout of the label "
                             "through Lava's learning engine (the FF rule's string; the FF layers frozen, "
                             "each image once with the neutral label); reported as test_accuracy_onchip_readout "
                             "(default 0: the host-trained readout only)")
    onchip.add_argument("--onchip-readout-lr", type=float, default=32.0,
                        help="the readout's rule learning rate, integer weight units (default 32)")
    onchip.add_argument("--onchip-readout-lr-decay", type=float, default=0.5, metavar="FACTOR",
                        help="readout pass e runs at --onchip-readout-lr * FACTOR**e (default 0.5)")
    onchip.add_argument("--onchip-views", type=int, default=1, metavar="V",
                        help="the FF passes learn on views: every pass shows each image as one of its first V "
                             "views (the image, then one pixel up, down, left, right; V from 1 to 5), drawn "
                             "anew per pass; validation and test read the images as they are (default 1)")
    onchip.add_argument("--onchip-readout-views", type=int, default=1, metavar="V",
                        help="the readout learns on views: every pass shows each image as one of its first V "
                             "views (the image, then one pixel up, down, left, right; V from 1 to 5), and "
                             "its figures sum the readout's scores over the V views, as lava-ff evaluate "
                             "--views V runs it (default 1: the images as they are)")
    onchip.add_argument("--onchip-readout-scale", type=float, default=READOUT_LOGIT_SCALE,
                        help="the readout neuron's logit per unit of W @ rates, W in float weight units "
                             f"(default {READOUT_LOGIT_SCALE:g}, picked on MNIST validation)")
    onchip.add_argument("--samples-per-run", type=_positive_int, default=500,
                        help="samples per Lava run() between checkpoints (default 500: about 10-30 s of "
                             "784-500-500 learning; each pause costs a weight read-back and a checkpoint)")
    onchip.add_argument("--samples-per-step", type=_positive_int, default=None, metavar="K",
                        help="with window messages, samples each Lava step carries, their windows exchanged in "
                             "turn: the same weights in fewer steps for Lava's runtime (default: the largest "
                             f"divisor of --samples-per-run up to {SAMPLES_PER_STEP}; must divide it)")
    onchip.add_argument("--lava-messages", choices=MESSAGES, default="window",
                        help="window (default): one Lava step per sample (a phase window a step for the "
                             "readout), each message carrying a window's T steps; step: one Lava step per "
                             "time step, as Loihi 2 runs the network. Both learn the same weights (with "
                             "hard/mixed negatives the step network is read back one window behind in its last "
                             "layer); window is several times faster")


def _classes(text: str) -> tuple[int, ...]:
    try:
        classes = tuple(sorted({int(c) for c in text.split(",") if c.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated class indices, got {text!r}") from None
    if not classes or min(classes) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative class indices, got {text!r}")
    return classes


def _in_features(dataset: str, shape) -> int:
    return int(shape[0]) if dataset == "nmnist" else int(np.prod(shape))


def _checked_views(flag: str, views) -> int:
    """``views`` given with ``flag``, or SystemExit naming both unless 1..5 (:func:`check_views`)."""
    try:
        return check_views(views)
    except ValueError as err:
        raise SystemExit(f"{flag}: {err}") from None


def _require_images(flag: str, views: int, dataset: str, shape) -> None:
    """SystemExit unless ``views`` is 1 or ``dataset``'s samples are images of ``shape`` (views move images)."""
    if views > 1 and _in_features(dataset, shape) != int(np.prod(shape)):
        raise SystemExit(f"{flag} {views}: views move images; {dataset} samples are spike trains of shape "
                         f"{tuple(shape)}")


def _config_from_args(args, in_features: int, shape):
    from lava_ff.core.config import FFConfig
    from lava_ff.core.layers import ConvSpec
    from lava_ff.core.neuron import NeuronParams
    from lava_ff.core.rule import ONCHIP_THRESHOLD

    conv = [str(e) for e in args.layers if isinstance(e, ConvSpec)]
    if conv and in_features != int(np.prod(shape)):
        raise SystemExit(f"--layers {','.join(conv)}: a convolution reads images; {args.dataset} samples are "
                         f"spike trains of shape {tuple(shape)}")
    first = args.layers[0] if isinstance(args.layers[0], int) else 1
    theta = args.theta if args.theta is not None else 0.05 * first
    threshold = args.threshold
    if threshold is None:
        threshold = ONCHIP_THRESHOLD if args.backend in ONCHIP_BACKENDS else 1.0
    overlay = args.overlay or ("groups" if conv else "label_neurons")
    return FFConfig.from_layers(
        args.layers, shape, in_features=in_features, time_steps=args.time_steps,
        neuron=NeuronParams(threshold, args.current_decay, args.voltage_decay),
        goodness=args.goodness, theta=theta, loss=args.loss, symba_alpha=args.alpha,
        encoding="spikes" if args.dataset == "nmnist" else args.encoding,
        overlay=overlay, label_repeat=args.label_repeat, rule=args.rule, negatives=args.negatives, lr=args.adam_lr,
        three_factor_lr=args.rule_lr, seed=args.seed, blocks=args.blocks, schedule=args.schedule,
        lr_decay=args.lr_decay, block_lr_scale=args.block_lr_scale, block_epochs=args.block_epochs,
        readout_from=args.readout_from, goodness_scope=args.goodness_scope,
    )


def cmd_train(args) -> dict:
    from lava_ff.core.inputs import prepare_inputs
    from lava_ff.offline.distributed import close as close_process_group
    from lava_ff.offline.distributed import from_environment
    from lava_ff.offline.model import default_device
    from lava_ff.offline.train import Trainer, TrainSettings, evaluate_accuracy
    from lava_ff.plots import plot_goodness_histograms, plot_history

    if args.backend == "loihi2":
        require_lava(f"train --backend {args.backend}")
        _require_loihi2()
    if args.backend in ONCHIP_BACKENDS:
        return cmd_train_onchip(args)
    if args.init_from:
        raise SystemExit(f"--init-from {args.init_from}: starts on-chip learning from a trained model "
                         "(--backend lava-float|lava-fixed); offline training starts from random weights "
                         "(--resume continues an offline run)")
    if args.replay:
        raise SystemExit(f"--replay {args.replay}: rehearses old classes in an on-chip continual-learning run "
                         "(--backend lava-float|lava-fixed with --init-from and --train-classes)")
    out = check_output_dir(args.out)
    train, val, test, shape = load_split(args.dataset, args.data, args.seed, time_steps=args.time_steps,
                                         val_size=args.val_size)
    cfg = _config_from_args(args, _in_features(args.dataset, shape), shape)
    parallel = from_environment(default_device())  # torchrun's ranks; None in one process
    classes = _check_classes(args.train_classes, cfg.num_classes)
    if classes:  # the old classes a continual-learning run starts from
        train, val = _class_subset(train, classes), _class_subset(val, classes)
    if args.limit:
        train, test = train.subset(slice(0, args.limit)), test.subset(slice(0, args.limit))
    trainer = Trainer(cfg, TrainSettings(epochs=args.epochs, batch_size=args.batch_size,
                                         progress=not args.no_progress, patience=args.patience,
                                         epoch_log="json" if args.json else "text",
                                         shift=args.shift, rotate=args.rotate, zoom=args.zoom,
                                         readout_every=args.readout_every,
                                         readout_epochs=args.readout_epochs), out_dir=out, parallel=parallel)
    if args.resume:
        if not trainer.resume():
            raise SystemExit(f"--resume: no checkpoint at {trainer.checkpoint_path}")
        print(f"resumed from {trainer.checkpoint_path} after epoch {trainer.epoch}", file=sys.stderr)
    elif trainer.checkpoint_path.exists():
        raise SystemExit(f"{trainer.checkpoint_path} exists: pass --resume to continue it, or "
                         "choose another --out")
    try:
        trainer.fit(train.images, train.labels, val.images, val.labels, shape)
    except KeyboardInterrupt:
        if not trainer.writes:
            raise SystemExit(130) from None
        if trainer.checkpoint_path.is_file():
            print(f"\ninterrupted: the last completed epoch ({trainer.epoch}) is saved in "
                  f"{trainer.checkpoint_path}; rerun with --resume to continue", file=sys.stderr)
        else:
            print(f"\ninterrupted before the first epoch finished: nothing was saved ({trainer.checkpoint_path} "
                  "was not written); rerun the same command without --resume", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        close_process_group()
    if not trainer.writes:  # rank 0 measures and writes; the other ranks are done
        return {}
    last = trainer.history[-1]
    metrics = {
        "dataset": args.dataset, "data": args.data, "limit": args.limit, "val_size": args.val_size,
        "test_accuracy": None, "test_accuracy_readout": None, "test_accuracy_combined": None, "test": None,
        "val_accuracy": last["val_goodness"],
        "val_accuracy_readout": last["val_readout"],
        "train_seconds": trainer.train_seconds,
        "samples_per_second": trainer.samples_seen / max(trainer.train_seconds, 1e-9),
        "epochs": trainer.epoch,
        "history": trainer.history,
        "config": cfg.to_dict(),
        # how it was trained: epochs, batch, augmentation (shift, rotate, zoom), readout schedule
        "train_settings": dataclasses.asdict(trainer.settings),
        "train_classes": list(classes) if classes else None,
    }
    write_json(out / "metrics.json", metrics)  # the training figures, before the test split is measured
    write_history_csv(trainer.history, out / "history.csv")
    try:
        test_x = prepare_inputs(test.images, cfg)
        test_acc = evaluate_accuracy(trainer.net, test_x, test.labels)
        metrics.update(test_accuracy=test_acc["goodness"], test_accuracy_readout=test_acc["readout"],
                       test_accuracy_combined=test_acc["combined"], test=test_acc)
        if classes:
            metrics["test_classes"] = _class_split_accuracy(trainer.net, test_x, np.asarray(test.labels), classes,
                                                            names=("trained_classes", "other_classes"))
        write_json(out / "metrics.json", metrics)
        plot_history(trainer.history, out / "training_curves.png", title=_plot_title(args, out))
        n = min(1000, len(val))
        g_pos, g_neg = trainer.goodness_samples(val.images[:n], val.labels[:n], shape)
        plot_goodness_histograms(g_pos, g_neg, cfg.theta, out / "goodness_histograms.png",
                                 title=_plot_title(args, out))
    except KeyboardInterrupt:
        done = "with its test figures" if metrics["test"] is not None else "without test figures (not measured)"
        print(f"\ninterrupted after training: the model is saved in {trainer.checkpoint_path} and its metrics "
              f"in {out / 'metrics.json'} {done}; lava-ff evaluate --model {out} measures the test split",
              file=sys.stderr)
        raise SystemExit(130) from None
    print(json.dumps({k: metrics[k] for k in ("dataset", "test_accuracy", "test_accuracy_readout",
                                               "val_accuracy", "train_seconds",
                                               "samples_per_second")}))
    print(f"wrote {out / 'metrics.json'}, {out / 'history.csv'}, {out / 'training_curves.png'}, "
          f"{out / 'goodness_histograms.png'}", file=sys.stderr)
    return metrics


def _check_classes(classes, num_classes: int):
    """``--train-classes``, checked against the data set's classes."""
    if classes and max(classes) >= num_classes:
        raise SystemExit(f"--train-classes {','.join(map(str, classes))}: outside the {num_classes} classes "
                         f"0-{num_classes - 1}")
    return classes


def _class_subset(split, classes, replay: int = 0, seed: int = 0):
    """The samples of ``split`` whose label is in ``classes``, and ``replay``
    of the others drawn at random (``seed``), in the split's order."""
    inside = np.isin(split.labels, classes)
    keep = np.flatnonzero(inside)
    if replay:
        others = np.flatnonzero(~inside)
        if replay > len(others):
            raise SystemExit(f"--replay {replay}: the training split has only {len(others)} images of the "
                             "other classes")
        keep = np.sort(np.concatenate([keep, np.random.default_rng(seed).choice(others, replay, replace=False)]))
    return split.subset(keep)


def _class_split_accuracy(net, x, y, classes, names=("new_classes", "old_classes")) -> dict:
    """Accuracy on all of ``x``, on ``classes`` and on the rest, keyed
    ``"all"`` and ``names`` (on chip: the new classes and the old ones)."""
    from lava_ff.offline.train import evaluate_accuracy

    out = {"all": evaluate_accuracy(net, x, y)}
    if classes:
        inside = np.isin(y, classes)
        for key, mask in zip(names, (inside, ~inside), strict=True):
            if mask.any():
                out[key] = evaluate_accuracy(net, x[mask], y[mask])
    return out


#: on-chip options a run's metrics.json records under "onchip_options" (the rule's own are under "rule")
ONCHIP_RECORDED = ("onchip_rule_lr_decay", "onchip_views", "onchip_readout_epochs", "onchip_readout_lr",
                   "onchip_readout_lr_decay", "onchip_readout_views", "onchip_readout_scale", "samples_per_run",
                   "samples_per_step", "init_from", "threshold")


def cmd_train_onchip(args) -> dict:
    """On-chip FF learning in Lava's simulator; writes a model ``evaluate``/``export`` take."""
    from lava_ff.core.clock import check_samples_per_step
    from lava_ff.core.errors import ConfigError
    from lava_ff.core.inputs import prepare_inputs
    from lava_ff.core.neuron import quantize_neuron
    from lava_ff.core.rule import ONCHIP_THRESHOLD, FFLearningRule
    from lava_ff.offline.train import Trainer, TrainSettings, save_checkpoint
    from lava_ff.onchip.fit import ONCHIP_STATE, initial_weights, onchip_fit, onchip_network, to_onchip_threshold
    from lava_ff.plots import plot_goodness_histograms, plot_history

    tag = BACKENDS[args.backend]
    out = check_output_dir(args.out)
    # the library's rules, asked before any data is loaded
    check_onchip_options(loss=args.loss, schedule=args.schedule, lr_decay=args.lr_decay,
                         block_lr_scale=args.block_lr_scale, negatives=args.negatives, goodness=args.goodness,
                         shift=args.shift, rotate=args.rotate, zoom=args.zoom, layers=args.layers,
                         overlay=args.overlay)
    check_positive_float("--onchip-readout-scale", args.onchip_readout_scale)
    try:
        check_samples_per_step(args.samples_per_step, args.lava_messages, args.samples_per_run)
    except ConfigError as err:
        raise SystemExit(f"--samples-per-step: {err}") from None
    _checked_views("--onchip-views", args.onchip_views)
    _checked_views("--onchip-readout-views", args.onchip_readout_views)
    if args.onchip_readout_views > 1 and not args.onchip_readout_epochs:
        raise SystemExit(f"--onchip-readout-views {args.onchip_readout_views}: the views are those of the "
                         "readout learned on chip; add --onchip-readout-epochs N")
    if (out / ONCHIP_STATE).exists() and not args.resume:
        raise SystemExit(f"{out / ONCHIP_STATE} exists: pass --resume to continue it, or choose another --out")
    rule = FFLearningRule(learning_rate=args.onchip_rule_lr, pre_trace_tau=args.pre_trace_tau,
                          pre_trace_impulse=args.pre_trace_impulse)
    # every epoch's and readout pass's rule up front: a rate that underflows by the last one fails before any work
    rule.schedule(args.onchip_rule_lr_decay, args.epochs, name="--onchip-rule-lr-decay")
    readout_rules = FFLearningRule(learning_rate=args.onchip_readout_lr, pre_trace_tau=args.pre_trace_tau,
                                   pre_trace_impulse=args.pre_trace_impulse).schedule(
        args.onchip_readout_lr_decay, args.onchip_readout_epochs, name="--onchip-readout-lr-decay")
    require_lava(f"train --backend {args.backend}")  # every option checked; nothing loaded yet
    if args.init_from:
        from lava_ff.artifacts import load_trained  # torch: loaded by the commands that need it

        base = load_trained(args.init_from)
        # an offline model (threshold 1) moves to the on-chip scale; an on-chip one keeps its own
        threshold = args.threshold if args.threshold is not None else max(base.config.neuron.threshold,
                                                                          ONCHIP_THRESHOLD)
        try:
            cfg, start, neuron, clipped = to_onchip_threshold(base, threshold)
        except ValueError as err:
            raise SystemExit(f"--threshold: {err}") from None
        print(f"--init-from {args.init_from}: neuron threshold {base.config.neuron.threshold:g} -> {threshold:g}, "
              f"weights scaled with it ({clipped:.3%} clipped to the 8-bit range)", file=sys.stderr)
        # the on-chip run picks its own negatives (the offline model's may be hybrid images)
        cfg = dataclasses.replace(cfg, negatives=args.negatives)
        init = {"model": args.init_from, "threshold": base.config.neuron.threshold, "clipped": clipped}
    else:
        base = None
    train, val, test, shape = load_split(args.dataset, args.data, args.seed, val_size=args.val_size,
                                         time_steps=base.config.time_steps if base else args.time_steps)
    for flag, views in (("--onchip-views", args.onchip_views), ("--onchip-readout-views", args.onchip_readout_views)):
        _require_images(flag, views, args.dataset, shape)  # before any pass
    if base is None:
        cfg = _config_from_args(args, _in_features(args.dataset, shape), shape)
        start, neuron, init = initial_weights(cfg), quantize_neuron(cfg.neuron), None
    elif _in_features(args.dataset, shape) != cfg.in_features:
        raise SystemExit(f"--init-from model expects {cfg.in_features} input features but {args.dataset} "
                         f"samples have {_in_features(args.dataset, shape)}")
    classes = _check_classes(args.train_classes, cfg.num_classes)
    if args.replay and not classes:
        raise SystemExit(f"--replay {args.replay}: replays old classes while --train-classes names the new "
                         "ones; without --train-classes every class is learned already")
    if classes:
        train = _class_subset(train, classes, replay=args.replay, seed=args.seed)
        if not args.replay:  # with replay the run learns every class, and validation covers them all
            val = _class_subset(val, classes)
    if args.limit:
        train, test = train.subset(slice(0, args.limit)), test.subset(slice(0, args.limit))
    train_x, val_x = prepare_inputs(train.images, cfg), prepare_inputs(val.images, cfg)
    test_x, test_y = prepare_inputs(test.images, cfg), np.asarray(test.labels)
    before = None  # from scratch: the untrained network, not measured
    if base is not None:  # continual learning: what the model it starts from scores
        start_net = onchip_network(cfg, start, neuron)
        start_net.readout.load_state_dict(base.readout.state_dict())  # the offline model's hidden rates and readout
        before = _class_split_accuracy(start_net, test_x, test_y, classes)
    try:
        run = onchip_fit(cfg, start, neuron, rule, train_x, np.asarray(train.labels), tag=tag,
                         epochs=args.epochs, out_dir=out, val_x=val_x, val_y=np.asarray(val.labels),
                         resume=args.resume, samples_per_run=args.samples_per_run,
                         progress=not args.no_progress, seed=args.seed, rate_decay=args.onchip_rule_lr_decay,
                         messages=args.lava_messages, samples_per_step=args.samples_per_step,
                         views=args.onchip_views, image_shape=tuple(shape) if args.onchip_views > 1 else None)
    except KeyboardInterrupt:
        _interrupted(out / ONCHIP_STATE, "the weights")
    net = onchip_network(cfg, run["weights"], neuron)
    trainer = Trainer(net.config, TrainSettings(epochs=max(run["history"][-1]["epoch"], 1),
                                                progress=not args.no_progress, readout_epochs=args.readout_epochs),
                      out_dir=out)
    trainer.net.load_state_dict(net.state_dict())
    trainer.train_readout(train_x, np.asarray(train.labels))  # host-side readout on the learned features
    val_readout = float(np.mean(trainer.net.predict(val_x, "readout") == np.asarray(val.labels))) if len(val) else None
    trainer.epoch, trainer.history = run["history"][-1]["epoch"], run["history"]
    trainer.train_seconds, trainer.samples_seen = run["train_seconds"], len(train_x) * args.epochs
    save_checkpoint(trainer.checkpoint_path, trainer.state())
    after = _class_split_accuracy(trainer.net, test_x, test_y, classes)
    onchip_readout = _onchip_readout(args, cfg, run["weights"], neuron, readout_rules, tag, out, train_x,
                                     np.asarray(train.labels), val_x, np.asarray(val.labels), test_x, test_y,
                                     shape)
    last = run["history"][-1]
    metrics = {
        "dataset": args.dataset, "data": args.data, "limit": args.limit, "val_size": args.val_size,
        "backend": args.backend, "tag": tag,
        "test_accuracy": after["all"]["goodness"], "test_accuracy_readout": after["all"]["readout"],
        "test": after, "test_before_onchip": before,
        "val_accuracy": last.get("val_goodness"), "val_accuracy_readout": val_readout,
        "train_seconds": run["train_seconds"], "samples_per_second": run["samples_per_second"],
        "weight_updates": run["weight_updates"], "train_samples": len(train_x), "epochs": args.epochs,
        "train_classes": list(classes) if classes else None, "replay": args.replay, "init_from": init,
        "rule": rule.to_dict(), "history": run["history"], "config": cfg.to_dict(),
        "lava_messages": args.lava_messages,
        "readout": "host-trained softmax on the on-chip-learned features", "readout_epochs": args.readout_epochs,
        "test_accuracy_onchip_readout": onchip_readout and onchip_readout["test_accuracy"],
        "val_accuracy_onchip_readout": onchip_readout and onchip_readout["val_accuracy"],
        "test_accuracy_onchip_combined": onchip_readout and onchip_readout["test_accuracy_combined"],
        "onchip_readout": onchip_readout,
        # the rest of the on-chip options, by their flag names, so that --config metrics.json repeats the run
        "onchip_options": {k: getattr(args, k) for k in ONCHIP_RECORDED},
    }
    write_json(out / "metrics.json", metrics)
    write_history_csv(run["history"], out / "history.csv")
    plot_history(run["history"], out / "training_curves.png", title=_plot_title(args, out))
    n = min(1000, len(val))
    g_pos, g_neg = trainer.goodness_samples(val.images[:n], val.labels[:n], shape)
    plot_goodness_histograms(g_pos, g_neg, cfg.theta, out / "goodness_histograms.png",
                                 title=_plot_title(args, out))
    print(json.dumps({k: metrics[k] for k in ("dataset", "backend", "test_accuracy", "test_accuracy_readout",
                                               "test_accuracy_onchip_readout", "test_accuracy_onchip_combined",
                                               "val_accuracy", "train_seconds",
                                               "samples_per_second", "weight_updates")}))
    print(f"wrote {out / 'metrics.json'}, {out / 'history.csv'}, {out / 'checkpoint.pt'}, "
          f"{out / 'training_curves.png'}, {out / 'goodness_histograms.png'}", file=sys.stderr)
    return metrics


def _onchip_readout(args, cfg, weights, neuron, rules, tag, out, train_x, train_y, val_x, val_y, test_x,
                    test_y, image_shape) -> dict | None:
    """``--onchip-readout-epochs`` passes of on-chip readout learning on the
    learned FF ``weights`` (resumed where a state of the same FF weights
    exists, restarted where they changed; on ``--onchip-readout-views``
    views of the images of ``image_shape``); its figures (summed over those
    views, and with one view where there are several), and its weights in
    ``OUT/onchip_readout.npy``. None without those passes."""
    from lava_ff.onchip.fit import (
        ONCHIP_READOUT_STATE,
        ONCHIP_STATE,
        ReadoutTask,
        onchip_fit,
        onchip_readout_predictions,
    )

    if not rules:
        return None
    views = args.onchip_readout_views
    task = ReadoutTask(tuple(weights), args.onchip_readout_scale, views=views,
                       image_shape=tuple(image_shape) if views > 1 else None)
    state = out / ONCHIP_READOUT_STATE
    resume = args.resume and task.resumable(state, cfg)
    if state.exists() and not resume:
        print(f"{state}: a readout of other FF weights (or no --resume); learning the readout anew",
              file=sys.stderr)
    start = [np.zeros((cfg.num_classes, cfg.readout_features), np.int32)]
    try:
        run = onchip_fit(cfg, start, neuron, rules[0], train_x, train_y, tag=tag, epochs=len(rules), out_dir=out,
                         val_x=val_x, val_y=val_y, resume=resume, samples_per_run=args.samples_per_run,
                         progress=not args.no_progress, seed=args.seed, rate_decay=args.onchip_readout_lr_decay,
                         messages=args.lava_messages, readout=task, samples_per_step=args.samples_per_step)
    except KeyboardInterrupt:
        _interrupted(state, "the readout", kept=f"the FF passes are saved in {out / ONCHIP_STATE}; --resume "
                                                  "continues with the on-chip readout")
    learned = run["weights"][0]
    np.save(out / "onchip_readout.npy", learned)
    figures = {}
    for suffix, count in (("", views), ("_one_view", 1)) if views > 1 else (("", 1),):
        predicted = onchip_readout_predictions(cfg, task.deployed(), neuron, learned, test_x,
                                               logit_scale=args.onchip_readout_scale, views=count,
                                               image_shape=task.image_shape)
        figures[f"test_accuracy{suffix}"] = float(np.mean(predicted[:, 0] == test_y))
        figures[f"test_accuracy_combined{suffix}"] = float(np.mean(predicted[:, 1] == test_y))
    return {**figures, "views": views,
            "val_accuracy": run["history"][-1].get("val_onchip_readout"), "epochs": len(rules),
            "rules": [r.to_dict() for r in rules], "logit_scale": args.onchip_readout_scale,
            "history": run["history"], "train_seconds": run["train_seconds"],
            "samples_per_second": run["samples_per_second"], "weight_updates": run["weight_updates"],
            "weights": str(out / "onchip_readout.npy")}


def _plot_title(args, out: Path) -> str:
    """What a saved plot is of: the data set, the run's folder and where it learned."""
    where = "offline" if args.backend == "torch" else f"on chip, {args.backend}"
    return f"{args.dataset} · {out.name} ({where})"


def _interrupted(state: Path, what: str, kept: str | None = None) -> None:
    """Say what an interrupted on-chip run saved (only what it did save), and stop with status 130.
    ``kept``: what earlier stages of the run saved, said where this stage saved nothing."""
    if state.is_file():
        print(f"\ninterrupted: {what} after the last completed chunk of samples are saved in {state}; "
              "--resume continues the run, restarting an unfinished pass from its beginning so that it "
              "learns what an uninterrupted run learns", file=sys.stderr)
    elif kept:
        print(f"\ninterrupted before the first chunk of samples finished: nothing of {what} was saved ({state} "
              f"was not written); {kept}", file=sys.stderr)
    else:
        print(f"\ninterrupted before the first chunk of samples finished: nothing was saved ({state} was not "
              "written); rerun the same command without --resume", file=sys.stderr)
    raise SystemExit(130) from None


BACKENDS = {"torch": None, "lava-float": "floating_pt", "lava-fixed": "fixed_pt",
            "netx-fixed": "fixed_pt", "loihi2": "loihi2"}
#: the on-chip learning backends of `train` (Lava's learning engine in the simulator)
ONCHIP_BACKENDS = ("lava-float", "lava-fixed")


def summarise_predictions(predictions: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> dict:
    """Accuracy and agreement with the torch ``reference``, per prediction column."""
    from lava_ff.core.config import PREDICTION_COLUMNS

    return {
        "accuracy": {c: float((predictions[:, i] == labels).mean()) for i, c in enumerate(PREDICTION_COLUMNS)},
        "agreement_with_torch": {c: float((predictions[:, i] == reference[:, i]).mean())
                                 for i, c in enumerate(PREDICTION_COLUMNS)},
    }


def _require_loihi2() -> None:
    """Stop before any work when Loihi 2 (lava-loihi) is not available."""
    from lava_ff.netx_export.run import run_config

    try:
        run_config("loihi2")
    except RuntimeError as err:
        raise SystemExit(f"lava-ff: {err}") from None


def _model_splits(args, model, dataset: str):
    """``(train, val, test, shape)`` of ``dataset`` for a trained ``model``:
    the folder and validation size its run recorded unless ``--data`` and
    ``--val-size`` say otherwise, refused where the model reads another
    number of input features."""
    folder = args.data
    if folder is None and dataset == model.record.get("dataset"):  # the folder the run read its data set from
        folder = model.record.get("data")
    val_size = args.val_size if args.val_size is not None else model.record.get("val_size")  # the run's split
    train, val, test, shape = load_split(dataset, folder, args.seed, time_steps=model.config.time_steps,
                                         val_size=val_size)
    if _in_features(dataset, shape) != model.config.in_features:
        raise SystemExit(f"model expects {model.config.in_features} input features but {dataset} "
                         f"samples have {_in_features(dataset, shape)}")
    return train, val, test, shape


def cmd_evaluate(args) -> dict:
    from lava_ff.api import evaluate, load

    views = None if args.views is None else _checked_views("--views", args.views)
    if args.backend != "torch":
        require_lava(f"evaluate --backend {args.backend}")
    if args.backend == "loihi2":
        _require_loihi2()
    model = load(args.model)
    cfg = model.config
    recorded = model.record.get("dataset")
    dataset = args.dataset or recorded or "digits"
    source = "--dataset" if args.dataset else "recorded by the run" if recorded else "default: the model records none"
    used_views = model.spec.views if views is None else views
    print(f"evaluate: data set {dataset} ({source}), views {used_views} "
          f"({'--views' if views is not None else 'the model'}'s), time steps {cfg.time_steps} (the model's)",
          file=sys.stderr)
    args.dataset = dataset
    _, val, test, shape = _model_splits(args, model, dataset)
    if args.split == "val":  # the training run's validation split (the same --seed): for choosing, not reporting
        test = val
    _require_images("--views", model.spec.views if views is None else views, args.dataset, shape)
    if args.limit:
        test = test.subset(slice(0, args.limit))
    done = evaluate(model, test, backend=args.backend, views=views, classify=args.classify, batch=args.batch,
                    progress=not args.no_progress)
    result = {"backend": args.backend, "split": args.split, "samples": done.samples, "views": done.views,
              "classify": done.classify, "batch": done.batch, "samples_per_second": done.samples_per_second,
              **{f"{key}_per_image": value for key, value in done.cost.items()}, **done.details}
    for name in PREDICTION_COLUMNS:
        if name not in done.accuracy:
            continue
        suffix = "" if name == "goodness" else f"_{name}"
        result[f"accuracy{suffix}"] = done.accuracy[name]
        result[f"agreement_with_torch{suffix}"] = 1.0 if done.agreement_with_torch is None \
            else done.agreement_with_torch[name]
    if "classifier" in done.accuracy:  # a netx file's own output neurons (export --classifier)
        result["accuracy_classifier"] = done.accuracy["classifier"]
    for name in ("readout", "combined"):  # a readout learned on chip (--onchip-readout-epochs): what it predicts
        column = f"onchip_{name}"
        if column in done.accuracy:
            result[f"accuracy_{column}"] = done.accuracy[column]
            if done.agreement_with_torch is not None:  # Lava (its own Processes or netx) against the host
                result[f"agreement_{column}_with_host"] = done.agreement_with_torch[column]
    print(json.dumps(result))
    return result


def cmd_export(args) -> dict:
    from lava_ff.api import evaluate, export, export_format, fit_readout, load
    from lava_ff.artifacts import NIR_SUFFIXES, load_file, trained_spec

    result = {}
    export_format(args.out, args.format, classifier=args.classifier)  # refused before --readout-from learns
    if args.readout_from is not None:  # learn the readout anew on the run's own training split
        model = load(args.model)
        split = model.recorded_dataset()
        if split is None:
            raise SystemExit(f"--readout-from learns the readout on the run's training split, and "
                             f"{args.model} records no data set and folder (a run folder of lava-ff train has them)")
        model = fit_readout(model, split, readout_from=args.readout_from, progress=not args.no_progress)
        val = evaluate(model, split, split="val", classify="readout", progress=False)
        result.update(readout_from=args.readout_from, val_accuracy_readout=val.accuracy["readout"])
        spec = model.spec
    else:
        spec = trained_spec(args.model)
    path = export(spec, args.out, format=args.format, classifier=args.classifier)
    spec = load_file(path)  # read back: the file is what netx (or a NIR reader) will see
    kind = "nir" if path.suffix in NIR_SUFFIXES else "netx"  # export made suffix and format agree
    result = {f"{kind}_file": str(path), "layers": [int(w.shape[0]) for w in spec.weights],
              "input_size": int(spec.weights[0].shape[1]), "time_steps": spec.config.time_steps,
              "classifier": bool(args.classifier), "onchip_readout": spec.onchip_readout is not None,
              "bytes": path.stat().st_size, **result}
    print(json.dumps(result))
    return result


def cmd_inspect(args) -> dict:
    """The Loihi 2 budget of a trained network: resources, and activity per
    inference and per learning sample counted on the data set it recorded."""
    from lava_ff.api import Dataset, load
    from lava_ff.inspection import inspect

    if args.out is not None and Path(args.out).suffix != ".json":
        raise SystemExit(f"--out {args.out}: the report is written as JSON; give a .json file")
    model = load(args.model)
    data = None
    dataset = args.dataset or model.record.get("dataset")
    if dataset is not None and not args.resources_only:
        train, val, test, shape = _model_splits(args, model, dataset)
        data = Dataset(dataset, train, val, test, tuple(int(s) for s in shape))
    found = inspect(model, data, split=args.split, limit=args.limit, learning_samples=args.learning_samples,
                    seed=args.seed, measure=not args.resources_only, progress=not args.no_progress)
    result = found.to_dict()
    if args.out is not None:
        write_json(Path(args.out), result)
    print(json.dumps(result) if args.json else found.report())
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    return result


def cmd_demo(args) -> dict:
    """The main job end to end: train offline, run the same network in Lava
    fixed_pt, export it to netx, run the netx file in Lava; a table at the end."""
    from lava_ff.api import evaluate, export, load

    start = time.perf_counter()
    out = check_output_dir(args.out)
    if args.data:  # MNIST: the folder itself, or its mnist/ (as in ../shared/data)
        folder = Path(args.data)
        folder = folder / "mnist" if (folder / "mnist").is_dir() else folder
        dataset, layers, epochs, limit, lava_samples, netx_samples = "mnist", (500, 500), 1, 10000, 300, 20
        data_flags = ["--dataset", "mnist", "--data", str(folder), "--limit", str(limit)]
    else:
        dataset, layers, epochs, lava_samples, netx_samples = "digits", (200, 200), 6, 360, 30
        data_flags = ["--dataset", "digits"]
    lava = lava_installed()
    print(f"lava-ff demo: Forward-Forward on {dataset}, layers {layers}, {epochs} epoch(s); outputs in {out}",
          file=sys.stderr)
    if not lava:
        print("lava-ff demo: Lava is not installed here, so the two Lava steps are left out "
              f"({LAVA_EXTRA} to run them)", file=sys.stderr)
    steps = 4 if lava else 2
    (out / "checkpoint.pt").unlink(missing_ok=True)  # the demo always starts fresh
    print(f"\n1/{steps} offline training (torch, layer by layer)", file=sys.stderr)
    metrics = cmd_train(build_parser().parse_args(["train", *data_flags, "--out", str(out), "--layers",
                                                   ",".join(map(str, layers)), "--epochs", str(epochs),
                                                   "--batch-size", "50", *(["--no-progress"] if args.no_progress
                                                                           else [])]))
    _, _, test, _ = load_split(dataset, str(folder) if args.data else None, 0)
    model = load(out)
    rows = [("offline (torch), test split", f"{metrics['test_accuracy']:.2%} goodness, "
                                            f"{metrics['test_accuracy_readout']:.2%} readout")]
    runs = {}
    if lava:
        print(f"\n2/{steps} the same network as lava-ff's Processes in Lava fixed_pt ({lava_samples} test images)",
              file=sys.stderr)
        done = runs["lava_fixed"] = evaluate(model, test.subset(slice(0, lava_samples)), backend="lava-fixed",
                                             progress=not args.no_progress)
        rows.append((f"Lava fixed_pt, {done.samples} images",
                     f"{done.accuracy['goodness']:.2%} goodness, agreement with torch "
                     f"{done.agreement_with_torch['goodness']:.0%}"))
    print(f"\n{3 if lava else 2}/{steps} export to netx HDF5 and NIR", file=sys.stderr)
    path, nir_path = export(model, out / "model.net"), export(model, out / "model.nir")
    if lava:
        print(f"\n4/{steps} the netx file through lava-dl's netx.hdf5.Network in Lava fixed_pt "
              f"({netx_samples} test images)", file=sys.stderr)
        done = runs["netx_fixed"] = evaluate(load(path), test.subset(slice(0, netx_samples)), backend="netx-fixed",
                                             progress=not args.no_progress)
        rows.append((f"netx file in Lava, {done.samples} images",
                     f"{done.accuracy['goodness']:.2%} goodness, agreement with torch "
                     f"{done.agreement_with_torch['goodness']:.0%}"))
    rows += [("wrote", f"{out / 'metrics.json'}, {out / 'history.csv'}, {out / 'checkpoint.pt'}"),
             ("", f"{out / 'training_curves.png'}, {out / 'goodness_histograms.png'}"),
             ("", f"{path} ({path.stat().st_size / 1e6:.1f} MB), {nir_path} ({nir_path.stat().st_size / 1e6:.1f} MB)"),
             ("time", f"{time.perf_counter() - start:.0f} s")]
    width = max(len(name) for name, _ in rows)
    print("\nlava-ff demo: " + dataset)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    result = {"dataset": dataset, "test_accuracy": metrics["test_accuracy"], "netx_file": str(path),
              "nir_file": str(nir_path)}
    for name, done in runs.items():  # lava_fixed, netx_fixed: where Lava is installed
        result[name], result[name.split("_")[0] + "_agreement"] = done.accuracy, done.agreement_with_torch
    return result


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default, unless the help names it already."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or not action.option_strings or "default" in text.lower():
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse with short errors: one usage line and ``lava-ff: error: ...``, exit status 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("usage", "%(prog)s [options]")
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"usage: {self.prog} [options]  ({self.prog} --help lists them)\nlava-ff: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lava-ff", usage="%(prog)s {train,evaluate,export,inspect,demo} [options]",
                     description=__doc__)
    parser.add_argument("--version", action="version", version=f"lava-ff {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", prog="lava-ff train",
                             help="train an FF network, offline (torch) or on chip (Lava's learning engine)")
    _add_common(p_train)
    _add_train_options(p_train)
    p_train.set_defaults(func=cmd_train)
    p_eval = sub.add_parser("evaluate", prog="lava-ff evaluate", help="evaluate a trained model on a test split")
    _add_common(p_eval)
    p_eval.set_defaults(dataset=None)  # the data set the run recorded, else digits
    p_eval.add_argument("--model", required=True, help="training folder, checkpoint.pt or netx .net file")
    p_eval.add_argument("--backend", choices=list(BACKENDS), default="torch",
                        help="torch (offline model); lava-float / lava-fixed (lava-ff's FF Processes in "
                             "the CPU simulator, floating_pt / fixed_pt); netx-fixed (the "
                             "exported netx HDF5 network loaded by lava-dl's netx, goodness readout "
                             "attached; netx has integer models only); loihi2 (netx on Loihi 2 via "
                             "Loihi2HwCfg; needs lava-loihi). "
                             "Prints accuracy, agreement_with_torch and samples_per_second")
    p_eval.add_argument("--split", choices=("test", "val"), default="test",
                        help="test (default), or val: the validation split the training run held out (the same "
                             "--seed), to choose between models or --views without looking at the test split")
    p_eval.add_argument("--views", type=int, default=None, metavar="V",
                        help="classify every image by the sum of its first V views' scores (the image, then "
                             "one pixel up, down, left, right; V from 1 to 5): each view is a window of its "
                             "own in Lava and netx, so V views take V times as long (default: the model's, "
                             "the views its on-chip readout learned on (--onchip-readout-views), else 1)")
    p_eval.add_argument("--classify", choices=CLASSIFY_MODES, default=CLASSIFY_MODES[0],
                        help="combined (default): every candidate label's window and the neutral one, all "
                             "accuracy columns; goodness: one window per candidate label; readout: one "
                             "window per image, the neutral label's, through the linear readout (a tenth "
                             "of the work for ten classes). Prints windows, spikes and synops per image")
    p_eval.add_argument("--batch", type=_positive_int, default=None, metavar="B",
                        help="lava-float / lava-fixed: B images side by side in every window, the same "
                             "predictions in fewer simulator steps (default: as many as make "
                             f"{LAVA_BATCH_COPIES} copies, {LAVA_BATCH_COPIES} images when classifying by readout)")
    p_eval.add_argument("--no-progress", action="store_true", help="no progress bars")
    p_eval.set_defaults(func=cmd_evaluate)
    p_export = sub.add_parser("export", prog="lava-ff export",
                              help="export a trained model as a netx HDF5 file or a NIR graph")
    p_export.add_argument("--model", required=True, help="training folder, checkpoint.pt, .net or .nir file")
    p_export.add_argument("--out", required=True, help="file to write (e.g. model.net, model.nir)")
    p_export.add_argument("--format", choices=["netx", "nir"], default=None,
                          help="netx (lava-dl's netx.hdf5.Network, Loihi 2) or nir (snnTorch, Norse, Rockpool, "
                               "Sinabs, ...); default: nir for a .nir file, netx otherwise")
    p_export.add_argument("--classifier", action="store_true",
                          help="netx: put the linear readout into the file as its last layer, integer synapses "
                               "onto one integrating neuron per class, so that lava-dl's netx.hdf5.Network "
                               "alone classifies (the neuron with the highest voltage at the end of the window). "
                               "The readout must read the last layer alone: see --readout-from")
    p_export.add_argument("--readout-from", choices=READOUT_FROM, default=None,
                          help="learn the linear readout anew before writing, reading all layers or the last "
                               "alone, on the training split the run recorded (its data set, folder, seed and "
                               "validation size); prints its validation accuracy")
    p_export.add_argument("--no-progress", action="store_true", help="no progress bars")
    p_export.set_defaults(func=cmd_export)
    p_inspect = sub.add_parser("inspect", prog="lava-ff inspect",
                               help="the Loihi 2 budget of a trained network: cores, memory, fan-in, traces, and "
                                    "spikes, synaptic operations, weight updates, energy and latency per inference "
                                    "and per learning sample")
    p_inspect.add_argument("model", help="training folder, checkpoint.pt, netx .net or NIR .nir file")
    _add_common(p_inspect)
    p_inspect.set_defaults(dataset=None)  # the data set the run recorded
    p_inspect.add_argument("--split", choices=("test", "val"), default="test",
                           help="the split inference is counted on (default: test)")
    p_inspect.add_argument("--learning-samples", type=_non_negative_int, default=200, metavar="N",
                           help="training samples whose on-chip learning is counted, two windows each, in the "
                                "numpy reference of Lava's fixed_pt learning engine (default 200; 0: none)")
    p_inspect.add_argument("--resources-only", action="store_true",
                           help="report the layers and the Loihi 2 resources only, counting no activity")
    p_inspect.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    p_inspect.add_argument("--out", default=None, metavar="FILE.json", help="also write the report as JSON")
    p_inspect.add_argument("--no-progress", action="store_true", help="no progress bars")
    p_inspect.set_defaults(func=cmd_inspect)
    p_demo = sub.add_parser("demo", prog="lava-ff demo",
                            help="the main job end to end: train offline, run in Lava fixed_pt, export netx, run it")
    p_demo.add_argument("--out", default="runs/demo", help="output folder of the demo's run")
    p_demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    p_demo.add_argument("--data", default=None, metavar="DIR",
                        help="run on a 10,000-image MNIST slice from DIR (an MNIST folder, or one holding mnist/, "
                             "such as ../shared/data) instead of the digits that ship with scikit-learn")
    p_demo.set_defaults(func=cmd_demo)
    return parser


def _with_config(argv: list[str]) -> list[str]:
    """``train --config FILE ...``: the file's options first, so that the flags given after them override them."""
    if len(argv) < 2 or argv[0] != "train" or not any(a == "--config" or a.startswith("--config=") for a in argv):
        return argv
    from lava_ff.cli.configfile import config_arguments

    rest, path, i = [], None, 1
    while i < len(argv):
        if argv[i] == "--config" and i + 1 < len(argv):
            path, i = argv[i + 1], i + 2
        elif argv[i].startswith("--config="):
            path, i = argv[i].split("=", 1)[1], i + 1
        else:
            rest.append(argv[i])
            i += 1
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    return ["train", *config_arguments(path, train), *rest]


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = _with_config(argv)
    except LavaFFError as err:
        print(f"lava-ff: error: {err}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    from lava_ff.offline.distributed import requested_world_size
    from lava_ff.offline.native import keep_freed_memory

    try:
        world = requested_world_size()
    except LavaFFError as err:
        print(f"lava-ff: error: {err}", file=sys.stderr)
        return 2
    if world > 1 and (args.command != "train" or args.backend != "torch"):
        what = f"--backend {args.backend}" if args.command == "train" else f"lava-ff {args.command}"
        print(f"lava-ff: error: {what} runs in one process (Lava runs on one host); torchrun launched "
              f"{world} (WORLD_SIZE={world}): data-parallel runs are for offline training, lava-ff train "
              "--backend torch", file=sys.stderr)
        return 2

    keep_freed_memory()  # large tensors are reused instead of page-faulted in afresh every step
    try:
        args.func(args)
    except (DatasetError, NetxFormatError, LavaRunError, OSError) as err:
        # A failure: a file that cannot be read or written, a run that failed. The message names it.
        print(f"lava-ff: error: {err}", file=sys.stderr)
        return 1
    except (ValueError, LavaFFError) as err:
        # A usage error: a value or combination lava-ff cannot run; the message names the value.
        print(f"lava-ff: error: {err}", file=sys.stderr)
        return 2
    return 0


def entry(argv=None) -> int:
    """The ``lava-ff`` command: :func:`main`, with its early refusals
    (``SystemExit`` with a message) printed as ``lava-ff: error: ...`` and
    exit status 2, and Ctrl-C as exit status 130."""
    try:
        return main(argv)
    except SystemExit as stop:
        if isinstance(stop.code, str):
            message = stop.code.removeprefix("lava-ff: ").removeprefix("error: ")
            print(f"lava-ff: error: {message}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        print(f"lava-ff: interrupted by {signal.Signals(signum).name}; the Lava run was stopped and nothing "
              "more was written", file=sys.stderr)
        return 128 + signum
