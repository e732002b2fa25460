"""How fast does on-chip learning run in Lava's simulator, and how fast could it? (a benchmark, not a test)

Trains on the first ``--samples`` MNIST training images with the on-chip
rule (:func:`lava_ff.lava.learning.train_onchip`, from the offline
initialisation) once per layer configuration in ``--layers`` and prints one
JSON line each: samples/s and steps/s over the whole call (network build,
compile, every chunk's weight read-back and, for ``hard``/``mixed``
negatives, the host's scoring), and the seconds.

Tiny layers (``--layers 500,500 4,4``) measure the floor: the same
Processes, ports and messages per step with almost nothing to compute, so
their rate is the most Lava 0.10's multiprocess runtime delivers on this
machine for that many Processes, whatever the models do. The window network
(the default) needs a twentieth of the step network's Lava steps (one a
sample) and a tenth of its messages, so its floor is far higher.

    .venv/bin/python benchmarks/onchip_speed.py --layers 500,500 4,4 4 --samples 1000
    .venv/bin/python benchmarks/onchip_speed.py --layers 500,500 --negatives mixed --time-steps 6
    .venv/bin/python benchmarks/onchip_speed.py --layers 500,500 --messages step window

``--messages`` runs each configuration as the step network (one Lava step
per time step, as Loihi 2 runs it) and/or the window network (one Lava step
per sample, a message per phase window, the same learning bit for bit); ``steps_per_second``
counts the network's time steps (``2 (T + 1)`` a sample) in both.

``--readout lava replay`` times a pass of on-chip readout learning instead
(:func:`lava_ff.lava.learning.train_onchip_readout`, one window a sample,
behind the initial layers deployed): with the frozen layers running in
Lava, and with their spikes computed once by the numpy reference and
replayed (what ``lava-ff train`` runs); ``seconds`` includes computing them.

    .venv/bin/python benchmarks/onchip_speed.py --layers 1000,1000,1000 --readout lava replay --samples 2000
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial
from pathlib import Path

import numpy as np

from lava_ff.core.clock import MESSAGES, window_length
from lava_ff.core.config import FFConfig
from lava_ff.core.inputs import LABEL_NEGATIVES, prepare_inputs
from lava_ff.core.neuron import NeuronParams, quantize_neuron
from lava_ff.core.rule import FFLearningRule, deployable_weights
from lava_ff.datasets import load_split
from lava_ff.lava.learning import ONCHIP_TAGS, OnChipReadout, train_onchip, train_onchip_readout
from lava_ff.onchip.fit import initial_weights, load_state, onchip_label_scores
from lava_ff.onchip.reference import hidden_window_spikes


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--layers", nargs="+", default=["500,500", "4,4"], help="layer sizes, one run each")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--tag", choices=ONCHIP_TAGS, default="fixed_pt")
    p.add_argument("--negatives", choices=LABEL_NEGATIVES, default="random")
    p.add_argument("--time-steps", type=int, default=10)
    p.add_argument("--samples-per-run", type=int, default=500)
    p.add_argument("--messages", nargs="+", choices=MESSAGES, default=["window"],
                   help="the Lava network's steps, one run each (default: window, what training runs)")
    p.add_argument("--state", default=None, metavar="ONCHIP_STATE",
                   help="start from the weights of an on-chip run's state file (OUT/onchip_state.npz), whose "
                        "spikes and updates are a trained network's, instead of the initial weights")
    p.add_argument("--samples-per-step", nargs="+", type=int, default=[1],
                   help="samples a Lava step carries with window messages, one run each (default 1)")
    p.add_argument("--readout", nargs="+", choices=("lava", "replay"), default=[],
                   help="time a pass of on-chip readout learning instead, the frozen layers run in Lava and/or "
                        "replayed, one run each")
    args = p.parse_args(argv)
    train, _, _, _ = load_split("mnist", args.data, 0, time_steps=args.time_steps)
    if not 1 <= args.samples <= len(train.labels):
        raise SystemExit(f"--samples must lie in [1, {len(train.labels)}], got {args.samples}")
    results = []
    for layers in args.layers:
        sizes = tuple(int(s) for s in layers.split(","))
        cfg = FFConfig(in_features=784, layer_sizes=sizes, time_steps=args.time_steps,
                       neuron=NeuronParams(32.0, 0.25, 0.03), theta=5.0, label_repeat=20, seed=0,
                       negatives=args.negatives)
        x, y = prepare_inputs(train.images[:args.samples], cfg), np.asarray(train.labels[:args.samples])
        rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=16)
        for layers_run in args.readout:
            for per_step in args.samples_per_step if layers_run == "replay" else [1]:
                results.append(_readout_pass(args, cfg, rule, x, y, layers_run, per_step))
        for messages, per_step in ((m, k) for m in (args.messages if not args.readout else [])
                                   for k in (args.samples_per_step if m == "window" else [1])):
            start = time.perf_counter()
            scores = None if args.negatives == "random" else onchip_label_scores(cfg, quantize_neuron(cfg.neuron))
            start_weights = initial_weights(cfg) if args.state is None else \
                load_state(Path(args.state), len(cfg.layer_sizes))["weights"]
            out = train_onchip(cfg, start_weights, quantize_neuron(cfg.neuron), rule, x, y, tag=args.tag,
                               rng=np.random.default_rng(0), samples_per_run=args.samples_per_run, progress=False,
                               messages=messages, label_scores=scores, samples_per_step=per_step)
            steps = 2 * window_length(args.time_steps)
            result = {"benchmark": "onchip_speed", "layers": list(sizes), "samples": len(x), "tag": args.tag,
                      "messages": messages, "samples_per_step": per_step, "negatives": args.negatives,
                      "start": "initial" if args.state is None else args.state,
                      "time_steps": args.time_steps,
                      "cpus": os.cpu_count(), "samples_per_second": out["samples_per_second"],
                      "steps_per_second": out["samples_per_second"] * steps,
                      "seconds": time.perf_counter() - start}
            print(json.dumps(result), flush=True)
            results.append(result)
    return results


def _readout_pass(args, cfg: FFConfig, rule: FFLearningRule, x: np.ndarray, y: np.ndarray, layers_run: str,
                  per_step: int) -> dict:
    """One pass of on-chip readout learning behind the deployed initial layers, timed."""
    neuron, weights = quantize_neuron(cfg.neuron), [deployable_weights(w) for w in initial_weights(cfg)]
    frozen = partial(hidden_window_spikes, weights, neuron, cfg, fixed=args.tag == "fixed_pt") \
        if layers_run == "replay" else None
    readout = OnChipReadout(np.zeros((cfg.num_classes, cfg.readout_features), np.int32), rule)
    start = time.perf_counter()
    out = train_onchip_readout(cfg, weights, neuron, readout, x, y, tag=args.tag, rng=np.random.default_rng(0),
                               samples_per_run=args.samples_per_run, progress=False, frozen_spikes=frozen,
                               samples_per_step=per_step)
    result = {"benchmark": "onchip_speed", "readout": layers_run, "samples_per_step": per_step,
              "layers": list(cfg.layer_sizes),
              "samples": len(x), "tag": args.tag, "time_steps": args.time_steps, "cpus": os.cpu_count(),
              "samples_per_second": out["samples_per_second"], "seconds": time.perf_counter() - start}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
