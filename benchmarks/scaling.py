"""Data-parallel scaling of offline FF training: the first epoch of the
headline recipe (configs/mnist-offline.toml, its first layer, 784-2000) in
1 process and in N processes under torchrun, each with one thread, so the
ratio measures the data parallelism and not the thread pool. It also runs
N independent single processes side by side: what N processes that each
stream whole batches get from this machine, shared memory bandwidth
included (data-parallel ranks stream only their share of each batch).

    .venv/bin/python benchmarks/scaling.py --data ../shared/data --procs 1,2 --out runs/scaling

On a GPU machine, ``--device cuda --threads 0`` runs each process on its own
GPU (NCCL) with torch's own thread count. Writes OUT/results.json and
OUT/results.md (atomically).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _first_epoch import first_epoch

from lava_ff.core.fileio import atomic_path, write_json

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="folder holding mnist/")
    p.add_argument("--procs", default="1,2", help="comma-separated process counts")
    p.add_argument("--threads", type=int, default=1, help="threads per process (0: torch's default)")
    p.add_argument("--config", default=str(ROOT / "configs" / "mnist-offline.toml"))
    p.add_argument("--out", default="runs/scaling")
    args = p.parse_args(argv)
    try:
        procs = [int(n) for n in args.procs.split(",")]
    except ValueError:
        p.error(f"--procs {args.procs!r}: comma-separated positive integers")
    if not procs or min(procs) < 1:
        p.error(f"--procs {args.procs!r}: comma-separated positive integers")
    if not (Path(args.data) / "mnist").is_dir():
        p.error(f"--data {args.data}: no mnist/ folder there")
    env = {**os.environ}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    def train(out: Path) -> list[str]:  # the recipe's first epoch, as one process runs it
        return ["-m", "lava_ff", "train", "--config", args.config, "--data", str(Path(args.data) / "mnist"),
                "--json", "--no-progress", "--out", str(out)]

    rows = []
    with tempfile.TemporaryDirectory(prefix="lava_ff_scaling_") as tmp:
        for n in procs:
            launch = [sys.executable] if n == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                       "--nproc-per-node", str(n)]
            record = first_epoch([*launch, *train(Path(tmp) / f"procs{n}")], env=env, cwd=ROOT)
            rows.append({"processes": n, "epoch_seconds": record["train_seconds"],
                         "val_goodness": record.get("val_goodness")})
            print(f"{n} process(es): first epoch {record['train_seconds']:.1f} s", file=sys.stderr)
        # what the machine gives N whole-batch processes: N single-process runs side by side
        ceiling = max(procs)
        with ThreadPoolExecutor(ceiling) as pool:
            alone = list(pool.map(lambda k: first_epoch([sys.executable, *train(Path(tmp) / f"alone{k}")],
                                                        env=env, cwd=ROOT), range(ceiling)))
        side_by_side = max(record["train_seconds"] for record in alone)
        print(f"{ceiling} independent single processes side by side: first epoch {side_by_side:.1f} s",
              file=sys.stderr)
    # MNIST's 60,000 training images less the config's validation split (a tenth by default)
    options = tomllib.loads(Path(args.config).read_text()) if args.config.endswith(".toml") else {}
    samples = 60000 - int(options.get("val-size", 6000))
    base = rows[0]["epoch_seconds"] * rows[0]["processes"]
    for row in rows:
        row["samples_per_second"] = samples / row["epoch_seconds"]
        row["speedup"] = rows[0]["epoch_seconds"] / row["epoch_seconds"]
        row["efficiency"] = base / (row["epoch_seconds"] * row["processes"])
    # N independent runs finish N epochs in side_by_side seconds: what N whole-batch processes get here
    limit = ceiling * rows[0]["epoch_seconds"] / side_by_side if rows[0]["processes"] == 1 else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", {"config": args.config, "threads_per_process": args.threads, "runs": rows,
                                      "independent_processes": ceiling, "independent_epoch_seconds": side_by_side,
                                      "independent_speedup": limit})
    lines = ["| processes | first epoch (s) | samples/s | speedup | efficiency | val goodness |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['processes']} | {row['epoch_seconds']:.1f} | {row['samples_per_second']:.0f} | "
                     f"{row['speedup']:.2f}x | {row['efficiency']:.0%} | {row['val_goodness']:.2%} |")
    if limit is not None:
        lines.append(f"\n{ceiling} independent single-process runs side by side take {side_by_side:.1f} s each for "
                     f"the same epoch: {limit:.2f}x for {ceiling} processes that each stream whole batches.")
    with atomic_path(out / "results.md") as md:
        Path(md).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
