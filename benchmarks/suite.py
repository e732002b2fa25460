"""The lava-ff evaluation suite (a benchmark, not a test).

Runs a chosen set of methods over a chosen set of data sets and writes
``OUT/results.md`` (accuracy, time steps, train time, spikes per inference),
``OUT/results.json`` and, with ``--robustness``, ``OUT/robustness_<data>.png``
(accuracy against test-time Gaussian noise and pixel dropout). Prints one
JSON line per run. Methods: ff-surrogate, ff-three-factor, intff, ffgaf,
bptt; data sets: digits, mnist, idx (any MNIST-format folder via --data),
nmnist (the N-MNIST 1k/100 subset).

    # the IntFF robustness protocol on MNIST, all methods
    .venv/bin/python benchmarks/suite.py --datasets mnist --corrupt --robustness --out runs/suite_corrupt
    # gradient-free FF against BPTT under the corruption protocol (the committed config; ~45 min)
    .venv/bin/python benchmarks/suite.py --config configs/mnist-corruption.toml
    # the other FF methods, same protocol (~30 min)
    .venv/bin/python benchmarks/suite.py --config configs/mnist-corruption.toml \
        --methods ff-surrogate,intff,ffgaf --out runs/mnist-corruption-rest
    # clean MNIST, FFGAF-style against the baseline
    .venv/bin/python benchmarks/suite.py --methods ffgaf,bptt --datasets mnist --out runs/suite_clean
    # quick look on the embedded digits
    .venv/bin/python benchmarks/suite.py --datasets digits --layers 200,200 --epochs 5 --out runs/suite_digits
"""

from __future__ import annotations

import argparse
import json
import sys

from lava_ff.cli.configfile import config_arguments
from lava_ff.cli.main import _deprecated_alias, _layers
from lava_ff.core.config import LR_DECAYS, SCHEDULES
from lava_ff.core.errors import MissingExtraError
from lava_ff.offline.native import keep_freed_memory
from lava_ff.offline.suite import (
    METHODS,
    SUITE_DATASETS,
    SuiteSettings,
    check_methods,
    check_names,
    run_suite,
    write_report,
)

DEFAULT_DATA = {"mnist": "../shared/data/mnist", "nmnist": "../shared/data/nmnist-small"}


def _fractions(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 4 comma-separated fractions, got {text!r}") from None


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {', '.join(METHODS)}")
    p.add_argument("--datasets", default="mnist", help=f"comma-separated, from {', '.join(SUITE_DATASETS)}")
    p.add_argument("--data", default=None, help="folder for idx (and mnist, overriding ../shared/data/mnist)")
    p.add_argument("--nmnist-data", default=DEFAULT_DATA["nmnist"], help="N-MNIST subset folder")
    p.add_argument("--layers", type=_layers, default=(500, 500))
    p.add_argument("--time-steps", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10, help="maximum epochs (early stopping on validation)")
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--limit", type=int, default=None, help="first N training and test samples per data set")
    p.add_argument("--blocks", type=_layers, default=None, help="intff blocks (default: blocks of 2 layers)")
    p.add_argument("--corrupt", action="store_true", help="the IntFF 75%%-corruption training protocol")
    p.add_argument("--fractions", type=_fractions, default=(0.25, 0.25, 0.25, 0.25),
                   help="clean,gaussian,dropout,noise fractions of the corrupted training set")
    p.add_argument("--robustness", action="store_true", help="test-time noise and dropout curves")
    p.add_argument("--robustness-samples", type=int, default=2000, help="test samples for the curves")
    p.add_argument("--loss", default="softplus", choices=["softplus", "symba", "softmax"],
                   help="per-layer loss of every FF method (softmax: cross-entropy over every label's goodness)")
    p.add_argument("--alpha", type=float, default=4.0, help="goodness scale of the symba / softmax loss")
    p.add_argument("--bptt-lr", type=float, default=SuiteSettings.bptt_lr,
                   help="Adam learning rate of the BPTT baseline (default: the validation pick)")
    p.add_argument("--rule-lr", type=float, default=SuiteSettings.three_factor_lr,
                   help="step size of the gradient-free rule (ff-three-factor)")
    _deprecated_alias(p, "--three-factor-lr", "--rule-lr")
    p.add_argument("--schedule", default="simultaneous", choices=SCHEDULES,
                   help="FF methods: every layer (block) learns on every batch, or greedy: one at a time, "
                        "the epochs split evenly (needs epochs >= layers or blocks)")
    p.add_argument("--lr-decay", default="none", choices=LR_DECAYS,
                   help="FF methods' step sizes: constant, or a half cosine to zero over each layer's "
                        "learning epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", default="runs/suite")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="take options from a TOML or JSON file (configs/); flags given with it override it")
    argv = list(sys.argv[1:] if argv is None else argv)
    config = p.parse_known_args(argv)[0].config
    try:
        args = p.parse_args(config_arguments(config, p) + argv if config else argv)
    except ValueError as err:
        p.exit(2, f"suite: error: {err}\n")
    keep_freed_memory()  # large tensors are reused instead of page-faulted in afresh every step
    try:
        methods = check_methods(args.methods)
        datasets = check_names("data set", args.datasets, SUITE_DATASETS)
        settings = SuiteSettings(layers=args.layers, time_steps=args.time_steps, epochs=args.epochs,
                                 batch_size=args.batch_size, patience=args.patience, limit=args.limit,
                                 blocks=args.blocks, corrupt=args.corrupt, fractions=args.fractions,
                                 robustness=args.robustness, robustness_samples=args.robustness_samples,
                                 loss=args.loss, alpha=args.alpha, bptt_lr=args.bptt_lr,
                                 three_factor_lr=args.rule_lr, schedule=args.schedule,
                                 lr_decay=args.lr_decay, seed=args.seed,
                                 progress=not args.no_progress)
        data = {"mnist": args.data or DEFAULT_DATA["mnist"], "idx": args.data, "nmnist": args.nmnist_data}
        done = []

        def on_result(result):
            done.append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "config"}), flush=True)

        results = run_suite(methods, datasets, settings, data, on_result=on_result)
    except (ValueError, MissingExtraError) as err:
        p.exit(2, f"suite: error: {err}\n")
    except KeyboardInterrupt:
        written = write_report(done, args.out, settings) if done else []
        saved = f"the {len(done)} finished runs' results are in {', '.join(map(str, written))}" if done else \
            "no run had finished, nothing was written"
        p.exit(130, f"\nsuite: interrupted; {saved}\n")
    for path in write_report(results, args.out, settings):
        print(f"wrote {path}", file=sys.stderr)
    return results


if __name__ == "__main__":
    main()
