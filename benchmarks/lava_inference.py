"""FF inference in Lava's CPU simulator (a benchmark, not a test).

Loads an offline-trained lava-ff model, classifies the MNIST test set with
the torch model and with the Lava Processes under both tags, and prints one
JSON line: accuracy (goodness, goodness skipping layer 0, readout),
prediction agreement with torch, samples/s and start-up time per tag.

    .venv/bin/python benchmarks/lava_inference.py --model runs/bench_surrogate --limit 1000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lava_ff.artifacts import load_trained
from lava_ff.cli.main import summarise_predictions
from lava_ff.core.inputs import flatten_images
from lava_ff.core.spec import NetworkSpec
from lava_ff.datasets import load_mnist
from lava_ff.lava.inference import TAGS, build_lava_network, run_lava_inference


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="training folder or checkpoint.pt")
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--limit", type=int, default=None, help="first N test samples (default: all 10,000)")
    p.add_argument("--tags", default=",".join(TAGS))
    p.add_argument("--out", default=None, help="also write the JSON here")
    p.add_argument("--predictions", default=None,
                   help="also save every prediction table (torch and each tag) here, as .npz")
    args = p.parse_args(argv)
    net = load_trained(args.model)
    test = load_mnist(args.data, "test")
    if args.limit:
        test = test.subset(np.arange(args.limit))
    x, y = flatten_images(test.images), np.asarray(test.labels)
    start = time.perf_counter()
    reference = net.prediction_table(x)
    torch_seconds = time.perf_counter() - start
    result = {"benchmark": "lava_inference", "samples": len(x), "layers": list(net.config.layer_sizes),
              "time_steps": net.config.time_steps,
              "torch": {**summarise_predictions(reference, y, reference), "samples_per_second": len(x) / torch_seconds}}
    spec = NetworkSpec.from_torch(net)
    tables = {"torch": reference}
    for tag in args.tags.split(","):
        lava_net = build_lava_network(spec, x)
        run = run_lava_inference(lava_net, tag)
        result[tag] = {**summarise_predictions(run["predictions"], y, reference),
                       "samples_per_second": run["samples_per_second"],
                       "startup_seconds": run["startup_seconds"],
                       "build_seconds": lava_net.build_seconds}
        tables[tag] = run["predictions"]
        print(json.dumps({tag: result[tag]}), flush=True)
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    if args.predictions:
        np.savez(args.predictions, **tables)
    return result


if __name__ == "__main__":
    main()
