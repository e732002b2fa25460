"""FF learns with both local rules; checkpoints are atomic and resumable; the CLI validates.

Floors: digits has 10 balanced classes, so chance is 10%. Three epochs of a
64-200-200 net reach ~90% goodness accuracy on the validation split in
development runs (seeds 0-2); the floors below sit far above chance and
leave a wide margin for seed and platform variation.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from lava_ff.core.config import FFConfig
from lava_ff.core.inputs import (
    flatten_images,
    hard_negative_labels,
    hybrid_images,
    overlay_label,
    random_wrong_labels,
    wrong_labels,
)
from lava_ff.datasets import load_digits
from lava_ff.offline.train import (
    Trainer,
    TrainSettings,
    affine_resample,
    evaluate_accuracy,
    random_affine,
    random_shift,
    save_checkpoint,
)

FLOORS = {"surrogate": {"goodness": 0.75, "readout": 0.85},
          "three_factor": {"goodness": 0.70, "readout": 0.85}}


@pytest.fixture(scope="module")
def digits_split():
    digits = load_digits()
    train, val = digits.split(0.2, seed=1)
    return train, val


def _trainer(rule, out_dir=None, epochs=3, **kw):
    cfg = FFConfig(in_features=64, layer_sizes=(200, 200), time_steps=10, rule=rule, **kw)
    return Trainer(cfg, TrainSettings(epochs=epochs, batch_size=50, progress=False), out_dir=out_dir)


@pytest.mark.parametrize("rule", ["surrogate", "three_factor"])
def test_ff_learns_digits_with_both_rules(rule, digits_split):
    torch.set_num_threads(2)
    train, val = digits_split
    trainer = _trainer(rule)
    history = trainer.fit(train.images, train.labels, val.images, val.labels, (8, 8))
    last = history[-1]
    assert last["val_goodness"] >= FLOORS[rule]["goodness"], history
    assert last["val_readout"] >= FLOORS[rule]["readout"], history
    # goodness and readout as one product of experts learn too (floor: the lower of the two)
    assert last["val_combined"] >= min(FLOORS[rule].values()), history
    # the FF loss of every layer went down
    assert all(b < a for a, b in zip(history[0]["layer_loss"], last["layer_loss"], strict=True))


@pytest.mark.parametrize("rule", ["surrogate", "three_factor"])
def test_softmax_loss_learns_digits_with_both_rules(rule, digits_split):
    """The all-labels loss: per layer, cross-entropy over the goodness of every
    label. Development runs (seeds 0-2) reach 0.94-0.96 (surrogate) and
    0.82-0.86 (three-factor) goodness accuracy after two epochs; floors as above."""
    torch.set_num_threads(2)
    train, val = digits_split
    trainer = _trainer(rule, epochs=2, loss="softmax", symba_alpha=1.0)
    history = trainer.fit(train.images, train.labels, val.images, val.labels, (8, 8))
    assert history[-1]["val_goodness"] >= FLOORS[rule]["goodness"], history
    assert all(b < a for a, b in zip(history[0]["layer_loss"], history[-1]["layer_loss"], strict=True))


@pytest.mark.parametrize("rule", ["surrogate", "three_factor"])
def test_greedy_schedule_trains_one_layer_at_a_time(rule, digits_split, tmp_path):
    """schedule='greedy', 2 layers, 4 epochs: epochs 1-2 change layer 0 only
    (layer 1 keeps its initial weights, its loss is logged as None), epochs
    3-4 change layer 1 only (layer 0 stays frozen); the per-layer loss plot
    is written with the gaps."""
    from lava_ff.plots import plot_history

    train, val = digits_split
    x, y = train.images[:200], train.labels[:200]
    trainer = _trainer(rule, epochs=4, loss="softmax", symba_alpha=1.0, schedule="greedy")
    assert [trainer.active_blocks(e) for e in range(4)] == [[0], [0], [1], [1]]
    layers = trainer.net.layers
    snapshots = [[layer.weight.detach().clone() for layer in layers]]
    train_readout = trainer.train_readout

    def snapshot_then_readout(*args):  # runs once at the end of every epoch
        snapshots.append([layer.weight.detach().clone() for layer in layers])
        return train_readout(*args)

    trainer.train_readout = snapshot_then_readout
    trainer.fit(x, y, val.images[:100], val.labels[:100], (8, 8))
    changed = [[not torch.equal(a, b) for a, b in zip(before, after, strict=True)]
               for before, after in zip(snapshots[:-1], snapshots[1:], strict=True)]
    assert changed == [[True, False], [True, False], [False, True], [False, True]]
    assert [r["layer_loss"][1] is None for r in trainer.history] == [True, True, False, False]
    assert [r["layer_loss"][0] is None for r in trainer.history] == [False, False, True, True]
    plot_history(trainer.history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


@pytest.fixture
def plotted_lines(monkeypatch):
    """{label: y values} of every line matplotlib plots during the test."""
    import matplotlib.axes

    lines, plot = {}, matplotlib.axes.Axes.plot

    def record(ax, x, y, *args, label=None, **kw):
        lines[label] = list(y)
        return plot(ax, x, y, *args, label=label, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", record)
    return lines


def test_history_plot_takes_measurements_some_epochs_lack(tmp_path, plotted_lines):
    """An on-chip run resumed from a state whose epochs logged other keys
    (here: a readout accuracy only in epoch 1) plots every key, each line
    with a gap where its epoch has no value, instead of failing after training."""
    from lava_ff.plots import plot_history

    history = [{"epoch": 1, "seconds": 1.0, "val_goodness": 0.9, "val_readout": 0.07},
               {"epoch": 2, "seconds": 2.0, "val_goodness": 0.91}]
    plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
    np.testing.assert_allclose(plotted_lines["goodness"], [90.0, 91.0])
    assert plotted_lines["readout"][0] == pytest.approx(7.0) and np.isnan(plotted_lines["readout"][1])


def test_onchip_history_plot_shows_the_schedule(tmp_path, plotted_lines):
    """On-chip training logs no FF loss: the second panel plots each pass's
    learning rate and the minutes it took, from the cumulative seconds (a
    pass without a rate, from an older state, plots as a gap)."""
    from lava_ff.plots import plot_history

    history = [{"epoch": 1, "seconds": 120.0, "val_goodness": 0.9},
               {"epoch": 2, "seconds": 300.0, "learning_rate": 8.0, "val_goodness": 0.93},
               {"epoch": 3, "seconds": 390.0, "learning_rate": 4.0, "val_goodness": 0.94}]
    plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert np.isnan(plotted_lines["learning rate"][0]) and plotted_lines["learning rate"][1:] == [8.0, 4.0]
    np.testing.assert_allclose(plotted_lines["minutes per pass"], [2.0, 3.0, 1.5])


def test_greedy_schedule_stops_early_only_after_its_last_layer_learned(digits_split, monkeypatch):
    """Validation never improves (patience 1): plain FF stops after epoch 2,
    greedy (2 epochs per layer) goes on to epoch 3, the first of layer 2."""
    import lava_ff.offline.train as train_module

    monkeypatch.setattr(train_module, "evaluate_accuracy", lambda *a, **k: {"goodness": 0.5, "readout": 0.5})
    train, val = digits_split
    runs = {}
    for schedule in ("simultaneous", "greedy"):
        trainer = _trainer("three_factor", epochs=4, schedule=schedule)
        trainer.settings = TrainSettings(epochs=4, batch_size=50, progress=False, patience=1)
        runs[schedule] = len(trainer.fit(train.images[:100], train.labels[:100], val.images, val.labels, (8, 8)))
    assert runs == {"simultaneous": 2, "greedy": 3}


def test_readout_keeps_the_average_of_its_last_epochs_weights(digits_split):
    """train_readout ends on the mean of the readout's weights after each
    step of its last epoch (Polyak averaging), not on the last step's."""
    train, _ = digits_split
    trainer = _trainer("surrogate")
    trainer.settings = TrainSettings(epochs=1, batch_size=50, readout_epochs=2, progress=False)
    x, y = flatten_images(train.images[:200]), train.labels[:200]
    seen, step = [], trainer.readout_opt.step

    def step_and_record(*args, **kw):
        result = step(*args, **kw)
        seen.append([p.detach().clone() for p in trainer.net.readout.parameters()])
        return result

    trainer.readout_opt.step = step_and_record
    loss = trainer.train_readout(x, y)
    assert len(seen) == 8 and np.isfinite(loss) and loss > 0  # 2 epochs of 4 batches
    for i, p in enumerate(trainer.net.readout.parameters()):
        mean = torch.stack([s[i].double() for s in seen[4:]]).mean(0)
        torch.testing.assert_close(p.detach().double(), mean, atol=1e-6, rtol=0)
        assert not torch.equal(p.detach(), seen[-1][i])


def test_readout_learns_every_n_epochs_after_the_last_and_on_kept_weights(digits_split, monkeypatch):
    """readout_every=3 over 4 epochs: the readout learns after epochs 3 and 4
    only, and epochs 1-2 report no readout accuracy (None, not a stale
    figure). readout_every=None with early stopping that keeps epoch 2's
    weights: the readout learns after the last epoch and once more on the
    kept weights, so it does not keep epoch 2's untrained readout."""
    import lava_ff.offline.train as train_module

    train, val = digits_split
    args = (train.images[:200], train.labels[:200], val.images[:100], val.labels[:100], (8, 8))
    trainer = _trainer("three_factor", epochs=4)
    trainer.settings = TrainSettings(epochs=4, batch_size=50, progress=False, readout_every=3)
    calls, learn = [], trainer.train_readout
    monkeypatch.setattr(trainer, "train_readout", lambda x, y: calls.append(trainer.epoch) or learn(x, y))
    history = trainer.fit(*args)
    assert calls == [2, 3]  # 0-based epochs
    assert [r["val_readout"] is None for r in history] == [True, True, False, False]
    assert [r["val_combined"] is None for r in history] == [True, True, False, False]
    assert history[-1]["val_readout"] >= 0.5  # 200 digits, 4 epochs: far above chance (0.1)

    scores = iter([0.5, 0.9, 0.6, 0.6])  # epoch 2 is the best
    monkeypatch.setattr(train_module, "evaluate_accuracy",
                        lambda *a, **k: {"goodness": next(scores), "readout": None})
    trainer = _trainer("three_factor", epochs=4)
    trainer.settings = TrainSettings(epochs=4, batch_size=50, progress=False, readout_every=None, patience=2)
    calls, learn = [], trainer.train_readout
    monkeypatch.setattr(trainer, "train_readout", lambda x, y: calls.append(trainer.epoch) or learn(x, y))
    trainer.fit(*args)
    assert trainer.best["epoch"] == 2 and calls == [3, 4]  # after the last epoch, then on the kept weights
    assert not torch.equal(trainer.net.readout.weight, trainer.best["model"]["readout.weight"])
    with pytest.raises(ValueError, match="readout_every"):
        TrainSettings(readout_every=0)


def test_cosine_lr_decay_follows_each_blocks_own_learning_epochs(digits_split):
    """lr_decay='cosine' with the greedy schedule (2 layers, 4 epochs): layer 0
    learns in epochs [0, 2) and layer 1 in [2, 4), so each one's multiplier
    is (1 + cos(pi p)) / 2 of the share p of its own two epochs done. The
    gradient-free step is linear in its step size, so at multiplier 1/2 it is
    exactly half the constant-rate step; the surrogate rule's Adam rate is
    set to lr / 2."""
    import math

    trainer = _trainer("three_factor", epochs=4, schedule="greedy", lr_decay="cosine")
    expected = {(0, 0.0): 1.0, (0, 1.0): 0.5, (0, 2.0): 0.0, (0, 3.0): 0.0,
                (1, 0.0): 1.0, (1, 2.0): 1.0, (1, 2.5): (1 + math.cos(math.pi / 4)) / 2, (1, 3.0): 0.5}
    assert {key: pytest.approx(trainer.lr_scale(*key)) for key in expected} == expected
    assert _trainer("three_factor", epochs=4, schedule="greedy").lr_scale(0, 1.5) == 1.0
    simultaneous = _trainer("three_factor", epochs=4, lr_decay="cosine")
    assert simultaneous.lr_scale(1, 2.0) == pytest.approx(0.5)  # both layers learn all 4 epochs

    train, _ = digits_split
    x, y = flatten_images(train.images[:40]), np.asarray(train.labels[:40])
    steps = {}
    for decay in ("none", "cosine"):
        t = _trainer("three_factor", epochs=4, schedule="greedy", lr_decay=decay)
        before = t.net.layers[0].weight.detach().clone()
        t._train_batch(x, y, (8, 8), [0], 1.0)
        steps[decay] = t.net.layers[0].weight.detach() - before
    assert steps["none"].abs().max() > 0
    torch.testing.assert_close(steps["cosine"], 0.5 * steps["none"], rtol=1e-5, atol=1e-7)
    surrogate = _trainer("surrogate", epochs=4, lr_decay="cosine")
    surrogate._train_batch(x, y, (8, 8), [0, 1], 2.0)
    assert [o.param_groups[0]["lr"] for o in surrogate.optimizers] == pytest.approx([surrogate.config.lr / 2] * 2)
    with pytest.raises(ValueError, match="unknown lr_decay 'step'; valid: none, cosine"):
        FFConfig(in_features=64, lr_decay="step")


def test_block_lr_scale_multiplies_each_blocks_step(digits_split):
    """block_lr_scale (1, 0.25): layer 0 keeps the full step, layer 1 takes a
    quarter; the gradient-free step is linear in the rate, so layer 1's step
    is exactly 1/4 of its unscaled one on the same batch and start. It
    multiplies the cosine decay and survives a round trip through to_dict."""
    train, _ = digits_split
    x, y = flatten_images(train.images[:40]), np.asarray(train.labels[:40])
    steps = {}
    for scales in (None, (1.0, 0.25)):
        t = _trainer("three_factor", block_lr_scale=scales)
        before = [layer.weight.detach().clone() for layer in t.net.layers]
        t._train_batch(x, y, (8, 8), [0, 1], 0.0)
        steps[scales] = [layer.weight.detach() - b for layer, b in zip(t.net.layers, before, strict=True)]
    assert steps[None][1].abs().max() > 0
    torch.testing.assert_close(steps[(1.0, 0.25)][0], steps[None][0])
    torch.testing.assert_close(steps[(1.0, 0.25)][1], 0.25 * steps[None][1], rtol=1e-5, atol=1e-7)
    cosine = _trainer("three_factor", epochs=4, lr_decay="cosine", block_lr_scale=[1, 0.5])
    assert cosine.lr_scale(1, 2.0) == pytest.approx(0.25)
    assert FFConfig.from_dict(cosine.config.to_dict()).block_lr_scale == (1.0, 0.5)
    surrogate = _trainer("surrogate", block_lr_scale=(1, 0.1))
    surrogate._train_batch(x, y, (8, 8), [0, 1], 0.0)
    assert [o.param_groups[0]["lr"] for o in surrogate.optimizers] == pytest.approx([3e-3, 3e-4])
    with pytest.raises(ValueError, match=r"block_lr_scale \(1, 0.5, 0.5\) must give one multiplier per "
                                         r"training block \(2"):
        FFConfig(in_features=64, layer_sizes=(200, 200), block_lr_scale=(1, 0.5, 0.5))
    with pytest.raises(ValueError, match=r"block_lr_scale\[1\] must be a positive finite number, got nan"):
        FFConfig(in_features=64, layer_sizes=(200, 200), block_lr_scale=(1, float("nan")))


def test_block_epochs_split_the_greedy_schedule_unevenly():
    """block_epochs (3, 1) over 4 epochs: layer 0 learns in epochs 0-2 and
    layer 1 in epoch 3 only; the cosine decay spans each layer's own epochs
    (layer 0 at half its rate after 1.5 of its 3 epochs, layer 1 at half
    after half of its one epoch). The split survives a round trip through
    to_dict; a split that is not the epoch count, has the wrong length,
    holds 0, or comes without the greedy schedule is refused by name."""
    trainer = _trainer("three_factor", epochs=4, schedule="greedy", lr_decay="cosine", block_epochs=(3, 1))
    assert [trainer.active_blocks(e) for e in range(4)] == [[0], [0], [0], [1]]
    assert trainer.lr_scale(0, 1.5) == pytest.approx(0.5)
    assert trainer.lr_scale(1, 3.0) == pytest.approx(1.0)
    assert trainer.lr_scale(1, 3.5) == pytest.approx(0.5)
    assert FFConfig.from_dict(trainer.config.to_dict()).block_epochs == (3, 1)
    even = _trainer("three_factor", epochs=4, schedule="greedy", block_epochs=[2, 2])
    assert [even.active_blocks(e) for e in range(4)] == [[0], [0], [1], [1]]
    with pytest.raises(ValueError, match=r"block_epochs \[3, 2\] add up to 5 epochs but epochs=4"):
        _trainer("three_factor", epochs=4, schedule="greedy", block_epochs=(3, 2))
    with pytest.raises(ValueError, match=r"block_epochs \(3, 1, 1\) must give one epoch count per training "
                                         r"block \(2"):
        FFConfig(in_features=64, layer_sizes=(200, 200), schedule="greedy", block_epochs=(3, 1, 1))
    with pytest.raises(ValueError, match=r"block_epochs\[1\] must be a positive integer, got 0"):
        FFConfig(in_features=64, layer_sizes=(200, 200), schedule="greedy", block_epochs=(4, 0))
    with pytest.raises(ValueError, match="schedule='simultaneous' trains every block in every epoch"):
        FFConfig(in_features=64, layer_sizes=(200, 200), block_epochs=(3, 1))


def test_greedy_schedule_checks_its_epochs_and_names():
    with pytest.raises(ValueError, match="epochs=1 is fewer than the 2 training blocks"):
        _trainer("surrogate", epochs=1, schedule="greedy")
    with pytest.raises(ValueError, match="unknown schedule 'lazy'; valid: simultaneous, greedy"):
        FFConfig(in_features=64, schedule="lazy")


@pytest.mark.parametrize("loss", ["softplus", "symba", "softmax"])
def test_three_factor_factor_is_minus_the_loss_gradient(loss, digits_split):
    """The offline gradient-free rule takes m = -dL/dG per sample from the loss:
    for softplus it is the on-chip neuron's kernel ``modulatory_factor``; for
    softmax ``softmax_modulatory_factor``; and the weight change is the
    three-factor outer product of exactly those factors."""
    from lava_ff.core.goodness import modulatory_factor, softmax_modulatory_factor
    from lava_ff.core.rule import three_factor_update
    from lava_ff.offline.model import dense_spikes

    train, _ = digits_split
    trainer = _trainer("three_factor", loss=loss, theta=3.0, symba_alpha=0.7)
    x, y = flatten_images(train.images[:20]), np.asarray(train.labels[:20])
    before = trainer.net.layers[0].weight.detach().clone()
    state = trainer.rng.bit_generator.state
    inputs, objective, _ = trainer._objective(x, y, (8, 8))
    trainer.rng.bit_generator.state = state
    trainer._train_batch(x, y, (8, 8))
    layer = trainer.net.layers[0]
    after = layer.weight.detach().numpy().copy()
    layer.weight.data.copy_(before)
    with torch.no_grad():
        outs = [layer(s) for s in inputs]
    g = [o.mean(-1).pow(2).sum(-1).numpy().astype(np.float64) for o, _ in outs]
    if loss == "softmax":
        factors = [softmax_modulatory_factor(g[0].reshape(20, 10), y, 0.7).reshape(-1)]
    elif loss == "softplus":
        factors = [modulatory_factor(g[0], 3.0, True), modulatory_factor(g[1], 3.0, False)]
    else:  # symba: d/dG_pos softplus(-a (G_pos - G_neg)) = -a sigmoid(-a d)
        d = g[0] - g[1]
        factors = [0.7 / (1 + np.exp(0.7 * d)), -0.7 / (1 + np.exp(0.7 * d))]
    expected = before.numpy().astype(np.float64)
    for s, (o, _), m in zip(inputs, outs, factors, strict=True):
        expected += three_factor_update(dense_spikes(s).mean(-1).numpy(), o.mean(-1).numpy(), m,
                                        trainer.config.three_factor_lr * len(m) / 20)
    lo, hi = -256 / 64, 254 / 64
    np.testing.assert_allclose(after, np.clip(expected, lo, hi), atol=1e-5)


def test_softmax_loss_kernel_matches_torch_and_its_gradient(rng):
    from lava_ff.core.goodness import softmax_ff_loss, softmax_modulatory_factor
    from lava_ff.offline.model import torch_softmax_ff_loss

    scores = rng.normal(0, 30, (6, 10))  # large goodness: the kernel must not overflow
    labels = rng.integers(0, 10, 6)
    g = torch.tensor(scores, requires_grad=True)
    loss = torch_softmax_ff_loss(g, torch.from_numpy(labels), 0.5)
    assert loss.item() == pytest.approx(softmax_ff_loss(scores, labels, 0.5), rel=1e-9)
    (grad,) = torch.autograd.grad(loss, g)
    np.testing.assert_allclose(-6 * grad.numpy(), softmax_modulatory_factor(scores, labels, 0.5), atol=1e-12)


def test_positive_goodness_exceeds_negative_after_training(digits_split):
    train, val = digits_split
    trainer = _trainer("surrogate", epochs=2)
    trainer.fit(train.images, train.labels, val.images, val.labels, (8, 8))
    g_pos, g_neg = trainer.goodness_samples(val.images[:200], val.labels[:200], (8, 8))
    for layer in range(2):
        assert g_pos[layer].mean() > g_neg[layer].mean()


def test_checkpoint_resume_continues_identically(tmp_path, digits_split):
    train, val = digits_split
    sub_train, sub_val = train.subset(slice(0, 300)), val.subset(slice(0, 100))
    args = (sub_train.images, sub_train.labels, sub_val.images, sub_val.labels, (8, 8))
    straight = _trainer("surrogate", tmp_path / "a", epochs=2)
    straight.fit(*args)
    first = _trainer("surrogate", tmp_path / "b", epochs=1)
    first.fit(*args)
    resumed = _trainer("surrogate", tmp_path / "b", epochs=2)
    assert resumed.resume() and resumed.epoch == 1
    resumed.fit(*args)
    for a, b in zip(straight.net.parameters(), resumed.net.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert straight.history[-1]["val_goodness"] == resumed.history[-1]["val_goodness"]


def test_resume_with_other_config_is_refused(tmp_path, digits_split):
    train, val = digits_split
    t = _trainer("surrogate", tmp_path, epochs=1)
    t.fit(train.images[:100], train.labels[:100], val.images[:50], val.labels[:50], (8, 8))
    other = _trainer("surrogate", tmp_path, epochs=2, theta=3.0)
    with pytest.raises(ValueError, match=r"different configuration \(theta: checkpoint 10.0, now 3.0\)"):
        other.resume()


def test_interrupted_checkpoint_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1})

    class Boom:
        def __reduce__(self):
            raise KeyboardInterrupt  # simulates Ctrl-C in the middle of torch.save

    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2, "bad": Boom()})
    assert torch.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp files left


def test_ctrl_c_during_training_leaves_last_epoch_and_resume_continues(tmp_path, digits_split):
    train, val = digits_split
    trainer = _trainer("surrogate", tmp_path, epochs=3)
    calls = {"n": 0}
    original = trainer._train_batch

    def interrupt_in_epoch_two(*a):
        calls["n"] += 1
        if calls["n"] == 8:  # 300 samples / 50 = 6 batches per epoch: this is epoch 2
            raise KeyboardInterrupt
        return original(*a)

    trainer._train_batch = interrupt_in_epoch_two
    args = (train.images[:300], train.labels[:300], val.images[:60], val.labels[:60], (8, 8))
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(*args)
    again = _trainer("surrogate", tmp_path, epochs=3)
    assert again.resume() and again.epoch == 1
    again.fit(*args)
    assert again.epoch == 3


# ---------------------------------------------------------------- negatives
def test_random_wrong_label_never_equals_true(rng):
    labels = rng.integers(0, 10, 5000)
    wrong = random_wrong_labels(labels, 10, rng)
    assert not np.any(wrong == labels)
    assert set(np.unique(wrong)) == set(range(10))


def test_hard_negative_is_most_plausible_wrong_label():
    scores = np.array([[5.0, 9.0, 1.0], [0.0, 1.0, 2.0]])
    assert hard_negative_labels(scores, np.array([1, 0])).tolist() == [0, 2]


def replay_pick(seed, labels):
    """The uniform numbers ``wrong_labels`` draws for mixed negatives after the random wrong labels."""
    replay = np.random.default_rng(seed)
    replay.integers(1, 10, size=len(labels))
    return replay.random(len(labels))


def test_wrong_labels_random_hard_and_mixed():
    """random: the uniform draw; hard: the argmax; mixed: per sample the hard
    label where the next uniform number is below 1/2, else the random one,
    replayed from the same seed."""
    labels = np.arange(200) % 10
    scores = np.random.default_rng(7).normal(size=(200, 10))
    hard = hard_negative_labels(scores, labels)

    def never_called():
        raise AssertionError("random negatives must not compute goodness")

    random = wrong_labels("random", labels, 10, np.random.default_rng(1), scores=never_called)
    assert np.array_equal(random, random_wrong_labels(labels, 10, np.random.default_rng(1)))
    hard_run = wrong_labels("hard", labels, 10, np.random.default_rng(1), scores=lambda rows: scores[rows])
    assert np.array_equal(hard_run, hard)
    replay = np.random.default_rng(1)
    uniform = (labels + replay.integers(1, 10, size=200)) % 10
    expected = np.where(replay.random(200) < 0.5, hard, uniform)
    scored = []
    mixed = wrong_labels("mixed", labels, 10, np.random.default_rng(1),
                         scores=lambda rows: scored.append(rows) or scores[rows])
    assert np.array_equal(mixed, expected)
    assert np.array_equal(scored[0], np.flatnonzero(replay_pick(1, labels) < 0.5)), "only the hard rows are scored"
    assert 0 < np.mean(mixed == hard) < 1 and not np.any(mixed == labels)


@pytest.mark.parametrize("kind, scores, match", [("hybrid", None, "'hybrid' carry no wrong label"),
                                                 ("hard", None, "need the current goodness")])
def test_wrong_labels_refuse_kinds_without_a_label_or_scores(kind, scores, match, rng):
    with pytest.raises(ValueError, match=match):
        wrong_labels(kind, np.array([0, 1]), 3, rng, scores=scores)


def test_overlay_schemes(rng):
    x = rng.random((2, 12)).astype(np.float32)
    appended = overlay_label(x, np.array([3, 0]), 10, "label_neurons")
    assert appended.shape == (2, 22) and appended[0, 12 + 3] == 1 and appended[0, 12:].sum() == 1
    hinton = overlay_label(x, np.array([3, 0]), 10, "first_pixels")
    assert hinton.shape == (2, 12) and hinton[1, 0] == 1 and hinton[1, :10].sum() == 1
    np.testing.assert_array_equal(hinton[:, 10:], x[:, 10:])
    neutral = overlay_label(x, None, 10, "label_neurons")
    np.testing.assert_allclose(neutral[:, 12:], 0.1)


def test_hybrid_images_mix_two_images(rng):
    images = np.stack([np.zeros((16, 16)), np.ones((16, 16))]).astype(np.float32)
    hybrids = hybrid_images(images, rng)
    # every pixel comes from one of the two sources, and both contribute
    assert set(np.unique(hybrids)) == {0.0, 1.0}
    assert 0.05 < hybrids[0].mean() < 0.95


@pytest.mark.parametrize("x, labels, match", [
    (np.full((2, 4), 1.5, np.float32), [0, 1], r"values must lie in \[0, 1\], got range \[.*1.5\]"),
    (np.array([[0.1, np.nan, 0, 0], [0, 0, 0, 0]], np.float32), [0, 1], "contains NaN"),
    (np.zeros((2, 4), np.float32), [0, 10], r"label 10 out of range \[0, 9\]"),
    (np.zeros((2, 4), np.float32), [0, 1, 2], "got 3 labels for 2 samples"),
    (np.zeros((2, 2, 2), np.float32), [0, 1], r"shape \[batch, features\]"),
])
def test_bad_training_inputs_are_named(x, labels, match):
    from lava_ff.offline.model import FFNetwork

    net = FFNetwork(FFConfig(in_features=4, layer_sizes=(5,)))
    with pytest.raises(ValueError, match=match):
        net.encode(x, np.array(labels))


def test_layer_rejects_wrong_input_shape():
    from lava_ff.offline.model import FFNetwork

    net = FFNetwork(FFConfig(in_features=4, layer_sizes=(5,)))
    with pytest.raises(ValueError, match=r"expected input \[batch, 14, time\]"):
        net.layers[0](torch.zeros(2, 9, 3))


@pytest.mark.parametrize("overlay, encoding, repeat", [
    ("label_neurons", "deterministic", 3), ("first_pixels", "latency", 1), ("label_neurons", "spikes", 2)])
def test_factored_candidates_equal_the_dense_overlay(overlay, encoding, repeat, rng):
    """The all-labels input kept factored (image spikes once per sample) is the
    dense overlay of every label on every sample, and the first layer gives
    bit-identical spikes and voltages on it; weight gradients agree to float
    rounding (the sums run in another order)."""
    from lava_ff.offline.model import CandidateSpikes, FFNetwork

    cfg = FFConfig(in_features=50, layer_sizes=(40, 30), overlay=overlay, encoding=encoding,
                   label_repeat=repeat, weight_scale=1.5)
    net = FFNetwork(cfg)
    x = rng.random((7, 50)).astype(np.float32)
    if encoding == "spikes":
        x = (rng.random((7, 50, cfg.time_steps)) < 0.3).astype(np.float32)
    factored = net.encode_candidates(x)
    dense = net.encode(np.repeat(x, 10, axis=0), np.tile(np.arange(10), 7))
    assert isinstance(factored, CandidateSpikes) and factored.shape == tuple(dense.shape)
    assert torch.equal(factored.dense(), dense)
    grads = []
    for spikes_in in (factored, dense):
        spikes, voltage = net.layers[0](spikes_in)
        assert spikes.mean() > 0.05  # the layer is active, so the comparison means something
        voltage.sum().backward()
        grads.append((spikes, voltage, net.layers[0].weight.grad.clone()))
        net.zero_grad()
    (s1, v1, g1), (s2, v2, g2) = grads
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    torch.testing.assert_close(g1, g2, rtol=1e-5, atol=1e-5 * float(g2.abs().max()))


def test_rate_encoded_candidates_keep_one_draw_per_row(rng):
    from lava_ff.offline.model import FFNetwork

    net = FFNetwork(FFConfig(in_features=30, layer_sizes=(5,), encoding="rate"))
    cands = net.encode_candidates(np.full((2, 30), 0.5, np.float32), rng)
    assert isinstance(cands, torch.Tensor) and cands.shape == (20, 40, 10)
    assert not torch.equal(cands[0, :30], cands[1, :30])  # independent image draws per candidate


# ---------------------------------------------------------------------- CLI
def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lava_ff", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_random_shift_moves_each_image_by_its_own_offset(rng):
    """Each image lands where its own draw puts it, zeros fill the border:
    the same draws replayed with slicing give the same batch, and over a
    batch every offset in [-2, 2]^2 occurs."""
    h, w, s, n = 5, 6, 2, 400
    x = rng.random((n, h * w)).astype(np.float32) + 1
    out = random_shift(x, (h, w), s, np.random.default_rng(7))
    dy, dx = np.random.default_rng(7).integers(0, 2 * s + 1, size=(2, n))
    for i in range(n):
        oy, ox = s - dy[i], s - dx[i]  # content moves down/right by (oy, ox)
        expected = np.zeros((h, w), np.float32)
        src = x[i].reshape(h, w)[max(-oy, 0):h - max(oy, 0), max(-ox, 0):w - max(ox, 0)]
        expected[max(oy, 0):h - max(-oy, 0), max(ox, 0):w - max(-ox, 0)] = src
        np.testing.assert_array_equal(out[i].reshape(h, w), expected)
    assert len(set(zip(dy.tolist(), dx.tolist(), strict=True))) == (2 * s + 1) ** 2
    assert out.dtype == x.dtype and out.shape == x.shape
    with pytest.raises(ValueError, match="shift=5 would move a 5x6 image out of its frame"):
        random_shift(x, (h, w), 5, rng)
    with pytest.raises(ValueError, match=r"flat images \[N, 30\] of shape \(5, 6\), got rows of 29 values"):
        random_shift(x[:, :29], (h, w), 1, rng)
    with pytest.raises(ValueError, match="shift must be a positive integer, got 0"):
        random_shift(x, (h, w), 0, rng)
    with pytest.raises(ValueError, match="shift must be a non-negative integer .pixels., got -1"):
        TrainSettings(shift=-1)


def test_shift_augmented_training_learns_digits(digits_split):
    """Translation by up to one pixel keeps digits learnable. One pixel is an
    eighth of a digit, a hard augmentation: development runs reach 0.75
    after two epochs (0.94-0.96 without it), so the floor is 0.5, five
    times chance; the loss of every layer falls."""
    torch.set_num_threads(2)
    train, val = digits_split
    cfg = FFConfig(in_features=64, layer_sizes=(200, 200), time_steps=10, loss="softmax", symba_alpha=1.0)
    trainer = Trainer(cfg, TrainSettings(epochs=2, batch_size=50, progress=False, shift=1))
    history = trainer.fit(train.images, train.labels, val.images, val.labels, (8, 8))
    assert history[-1]["val_goodness"] >= 0.5, history
    assert all(b < a for a, b in zip(history[0]["layer_loss"], history[-1]["layer_loss"], strict=True))
    spikes = Trainer(FFConfig(in_features=64, layer_sizes=(8,), encoding="spikes"),
                     TrainSettings(epochs=1, progress=False, shift=1))
    with pytest.raises(ValueError, match="shift=1, rotate=0.0, zoom=0.0: augmentation moves image pixels"):
        spikes.fit(np.zeros((4, 64, 10)), np.arange(4), np.zeros((4, 64, 10)), np.arange(4), (8, 8))


def test_affine_resample_rotates_counter_clockwise_and_scales_about_the_centre(rng):
    """Angle 0 and scale 1 return the image unchanged; a quarter turn is
    numpy's rot90 (counter-clockwise as displayed, rows down) and a half
    turn flips both axes, exactly, since every sample falls on a pixel. On
    an 11x11 frame (centre (5, 5)) a dot two pixels right of the centre lands
    four pixels right at scale 2, one pixel right at scale 0.5; interpolated
    values stay convex combinations of the input's."""
    x = rng.random((3, 28 * 28)).astype(np.float32)
    np.testing.assert_array_equal(affine_resample(x, (28, 28), np.zeros(3), np.ones(3)), x)
    images = x.reshape(3, 28, 28)
    quarter = affine_resample(x, (28, 28), np.full(3, np.pi / 2), np.ones(3)).reshape(3, 28, 28)
    np.testing.assert_allclose(quarter, np.rot90(images, 1, axes=(1, 2)), atol=1e-6)
    half = affine_resample(x, (28, 28), np.full(3, np.pi), np.ones(3)).reshape(3, 28, 28)
    np.testing.assert_allclose(half, images[:, ::-1, ::-1], atol=1e-6)
    dot = np.zeros((1, 121), np.float32)
    dot[0, 5 * 11 + 7] = 1.0
    # scale 2 also reads the dot at half-pixel offsets around it: weights
    # (0.5, 1, 0.5) per axis, mass 4; scale 0.5 samples whole pixels only
    for scale, column, mass in ((2.0, 9, 4.0), (0.5, 6, 1.0)):
        out = affine_resample(dot, (11, 11), np.zeros(1), np.full(1, scale)).reshape(11, 11)
        assert np.unravel_index(out.argmax(), out.shape) == (5, column), (scale, out)
        assert out[5, column] == pytest.approx(1.0) and out.sum() == pytest.approx(mass), (scale, out)
    tilted = affine_resample(x, (28, 28), np.deg2rad([7.0, -13.0, 30.0]), np.array([0.9, 1.0, 1.2]))
    assert tilted.min() >= 0.0 and tilted.max() <= x.max() + 1e-6 and tilted.dtype == np.float32


def test_random_affine_draws_per_image_within_bounds_and_names_bad_values(rng):
    """Each image gets its own draw: with rotation only, the whole image
    mass of a centred disc is kept (it stays inside the frame) while the
    images differ from one another; the same seed gives the same batch."""
    yy, xx = np.mgrid[0:15, 0:15]
    disc = ((yy - 7) ** 2 + (xx - 7) ** 2 <= 9).astype(np.float32).reshape(1, -1)
    bar = disc * (np.abs(xx - 7) <= 1).reshape(1, -1)  # a vertical bar: rotation shows
    batch = np.repeat(bar, 50, axis=0)
    out = random_affine(batch, (15, 15), 30.0, 0.0, np.random.default_rng(3))
    np.testing.assert_allclose(out.sum(1), bar.sum(), rtol=0.05)
    assert len({o.tobytes() for o in out}) == 50
    np.testing.assert_array_equal(out, random_affine(batch, (15, 15), 30.0, 0.0, np.random.default_rng(3)))
    zoomed = random_affine(np.repeat(disc, 50, axis=0), (15, 15), 0.0, 0.2, np.random.default_rng(4))
    masses = zoomed.sum(1) / disc.sum()  # the area scales by the factor squared, 0.64 to 1.44
    assert 0.64 * 0.85 < masses.min() < 0.9 and 1.1 < masses.max() < 1.44 * 1.15, masses
    for kw, match in (({"rotate": -1.0}, "rotate must be a number in .0, 180., got -1.0"),
                      ({"rotate": 180.0}, "rotate must be a number in .0, 180., got 180.0"),
                      ({"zoom": 1.0}, "zoom must be a number in .0, 1., got 1.0"),
                      ({"zoom": float("nan")}, "zoom must be a number in .0, 1., got nan"),
                      ({"rotate": True}, "rotate must be a number in .0, 180., got True")):
        args = {"rotate": 0.0, "zoom": 0.0, **kw}
        with pytest.raises(ValueError, match=match):
            random_affine(batch, (15, 15), args["rotate"], args["zoom"], rng)
        with pytest.raises(ValueError, match=match):
            TrainSettings(**kw)
    with pytest.raises(ValueError, match=r"flat images \[N, 225\] of shape \(15, 15\), got rows of 224"):
        random_affine(batch[:, :224], (15, 15), 10.0, 0.0, rng)


def test_augmenting_a_ranks_rows_draws_for_the_whole_batch(rng):
    """A data-parallel rank augments only its rows: those equal the whole
    batch's augmentation, the other rows come back untouched, and the random
    stream ends where the whole batch's draws end it (so the ranks stay in step)."""
    batch = rng.random((9, 36)).astype(np.float32)
    for augment in (lambda x, g, rows: random_affine(x, (6, 6), 20.0, 0.1, g, rows),
                    lambda x, g, rows: random_shift(x, (6, 6), 2, g, rows)):
        whole_rng, part_rng = np.random.default_rng(5), np.random.default_rng(5)
        whole = augment(batch, whole_rng, None)
        part = augment(batch, part_rng, slice(3, 7))
        np.testing.assert_array_equal(part[3:7], whole[3:7])
        np.testing.assert_array_equal(part[:3], batch[:3])
        np.testing.assert_array_equal(part[7:], batch[7:])
        assert not np.array_equal(whole[3:7], batch[3:7])
        assert whole_rng.random() == part_rng.random()


def test_rotation_and_zoom_augmented_training_learns_digits(digits_split):
    """Rotation by up to 10 degrees and scaling by up to 10 % keep digits
    learnable (development runs: 0.85-0.9 goodness accuracy after two
    epochs, the same as without); the floor is 0.6, six times chance."""
    torch.set_num_threads(2)
    train, val = digits_split
    cfg = FFConfig(in_features=64, layer_sizes=(200,), time_steps=10, loss="softmax", symba_alpha=1.0)
    trainer = Trainer(cfg, TrainSettings(epochs=2, batch_size=50, progress=False, rotate=10.0, zoom=0.1))
    history = trainer.fit(train.images, train.labels, val.images, val.labels, (8, 8))
    assert history[-1]["val_goodness"] >= 0.6, history
    # rows that are not images of the given shape are refused at the first batch, before it learns
    fresh = Trainer(cfg, TrainSettings(epochs=1, progress=False, zoom=0.1))
    with pytest.raises(ValueError, match=r"rotation and zoom needs flat images \[N, 63\] of shape \(7, 9\)"):
        fresh.fit(train.images, train.labels, val.images, val.labels, (7, 9))
    assert fresh.epoch == 0 and fresh.history == []


def test_cli_help_documents_every_option():
    out = _cli("train", "--help").stdout
    for option in ("--dataset", "--data", "--layers", "--time-steps", "--epochs", "--rule",
                   "--seed", "--out", "--resume", "--theta", "--negatives", "--encoding", "--loss", "--alpha"):
        assert option in out
    assert "digits" in out and "nmnist" in out
    assert "--model" in _cli("evaluate", "--help").stdout


@pytest.mark.parametrize("args, match", [
    (["--layers", "100,0"], "layer 1 size must be a positive integer, got 0"),
    (["--time-steps", "0"], "must be a positive integer, got 0"),
    (["--readout-epochs", "0"], "--readout-epochs: must be a positive integer, got 0"),
    (["--theta", "-1"], "theta must be a positive finite number, got -1.0"),
    (["--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["--dataset", "mnist", "--data", "/nonexistent/mnist"], "/nonexistent/mnist: dataset directory not found"),
    (["--alpha", "0"], "symba_alpha must be a positive finite number, got 0.0"),
    (["--loss", "softmax", "--negatives", "hard"], "loss 'softmax' contrasts every wrong label"),
    (["--loss", "softmax", "--backend", "lava-float"], "on-chip learning runs the softplus loss"),
    (["--schedule", "greedy", "--backend", "lava-fixed"], "on-chip learning runs every layer on every sample"),
    (["--lr-decay", "cosine", "--backend", "lava-float"], "lr_decay='cosine': on-chip learning runs the rule at"),
    (["--schedule", "greedy", "--layers", "32,32,32"], "epochs=1 is fewer than the 3 training blocks"),
    (["--block-lr-scale", "1,0.5", "--layers", "32"], r"block_lr_scale \(1.0, 0.5\) must give one multiplier"),
    (["--block-lr-scale", "1,x"], "expected comma-separated numbers, got '1,x'"),
    (["--block-epochs", "2,0"], r"epoch count 0 is not positive \(in '2,0'\)"),
    (["--schedule", "greedy", "--layers", "32,32", "--block-epochs", "2,1"],
     r"block_epochs \[2, 1\] add up to 3 epochs but epochs=1"),
    (["--block-lr-scale", "1,0.5", "--backend", "lava-float"], "on-chip learning runs one on-chip rate"),
    (["--shift", "-1"], r"shift must be a non-negative integer \(pixels\), got -1"),
    (["--shift", "8"], "shift=8 would move a 8x8 image out of its frame"),
    (["--shift", "1", "--backend", "lava-fixed"], "shift=1: on-chip learning streams the images as they are"),
    (["--rotate", "-3"], r"rotate must be a number in \[0, 180\), got -3.0"),
    (["--zoom", "1.5"], r"zoom must be a number in \[0, 1\), got 1.5"),
    (["--rotate", "5", "--backend", "lava-float"], "rotate=5.0: on-chip learning streams the images as they"),
    (["--onchip-rule-lr-decay", "0", "--backend", "lava-fixed"],
     r"--onchip-rule-lr-decay must be a number in \(0, 1\], got 0.0"),
    (["--onchip-rule-lr-decay", "nan", "--backend", "lava-float"],
     r"--onchip-rule-lr-decay must be a number in \(0, 1\], got nan"),
    # the last epoch's rate (0.2 * 0.25) would underflow: refused before the first epoch runs
    (["--backend", "lava-fixed", "--epochs", "2", "--onchip-rule-lr", "0.2", "--onchip-rule-lr-decay", "0.25"],
     "learning_rate=0.05 underflows to zero in fixed point"),
])
def test_cli_bad_values_are_named(args, match, tmp_path):
    result = _cli("train", "--out", str(tmp_path / "o"), "--epochs", "1", *args)
    assert result.returncode != 0
    assert re.search(match, result.stderr), result.stderr


@pytest.mark.lava
def test_cli_train_evaluate_writes_metrics_and_plots(tmp_path):
    out = tmp_path / "run"
    result = _cli("train", "--dataset", "digits", "--layers", "64", "--epochs", "1",
                  "--limit", "300", "--no-progress", "--rotate", "5", "--readout-epochs", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_accuracy", "val_accuracy", "train_seconds", "samples_per_second", "config"):
        assert key in metrics
    assert metrics["config"]["layer_sizes"] == [64]
    assert metrics["train_settings"]["rotate"] == 5.0 and metrics["train_settings"]["shift"] == 0
    assert metrics["train_settings"]["readout_epochs"] == 2
    for png in ("training_curves.png", "goodness_histograms.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = _cli("train", "--dataset", "digits", "--layers", "64", "--epochs", "1", "--out", str(out))
    assert again.returncode != 0 and "pass --resume" in again.stderr
    evaluated = _cli("evaluate", "--model", str(out), "--dataset", "digits", "--limit", "100")
    assert evaluated.returncode == 0, evaluated.stderr
    line = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert line["backend"] == "torch" and 0.0 <= line["accuracy"] <= 1.0 and line["samples"] == 100
    assert line["agreement_with_torch"] == 1.0
    on_lava = _cli("evaluate", "--model", str(out), "--dataset", "digits", "--limit", "40",
                   "--backend", "lava-fixed", "--no-progress")
    assert on_lava.returncode == 0, on_lava.stderr
    lava = json.loads(on_lava.stdout.strip().splitlines()[-1])
    assert lava["backend"] == "lava-fixed" and lava["samples"] == 40 and lava["samples_per_second"] > 0
    # fixed_pt is bit-exact with the torch model: the goodness predictions are identical
    assert lava["agreement_with_torch"] == 1.0
    assert lava["agreement_with_torch_readout"] >= 0.95  # 16-bit integer readout weights in fixed_pt

    exported = _cli("export", "--model", str(out), "--out", str(tmp_path / "digits.net"))
    assert exported.returncode == 0, exported.stderr
    info = json.loads(exported.stdout.strip().splitlines()[-1])
    assert info["layers"] == [64] and info["input_size"] == 74  # 64 pixels + 10 label neurons
    on_netx = _cli("evaluate", "--model", str(tmp_path / "digits.net"), "--dataset", "digits",
                   "--limit", "10", "--backend", "netx-fixed", "--no-progress")
    assert on_netx.returncode == 0, on_netx.stderr
    netx = json.loads(on_netx.stdout.strip().splitlines()[-1])
    assert netx["agreement_with_torch"] == 1.0 and netx["samples"] == 10

    for command in (["evaluate", "--model", str(out)], ["train", "--out", str(tmp_path / "hw")]):
        refused = _cli(*command, "--dataset", "digits", "--backend", "loihi2")
        assert refused.returncode != 0 and "lava-loihi" in refused.stderr, refused.stderr


def test_evaluate_reports_accuracy_consistent_with_predictions(digits_split):
    train, val = digits_split
    trainer = _trainer("surrogate", epochs=1)
    trainer.fit(train.images[:200], train.labels[:200], val.images[:50], val.labels[:50], (8, 8))
    x = flatten_images(val.images[:80])
    acc = evaluate_accuracy(trainer.net, x, val.labels[:80], batch=30)
    direct = (trainer.net.predict(x, "goodness") == val.labels[:80]).mean()
    assert acc["goodness"] == pytest.approx(direct)


def test_cli_trains_on_nmnist_event_spikes(tmp_path, nmnist_dir):
    """N-MNIST events are binned into --time-steps binary frames and fed as spikes."""
    out = tmp_path / "nmnist"
    result = _cli("train", "--dataset", "nmnist", "--data", str(nmnist_dir), "--layers", "64",
                  "--time-steps", "8", "--epochs", "1", "--limit", "200", "--no-progress", "--out", str(out))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["encoding"] == "spikes"
    assert metrics["config"]["in_features"] == 34 * 34 * 2
    assert 0.0 <= metrics["test_accuracy"] <= 1.0


def test_a_greedy_model_with_its_own_epoch_split_loads_for_evaluation(digits_split, tmp_path):
    """load_trained (what `lava-ff evaluate` and `export` read) rebuilds a
    network trained with block_epochs, whose split does not match a default
    epoch count, with the trained weights."""
    from lava_ff.artifacts import load_trained

    train, val = digits_split
    cfg = FFConfig(in_features=64, layer_sizes=(20, 20), time_steps=5, schedule="greedy", block_epochs=(2, 1))
    trainer = Trainer(cfg, TrainSettings(epochs=3, batch_size=50, progress=False), out_dir=tmp_path)
    trainer.fit(train.images[:100], train.labels[:100], val.images[:50], val.labels[:50], (8, 8))
    net = load_trained(str(tmp_path))
    assert net.config == cfg
    for mine, saved in zip(trainer.net.state_dict().values(), net.state_dict().values(), strict=True):
        assert torch.equal(mine, saved)
    x = val.images[:20].reshape(20, -1)
    assert np.array_equal(net.predict(x, "combined"), trainer.net.predict(x, "combined"))
