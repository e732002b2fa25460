"""A lava-ff network through NIR into snnTorch: the same spikes and predictions?

Exports a network as NIR (lava_ff.export), imports the file with snnTorch's
own NIR reader (snntorch.import_nir.import_from_nir) and runs both it and
lava-ff's float model on the same input spikes of MNIST test images: every
layer's spikes at every time step under every candidate label and under the
neutral label, and the four predictions lava-ff makes from them.

    .venv-core/bin/python benchmarks/nir_interop.py --data ../shared/data --samples 1000 --out runs/nir_interop

Without --model it first trains the shortened MNIST network (10,000 training
images, 784-500-500, one epoch: what `lava-ff demo --data` trains).
Writes OUT/model.nir, OUT/results.json (atomically).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import lava_ff as ff
from lava_ff.core.fileio import write_json
from lava_ff.interop import compare

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="folder holding mnist/")
    p.add_argument("--model", default=None, help="a trained model (run folder, .net or .nir); default: train one")
    p.add_argument("--samples", type=int, default=1000, help="MNIST test images compared")
    p.add_argument("--out", default="runs/nir_interop")
    args = p.parse_args(argv)
    if args.samples < 1:
        p.error(f"--samples must be positive, got {args.samples}")
    folder = Path(args.data) / "mnist" if (Path(args.data) / "mnist").is_dir() else Path(args.data)
    data = ff.load_dataset("mnist", folder)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.model:
        model = ff.load(args.model)
    else:
        train = data.train.subset(slice(0, 10000))
        model = ff.train((train.images, train.labels), layers=(500, 500), epochs=1, batch_size=50,
                         progress=False)
    path = ff.export(model, out / "model.nir")
    start = time.perf_counter()
    x, y = data.test.images[:args.samples], data.test.labels[:args.samples]
    result = compare(ff.load(path).spec, path, x, y)
    result.update({"nir_file": str(path), "seconds": time.perf_counter() - start,
                   "model": args.model or "784-500-500, 1 epoch on 10,000 MNIST images"})
    write_json(out / "results.json", result)
    print(f"{result['samples']} MNIST test images, {result['spikes_compared']:,} spike slots compared: "
          f"{result['spike_agreement']:.4%} equal; of the {result['spikes_lava_ff']:,} spikes, "
          f"{result['spikes_shared']:.3%} shared; {result['samples_with_identical_spikes']:.1%} of the samples "
          "spike identically in every layer, step and label")
    for column, agreement in result["prediction_agreement"].items():
        print(f"  {column:<20} predictions agree {agreement:.2%}   accuracy lava-ff "
              f"{result['accuracy_lava_ff'][column]:.2%}, snnTorch {result['accuracy_snntorch'][column]:.2%}")
    print(f"wrote {out / 'results.json'}", file=sys.stderr)
    return 0 if np.isfinite(result["spike_agreement"]) else 1


if __name__ == "__main__":
    sys.exit(main())
