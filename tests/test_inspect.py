"""``lava-ff inspect`` / ``ff.inspect``: the Loihi 2 resources a network
needs, derived here from the limits, and the activity it counts, tied to
the integer reference and to the learning engine's weight changes."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

import lava_ff as ff
from lava_ff.core.budget import LOIHI2_LIMITS, LOIHI_COSTS, activity_cost, layer_budgets
from lava_ff.core.config import FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.inputs import phase_windows, prepare_inputs, readout_window
from lava_ff.core.layers import parse_layers
from lava_ff.core.neuron import quantize_neuron
from lava_ff.core.rule import FFLearningRule
from lava_ff.core.spec import NetworkSpec
from lava_ff.inspection import Inspection
from lava_ff.onchip.reference import hidden_window_spikes, simulate_onchip_windows, simulate_readout_windows

LIMIT = {name: int(figure.value) for name, figure in LOIHI2_LIMITS.items()}


def _spec(in_features: int, sizes: tuple[int, ...]) -> NetworkSpec:
    cfg = FFConfig(in_features=in_features, layer_sizes=sizes)
    fan_in = [cfg.input_size, *sizes[:-1]]
    neuron = quantize_neuron(cfg.neuron)
    weights = tuple(np.zeros((n, f), np.int32) for n, f in zip(sizes, fan_in, strict=True))
    return NetworkSpec(cfg, weights, (neuron,) * len(sizes))


def test_a_dense_layer_takes_as_many_neurons_per_core_as_its_memory_holds():
    spec = _spec(784, (3000, 20))
    big, small = layer_budgets(spec)
    fan_in = spec.config.input_size
    per_core = LIMIT["memory_per_core"] // (fan_in * LIMIT["bytes_per_weight"] + LIMIT["bytes_per_neuron"])
    assert (big.neurons_per_core, big.cores, big.binding) == (per_core, -(-3000 // per_core), "memory_per_core")
    assert big.memory_per_core == per_core * (fan_in + LIMIT["bytes_per_neuron"]) <= LIMIT["memory_per_core"]
    assert (big.synapses, big.axons_per_core, big.traces_per_core) == (3000 * fan_in, fan_in, 0)
    assert (small.neurons_per_core, small.cores) == (20, 1) and small.binding.startswith("none")


def test_learning_layers_also_hold_their_traces():
    learning = layer_budgets(_spec(784, (3000,)), plastic=True)[0]
    fan_in = 794
    per_core = (LIMIT["memory_per_core"] - fan_in * LIMIT["bytes_per_trace"]) // (
        fan_in * LIMIT["bytes_per_weight"] + LIMIT["bytes_per_neuron"] + 2 * LIMIT["bytes_per_trace"])
    assert learning.neurons_per_core == per_core
    assert learning.traces_per_core == fan_in + 2 * per_core


def test_a_network_past_the_limits_is_reported_with_the_limit_and_by_how_much():
    wide_in = layer_budgets(_spec(5000, (10,)))[0]
    needed = 5000 + 10  # the image and the label neurons
    assert (wide_in.neurons_per_core, wide_in.cores, wide_in.binding) == (0, 0, "axons_per_core")
    assert wide_in.violations == (f"axons_per_core: one neuron needs {needed:,}, the limit is "
                                  f"{LIMIT['axons_per_core']:,} ({needed / LIMIT['axons_per_core']:.2f}x)",)
    layers = layer_budgets(_spec(784, (40000,)))
    cores = layers[0].cores
    found = Inspection("wide", layers)
    assert cores > LIMIT["cores_per_chip"] and not found.fits
    assert found.violations == [f"cores_per_chip: the network needs {cores:,} neuro-cores, one chip has 128 "
                                f"({cores / 128:.2f}x; {-(-cores // 128)} chips)"]
    assert "does not fit" in found.report() and "cores_per_chip" in found.report()


def test_a_convolution_stores_its_kernel_once_and_reads_a_patch_per_core():
    cfg = FFConfig.from_layers(parse_layers("c16k5p2,10"), (1, 28, 28), overlay="groups", loss="softmax")
    neuron = quantize_neuron(cfg.neuron)
    spec = NetworkSpec(cfg, (np.zeros((16, 1, 5, 5), np.int32), np.zeros((10, 16 * 12 * 12), np.int32)),
                       (neuron, neuron))
    conv, dense = layer_budgets(spec)
    assert (conv.neurons, conv.weights, conv.fan_in, conv.synapses) == (16 * 24 * 24, 16 * 25, 25, 16 * 24 * 24 * 25)
    # 8,192 of its 9,216 neurons fit a core: 512 positions of 16 channels, a 23 x 23 tile (at most),
    # which reads a (23 - 1 + 5)-pixel square of the image
    assert conv.neurons_per_core == LIMIT["neurons_per_core"] and conv.cores == 2
    assert conv.axons_per_core == (23 - 1 + 5) ** 2
    # the dense layer reads the unpooled map: the pool is folded into its weights
    assert (dense.fan_in, dense.weights) == (16 * 24 * 24, 10 * 16 * 24 * 24)


def test_activity_is_priced_with_the_published_figures():
    layers = layer_budgets(_spec(784, (3000, 100)))
    cost = activity_cost(layers, synops=[1e6, 2e4], neuron_updates=[3e4, 1e3], weight_updates=[5e5, 0])
    c = {k: v.value for k, v in LOIHI_COSTS.items()}
    assert cost["energy_joules"] == pytest.approx(1.02e6 * c["energy_per_synop"] + 3.1e4 * c["energy_per_neuron_update"]
                                                  + 5e5 * c["energy_per_weight_update"])
    busiest = max((1e6 * c["time_per_synop"] + 5e5 * c["time_per_weight_update"]) / layers[0].cores,
                  2e4 * c["time_per_synop"] / layers[1].cores)
    assert cost["latency_seconds"] == pytest.approx(busiest)
    with pytest.raises(ValueError, match="2 layers, but activity for 1"):
        activity_cost(layers, synops=[1.0], neuron_updates=[1.0, 1.0])


def test_inference_activity_equals_the_integer_reference(digits, trained):
    found = ff.inspect(trained, digits, limit=40, learning_samples=0, progress=False)
    spec = trained.spec
    x = prepare_inputs(digits.test.images[:40], spec.config)
    layers = spec.forward_fixed(spec.encode(x, None, np.random.default_rng(0)))
    inputs = spec.encode(x, None, np.random.default_rng(0))
    spikes = [float(s.sum()) / 40 for s in layers]
    synops = [float(inputs.sum()) * spec.weights[0].shape[0] / 40,
              float(layers[0].sum()) * spec.weights[1].shape[0] / 40]
    readout = sum(spikes) * 10  # the readout reads both layers, one synapse per class
    measured = found.inference
    assert measured["layer_spikes"] == pytest.approx(spikes)
    assert measured["layer_synops"] == pytest.approx([*synops, readout])
    steps = spec.config.time_steps + 1
    assert (measured["windows"], measured["steps"]) == (1, steps)
    assert measured["neuron_updates"] == (40 + 30 + 10) * steps
    assert found.learning is None and found.fits


def test_counted_weight_updates_are_the_weights_the_engine_changes(digits, trained):
    cfg, spec = trained.config, trained.spec
    rule = FFLearningRule()
    x = prepare_inputs(digits.train.images[:1], cfg)
    windows = phase_windows(x[0], int(digits.train.labels[0]), (int(digits.train.labels[0]) + 1) % 10, cfg,
                            np.random.default_rng(0))[:1]
    start = [w.astype(np.float64) * 0.25 for w in spec.weights]  # inside the learning range: nothing clips
    cost = {}
    after = simulate_onchip_windows(start, spec.neurons[0], rule, cfg, windows, np.array([1]), fixed=False,
                                    cost=cost).weights
    changed = [np.count_nonzero(a != w) for a, w in zip(after, start, strict=True)]
    assert changed[0] > 0 and list(cost["weight_updates"]) == changed
    assert cost["synops"][0] == windows.sum() * spec.weights[0].shape[0]


def test_learning_activity_is_counted_per_sample(digits, trained):
    found = ff.inspect(trained, digits, limit=10, learning_samples=6, progress=False)
    learning = found.learning
    assert learning["samples"] == 6 and learning["windows"] == 2
    assert learning["weight_updates"] > 0 and learning["energy_joules"] > found.inference["energy_joules"]
    assert any("default on-chip rule" in note for note in found.notes)
    # the upper bound: every plastic synapse visited at both learning events of a sample
    assert learning["synapses_visited"] == 2 * sum(w.size for w in trained.spec.weights)
    assert learning["synapses_visited"] > learning["weight_updates"]
    assert learning["energy_joules_visiting_all"] > learning["energy_joules"]
    json.dumps(found.to_dict())  # the report is plain JSON


def test_counted_readout_updates_are_the_readout_weights_the_engine_changes(digits, trained):
    cfg, spec = trained.config, trained.spec
    window = readout_window(prepare_inputs(digits.train.images[:1], cfg)[0], cfg, np.random.default_rng(0))
    hidden = hidden_window_spikes(list(spec.weights), spec.neurons[0], cfg, window[None], fixed=True)
    start = np.zeros((10, cfg.readout_features))
    cost = {}
    after = simulate_readout_windows(start, FFLearningRule(), hidden, np.array([3]), logit_scale=1.0, fixed=False,
                                     cost=cost).weights
    assert cost["weight_updates"][0] == np.count_nonzero(after != start) > 0
    assert cost["synops"][0] == hidden.sum() * 10


def test_a_readout_learned_on_chip_is_counted_and_the_whole_training_priced(digits, trained):
    readout = np.zeros((10, trained.config.readout_features), np.int32)
    spec = dataclasses.replace(trained.spec, onchip_readout=readout, onchip_readout_scale=1.0)
    passes = {"samples": 100, "passes": 2, "readout_passes": 3}
    model = ff.Model(spec, trained.network, {"rule": FFLearningRule().to_dict(), "onchip_training": passes})
    found = ff.inspect(model, digits, limit=10, learning_samples=5, progress=False)
    ro = found.readout_learning
    # the FF layers run one neutral window and do not learn: the integer reference's spikes
    x = prepare_inputs(digits.train.images[:5], spec.config)
    layers = spec.forward_fixed(spec.encode(x, None, np.random.default_rng(0)))
    assert ro["layer_spikes"] == pytest.approx([float(s.sum()) / 5 for s in layers])
    assert ro["layer_synops"][-1] == pytest.approx(sum(float(s.sum()) for s in layers) * 10 / 5)
    assert ro["windows"] == 1 and ro["layer_weight_updates"][:2] == [0.0, 0.0] and ro["weight_updates"] > 0
    assert ro["synapses_visited"] == readout.size
    assert found.layers[-1].plastic and "Per readout learning sample" in found.report()
    total = found.training
    assert total["energy_joules"] == pytest.approx(200 * found.learning["energy_joules"] + 300 * ro["energy_joules"])
    assert total["latency_seconds_visiting_all"] == pytest.approx(
        200 * found.learning["latency_seconds_visiting_all"] + 300 * ro["latency_seconds_visiting_all"])
    assert "whole on-chip training" in found.report()
    json.dumps(found.to_dict())


@pytest.mark.parametrize("kwargs, named", [({"learning_samples": -1}, "learning_samples"),
                                           ({"limit": 0}, "limit"), ({"split": "train"}, "'train'")])
def test_bad_arguments_are_refused_by_name(trained, kwargs, named):
    with pytest.raises(ConfigError, match=named):
        ff.inspect(trained, progress=False, **kwargs)


def test_a_conv_network_reports_why_it_counts_no_learning():
    net = ff.FFNetwork(FFConfig.from_layers(parse_layers("c10k3,20"), (1, 8, 8), overlay="groups", loss="softmax"))
    images = np.random.default_rng(0).random((5, 8, 8)).astype(np.float32)
    found = ff.inspect(ff.Model.from_network(net), (images, np.arange(5)), progress=False)
    assert found.learning is None and found.inference["samples"] == 5
    assert any("convolutions" in note for note in found.notes)


def test_the_cli_reports_a_run_and_refuses_a_file_that_is_no_network(tmp_path):
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "lava_ff", "train", "--layers", "30", "--epochs", "1", "--no-progress",
                    "--out", str(run)], check=True, capture_output=True)
    report = tmp_path / "budget.json"
    done = subprocess.run([sys.executable, "-m", "lava_ff", "inspect", str(run), "--limit", "20",
                           "--learning-samples", "4", "--out", str(report), "--no-progress"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "neuro-cores" in done.stdout and "Per learning sample" in done.stdout
    written = json.loads(report.read_text())
    assert written["fits"] and written["inference"]["samples"] == 20 and written["learning"]["samples"] == 4
    junk = tmp_path / "notes.txt"
    junk.write_text("not a network")
    done = subprocess.run([sys.executable, "-m", "lava_ff", "inspect", str(junk)], capture_output=True, text=True)
    assert done.returncode != 0 and str(junk) in done.stderr and "Traceback" not in done.stderr
