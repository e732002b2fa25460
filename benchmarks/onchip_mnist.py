"""On-chip FF learning on MNIST in Lava's simulator (a benchmark, not a test).

Trains 784(+10)-500-500 (``--layers``) with the on-chip rule (``lava-ff train --backend
lava-fixed``, or ``lava-float``) on the first ``--subset`` training samples
for each subset given (a learning curve), and evaluates the learned network
(weights floored to the deployable 8-bit grid) on the MNIST test set.
Prints one JSON line per subset: test accuracy (goodness, goodness skipping
layer 0, host-trained readout), training samples/s in the simulator, weight
updates, wall time and the rule.

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 1000,3000 --out runs/onchip_v2
    .venv/bin/python benchmarks/onchip_mnist.py --subsets 1000 --backend lava-float --out runs/onchip
    .venv/bin/python benchmarks/onchip_mnist.py --subsets 2000 --init-from runs/bench_surrogate --out runs/onchip

A finished run's folder resumes: ``--epochs 2`` on the folder of a one-pass
run trains the second pass only (how the full split's second pass was run:
``--subsets 60000 --epochs 2 --out runs/onchip_2pass`` on a copy of
``runs/onchip_full``; test 90.6 % goodness / 95.2 % readout, 31.5 samples/s).

Negatives chosen by the weights learned so far, two passes at rate 16 then 8
(the README's on-chip section has the figures):

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 60000 --epochs 2 --onchip-lr-decay 0.5 \
        --negatives mixed --out runs/onchip_mixed

A third pass at rate 4: the same command with ``--epochs 3`` on a copy of
that folder (test 94.12 % by goodness, 96.14 % readout; the step network).
All three passes in one run with window messages (``--lava-messages``,
default ``window``; 32 minutes of training on 2 cores, 83.6 samples/s; test
94.15 % by goodness, 96.28 % readout):

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 60000 --epochs 3 --onchip-lr-decay 0.5 \
        --negatives mixed --out runs/win3

The best measured schedule, five passes from rate 16 down to 4 (decay 2^-1/2;
51 minutes of training on 2 cores, 87.5 samples/s; test 94.92 % by goodness,
96.60 % readout; ``--backend lava-float``: 96.12 / 97.21 %):

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 60000 --epochs 5 --onchip-lr-decay 0.7071 \
        --negatives mixed --out runs/win5

The same on 784-1000-1000 (``--layers``; 45 minutes, 99.3 samples/s; test 95.72 % by goodness,
96.80 % readout; ``--backend lava-float``, 47.4 samples/s: 96.45 / 97.53 %, within 0.73 pp):

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 60000 --epochs 5 --onchip-lr-decay 0.7071 \
        --negatives mixed --layers 1000,1000 --out runs/win5_wide

The same with the readout learned on chip too (``--onchip-readout-epochs 3``: three passes, one
neutral-label window a sample, 189 samples/s, 15 minutes; on the finished folder only the readout
learns): test 96.87 % by the on-chip readout (the host-trained readout 96.83 %), every weight learned
on chip:

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 60000 --epochs 5 --onchip-lr-decay 0.7071 \
        --negatives mixed --layers 1000,1000 --onchip-readout-epochs 3 --out runs/win5_wide

A third layer of 1000 (52-79 minutes, 57-87 samples/s; test 95.23 % by goodness, 97.01-97.04 %
readout, the best fixed-point readout measured; ``--readout-epochs 20`` on a copy of the finished
folder retrains only the readout: 96.95 % readout, 97.08 % combined):

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 60000 --epochs 5 --onchip-lr-decay 0.7071 \
        --negatives mixed --layers 1000,1000,1000 --out runs/win5_deep

With the readout learned on chip over its three layers (``--onchip-readout-epochs 3``; 20 minutes,
135 samples/s): test 96.87 % by the on-chip readout (validation 96.70 %), 97.10 % combined with
goodness (``test_accuracy_onchip_combined``).

The readout learned on views and scored over five (``--onchip-readout-views 5``: each pass shows every
image as one of its five views, the image or moved one pixel; four passes at 32, 16, 8, 4; 47 minutes
with another run on the cores, 76 samples/s): validation 97.40 %, test 97.63 % by the on-chip readout,
the best fully on-chip figures measured (``lava-ff evaluate --split val`` picked it over goodness combined,
96.97 %):

    .venv/bin/python benchmarks/onchip_mnist.py --subsets 60000 --epochs 5 --onchip-lr-decay 0.7071 \
        --negatives mixed --layers 1000,1000,1000 --onchip-readout-epochs 4 --onchip-readout-views 5 --out runs/views
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lava_ff.artifacts import load_trained
from lava_ff.cli.main import main as cli_main
from lava_ff.core.clock import MESSAGES
from lava_ff.core.inputs import LABEL_NEGATIVES, flatten_images
from lava_ff.core.rule import READOUT_LOGIT_SCALE
from lava_ff.datasets import load_mnist
from lava_ff.offline.train import evaluate_accuracy


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--subsets", default="1000", help="comma-separated training-set sizes (learning curve)")
    p.add_argument("--backend", choices=["lava-fixed", "lava-float"], default="lava-fixed")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--test-limit", type=int, default=10000, help="test samples evaluated")
    p.add_argument("--init-from", default=None, help="offline-trained model to continue from")
    # defaults chosen on a validation split (the last 1,000 training images) with the numpy reference,
    # simulate_onchip(rounding="shared"), 2,000 samples: see the README's on-chip section
    p.add_argument("--onchip-lr", type=float, default=16.0)
    p.add_argument("--onchip-lr-decay", type=float, default=1.0, help="epoch e runs at --onchip-lr * this**e")
    p.add_argument("--pre-trace-impulse", type=int, default=16)
    p.add_argument("--layers", default="500,500", help="hidden layer sizes")
    p.add_argument("--theta", type=float, default=5.0)
    p.add_argument("--threshold", type=float, default=32.0, help="neuron threshold (weights scale with it)")
    p.add_argument("--label-repeat", type=int, default=20)
    p.add_argument("--time-steps", type=int, default=10, help="input steps per phase window (T)")
    p.add_argument("--negatives", choices=LABEL_NEGATIVES, default="random",
                   help="each sample's wrong label: random, or chosen by the weights learned so far (hard, "
                        "or hard and random half each: mixed), refreshed every chunk of samples")
    p.add_argument("--lava-messages", choices=MESSAGES, default="window",
                   help="the Lava network's steps: window (default) or step (see lava-ff train --help)")
    p.add_argument("--readout-epochs", type=int, default=3, help="epochs of the host-trained readout")
    p.add_argument("--onchip-readout-epochs", type=int, default=0,
                   help="passes of on-chip readout learning after the FF passes (lava-ff train's; 0: none)")
    p.add_argument("--onchip-readout-lr", type=float, default=32.0, help="its rule's rate")
    p.add_argument("--onchip-readout-lr-decay", type=float, default=0.5,
                   help="readout pass e runs at --onchip-readout-lr * this**e (default 0.5: halved every pass)")
    p.add_argument("--onchip-readout-views", type=int, default=1,
                   help="the readout learns on, and is scored over, this many views of each image (1-5)")
    p.add_argument("--onchip-readout-scale", type=float, default=READOUT_LOGIT_SCALE,
                   help="its logit per unit of W @ rates")
    p.add_argument("--seed", type=int, default=0,
                   help="lava-ff train's seed: validation split, initial weights, sample order, negatives")
    p.add_argument("--out", default="runs/onchip")
    args = p.parse_args(argv)
    test = load_mnist(args.data, "test")
    test = test.subset(np.arange(min(args.test_limit, len(test))))
    x_test, y_test = flatten_images(test.images), np.asarray(test.labels)
    results = []
    for size in (int(s) for s in args.subsets.split(",")):
        out = Path(args.out) / f"{args.backend}_{size}"
        argv_train = ["train", "--dataset", "mnist", "--data", args.data, "--backend", args.backend,
                      "--limit", str(size), "--layers", args.layers, "--epochs", str(args.epochs),
                      "--onchip-lr", str(args.onchip_lr),
                      "--onchip-lr-decay", str(args.onchip_lr_decay),
                      "--pre-trace-impulse", str(args.pre_trace_impulse), "--theta", str(args.theta),
                      "--threshold", str(args.threshold), "--label-repeat", str(args.label_repeat),
                      "--time-steps", str(args.time_steps),
                      "--negatives", args.negatives, "--lava-messages", args.lava_messages,
                      "--seed", str(args.seed), "--readout-epochs", str(args.readout_epochs),
                      "--onchip-readout-epochs", str(args.onchip_readout_epochs),
                      "--onchip-readout-lr", str(args.onchip_readout_lr),
                      "--onchip-readout-lr-decay", str(args.onchip_readout_lr_decay),
                      "--onchip-readout-scale", str(args.onchip_readout_scale),
                      "--onchip-readout-views", str(args.onchip_readout_views),
                      "--out", str(out), "--no-progress"]
        if args.init_from:
            argv_train += ["--init-from", args.init_from]
        if (out / "onchip_state.npz").exists():
            argv_train.append("--resume")
        start = time.perf_counter()
        if cli_main(argv_train) != 0:  # the error is printed; never report an earlier run's metrics.json
            raise SystemExit(f"training {out} failed")
        wall = time.perf_counter() - start
        metrics = json.loads((out / "metrics.json").read_text())
        accuracy = evaluate_accuracy(load_trained(str(out)), x_test, y_test)
        result = {"benchmark": "onchip_mnist", "backend": args.backend, "train_samples": metrics["train_samples"],
                  "epochs": args.epochs, "test_samples": len(x_test), "test_accuracy": accuracy,
                  "samples_per_second": metrics["samples_per_second"],
                  "weight_updates": metrics["weight_updates"], "train_seconds": metrics["train_seconds"],
                  "wall_seconds": wall, "init_from": args.init_from, "seed": args.seed, "rule": metrics["rule"],
                  "learning_rates": [r["learning_rate"] for r in metrics["history"]],
                  "theta": metrics["config"]["theta"], "layers": metrics["config"]["layer_sizes"],
                  "threshold": metrics["config"]["neuron"]["threshold"],
                  "label_repeat": metrics["config"]["label_repeat"],
                  "time_steps": metrics["config"]["time_steps"], "negatives": metrics["config"]["negatives"],
                  "lava_messages": metrics["lava_messages"], "readout_epochs": args.readout_epochs,
                  # the readout learned on chip (None without --onchip-readout-epochs): accuracy, speed, rules
                  "test_accuracy_onchip_readout": metrics.get("test_accuracy_onchip_readout"),
                  "test_accuracy_onchip_combined": metrics.get("test_accuracy_onchip_combined"),
                  "onchip_readout": metrics.get("onchip_readout")}
        print(json.dumps(result), flush=True)
        results.append(result)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"onchip_mnist_{args.backend}.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
