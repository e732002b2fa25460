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
(the default) needs a tenth of the step network's Lava steps, so its floor
is about ten times higher.

    .venv/bin/python benchmarks/onchip_speed.py --layers 500,500 4,4 4 --samples 1000
    .venv/bin/python benchmarks/onchip_speed.py --layers 500,500 --negatives mixed --time-steps 6
    .venv/bin/python benchmarks/onchip_speed.py --layers 500,500 --messages step window

``--messages`` runs each configuration as the step network (one Lava step
per time step, as Loihi 2 runs it) and/or the window network (one Lava step
per phase window, the same learning bit for bit); ``steps_per_second``
counts the network's time steps (``2 (T + 1)`` a sample) in both.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from lava_ff.core.clock import MESSAGES, window_length
from lava_ff.core.config import FFConfig
from lava_ff.core.inputs import LABEL_NEGATIVES, prepare_inputs
from lava_ff.core.neuron import NeuronParams, quantize_neuron
from lava_ff.core.rule import FFLearningRule
from lava_ff.datasets import load_split
from lava_ff.lava.learning import ONCHIP_TAGS, train_onchip
from lava_ff.onchip.fit import initial_weights


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
        for messages in args.messages:
            start = time.perf_counter()
            out = train_onchip(cfg, initial_weights(cfg), quantize_neuron(cfg.neuron), rule, x, y, tag=args.tag,
                               rng=np.random.default_rng(0), samples_per_run=args.samples_per_run, progress=False,
                               messages=messages)
            steps = 2 * window_length(args.time_steps)
            result = {"benchmark": "onchip_speed", "layers": list(sizes), "samples": len(x), "tag": args.tag,
                      "messages": messages, "negatives": args.negatives, "time_steps": args.time_steps,
                      "cpus": os.cpu_count(), "samples_per_second": out["samples_per_second"],
                      "steps_per_second": out["samples_per_second"] * steps,
                      "seconds": time.perf_counter() - start}
            print(json.dumps(result), flush=True)
            results.append(result)
    return results


if __name__ == "__main__":
    main()
