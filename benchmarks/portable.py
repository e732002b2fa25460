"""lava-ff on two stacks: the Lava environment (Python 3.10, torch 2.3,
numpy 1.x) and the core environment (the newest Python, torch and numpy).

Two measurements, every Python run back to back on the same machine:

1. the first epoch of the headline offline recipe (configs/mnist-offline.toml):
   the run is stopped after its first epoch record, whose training time is
   reported (data loading and start-up excluded);
2. a shortened MNIST run (10,000 training images, 784-500-500, one epoch)
   with three seeds in each environment: its test accuracies, their
   seed-to-seed spread, and the gap between the environments' means.

    make venv venv-core
    .venv/bin/python benchmarks/portable.py --pythons .venv/bin/python,.venv-core/bin/python \\
        --data ../shared/data --out runs/portable

Writes OUT/results.json and OUT/results.md (atomically).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _first_epoch import first_epoch

from lava_ff.core.fileio import atomic_path, write_json

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)


def describe(python: str) -> dict:
    code = ("import sys, torch, numpy; print(sys.version.split()[0], torch.__version__, numpy.__version__)")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {"python": out[0], "torch": out[1], "numpy": out[2]}


def first_epoch_of_headline(python: str, data: str, work: Path) -> dict:
    """The headline recipe's first epoch: its training seconds, from the run's JSON epoch record."""
    record = first_epoch([python, "-m", "lava_ff", "train", "--config", str(ROOT / "configs" / "mnist-offline.toml"),
                          "--data", str(Path(data) / "mnist"), "--json", "--no-progress", "--out", str(work)], cwd=ROOT)
    return {"first_epoch_train_seconds": record["train_seconds"], "first_epoch_wall_seconds": record["wall_seconds"],
            "first_epoch_val": {k: v for k, v in record.items() if k.startswith("val")}}


def short_run(python: str, data: str, seed: int, work: Path) -> dict:
    cmd = [python, "-m", "lava_ff", "train", "--dataset", "mnist", "--data", str(Path(data) / "mnist"),
           "--limit", "10000", "--layers", "500,500", "--epochs", "1", "--batch-size", "50", "--seed", str(seed),
           "--no-progress", "--out", str(work)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{python}: {' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    metrics = json.loads((work / "metrics.json").read_text())
    return {"seed": seed, "goodness": metrics["test_accuracy"], "readout": metrics["test_accuracy_readout"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pythons", default=".venv/bin/python,.venv-core/bin/python",
                   help="comma-separated interpreters of the environments to compare")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="folder holding mnist/")
    p.add_argument("--out", default="runs/portable")
    p.add_argument("--skip-first-epoch", action="store_true", help="only the shortened runs")
    args = p.parse_args(argv)
    pythons = [x for x in args.pythons.split(",") if x]
    for python in pythons:
        if not Path(python).is_file():
            p.error(f"--pythons: {python} is not a file (make venv venv-core builds both)")
    if not (Path(args.data) / "mnist").is_dir():
        p.error(f"--data {args.data}: no mnist/ folder there")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="lava_ff_portable_") as tmp:
        for i, python in enumerate(pythons):
            entry = {"interpreter": python, **describe(python)}
            print(f"{python}: Python {entry['python']}, torch {entry['torch']}, numpy {entry['numpy']}",
                  file=sys.stderr)
            if not args.skip_first_epoch:
                entry.update(first_epoch_of_headline(python, args.data, Path(tmp) / f"epoch{i}"))
                print(f"  first epoch of configs/mnist-offline.toml: {entry['first_epoch_train_seconds']:.1f} s",
                      file=sys.stderr)
            entry["short_runs"] = [short_run(python, args.data, seed, Path(tmp) / f"short{i}_{seed}")
                                   for seed in SEEDS]
            print("  shortened runs: " + ", ".join(f"seed {r['seed']} {r['goodness']:.2%}"
                                                   for r in entry["short_runs"]), file=sys.stderr)
            results.append(entry)
    import numpy as np

    for entry in results:
        acc = np.array([r["goodness"] for r in entry["short_runs"]])
        entry["short_mean"], entry["short_spread"] = float(acc.mean()), float(acc.max() - acc.min())
    gap = max(e["short_mean"] for e in results) - min(e["short_mean"] for e in results)
    spread = max(e["short_spread"] for e in results)
    summary = {"environments": results, "mean_gap": gap, "largest_seed_spread": spread,
               "agree_within_seed_spread": bool(gap <= spread)}
    write_json(out / "results.json", summary)
    lines = ["| Python | torch | numpy | first epoch (s) | shortened run, seeds 0-2 | mean | spread |",
             "|---|---|---|---|---|---|---|"]
    for e in results:
        first = f"{e['first_epoch_train_seconds']:.1f}" if "first_epoch_train_seconds" in e else "-"
        runs = ", ".join(f"{r['goodness']:.2%}" for r in e["short_runs"])
        lines.append(f"| {e['python']} | {e['torch']} | {e['numpy']} | {first} | {runs} | {e['short_mean']:.2%} | "
                     f"{e['short_spread']:.2%} |")
    lines.append(f"\nGap between the means {gap:.2%}; largest seed-to-seed spread {spread:.2%}.")
    with atomic_path(out / "results.md") as tmp_md:
        Path(tmp_md).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
