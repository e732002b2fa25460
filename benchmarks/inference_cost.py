"""What classifying one image costs, by classification mode and backend (a benchmark, not a test).

For a trained run (its recorded data set, seed and validation split), it measures on the test split:

* accuracy and cost per image (windows, spikes, synaptic operations) of every
  classification mode (``combined``, ``goodness``, ``readout``) in torch;
* samples/s of ``lava-fixed`` (lava-ff's Processes) against the number of
  images side by side per window, by readout, and the full test split at the
  default batch, predictions compared with torch;
* the classifier inside the netx file: a readout of the last layer learned
  on the training split, exported with ``--classifier``, run by ``netx-fixed``
  over the test split (its output neurons' argmax against lava-ff's readout
  of the same file, spike for spike on the first images);
* lava-dl's own ``netx.hdf5.Network`` on a plain dense CUBA network of the
  same size (random weights, no lava-ff Process, one window per image): how
  fast the simulator runs such a network, the ratio's reference.

Writes ``results.json``, ``results.md`` and ``throughput.png`` into ``--out``::

    .venv/bin/python benchmarks/inference_cost.py --model runs/mnist-offline --out runs/inference-cost
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import lava_ff as ff
from lava_ff.core.config import CLASSIFY_MODES, LAVA_BATCH_COPIES, FFConfig
from lava_ff.core.fileio import check_output_dir, write_json
from lava_ff.core.inputs import prepare_inputs
from lava_ff.core.loihi import quantize_weights
from lava_ff.core.spec import NetworkSpec
from lava_ff.plots import plot_throughput


def log(message: str) -> None:
    print(f"inference_cost: {message}", file=sys.stderr, flush=True)


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def netx_baseline(spec: NetworkSpec, x: np.ndarray, num_classes: int, seed: int = 0) -> dict:
    """lava-dl's ``netx.hdf5.Network`` alone on a dense CUBA network of
    ``spec``'s layer sizes plus ``num_classes`` output neurons, random
    weights at each trained layer's spread: a source ring buffer of the
    neutral-label spikes, one window per image, a sink of the output spikes."""
    import lava_ff.processes  # noqa: F401  (before netx: Lava chooses its start method first)
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava_ff.netx_export.io import export

    from lava_ff.core.imports import quiet_import
    from lava_ff.lava.runtime import lava_session

    netx = quiet_import("lava.lib.dl.netx")
    rng = np.random.default_rng(seed)
    shapes = [w.shape for w in spec.weights] + [(num_classes, spec.weights[-1].shape[0])]
    spreads = [float(np.std(w)) for w in spec.weights] + [float(np.std(spec.weights[-1]))]
    weights = [quantize_weights(rng.normal(0.0, s / 64, shape)) for shape, s in zip(shapes, spreads, strict=True)]
    cfg = spec.config
    config = FFConfig(in_features=cfg.in_features, layer_sizes=tuple(s[0] for s in shapes),
                      num_classes=cfg.num_classes, time_steps=cfg.time_steps, neuron=cfg.neuron, overlay=cfg.overlay,
                      label_scale=cfg.label_scale, label_repeat=cfg.label_repeat, encoding=cfg.encoding)
    plain = NetworkSpec(config=config, weights=tuple(weights), neurons=tuple([spec.neurons[0]] * len(weights)))
    T = spec.config.time_steps
    spikes = spec.encode(x, None)  # [N, F, T]: the neutral window lava-ff's readout mode sends
    data = spikes.transpose(1, 0, 2).reshape(spikes.shape[1], -1).astype(np.int32)
    with tempfile.TemporaryDirectory() as tmp:
        path = export(plain, Path(tmp) / "plain.net")
        net = netx.hdf5.Network(net_config=str(path), reset_interval=T, reset_offset=1)
        source = Source(data=data)
        sink = Sink(shape=net.out.shape, buffer=data.shape[1] + len(weights))
        source.s_out.connect(net.inp)
        net.out.connect(sink.a_in)
        with lava_session(sink, Loihi2SimCfg(select_tag="fixed_pt")) as session:
            session.run(T)  # compile, spawn and the first image
            start = time.perf_counter()
            session.run((len(x) - 1) * T + len(weights))
            seconds = time.perf_counter() - start
    return {"samples": len(x), "layers": [int(s[0]) for s in shapes], "seconds": seconds,
            "samples_per_second": (len(x) - 1) / seconds}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a lava-ff train run folder")
    p.add_argument("--limit", type=int, default=None, help="first N test images for the full-split runs")
    p.add_argument("--batches", type=_ints, default=[1, 4, 16, 64, 128], help="lava-fixed batch sizes to sweep")
    p.add_argument("--rate-samples", type=int, default=2000, help="test images per point of the batch sweep")
    p.add_argument("--baseline-samples", type=int, default=500, help="images for lava-dl's own netx run")
    p.add_argument("--spike-samples", type=int, default=100, help="images compared spike for spike in netx")
    p.add_argument("--out", required=True, help="folder for results.json, results.md and throughput.png")
    args = p.parse_args(argv)
    out = check_output_dir(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = ff.load(args.model)
    cfg, record = model.config, model.record
    if "dataset" not in record:
        raise SystemExit(f"{args.model}: no recorded data set; pass a lava-ff train run folder")
    data = ff.load_dataset(record["dataset"], record.get("data"), seed=cfg.seed, time_steps=cfg.time_steps,
                           val_size=record.get("val_size"))
    n = len(data.test.labels) if args.limit is None else min(args.limit, len(data.test.labels))
    head = {"benchmark": "inference_cost", "model": args.model, "layers": list(cfg.layer_sizes),
            "time_steps": cfg.time_steps, "test_samples": n}
    # every stage's figures go into partial.json as it ends, so a rerun of the same command resumes
    partial = out / "partial.json"
    result = json.loads(partial.read_text()) if partial.is_file() else {}
    if {k: result.get(k) for k in head} != head:
        result = dict(head)

    def stage(name, measure):
        if name not in result:
            result[name] = measure()
            write_json(partial, result)
        return result[name]

    def modes():  # torch: accuracy and cost per image
        rows = {}
        for mode in CLASSIFY_MODES:
            ev = ff.evaluate(model, data, classify=mode, limit=n, progress=False)
            rows[mode] = {"accuracy": ev.accuracy, **{f"{k}_per_image": v for k, v in ev.cost.items()}}
            log(f"torch {mode}: {ev.accuracy} {ev.cost}")
        return rows

    def sweep():
        rows = []
        for mode in ("readout", "combined"):
            copies = 1 if mode == "readout" else cfg.num_classes + 1
            for batch in args.batches:
                if batch * copies > 4 * LAVA_BATCH_COPIES and mode != "readout":
                    continue
                samples = min(n, args.rate_samples if batch >= 4 else args.rate_samples // 10)
                ev = ff.evaluate(model, data, backend="lava-fixed", classify=mode, batch=batch, limit=samples,
                                 progress=False)
                rows.append({"classify": mode, "batch": batch, "samples": samples,
                             "samples_per_second": ev.samples_per_second,
                             "agreement_with_torch": ev.agreement_with_torch})
                log(f"lava-fixed {mode} batch {batch}: {ev.samples_per_second:.1f} samples/s")
        return rows

    def lava_fixed_readout():
        start = time.perf_counter()
        ev = ff.evaluate(model, data, backend="lava-fixed", classify="readout", limit=n, progress=False)
        row = {"batch": ev.batch, "seconds": time.perf_counter() - start, "samples_per_second": ev.samples_per_second,
               "accuracy": ev.accuracy, "agreement_with_torch": ev.agreement_with_torch}
        log(f"lava-fixed readout, full split: {row}")
        return row

    def classifier_in_file():
        last = ff.fit_readout(model, data, readout_from="last", progress=False)
        row = {"readout_all_layers": ff.evaluate(model, data, classify="readout", limit=n,
                                                 progress=False).accuracy["readout"],
               "readout_last_layer": ff.evaluate(last, data, classify="readout", limit=n,
                                                 progress=False).accuracy["readout"]}
        path = ff.export(last, out / "classifier.net", classifier=True)
        in_file = ff.load(path)
        start = time.perf_counter()
        netx = ff.evaluate(in_file, data, backend="netx-fixed", classify="readout", limit=n, progress=False)
        row.update(netx_seconds=time.perf_counter() - start, netx_samples_per_second=netx.samples_per_second,
                   netx_startup_seconds=netx.details["startup_seconds"], netx_accuracy=netx.accuracy,
                   netx_agreement_with_torch=netx.agreement_with_torch)
        own = ff.evaluate(in_file, data, backend="lava-fixed", classify="readout", limit=n, progress=False)
        row["lava_fixed_of_file_equals_netx_classifier"] = float(np.mean(
            own.predictions["readout"] == netx.predictions["classifier"]))
        row["file_bytes"] = path.stat().st_size
        x = prepare_inputs(data.test.images[:args.spike_samples], cfg)
        spec = in_file.spec
        expected = [s.transpose(0, 2, 1) for s in spec.forward_fixed(spec.encode(x, None))]
        from lava_ff.netx_export.run import build_netx_network, run_netx_inference

        run = run_netx_inference(build_netx_network(path, x, spec=spec, expected_spikes=expected,
                                                    classify="readout"), progress=False)
        row.update(spike_samples=len(x), spikes_compared=int(sum(run["spikes_checked"])),
                   spike_mismatches=run["mismatches"],
                   spike_check_classifier_equals_readout=bool(np.array_equal(
                       run["classifier_predictions"], run["predictions"][:, 2])))
        log(f"classifier in the netx file: {row}")
        return row

    def baseline():
        x = prepare_inputs(data.test.images[:args.baseline_samples], cfg)
        row = netx_baseline(model.spec, x, cfg.num_classes, seed=cfg.seed)
        log(f"lava-dl netx baseline: {row}")
        return row

    stage("modes", modes)
    stage("lava_fixed_sweep", sweep)
    stage("lava_fixed_readout", lava_fixed_readout)
    classifier = stage("classifier_in_file", classifier_in_file)
    base = stage("lava_dl_netx_baseline", baseline)["samples_per_second"]
    result["ratio_netx_readout_to_baseline"] = classifier["netx_samples_per_second"] / base
    result["ratio_lava_fixed_readout_to_baseline"] = result["lava_fixed_readout"]["samples_per_second"] / base
    curves = {}
    for row in result["lava_fixed_sweep"]:
        batches, rates = curves.setdefault(f"lava-fixed, {row['classify']}", ([], []))
        batches.append(row["batch"])
        rates.append(row["samples_per_second"])
    curves_plot = plot_throughput(curves, out / "throughput.png",
                                  references={"lava-dl netx, same size": base,
                                              "netx-fixed, readout (classifier file)":
                                                  classifier["netx_samples_per_second"]},
                                  title=f"{'-'.join(map(str, [cfg.in_features, *cfg.layer_sizes]))}: "
                                        "samples/s in Lava's CPU simulator")
    result["plot"] = str(curves_plot)
    write_json(out / "results.json", result)
    (out / "results.md").write_text(markdown(result))
    print(json.dumps(result))
    return result


def markdown(r: dict) -> str:
    lines = [f"Test images: {r['test_samples']}; network {r['layers']}, T = {r['time_steps']}.", "",
             "| mode | accuracy | windows / image | spikes / image | synops / image |", "|---|---|---|---|---|"]
    for mode, m in r["modes"].items():
        acc = ", ".join(f"{k} {v:.2%}" for k, v in m["accuracy"].items())
        lines.append(f"| {mode} | {acc} | {m['windows_per_image']:.0f} | {m['spikes_per_image']:.0f} | "
                     f"{m['synops_per_image']:.3g} |")
    lines += ["", "| lava-fixed | batch | samples/s |", "|---|---|---|"]
    lines += [f"| {row['classify']} | {row['batch']} | {row['samples_per_second']:.1f} |"
              for row in r["lava_fixed_sweep"]]
    c, lf, base = r["classifier_in_file"], r["lava_fixed_readout"], r["lava_dl_netx_baseline"]
    lines += ["", f"- lava-fixed, readout, full split (batch {lf['batch']}): {lf['seconds']:.0f} s, "
                  f"{lf['samples_per_second']:.0f} samples/s, agreement with torch {lf['agreement_with_torch']}",
              f"- readout of all layers {c['readout_all_layers']:.2%}, of the last layer {c['readout_last_layer']:.2%}"
              " (torch, test split)",
              f"- netx-fixed, classifier file, readout: {c['netx_seconds']:.0f} s, "
              f"{c['netx_samples_per_second']:.1f} samples/s, accuracy {c['netx_accuracy']['classifier']:.2%}; "
              f"lava-ff's lava-fixed run of the same file predicts the same on "
              f"{c['lava_fixed_of_file_equals_netx_classifier']:.2%}",
              f"- spike check on {c['spike_samples']} images: {c['spikes_compared']} neuron-steps, mismatches "
              f"{c['spike_mismatches']}; output neurons equal lava-ff's readout of the same spikes: "
              f"{c['spike_check_classifier_equals_readout']}",
              f"- lava-dl netx alone, {base['layers']}: {base['samples_per_second']:.1f} samples/s; "
              f"netx-fixed readout / it = {r['ratio_netx_readout_to_baseline']:.2f}, "
              f"lava-fixed readout / it = {r['ratio_lava_fixed_readout_to_baseline']:.2f}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
