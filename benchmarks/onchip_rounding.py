"""Where does fixed-point on-chip learning lose to float? (a benchmark, not a test)

Runs the numpy reference of the on-chip network (:func:`lava_ff.onchip.reference.simulate_onchip_windows`,
bit-identical to the step reference :func:`lava_ff.onchip.reference.simulate_onchip` and faster)
on 784-500-500 (``--layers``) with the on-chip benchmark's defaults (threshold 32, theta 5,
label repeat 20, pre-trace impulse 16), one pass over the first ``--samples``
training images per rate in ``--rates`` (a new order and new negatives each
pass, as ``onchip_fit`` does), in each mode of ``--modes``:

* ``float``: Lava's float models;
* ``expected``: the fixed-point neuron and integer third factors, weight
  changes kept as fractions (no rounding);
* ``independent``: fixed, each synapse's change rounded stochastically with
  its own random number;
* ``shared``: fixed, one random number per update shared by every synapse,
  as Lava's fixed-point learning engine does.

Each pass runs in chunks of ``--chunk`` samples, as ``lava-ff train`` runs
Lava (``--samples-per-run``): ``--negatives hard`` or ``mixed`` choose each
chunk's wrong labels from the weights learned so far, as the Lava run does
(the reference restarts the pre-traces at every chunk, which Lava does not:
a trace left from the previous sample's last step).

Prints one JSON line per mode: validation accuracy by goodness (the first
``--val-size`` images of the CLI's validation split) after each pass, and
with ``--test-limit N`` the accuracy on the first N test images after the
last pass (the final figure: tune on validation).

    .venv/bin/python benchmarks/onchip_rounding.py --samples 10000 --rates 16,8 --modes float,shared
    .venv/bin/python benchmarks/onchip_rounding.py --samples 10000 --rates 16,8 --modes expected,independent
    .venv/bin/python benchmarks/onchip_rounding.py --samples 60000 --rates 16,8 --modes float --negatives mixed \
        --test-limit 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from tqdm.auto import tqdm

from lava_ff.core.config import FFConfig
from lava_ff.core.inputs import LABEL_NEGATIVES, phase_windows, prepare_inputs
from lava_ff.core.neuron import NeuronParams, quantize_neuron
from lava_ff.core.rule import FFLearningRule
from lava_ff.datasets import load_split
from lava_ff.offline.train import evaluate_accuracy, random_shift
from lava_ff.onchip.fit import initial_weights, onchip_network, onchip_wrong_labels
from lava_ff.onchip.reference import ROUNDING_MODES, simulate_onchip_windows

MODES = ("float",) + ROUNDING_MODES


def run_mode(mode: str, cfg: FFConfig, rates: list[float], x: np.ndarray, y: np.ndarray,
             val_x: np.ndarray, val_y: np.ndarray, impulse: int, chunk: int, tau: int,
             shift: int = 0, image_shape: tuple[int, int] = (28, 28)) -> tuple[list[dict], list]:
    """One mode's passes: the log and the learned weights; ``shift``: each
    pass's images (of ``image_shape``) translated anew by up to that many
    pixels (0: none)."""
    neuron, weights, log = quantize_neuron(cfg.neuron), initial_weights(cfg), []
    sim_rng = np.random.default_rng(2)  # the rounding draws; Lava's engine is seeded at 2 too
    for index, rate in enumerate(rates):
        rng = np.random.default_rng([cfg.seed, index])
        order = rng.permutation(len(x))
        images = random_shift(x, image_shape, shift, np.random.default_rng([cfg.seed, index, 1])) if shift else x
        start = time.perf_counter()
        rule = FFLearningRule(learning_rate=rate, pre_trace_impulse=impulse, pre_trace_tau=tau)
        for begin in tqdm(range(0, len(order), chunk), desc=f"{mode} pass {index + 1}", unit="chunk",
                          mininterval=5):
            rows = order[begin:begin + chunk]
            negative = onchip_wrong_labels(cfg, weights, neuron, images[rows], y[rows], rng)
            windows = np.concatenate([phase_windows(images[i], y[i], negative[k], cfg, rng)
                                      for k, i in enumerate(rows)])
            weights = simulate_onchip_windows(weights, neuron, rule, cfg, windows, np.tile([1, -1], len(rows)),
                                              fixed=mode != "float",
                                              rounding="expected" if mode == "float" else mode, rng=sim_rng).weights
        seconds = time.perf_counter() - start
        accuracy = evaluate_accuracy(onchip_network(cfg, weights, neuron), val_x, val_y, readout=False)
        log.append({"pass": index + 1, "rate": rate, "val_goodness": accuracy["goodness"],
                    "val_goodness_skip_first": accuracy["goodness_skip_first"], "seconds": seconds})
        print(json.dumps({"mode": mode, **log[-1]}), file=sys.stderr, flush=True)
    return log, weights


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--samples", type=int, default=10000, help="training images per pass")
    p.add_argument("--rates", default="16,8", help="one pass per on-chip learning rate, in order")
    p.add_argument("--modes", default=",".join(MODES), help=f"any of {', '.join(MODES)}")
    p.add_argument("--val-size", type=int, default=2000)
    p.add_argument("--threshold", type=float, default=32.0)
    p.add_argument("--theta", type=float, default=5.0)
    p.add_argument("--label-repeat", type=int, default=20)
    p.add_argument("--pre-trace-impulse", type=int, default=16)
    p.add_argument("--pre-trace-tau", type=int, default=4, help="pre-trace decay in steps")
    p.add_argument("--time-steps", type=int, default=10, help="input steps per phase window (T)")
    p.add_argument("--layers", default="500,500", help="hidden layer sizes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--negatives", choices=LABEL_NEGATIVES, default="random",
                   help="each sample's wrong label (hard, mixed: chosen per chunk by the weights learned so far)")
    p.add_argument("--chunk", type=int, default=500, help="samples per chunk (lava-ff train's --samples-per-run)")
    p.add_argument("--shift", type=int, default=0, metavar="PIXELS",
                   help="translation augmentation: each pass's images moved anew by up to PIXELS per axis")
    p.add_argument("--test-limit", type=int, default=0, help="test images evaluated after the last pass (0: none)")
    args = p.parse_args(argv)
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s) {', '.join(unknown)}; valid: {', '.join(MODES)}")
    rates = [float(r) for r in args.rates.split(",")]
    train, val, test, shape = load_split("mnist", args.data, args.seed, time_steps=args.time_steps)
    cfg = FFConfig(in_features=784, layer_sizes=tuple(int(n) for n in args.layers.split(",")),
                   time_steps=args.time_steps,
                   neuron=NeuronParams(args.threshold, 0.25, 0.03), theta=args.theta,
                   label_repeat=args.label_repeat, seed=args.seed, negatives=args.negatives)
    x, y = prepare_inputs(train.images[:args.samples], cfg), np.asarray(train.labels[:args.samples])
    val_x = prepare_inputs(val.images[:args.val_size], cfg)
    val_y = np.asarray(val.labels[:args.val_size])
    results = []
    for mode in modes:
        passes, weights = run_mode(mode, cfg, rates, x, y, val_x, val_y, args.pre_trace_impulse, args.chunk,
                                   args.pre_trace_tau, args.shift, shape)
        result = {"benchmark": "onchip_rounding", "mode": mode, "samples": len(x), "val_samples": len(val_x),
                  "negatives": args.negatives, "layers": list(cfg.layer_sizes), "time_steps": args.time_steps,
                  "pre_trace_tau": args.pre_trace_tau, "pre_trace_impulse": args.pre_trace_impulse,
                  "shift": args.shift, "passes": passes}
        if args.test_limit:
            test_x = prepare_inputs(test.images[:args.test_limit], cfg)
            accuracy = evaluate_accuracy(onchip_network(cfg, weights, quantize_neuron(cfg.neuron)), test_x,
                                         np.asarray(test.labels[:args.test_limit]), readout=False)
            result.update(test_samples=len(test_x), test_goodness=accuracy["goodness"],
                          test_goodness_skip_first=accuracy["goodness_skip_first"])
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
