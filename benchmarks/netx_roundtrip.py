"""netx round trip on MNIST (a benchmark, not a test).

Exports a trained lava-ff model to netx HDF5, loads it with lava-dl's
``netx.hdf5.Network``, runs it in Lava ``fixed_pt`` with the lava-ff goodness
readout attached, and compares with the torch model:

* spike level: every spike of every layer at every time step, for every
  window the network runs (each sample's 10 candidate labels and the neutral
  label), on the first ``--spike-samples`` test samples;
* prediction level: goodness and readout predictions on ``--limit`` samples.

``--classify readout`` runs one window per image, the neutral one (what a
network with class groups, and every convolutional one, classifies by in
Lava); ``--lava-limit N`` also classifies the first ``N`` test samples in
lava-ff's own Lava fixed_pt Processes and compares them with torch.

    .venv/bin/python benchmarks/netx_roundtrip.py --model runs/bench_surrogate --limit 1000
    .venv/bin/python benchmarks/netx_roundtrip.py --model runs/mnist-conv --classify readout \
        --limit 100 --spike-samples 100 --lava-limit 10000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from lava_ff.netx_export import export, load
from lava_ff.netx_export.run import build_netx_network, run_netx_inference

from lava_ff.artifacts import load_trained
from lava_ff.cli.main import summarise_predictions
from lava_ff.core.inputs import flatten_images
from lava_ff.datasets import load_mnist


@torch.no_grad()
def torch_window_spikes(net, x: np.ndarray, batch: int = 20, classify: str = "combined") -> list[np.ndarray]:
    """Per layer, bool ``[windows, T, N]`` for the windows netx runs, in order."""
    cfg = net.config
    per_layer = [[] for _ in net.layers]
    for start in range(0, len(x), batch):
        xb = x[start:start + batch]
        if classify == "readout":  # one window per image, the neutral label's
            for i, (spikes, _) in enumerate(net.layer_outputs(net.encode(xb, None))):
                per_layer[i].append(spikes.cpu().numpy().astype(bool).transpose(0, 2, 1))
            continue
        copies = cfg.num_classes + 1
        images = np.repeat(xb, copies, axis=0)
        labels = np.tile(np.arange(copies), len(xb))
        candidates = net.encode(images, np.where(labels < cfg.num_classes, labels, 0))
        neutral = net.encode(xb, None)
        candidates[labels == cfg.num_classes] = neutral
        for i, (spikes, _) in enumerate(net.layer_outputs(candidates)):
            per_layer[i].append(spikes.cpu().numpy().astype(bool).transpose(0, 2, 1))
    return [np.concatenate(chunks) for chunks in per_layer]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="training folder, checkpoint.pt or .net file")
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--limit", type=int, default=1000, help="test samples for predictions")
    p.add_argument("--spike-samples", type=int, default=1000, help="samples checked spike for spike")
    p.add_argument("--out", default=None, help="also write the JSON here")
    p.add_argument("--classify", choices=("combined", "readout"), default="combined",
                   help="the windows to run: every label and the neutral one (default), or the neutral one alone")
    p.add_argument("--lava-limit", type=int, default=0,
                   help="also classify this many test samples in lava-ff's Lava fixed_pt Processes (by --classify)")
    p.add_argument("--predictions", default=None,
                   help="also save the torch and netx prediction tables here, as .npz")
    args = p.parse_args(argv)
    net = load_trained(args.model)
    test = load_mnist(args.data, "test")
    test = test.subset(np.arange(min(args.limit, len(test))))
    x, y = flatten_images(test.images), np.asarray(test.labels)
    with tempfile.TemporaryDirectory() as tmp:
        path = export(net, Path(tmp) / "model.net")
        spec = load(path)
        reference = net.prediction_table(x, classify=args.classify)
        n_spike = min(args.spike_samples, len(x))
        expected = torch_window_spikes(net, x[:n_spike], classify=args.classify)
        start = time.perf_counter()
        network = build_netx_network(path, x, spec=spec, expected_spikes=expected, classify=args.classify)
        run = run_netx_inference(network, "fixed_pt")
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    pred = run["predictions"]
    netx_summary = summarise_predictions(pred, y, reference)
    result = {
        "benchmark": "netx_roundtrip", "samples": len(x), "spike_samples": n_spike,
        "netx_file_bytes": size,
        "spikes_compared": int(sum(run["spikes_checked"])),
        "spike_mismatches": run["mismatches"],
        "spike_exact": all(m == 0 for m in run["mismatches"]),
        "first_mismatch": run["first_mismatch"],
        "prediction_agreement": netx_summary["agreement_with_torch"],
        "accuracy_netx": netx_summary["accuracy"],
        "accuracy_torch": summarise_predictions(reference, y, reference)["accuracy"],
        "seconds": seconds, "samples_per_second": run["samples_per_second"], "classify": args.classify,
    }
    if args.lava_limit:
        import lava_ff as ff

        full = load_mnist(args.data, "test")
        n = min(args.lava_limit, len(full))
        start = time.perf_counter()
        lava = ff.evaluate(ff.Model.from_network(net), (full.images[:n], np.asarray(full.labels[:n])),
                           backend="lava-fixed", classify=args.classify)
        result.update({"lava_fixed_samples": n, "lava_fixed_accuracy": lava.accuracy,
                       "lava_fixed_agreement_with_torch": lava.agreement_with_torch,
                       "lava_fixed_seconds": time.perf_counter() - start})
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    if args.predictions:
        np.savez(args.predictions, torch=reference, netx=pred)
    return result


if __name__ == "__main__":
    main()
