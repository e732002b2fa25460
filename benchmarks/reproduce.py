"""Reproduce a headline result from its committed config (a benchmark, not a test).

Runs ``lava-ff train --config CONFIG`` with any further ``lava-ff train``
flags (they override the file), then prints one JSON line: the test
figures, the validation figures, training time and speed, and the config
file. The files in ``configs/`` are the only recipe of each result; the
README's results table and the documentation's results page quote them.

    .venv/bin/python benchmarks/reproduce.py configs/mnist-offline.toml
    .venv/bin/python benchmarks/reproduce.py configs/mnist-gradient-free.toml --seed 1 --out runs/gf-seed1
    .venv/bin/python benchmarks/reproduce.py configs/mnist-onchip-views.toml
    .venv/bin/python benchmarks/reproduce.py configs/mnist-conv.toml --seeds 0,1,2

Any data set the config names (MNIST, Fashion-MNIST, any folder of idx
files) runs the same way. Beside the figures, the line gives what the
network is: time steps, parameters (synaptic weights, the readout's
included), and what classifying one test image costs in its cheapest mode
(readout if it has one, else goodness): windows, spikes and synaptic
operations, counted in the torch model on the first ``--cost-samples``
test images. ``--seeds 0,1,2`` trains one run per seed (into
``OUT/seed-K``) and adds each figure's mean and standard deviation over
them.

A run folder that holds a checkpoint resumes (``--resume`` is added), so a
long run interrupted by Ctrl-C, or by the end of a session, goes on where it
stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from lava_ff.cli.configfile import config_arguments
from lava_ff.cli.main import build_parser
from lava_ff.cli.main import main as cli_main
from lava_ff.core.errors import LavaFFError
from lava_ff.onchip.fit import ONCHIP_STATE

#: the figures of a run's metrics.json that the result line repeats
FIGURES = ("test_accuracy", "test_accuracy_readout", "test_accuracy_combined", "test_accuracy_onchip_readout",
           "test_accuracy_onchip_combined", "val_accuracy", "val_accuracy_readout", "val_accuracy_onchip_readout",
           "train_seconds", "samples_per_second", "epochs")


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, got {text!r}") from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds {text!r} names a seed twice")
    return seeds


def network_figures(out: Path, cost_samples: int) -> dict:
    """Time steps, parameters and the cost of classifying one test image of the run in ``out``."""
    import lava_ff as ff
    from lava_ff.offline.model import FFNetwork

    model = ff.load(out)
    spec = model.spec
    parameters = sum(int(w.size) for w in spec.weights)
    if spec.readout_weight is not None:
        parameters += int(spec.readout_weight.size + spec.readout_bias.size)
    mode = "readout" if spec.readout_weight is not None else "goodness"
    data = model.recorded_dataset()
    if data is None:
        raise LavaFFError(f"{out} records no data set to count the cost of an image on")
    x = data.test.images[:cost_samples].reshape(min(cost_samples, len(data.test.images)), -1)
    cost = {}
    FFNetwork.from_spec(spec).prediction_table(x, classify=mode, cost=cost)
    return {"time_steps": spec.config.time_steps, "parameters": parameters, "cost_mode": mode,
            **{f"{key}_per_image": value / len(x) for key, value in cost.items()}}


def run_one(config: str, flags: list[str], out: Path, cost_samples: int) -> dict:
    resume = (out / "checkpoint.pt").exists() or (out / ONCHIP_STATE).exists()
    start = time.perf_counter()
    code = cli_main(["train", "--config", config, *flags, *(["--resume"] if resume else [])])
    if code != 0:  # the error is printed; never report an earlier run's metrics.json
        raise SystemExit(code)
    metrics = json.loads((out / "metrics.json").read_text())
    result = {"config": config, "flags": flags, "out": str(out), "resumed": resume,
              "wall_seconds": time.perf_counter() - start, **{k: metrics.get(k) for k in FIGURES}}
    if cost_samples:
        result.update(network_figures(out, cost_samples))
    print(json.dumps(result), flush=True)
    return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="a file from configs/")
    p.add_argument("--seeds", type=_seeds, default=None,
                   help="train one run per seed, into OUT/seed-K, and report the mean and spread")
    p.add_argument("--cost-samples", type=int, default=1000,
                   help="test images the cost per image is counted on (0: skip it; default 1000)")
    args, flags = p.parse_known_args(argv)
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    if args.seeds is not None and any(f == "--seed" or f.startswith("--seed=") for f in flags):
        p.exit(2, "reproduce: error: give --seeds or --seed, not both\n")
    try:
        options = train.parse_args(config_arguments(args.config, train) + flags)
    except LavaFFError as err:
        p.exit(2, f"reproduce: error: {err}\n")
    out = Path(options.out)
    if args.seeds is None:
        return run_one(args.config, flags, out, args.cost_samples)
    runs = [run_one(args.config, [*flags, "--seed", str(seed), "--out", str(out / f"seed-{seed}")],
                    out / f"seed-{seed}", args.cost_samples) for seed in args.seeds]
    summary = {"config": args.config, "flags": flags, "seeds": args.seeds, "out": str(out)}
    for key in runs[0]:
        values = [r[key] for r in runs]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            summary[f"{key}_mean"] = float(np.mean(values))
            summary[f"{key}_std"] = float(np.std(values))
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    sys.exit(main() and 0)
