"""Classification modes, images side by side in Lava, and the classifier inside the netx file."""

import json
import subprocess
import sys
from dataclasses import replace

import h5py
import numpy as np
import pytest

import lava_ff as ff
from lava_ff.core.config import FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.goodness import quantize_classifier
from lava_ff.core.loihi import LOIHI2
from lava_ff.core.spec import NetworkSpec
from lava_ff.offline.model import FFNetwork


@pytest.fixture(scope="module")
def last_readout(trained, digits):
    return ff.fit_readout(trained, digits, progress=False)


def test_modes_run_only_their_windows_and_count_their_work():
    net = FFNetwork(FFConfig(in_features=64, layer_sizes=(30, 20), time_steps=8, weight_scale=1.0, seed=3))
    spec = NetworkSpec.from_torch(net)
    x = np.random.default_rng(1).random((12, 64)).astype(np.float32)
    tables, costs = {}, {}
    for mode in ("combined", "goodness", "readout"):
        costs[mode] = {}
        tables[mode] = net.prediction_table(x, classify=mode, cost=costs[mode])
    assert (tables["goodness"][:, 2:] == -1).all() and (tables["readout"][:, [0, 1, 3]] == -1).all()
    np.testing.assert_array_equal(tables["goodness"][:, :2], tables["combined"][:, :2])
    np.testing.assert_array_equal(tables["readout"][:, 2], tables["combined"][:, 2])
    # the neutral window's work, counted from the integer model: input spikes into layer 1, its spikes
    # into layer 2, and both layers' spikes into the readout's ten output neurons
    inputs = spec.encode(x, None)
    hidden = spec.forward_fixed(inputs)
    spikes = [int(s.sum()) for s in hidden]
    assert costs["readout"] == {"windows": 12, "spikes": sum(spikes),
                                "synops": inputs.sum() * 30 + spikes[0] * 20 + sum(spikes) * 10}
    assert costs["goodness"]["windows"] == 120
    assert costs["combined"] == {k: costs["goodness"][k] + costs["readout"][k] for k in costs["readout"]}
    with pytest.raises(ConfigError, match="unknown classification mode 'fast'; valid: combined, goodness, readout"):
        net.prediction_table(x, classify="fast")


def test_evaluate_reports_each_modes_columns_and_cost(trained, digits):
    readout = ff.evaluate(trained, digits, classify="readout", limit=50, progress=False)
    combined = ff.evaluate(trained, digits, limit=50, progress=False)
    assert readout.predictions.columns == ("readout",) and readout.classify == "readout"
    np.testing.assert_array_equal(readout.predictions["readout"], combined.predictions["readout"])
    assert readout.cost["windows"] == 1 and combined.cost["windows"] == 11
    assert combined.cost["spikes"] > 5 * readout.cost["spikes"] > 0
    with pytest.raises(ConfigError, match="classify='readout' needs a linear readout, and this network has none"):
        ff.evaluate(ff.Model(replace(trained.spec, readout_weight=None, readout_bias=None), trained.network, {}),
                    digits, classify="readout", limit=5, progress=False)
    with pytest.raises(ConfigError, match="batch=4: only lava-float and lava-fixed run images side by side"):
        ff.evaluate(trained, digits, batch=4, limit=5, progress=False)


@pytest.mark.lava
@pytest.mark.parametrize("mode", ["readout", "combined"])
def test_images_side_by_side_in_lava_predict_as_one_at_a_time(trained, digits, mode):
    from lava_ff.lava.inference import build_lava_network, run_lava_inference

    x = digits.test.images[:23].reshape(23, -1)
    for views in (1, 2):
        reference = trained.network.prediction_table(x, classify=mode, views=views, image_shape=(8, 8))
        for batch in (1, 5, 23, 40):
            net = build_lava_network(trained.spec, x, classify=mode, batch=batch, views=views, image_shape=(8, 8))
            assert net.windows == -(-23 * views // batch)
            out = run_lava_inference(net, "fixed_pt", progress=False, timeout=120)
            np.testing.assert_array_equal(out["predictions"], reference, err_msg=f"batch {batch}, views {views}")


def test_classifier_weights_never_reach_the_threshold():
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(0, 0.3, (10, 500)), rng.normal(0, 0.5, 10)
    for steps in (4, 10, 25):
        w, b, e = quantize_classifier(weight, bias, steps)
        assert np.all(w % 2 == 0) and np.abs(w).max() <= LOIHI2.weight_max
        # every input spiking at every step: the voltage stays below the largest threshold
        reach = np.maximum(np.clip(w, 0, None).sum(1), -np.clip(w, None, 0).sum(1)) + np.abs(b)
        assert steps * reach.max() < (1 << 17) - 1
        # one exponent more would break a bound: e is the largest that fits
        w2 = np.round(weight * 2.0 ** (e + 1) / 2) * 2
        b2 = np.round(bias * 2.0 ** (e + 1))
        reach2 = np.maximum(np.clip(w2, 0, None).sum(1), -np.clip(w2, None, 0).sum(1)) + np.abs(b2)
        assert steps * reach2.max() >= (1 << 17) - 1 or np.abs(w2).max() > 254
        np.testing.assert_allclose(w * 2.0**-e, weight, atol=2.0**-e)


def test_fit_readout_keeps_the_layers_and_any_schedule(digits):
    greedy = ff.train(digits, layers=(40, 30), epochs=3, schedule="greedy", block_epochs=(2, 1), progress=False)
    refit = ff.fit_readout(greedy, digits, progress=False)
    assert refit.config == replace(greedy.config, readout_from="last")
    for ours, theirs in zip(greedy.spec.weights, refit.spec.weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert refit.spec.readout_weight.shape == (10, 30)
    assert ff.evaluate(refit, digits, classify="readout", progress=False).accuracy["readout"] > 0.3  # chance: 0.1


def test_classifier_file_holds_the_readout_and_reads_back(trained, last_readout, tmp_path):
    with pytest.raises(ConfigError, match=r"the readout reads layers \[1, 2\].*--readout-from last"):
        ff.export(trained, tmp_path / "all.net", classifier=True)
    with pytest.raises(ConfigError, match="classifier=True writes netx output neurons; nir files"):
        ff.export(last_readout, tmp_path / "c.nir", classifier=True)
    path = ff.export(last_readout, tmp_path / "c.net", classifier=True)
    spec = last_readout.spec
    w, b, e = quantize_classifier(spec.readout_weight, spec.readout_bias, spec.config.time_steps)
    with h5py.File(path) as f:
        assert sorted(f["layer"]) == ["0", "1", "2"]
        np.testing.assert_array_equal(f["layer/2/weight"][()], w)
        np.testing.assert_array_equal(f["layer/2/bias"][()], b)
        assert int(f["layer/2/neuron/iDecay"][()]) == 4096 and int(f["layer/2/neuron/vDecay"][()]) == 0
    loaded = ff.load(path)
    assert len(loaded.spec.weights) == 2 and loaded.config.readout_from == "last"
    np.testing.assert_array_equal(loaded.spec.readout_weight, w * 2.0**-e)
    np.testing.assert_array_equal(loaded.spec.readout_bias, b * 2.0**-e)
    with h5py.File(path, "r+") as f:  # a tampered classifier layer is caught by the checksum
        f["layer/2/bias"][0] += 2
    with pytest.raises(ff.NetxFormatError, match="content does not match its checksum"):
        ff.load(path)


@pytest.mark.lava
def test_netx_classifier_is_spike_exact_and_predicts_as_lava_ff(last_readout, digits, tmp_path):
    from lava_ff.netx_export.run import build_netx_network, run_netx_inference

    path = ff.export(last_readout, tmp_path / "c.net", classifier=True)
    model = ff.load(path)
    spec = model.spec
    x = digits.test.images[:40].reshape(40, -1)
    expected = [s.transpose(0, 2, 1) for s in spec.forward_fixed(spec.encode(x, None))]
    host = run_netx_inference(build_netx_network(path, x, expected_spikes=expected, classify="readout"),
                              progress=False, timeout=120)
    assert host["mismatches"] == [0, 0] and host["spikes_checked"] == [e.size for e in expected]
    np.testing.assert_array_equal(host["classifier_predictions"], host["predictions"][:, 2])
    # as deployed: input, netx and the class reader, nothing else
    alone = build_netx_network(path, x, classify="readout")
    assert alone.monitors == [] and alone.readout is None
    deployed = run_netx_inference(alone, progress=False, timeout=120)
    own = ff.evaluate(model, (digits.test.images[:40], digits.test.labels[:40]), backend="lava-fixed",
                      classify="readout", progress=False)
    np.testing.assert_array_equal(deployed["classifier_predictions"], own.predictions["readout"])
    # combined: the reader reads the neutral window among the candidates' windows
    both = run_netx_inference(build_netx_network(path, x[:6], classify="combined"), progress=False, timeout=120)
    np.testing.assert_array_equal(both["classifier_predictions"], host["classifier_predictions"][:6])
    with pytest.raises(ValueError, match="host=False classifies with the file's own output neurons"):
        build_netx_network(path, x[:2], classify="combined", host=False)


@pytest.mark.lava
def test_cli_classify_and_classifier_export(tmp_path):
    run = tmp_path / "run"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "lava_ff", *args], capture_output=True, text=True, timeout=600)

    done = cli("train", "--layers", "30,20", "--epochs", "1", "--limit", "300", "--no-progress", "--out", str(run))
    assert done.returncode == 0, done.stderr[-2000:]
    refused = cli("export", "--model", str(run), "--out", str(tmp_path / "c.net"), "--classifier")
    assert refused.returncode != 0 and "--readout-from last" in refused.stderr
    done = cli("export", "--model", str(run), "--out", str(tmp_path / "c.net"), "--classifier",
               "--readout-from", "last", "--no-progress")
    assert done.returncode == 0, done.stderr[-2000:]
    exported = json.loads(done.stdout.splitlines()[-1])
    assert exported["classifier"] and exported["readout_from"] == "last" and 0 < exported["val_accuracy_readout"] <= 1
    done = cli("evaluate", "--model", str(tmp_path / "c.net"), "--backend", "netx-fixed", "--classify", "readout",
               "--limit", "15", "--no-progress")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["windows_per_image"] == 1 and result["samples"] == 15
    assert result["accuracy_classifier"] == result["accuracy_readout"] and result["agreement_with_torch_readout"] >= 0.9
    nir = cli("export", "--model", str(run), "--out", str(tmp_path / "c.nir"), "--classifier", "--readout-from", "last")
    assert nir.returncode != 0 and "classifier=True writes netx output neurons; nir files" in nir.stderr
    no_data = cli("export", "--model", str(tmp_path / "c.net"), "--out", str(tmp_path / "d.net"), "--classifier",
                  "--readout-from", "last")
    assert no_data.returncode != 0 and "records no data set and folder" in no_data.stderr
    assert not (tmp_path / "d.net").exists()
    bad = cli("evaluate", "--model", str(run), "--backend", "netx-fixed", "--batch", "8", "--limit", "5")
    assert bad.returncode != 0 and "batch=8: only lava-float and lava-fixed" in bad.stderr
