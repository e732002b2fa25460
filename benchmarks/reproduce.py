"""Reproduce a headline result from its committed config (a benchmark, not a test).

Runs ``lava-ff train --config CONFIG`` with any further ``lava-ff train``
flags (they override the file), then prints one JSON line: the test
figures, the validation figures, training time and speed, and the config
file. The files in ``configs/`` are the only recipe of each result; the
README's results table and the documentation's results page quote them.

    .venv/bin/python benchmarks/reproduce.py configs/mnist-offline.toml
    .venv/bin/python benchmarks/reproduce.py configs/mnist-gradient-free.toml --seed 1 --out runs/gf-seed1
    .venv/bin/python benchmarks/reproduce.py configs/mnist-onchip-views.toml

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

from lava_ff.cli.configfile import config_arguments
from lava_ff.cli.main import build_parser
from lava_ff.cli.main import main as cli_main
from lava_ff.core.errors import LavaFFError
from lava_ff.onchip.fit import ONCHIP_STATE

#: the figures of a run's metrics.json that the result line repeats
FIGURES = ("test_accuracy", "test_accuracy_readout", "test_accuracy_combined", "test_accuracy_onchip_readout",
           "test_accuracy_onchip_combined", "val_accuracy", "val_accuracy_readout", "val_accuracy_onchip_readout",
           "train_seconds", "samples_per_second", "epochs")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="a file from configs/")
    args, flags = p.parse_known_args(argv)
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    try:
        options = train.parse_args(config_arguments(args.config, train) + flags)
    except LavaFFError as err:
        p.exit(2, f"reproduce: error: {err}\n")
    out = Path(options.out)
    resume = (out / "checkpoint.pt").exists() or (out / ONCHIP_STATE).exists()
    start = time.perf_counter()
    code = cli_main(["train", "--config", args.config, *flags, *(["--resume"] if resume else [])])
    if code != 0:  # the error is printed; never report an earlier run's metrics.json
        raise SystemExit(code)
    metrics = json.loads((out / "metrics.json").read_text())
    result = {"config": args.config, "flags": flags, "out": str(out), "resumed": resume,
              "wall_seconds": time.perf_counter() - start, **{k: metrics.get(k) for k in FIGURES}}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
