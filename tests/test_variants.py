"""Issue 8: IntFF blocks, the FFGAF-style rule, the robustness protocol, the BPTT baseline and the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lava_ff.core.config import FFConfig
from lava_ff.core.neuron import NeuronParams
from lava_ff.robustness import (
    CORRUPTIONS,
    check_fractions,
    corrupt_training_set,
    gaussian_noise,
    pixel_dropout,
    robustness_curves,
)

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ configuration
def test_blocks_must_cover_the_layers_and_need_a_gradient_rule():
    assert FFConfig(in_features=4, layer_sizes=(5, 5, 5), blocks=(2, 1)).layer_blocks == [[0, 1], [2]]
    assert FFConfig(in_features=4, layer_sizes=(5, 5)).layer_blocks == [[0], [1]]
    with pytest.raises(ValueError, match=r"blocks \[2, 2\] cover 4 layers but the network has 3"):
        FFConfig(in_features=4, layer_sizes=(5, 5, 5), blocks=(2, 2))
    with pytest.raises(ValueError, match="positive layer counts"):
        FFConfig(in_features=4, layer_sizes=(5, 5), blocks=(0, 2))
    with pytest.raises(ValueError, match="gradient rule"):
        FFConfig(in_features=4, layer_sizes=(5, 5), blocks=(2,), rule="three_factor")
    with pytest.raises(ValueError, match="sum_sq_voltage"):
        FFConfig(in_features=4, layer_sizes=(5,), rule="ffgaf", goodness="sum_sq_voltage")
    cfg = FFConfig(in_features=4, layer_sizes=(5, 5), blocks=(2,))
    assert FFConfig.from_dict(cfg.to_dict()) == cfg


def test_cli_refuses_blocks_that_do_not_sum(tmp_path, capsys):
    from lava_ff.cli.main import main

    code = main(["train", "--dataset", "digits", "--layers", "20,20", "--blocks", "3", "--limit", "40",
                 "--epochs", "1", "--no-progress", "--out", str(tmp_path / "run")])
    assert code == 2
    assert "blocks [3] cover 3 layers but the network has 2" in capsys.readouterr().err


# ------------------------------------------------------------------ FFGAF-style
def test_black_box_rule_passes_the_gradient_around_the_spike_function(rng):
    """Forward: the same spikes. Backward: d spikes_t / d current_t = 1/threshold,
    so for loss = sum of all spikes, dL/dW[o, i] = sum_{b,t} s[b, i, t] / threshold
    for every o (the 8-bit quantizer passes gradients straight through)."""
    from lava_ff.offline.model import FFLayer

    threshold = 2.0
    layer = FFLayer(6, 4, NeuronParams(threshold=threshold), generator=torch.Generator().manual_seed(0))
    spikes_in = torch.as_tensor(rng.random((3, 6, 5)) < 0.5, dtype=torch.float32)
    plain, v_plain = layer(spikes_in)
    black, v_black = layer(spikes_in, black_box=True)
    torch.testing.assert_close(black, plain)
    torch.testing.assert_close(v_black, v_plain)
    black.sum().backward()
    expected = (spikes_in.sum(dim=(0, 2)) / threshold).expand(4, 6)
    torch.testing.assert_close(layer.weight.grad, expected)


def test_black_box_on_the_time_mean_equals_the_per_step_linear_unit(rng):
    """The black box takes its linear unit on the time-mean input (1/T of
    the cost). For an objective of the rates only (here the goodness, sum of
    squared rates, weighted per row) its weight and input gradients equal
    those of the per-step unit ``spikes_t + (W x_t - stop(W x_t)) /
    threshold``, built here by hand from the dense input; with the factored
    candidate input (the all-labels loss) too. The black-box side takes its
    goodness from torch_goodness, as training does (spike_rate's gradient
    arrives as a broadcast view)."""
    from lava_ff.offline.model import CandidateSpikes, FFLayer, dense_spikes, torch_goodness

    threshold, steps = 1.5, 7
    layer = FFLayer(9, 5, NeuronParams(threshold=threshold), generator=torch.Generator().manual_seed(1))
    row_weights = torch.linspace(-1.0, 2.0, 6)
    images = torch.as_tensor(rng.random((2, 9, steps)) < 0.5, dtype=torch.float32)
    images[:, 6:] = 0
    codes = torch.as_tensor(rng.random((3, 3, steps)) < 0.5, dtype=torch.float32)
    candidates = CandidateSpikes(images, codes, start=6)
    for spikes_in in (dense_spikes(candidates).requires_grad_(True), candidates):
        grads = []
        for per_step in (False, True):
            layer.weight.grad = None
            x = spikes_in if isinstance(spikes_in, CandidateSpikes) else spikes_in.detach().requires_grad_(True)
            if per_step:
                spikes, _ = layer(x)
                dense = dense_spikes(x)
                linear = torch.einsum("bit,oi->bot", dense, layer.quantized_weight()) / threshold
                spikes = spikes.detach() + (linear - linear.detach())
                goodness = (spikes.mean(-1) ** 2).sum(-1)
            else:  # what training runs: the rate's gradient reaches the black box as a broadcast view
                spikes, _ = layer(x, black_box=True)
                goodness = torch_goodness(spikes, "sum_sq_rate")
            (goodness * row_weights).sum().backward()
            grads.append((layer.weight.grad.clone(), None if isinstance(x, CandidateSpikes) else x.grad))
        (w_mean, x_mean), (w_step, x_step) = grads
        assert w_step.abs().max() > 0
        torch.testing.assert_close(w_mean, w_step, rtol=1e-5, atol=1e-6)
        if x_step is not None:
            torch.testing.assert_close(x_mean, x_step, rtol=1e-5, atol=1e-6)


def test_class_aware_weights_favour_the_confused_class():
    from lava_ff.offline.train import Trainer

    trainer = Trainer(FFConfig(in_features=4, layer_sizes=(5,), num_classes=3, rule="ffgaf"))
    trainer.confusion[:] = 0.0
    trainer.confusion[1, 2] = 0.6  # class 1 is often taken for class 2
    w = trainer.class_weights(np.array([0, 1, 2])).numpy()
    # hardness (0, 0.6, 0) -> 1 + h / mean(h) = (1, 4, 1) -> normalised to mean 1: (0.5, 2, 0.5)
    np.testing.assert_allclose(w, [0.5, 2.0, 0.5], rtol=1e-6)
    g_pos, g_neg = torch.tensor([1.0, 0.2]), torch.tensor([0.5, 0.9])
    trainer._update_confusion(np.array([0, 2]), np.array([1, 0]), (g_neg >= g_pos).numpy(), rate=0.5)
    assert trainer.confusion[0, 1] == 0.0  # negative below positive: not confused
    assert trainer.confusion[2, 0] == 0.5  # confused: moves half way to 1


# ------------------------------------------------------------------ IntFF blocks
def _one_batch(layer_sizes, blocks):
    from lava_ff.core.inputs import flatten_images
    from lava_ff.datasets import load_digits
    from lava_ff.offline.train import Trainer, TrainSettings

    digits = load_digits()
    cfg = FFConfig(in_features=64, layer_sizes=layer_sizes, blocks=blocks, theta=2.0, seed=4)
    trainer = Trainer(cfg, TrainSettings(epochs=1, batch_size=32, progress=False))
    x = flatten_images(digits.images[:32])
    trainer._train_batch(x, np.asarray(digits.labels[:32]), digits.shape)
    return trainer.net.layers[0].weight.detach().clone()


def test_no_gradient_crosses_a_block_boundary_and_one_flows_inside_a_block():
    alone = _one_batch((30,), None)  # layer 0 trained by itself
    separate = _one_batch((30, 20), None)  # two blocks of one layer
    joint = _one_batch((30, 20), (2,))  # one block of two layers: layer 1's loss reaches layer 0
    torch.testing.assert_close(separate, alone, rtol=0, atol=0)
    assert not torch.equal(joint, alone)


# ------------------------------------------------------------------ early stopping
def test_early_stopping_keeps_the_best_validation_epoch():
    from lava_ff.core.inputs import flatten_images
    from lava_ff.datasets import load_digits
    from lava_ff.offline.train import Trainer, TrainSettings

    digits = load_digits()
    train, val = digits.split(0.2, seed=0)
    train = train.subset(slice(0, 300))
    cfg = FFConfig(in_features=64, layer_sizes=(40,), theta=2.0, seed=1)
    trainer = Trainer(cfg, TrainSettings(epochs=4, batch_size=20, progress=False, patience=1))
    trainer.fit(flatten_images(train.images), train.labels, flatten_images(val.images), val.labels, train.shape)
    scores = [h["val_goodness"] for h in trainer.history]
    assert trainer.best["score"] == max(scores) and trainer.best["epoch"] == 1 + int(np.argmax(scores))
    # stops one epoch after the best unless that is the last one
    assert len(scores) == min(4, trainer.best["epoch"] + 1)
    for key, value in trainer.net.state_dict().items():
        torch.testing.assert_close(value, trainer.best["model"][key])


# ------------------------------------------------------------------ robustness protocol
def test_corrupted_training_set_follows_the_fractions(rng):
    images = rng.random((400, 6, 6)).astype(np.float32)
    labels = rng.integers(0, 10, 400)
    out, out_labels, kind = corrupt_training_set(images, labels, 10, np.random.default_rng(3))
    assert [int((kind == i).sum()) for i in range(4)] == [100, 100, 100, 100]
    clean, noisy, dropped, noise = (kind == i for i in range(4))
    np.testing.assert_array_equal(out[clean], images[clean])
    np.testing.assert_array_equal(out_labels[clean | noisy | dropped], labels[clean | noisy | dropped])
    assert not np.allclose(out[noisy], images[noisy]) and out.min() >= 0 and out.max() <= 1
    assert np.all((out[dropped] == 0) | (out[dropped] == images[dropped]))
    assert 0.4 < np.mean(out[dropped] == 0) < 0.6  # DROP_PROB = 0.5 (inputs are never exactly 0 here)
    assert np.mean(out_labels[noise] != labels[noise]) > 0.8  # random labels: 90% differ in expectation
    uneven = corrupt_training_set(images, labels, 10, np.random.default_rng(3), fractions=(0.5, 0.5, 0, 0))[2]
    assert set(np.unique(uneven)) == {0, 1}


@pytest.mark.parametrize("fractions, message", [
    ((0.5, 0.5, 0.5, -0.5), r"must lie in \[0, 1\]: noise_random_label=-0.5"),
    ((1.5, 0, 0, 0), r"must lie in \[0, 1\]: clean=1.5"),
    ((0.25, 0.25, 0.25, 0.2), "must sum to 1"),
    ((0.5, 0.5), "one value for each of clean, gaussian, dropout, noise_random_label"),
])
def test_bad_corruption_fractions_are_refused(fractions, message):
    with pytest.raises(ValueError, match=message):
        check_fractions(fractions)


def test_test_time_corruptions_and_curves(rng):
    images = rng.random((50, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(pixel_dropout(images, 0.0, rng), images)
    assert not pixel_dropout(images, 1.0, rng).any()
    np.testing.assert_array_equal(gaussian_noise(images, 0.0, rng), images)
    with pytest.raises(ValueError, match="dropout probability must be a number in \\[0, 1\\], got 1.5"):
        pixel_dropout(images, 1.5, rng)
    with pytest.raises(ValueError, match="intensities in \\[0, 1\\]"):
        gaussian_noise(images * 3, 0.1, rng)
    labels = (images.mean(axis=(1, 2)) > 0.5).astype(int)

    def predict(x):  # a classifier that is right on clean data
        return (x.mean(axis=(1, 2)) > 0.5).astype(int)

    curves = robustness_curves(predict, images, labels, rng, noise_levels=(0.0, 0.3), drop_levels=(0.0, 1.0))
    assert curves["noise_accuracy"][0] == 1.0 and curves["drop_accuracy"][0] == 1.0
    assert curves["drop_accuracy"][1] == np.mean(labels == 0)  # all pixels dropped -> always class 0


# ------------------------------------------------------------------ suite
@pytest.mark.lava
def test_every_method_learns_on_digits(tmp_path):
    """Each method, briefly (600 digits, 3 epochs, 100-100): goodness accuracy
    (BPTT: output spikes) above a floor far over chance 0.1. Observed:
    ff-surrogate 0.81, ff-three-factor 0.71, intff 0.80, ffgaf 0.82, bptt 0.84 (lr 0.01)."""
    from lava_ff.offline.suite import METHODS, SuiteSettings, run_suite, write_report

    settings = SuiteSettings(layers=(100, 100), epochs=3, batch_size=20, limit=600, progress=False)
    results = run_suite(METHODS, ["digits"], settings)
    accuracy = {r["method"]: r["accuracy"] for r in results}
    assert set(accuracy) == set(METHODS)
    for method, value in accuracy.items():
        assert value >= (0.4 if method == "bptt" else 0.5), (method, value)
    for r in results:
        assert r["time_steps"] == 10 and r["spikes_per_inference"] > 0 and r["train_seconds"] > 0
    paths = write_report(results, tmp_path, settings)
    table = (tmp_path / "results.md").read_text()
    assert all(f"| digits | {m} |" in table for m in METHODS)
    assert paths[:2] == [tmp_path / "results.json", tmp_path / "results.md"]


@pytest.mark.lava
def test_suite_corruption_protocol_and_robustness_curves(tmp_path):
    from lava_ff.offline.suite import SuiteSettings, run_suite, write_report

    settings = SuiteSettings(layers=(40,), epochs=1, batch_size=20, limit=200, corrupt=True, robustness=True,
                             progress=False)
    results = run_suite(["ff-surrogate", "bptt"], "digits", settings)
    assert results[0]["corrupted_training"] == dict.fromkeys(CORRUPTIONS, 50)
    assert len(results[0]["robustness"]["noise_accuracy"]) == 6
    paths = write_report(results, tmp_path, settings)
    assert (tmp_path / "robustness_digits.png").stat().st_size > 0 and len(paths) == 3
    assert "IntFF corruption protocol" in (tmp_path / "results.md").read_text()


def test_suite_passes_schedule_and_lr_decay_to_the_ff_methods(tmp_path):
    """--schedule greedy --lr-decay cosine reach every FF method's config (the
    greedy run then logs no loss for the layer that waits) and the report."""
    from lava_ff.offline.suite import SuiteSettings, run_suite, write_report

    settings = SuiteSettings(layers=(40, 40), epochs=2, batch_size=20, limit=100, schedule="greedy",
                             lr_decay="cosine", progress=False)
    (result,) = run_suite(["ff-three-factor"], "digits", settings)
    assert (result["config"]["schedule"], result["config"]["lr_decay"]) == ("greedy", "cosine")
    assert result["epochs"] == 2
    write_report([result], tmp_path, settings)
    assert "FF layer schedule greedy, step-size decay cosine" in (tmp_path / "results.md").read_text()


def test_suite_names_the_valid_methods_and_data_sets():
    from lava_ff.offline.suite import SuiteSettings, check_names, run_suite

    with pytest.raises(ValueError, match="unknown method 'ff-magic'; valid: ff-surrogate, ff-three-factor, "
                                         "intff, ffgaf, bptt"):
        run_suite("ff-magic", "digits", SuiteSettings())
    with pytest.raises(ValueError, match="unknown data set 'cifar'; valid: digits, mnist, idx, nmnist"):
        run_suite("ff-surrogate", "cifar", SuiteSettings())
    with pytest.raises(ValueError, match="must sum to 1"):
        SuiteSettings(fractions=(0.5, 0.5, 0.5, 0.0))
    for name in ("bptt_lr", "three_factor_lr"):
        for bad in (0.0, -1e-3, float("nan")):
            with pytest.raises(ValueError, match=f"{name} must be a positive finite number, got {bad!r}"):
                SuiteSettings(**{name: bad})
    with pytest.raises(ValueError, match="unknown schedule 'lazy'; valid: simultaneous, greedy"):
        SuiteSettings(schedule="lazy")
    with pytest.raises(ValueError, match="unknown lr_decay 'step'; valid: none, cosine"):
        SuiteSettings(lr_decay="step")
    with pytest.raises(ValueError, match="epochs=1 is fewer than the 2 layers"):
        SuiteSettings(layers=(40, 40), epochs=1, schedule="greedy")
    assert check_names("method", "bptt, intff", ("bptt", "intff")) == ["bptt", "intff"]
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite.py"), "--methods", "sgd"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 2 and "unknown method 'sgd'; valid:" in done.stderr


def test_cli_trains_ffgaf_in_intff_blocks_with_early_stopping(tmp_path):
    import json

    from lava_ff.cli.main import main

    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--layers", "20,20", "--rule", "ffgaf", "--blocks", "2",
                 "--patience", "1", "--limit", "60", "--epochs", "2", "--batch-size", "20", "--no-progress",
                 "--out", str(out)]) in (0, None)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["rule"] == "ffgaf" and metrics["config"]["blocks"] == [2]
