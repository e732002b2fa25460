"""On-chip readout learning: the error factors, the numpy reference, and Lava float/fixed against it."""

from __future__ import annotations

import numpy as np
import pytest

import lava_ff as ff
from lava_ff.core.clock import window_length
from lava_ff.core.config import FFConfig
from lava_ff.core.goodness import sigmoid
from lava_ff.core.inputs import readout_window
from lava_ff.core.loihi import quantize_weights
from lava_ff.core.neuron import quantize_neuron
from lava_ff.core.rule import READOUT_LOGIT_SCALE, FFLearningRule, readout_logits, readout_post_factors
from lava_ff.onchip.reference import hidden_window_spikes, simulate_readout_windows

TAGS = ["floating_pt", "fixed_pt"]


def readout_problem(rng, samples=4):
    """A 20-12-8 network that spikes under the neutral label, and a zero 3-class readout of both layers."""
    cfg = FFConfig(in_features=20, layer_sizes=(12, 8), num_classes=3, time_steps=6, theta=0.5)
    weights = [quantize_weights(rng.normal(0.1, 0.8, (12, 23))), quantize_weights(rng.normal(0.1, 0.8, (8, 12)))]
    x = rng.random((samples, 20)).astype(np.float32)
    y = np.arange(samples) % 3
    return cfg, weights, x, y, np.zeros((3, cfg.readout_features), np.int32)


def reference(cfg, weights, readout, rule, x, y, *, fixed, logit_scale=READOUT_LOGIT_SCALE, rounding="expected"):
    windows = np.stack([readout_window(xi, cfg) for xi in x])
    spikes = hidden_window_spikes(weights, quantize_neuron(cfg.neuron), cfg, windows, fixed=fixed)
    assert spikes[:, 12:].sum(axis=(1, 2)).min() > 0, "the test needs the last layer to spike in every window"
    return simulate_readout_windows(readout, rule, spikes, y, logit_scale=logit_scale, fixed=fixed,
                                    rounding=rounding)


def run_lava(tag, cfg, weights, readout, rule, x, y, tmp_path, *, messages="step", logit_scale=READOUT_LOGIT_SCALE):
    """The learned readout weights and the readout's prediction per window."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    from lava_ff.lava.learning import OnChipReadout, build_learning_network
    from lava_ff.lava.runtime import lava_session

    net = build_learning_network(cfg, weights, quantize_neuron(cfg.neuron), rule, x, y, None,
                                 snapshot_dir=tmp_path, log_windows=len(x), messages=messages,
                                 readout=OnChipReadout(readout, rule, logit_scale))
    assert net.steps_for(len(x)) == len(x) * (1 if messages == "window" else window_length(cfg.time_steps))
    with lava_session(net.source, Loihi2SimCfg(select_tag=tag), timeout=300) as session:
        session.run(net.steps_for(len(x)) + net.tail_steps)
        return net.readout_weights(), net.predictions(), net.weights()


# ------------------------------------------------------------- the factors
@pytest.mark.parametrize("fixed", [False, True])
def test_readout_factors_are_each_neurons_logistic_error(fixed):
    """Logits 0, 2, -2 with label 0: errors 1 - 1/2, -sigmoid(2), -sigmoid(-2);
    the true class raises its weights (y2), the others lower theirs (y3)."""
    logits = np.array([0.0, 2.0, -2.0])
    y2, y3 = readout_post_factors(logits, 0, gain=64, fixed=fixed)
    error = np.array([0.5, -sigmoid(2.0), -sigmoid(-2.0)])
    want = (64 * np.rint(np.abs(error) * 128)) // 128 if fixed else 64 / 128 * np.abs(error)
    np.testing.assert_array_equal(y2, [want[0], 0, 0])
    np.testing.assert_array_equal(y3, [0, want[1], want[2]])
    none2, none3 = readout_post_factors(logits, -1, gain=64, fixed=fixed)
    assert not none2.any() and not none3.any()


def test_readout_logits_are_the_same_in_float_and_fixed_units():
    """The fixed score is in integer weight units (64 per float unit), the float one in float units."""
    fixed = readout_logits(np.array([64 * 6]), logit_scale=0.5, time_steps=6, fixed=True)
    floating = readout_logits(np.array([6.0]), logit_scale=0.5, time_steps=6, fixed=False)
    np.testing.assert_allclose(fixed, [0.5])
    np.testing.assert_allclose(floating, [0.5])


def test_reference_readout_learns_to_classify_its_training_set(rng):
    """Three passes over 12 samples of three classes, Lava's shared
    rounding: the learned readout (the scores of a pass that does not
    learn) classifies them far above chance (1/3)."""
    cfg, weights, x, y, readout = readout_problem(rng, samples=12)
    # each class lights its own third of the image, so the hidden layer can tell them apart
    x = (0.2 * x + np.repeat(np.eye(3), 7, axis=1)[y, :20] * 0.8).astype(np.float32)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    learned = readout
    for _ in range(3):
        learned = reference(cfg, weights, learned, rule, x, y, fixed=True, rounding="shared").weights
    scores = reference(cfg, weights, learned, rule, x, -np.ones_like(y), fixed=True).scores
    accuracy = (scores.argmax(axis=1) == y).mean()
    assert accuracy >= 11 / 12, accuracy
    assert np.abs(learned).max() > 2, "the readout must have learned"


def test_host_readout_scores_are_the_fixed_reference_scores(rng):
    """The chain torch -> numpy: :func:`onchip_readout_scores` (the deployable
    torch network's spike counts times the readout) equals the readout
    neuron's score in the fixed reference, window by window, for weights on
    the even grid."""
    from lava_ff.core.rule import deployable_weights
    from lava_ff.onchip.fit import onchip_readout_scores

    cfg, weights, x, y, readout = readout_problem(rng, samples=6)
    readout = deployable_weights(rng.integers(-200, 200, readout.shape))
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    ref = reference(cfg, weights, readout, rule, x, -np.ones_like(y), fixed=True)
    host = onchip_readout_scores(cfg, weights, quantize_neuron(cfg.neuron), readout, x)
    assert np.abs(host).max() > 0
    np.testing.assert_array_equal(host, ref.scores)


# ------------------------------------------------------------------- Lava
@pytest.mark.lava
def test_lava_float_readout_equals_the_reference(rng, tmp_path):
    cfg, weights, x, y, readout = readout_problem(rng)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    learned, predictions, ff_weights = run_lava("floating_pt", cfg, weights, readout, rule, x, y, tmp_path)
    ref = reference(cfg, weights, readout, rule, x, y, fixed=False)
    assert np.abs(ref.weights).max() > 1, "the reference must have learned something"
    np.testing.assert_allclose(learned, ref.weights, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(predictions, ref.scores.argmax(axis=1))
    for got, start in zip(ff_weights, weights, strict=True):
        np.testing.assert_array_equal(got, start)  # phase 0: the FF layers learn nothing


@pytest.mark.lava
def test_lava_fixed_readout_within_the_fixed_point_bound_of_the_reference(rng, tmp_path):
    """One learning event (the first window): the same integer scores, so
    Lava fixed's update differs from the reference's expected one only by
    the engine's rounding, bounded per synapse as for an FF layer (the
    pre-trace's stochastic decay < 1/(1 - exp(-1/tau)) units, y < 1, the
    product's ``>> 3`` < 1/128, the weight's rounding < 1)."""
    cfg, weights, x, y, readout = readout_problem(rng, samples=1)
    rule = FFLearningRule(learning_rate=400.0, pre_trace_impulse=32)
    learned, predictions, _ = run_lava("fixed_pt", cfg, weights, readout, rule, x, y, tmp_path)
    exact = reference(cfg, weights, readout, rule, x, y, fixed=True)
    assert predictions[0] == exact.scores[0].argmax()
    trace_error = 1 / (1 - rule.pre_trace_retention)
    bound = rule.rule_constant(fixed=True) * (127 * trace_error + 127 + trace_error) + 1 / 128 + 1
    change, ideal = learned.astype(np.float64) - readout, exact.weights - readout
    large = np.abs(ideal) > bound
    assert large.sum() >= 3, "the test needs updates larger than the bound"
    assert np.abs(change - ideal).max() <= bound
    assert np.all(np.sign(change[large]) == np.sign(ideal[large]))
    assert change[y[0]].sum() > 0 > change[np.arange(3) != y[0]].sum()


@pytest.mark.lava
@pytest.mark.parametrize("tag", TAGS)
def test_window_messages_learn_the_readout_the_step_network_learns(tag, rng, tmp_path):
    """Over five samples: the same readout weights and predictions bit for bit."""
    cfg, weights, x, y, readout = readout_problem(rng, samples=5)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    step = run_lava(tag, cfg, weights, readout, rule, x, y, tmp_path, messages="step")
    window = run_lava(tag, cfg, weights, readout, rule, x, y, tmp_path, messages="window")
    assert np.abs(step[0]).max() > 2, "the test needs learning"
    np.testing.assert_array_equal(window[0], step[0])
    np.testing.assert_array_equal(window[1], step[1])


@pytest.mark.lava
@pytest.mark.parametrize("tag", TAGS)
def test_replaying_the_frozen_layers_learns_the_readout_lava_layers_learn(tag, rng):
    """Five samples in chunks of 2, 2, 1: the readout learned from the
    layers' spikes computed by the reference and replayed (one synapse of
    both layers side by side; one sample a Lava step, or two) equals the
    one learned behind the layers running in Lava (a synapse per layer),
    and so do its predictions: bit
    for bit in fixed_pt; in floating_pt to float64's rounding, as the
    readout neuron sums its input in another order (one synapse's current
    instead of two added)."""
    from functools import partial

    from lava_ff.lava.learning import OnChipReadout, train_onchip_readout

    cfg, weights, x, y, readout = readout_problem(rng, samples=5)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    neuron = quantize_neuron(cfg.neuron)
    frozen = partial(hidden_window_spikes, weights, neuron, cfg, fixed=tag == "fixed_pt")
    runs = [train_onchip_readout(cfg, weights, neuron, OnChipReadout(readout, rule), x, y, tag=tag,
                                 rng=np.random.default_rng(0), samples_per_run=2, progress=False, log_windows=5,
                                 frozen_spikes=spikes, samples_per_step=per_step)
            for spikes, per_step in ((None, 1), (frozen, 1), (frozen, 2))]
    assert np.abs(runs[0]["weights"]).max() > 2, "the test needs learning"
    for replayed in runs[1:]:  # one sample a step, or two (the last step's second beyond the data)
        np.testing.assert_allclose(replayed["weights"], runs[0]["weights"], rtol=0,
                                   atol=0 if tag == "fixed_pt" else 1e-12)
        np.testing.assert_array_equal(replayed["predictions"], runs[0]["predictions"])
    windows = np.stack([readout_window(xi, cfg) for xi in x])
    np.testing.assert_array_equal(frozen(windows, batch=2), frozen(windows))  # batches side by side: the same


@pytest.mark.lava
def test_replayed_passes_sharing_a_spike_memory_compute_each_window_once(rng):
    """Seven samples, two of them repeats, in two passes handed one
    ``spike_memory``: the frozen layers run on the five distinct windows in
    the first pass and on none in the second, and each pass learns what a
    pass without the memory learns from the same start, bit for bit."""
    from functools import partial

    from lava_ff.lava.learning import OnChipReadout, train_onchip_readout

    cfg, weights, x, y, readout = readout_problem(rng, samples=5)
    x, y = np.concatenate([x, x[:2]]), np.concatenate([y, y[:2]])
    rule, neuron = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32), quantize_neuron(cfg.neuron)
    reference_spikes = partial(hidden_window_spikes, weights, neuron, cfg, fixed=True)
    computed = []

    def frozen(windows):
        computed.append(len(windows))
        return reference_spikes(windows)

    def one_pass(start, spikes, memory=None):
        return train_onchip_readout(cfg, weights, neuron, OnChipReadout(start, rule), x, y, tag="fixed_pt",
                                    rng=np.random.default_rng(0), samples_per_run=4, progress=False,
                                    frozen_spikes=spikes, spike_memory=memory)["weights"]

    memory = {}
    first = one_pass(readout, frozen, memory)
    assert computed == [5] and len(memory) == 5
    second = one_pass(first, frozen, memory)
    assert computed == [5], "the second pass computed windows the memory holds"
    assert np.abs(first - readout).max() > 2, "the test needs learning"
    np.testing.assert_array_equal(first, one_pass(readout, reference_spikes))
    np.testing.assert_array_equal(second, one_pass(first, reference_spikes))


@pytest.mark.lava
def test_train_onchip_readout_reads_back_every_chunk(rng):
    """Two chunks: the callback sees the readout after each, the last is the result."""
    from lava_ff.lava.learning import OnChipReadout, train_onchip_readout

    cfg, weights, x, y, readout = readout_problem(rng, samples=4)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    seen = []
    run = train_onchip_readout(cfg, weights, quantize_neuron(cfg.neuron), OnChipReadout(readout, rule), x, y,
                               tag="floating_pt", rng=np.random.default_rng(0), samples_per_run=2, progress=False,
                               on_chunk=lambda done, w: seen.append((done, w.copy())), log_windows=4)
    assert [done for done, _ in seen] == [2, 4]
    np.testing.assert_array_equal(seen[-1][1], run["weights"])
    ref = reference(cfg, weights, readout, rule, x, y, fixed=False)
    np.testing.assert_allclose(run["weights"], ref.weights, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(run["predictions"], ref.scores.argmax(axis=1))
    assert run["weight_updates"] == 4 * readout.size


# --------------------------------------------------------------- bad input
@pytest.mark.lava
def test_readout_processes_and_reference_refuse_bad_input(rng, tmp_path):
    from lava_ff.processes.ff_learning_dense.process import FFLearningDense
    from lava_ff.processes.ff_phase_input.process import FFPhaseInput
    from lava_ff.processes.ff_readout_neuron.process import FFReadoutNeuron
    from lava_ff.processes.ff_spike_replay.process import FFSpikeReplay

    from lava_ff.lava.learning import OnChipReadout, build_learning_network, train_onchip_readout

    cfg, weights, x, y, readout = readout_problem(rng)
    rule = FFLearningRule(learning_rate=16.0, pre_trace_impulse=32)
    for scale in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="logit_scale"):
            FFReadoutNeuron(shape=(3,), time_steps=6, latency=3, logit_scale=scale, rule=rule)
    with pytest.raises(ValueError, match=r"shape must be a 1-tuple \(classes,\), got 3"):
        FFReadoutNeuron(shape=3, time_steps=6, latency=3, logit_scale=1.0, rule=rule)
    with pytest.raises(ValueError, match="latency=7"):
        FFReadoutNeuron(shape=(3,), time_steps=6, latency=7, logit_scale=1.0, rule=rule)
    with pytest.raises(TypeError, match="FFLearningRule"):
        FFReadoutNeuron(shape=(3,), time_steps=6, latency=3, logit_scale=1.0, rule="dw=x1")
    with pytest.raises(ValueError, match="schedule"):
        FFPhaseInput(data=x, labels=y, negative_labels=(y + 1) % 3, config=cfg, schedule="both")
    packed = np.packbits(np.ones((4, 20, 6), bool), axis=1)
    with pytest.raises(ValueError, match=r"uint8 \[N, 3, T\], got int64 \(4, 3, 6\)"):
        FFSpikeReplay(packed=packed.astype(np.int64), labels=y, size=20)
    with pytest.raises(ValueError, match=r"\[N, 2, T\], got uint8 \(4, 3, 6\)"):
        FFSpikeReplay(packed=packed, labels=y, size=16)
    with pytest.raises(ValueError, match="labels must be 4 integers, -1 or more"):
        FFSpikeReplay(packed=packed, labels=y - 2, size=20)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        FFSpikeReplay(packed=packed, labels=y, size=0)
    neuron, run = quantize_neuron(cfg.neuron), OnChipReadout(readout, rule)
    with pytest.raises(ValueError, match=r"label 3 out of range \[0, 2\]"):
        train_onchip_readout(cfg, weights, neuron, run, x, y + 1, tag="fixed_pt", rng=rng, progress=False,
                             frozen_spikes=lambda w: np.zeros((len(w), 20, 6), bool))
    with pytest.raises(ValueError, match="needs messages='window', got 'step'"):
        train_onchip_readout(cfg, weights, neuron, run, x, y, tag="fixed_pt", rng=rng, messages="step",
                             frozen_spikes=lambda w: None)
    with pytest.raises(ValueError, match="samples_per_step=2: the readout behind FF layers running in Lava takes "
                                         "one sample a step"):
        train_onchip_readout(cfg, weights, neuron, run, x, y, tag="fixed_pt", rng=rng, progress=False,
                             samples_per_run=2, samples_per_step=2)
    with pytest.raises(ValueError, match=r"frozen_spikes gave spikes of shape \(4, 19, 6\) for 4 windows, "
                                         r"expected \(4, 20, 6\)"):
        train_onchip_readout(cfg, weights, neuron, run, x, y, tag="fixed_pt", rng=rng, progress=False,
                             frozen_spikes=lambda w: np.zeros((len(w), 19, 6), bool))
    with pytest.raises(ValueError, match="negative_labels must be None"):
        FFPhaseInput(data=x, labels=y, negative_labels=(y + 1) % 3, config=cfg, schedule="readout")
    with pytest.raises(ValueError, match=r"readout weights must have shape \(3, 20\)"):
        build_learning_network(cfg, weights, quantize_neuron(cfg.neuron), rule, x, y, None, snapshot_dir=tmp_path,
                               readout=OnChipReadout(np.zeros((3, 8)), rule))
    with pytest.raises(ValueError, match="NaN"):
        build_learning_network(cfg, weights, quantize_neuron(cfg.neuron), rule, x, y, None, snapshot_dir=tmp_path,
                               readout=OnChipReadout(np.full((3, 20), np.nan), rule))
    with pytest.raises(ValueError, match="pre_delay=7"):
        FFLearningDense(weights=np.zeros((3, 8)), rule=rule, post_window=(6, 3), pre_delay=7)
    with pytest.raises(ValueError, match="pre_delay must be a non-negative integer"):
        FFLearningDense(weights=np.zeros((3, 8)), rule=rule, post_window=(6, 3), pre_delay=-1)
    spikes = np.zeros((4, 20, 6), bool)
    with pytest.raises(ValueError, match="below the 3 readout classes"):
        simulate_readout_windows(readout, rule, spikes, np.array([0, 1, 2, 3]), logit_scale=1.0, fixed=True)
    with pytest.raises(ValueError, match=r"one label each"):
        simulate_readout_windows(readout, rule, spikes, np.array([0, 1]), logit_scale=1.0, fixed=True)
    with pytest.raises(ValueError, match="rounding='shared' models the fixed engine"):
        simulate_readout_windows(readout, rule, spikes, y, logit_scale=1.0, fixed=False, rounding="shared")


@pytest.mark.lava
def test_ctrl_c_before_the_readouts_first_chunk_names_the_ff_passes_kept(tmp_path, capsys, monkeypatch):
    """Ctrl-C after the FF passes, before the readout saved a chunk: exit 130,
    and the message says the FF passes are saved and --resume goes on with
    the readout (not that nothing was saved)."""
    import lava_ff.onchip.fit as fit
    from lava_ff.cli.main import main

    real = fit.onchip_fit

    def interrupt_the_readout(*args, readout=None, **kwargs):
        if readout is not None:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(fit, "onchip_fit", interrupt_the_readout)
    out = tmp_path / "onchip"
    with pytest.raises(SystemExit) as stop:
        main(["train", "--dataset", "digits", "--layers", "20", "--theta", "1", "--limit", "30", "--no-progress",
              "--onchip-rule-lr", "8", "--pre-trace-impulse", "4", "--backend", "lava-fixed", "--epochs", "1",
              "--onchip-readout-epochs", "1", "--out", str(out)])
    assert stop.value.code == 130
    err = capsys.readouterr().err
    assert f"the FF passes are saved in {out / 'onchip_state.npz'}; --resume continues with the on-chip " \
           "readout" in err and "without --resume" not in err
    assert (out / "onchip_state.npz").is_file() and not (out / "onchip_readout_state.npz").exists()


@pytest.mark.lava
def test_cli_learns_an_onchip_readout_resumes_it_and_refuses_bad_flags(tmp_path, capsys):
    """``lava-ff train --onchip-readout-epochs 2`` on digits: the readout's
    accuracy is that of its saved weights on the deployable network, each
    pass names its rate, a readout resumed after one pass ends where one
    run ends, a finished one is kept on --resume, and bad readout flags
    are refused naming the value."""
    import json

    from lava_ff.cli.main import main
    from lava_ff.core.inputs import flatten_images
    from lava_ff.datasets import load_split
    from lava_ff.onchip.fit import ONCHIP_READOUT_STATE, load_state, onchip_readout_accuracy

    out = tmp_path / "onchip"
    common = ["--dataset", "digits", "--layers", "20", "--theta", "1", "--limit", "30", "--no-progress",
              "--samples-per-run", "10", "--onchip-rule-lr", "8", "--pre-trace-impulse", "4", "--backend", "lava-fixed",
              "--out", str(out)]
    readout = ["--onchip-readout-epochs", "2", "--onchip-readout-lr", "32"]
    assert main(["train", "--epochs", "1", *common, *readout]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    onchip = metrics["onchip_readout"]
    assert [r["learning_rate"] for r in onchip["history"]] == [32.0, 16.0]
    assert onchip["weight_updates"] == 2 * 30 * 10 * 20  # passes x samples x synapses
    record = ff.load(out).record  # what inspect prices the whole training with
    assert record["readout_rule"]["learning_rate"] == 32.0
    assert record["onchip_training"] == {"samples": 30, "passes": 1, "readout_passes": 2}
    learned = np.load(out / "onchip_readout.npy")
    assert learned.shape == (10, 20) and np.abs(learned).max() > 0  # one layer of 20 neurons
    model = load_trained_onchip(out)
    _, val, test, _ = load_split("digits", None, 0)
    test_x, test_y = flatten_images(test.images)[:30], np.asarray(test.labels)[:30]
    assert metrics["test_accuracy_onchip_readout"] == pytest.approx(
        onchip_readout_accuracy(*model, learned, test_x, test_y))
    assert metrics["val_accuracy_onchip_readout"] == pytest.approx(
        onchip_readout_accuracy(*model, learned, flatten_images(val.images), np.asarray(val.labels)))
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--dataset", "digits", "--limit", "30"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["accuracy_onchip_readout"] == pytest.approx(metrics["test_accuracy_onchip_readout"])
    assert evaluated["accuracy_onchip_combined"] == pytest.approx(metrics["test_accuracy_onchip_combined"])
    # in Lava (its own Processes on the folder; netx on the exported file) the readout learned on chip
    # predicts what the host computes
    assert main(["export", "--model", str(out), "--out", str(tmp_path / "onchip.net")]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["onchip_readout"] is True
    for model, backend in ((out, "lava-fixed"), (tmp_path / "onchip.net", "netx-fixed")):
        assert main(["evaluate", "--model", str(model), "--dataset", "digits", "--limit", "30",
                     "--backend", backend, "--no-progress"]) == 0
        lava = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert lava["accuracy_onchip_readout"] == pytest.approx(metrics["test_accuracy_onchip_readout"]), backend
        assert lava["accuracy_onchip_combined"] == pytest.approx(metrics["test_accuracy_onchip_combined"]), backend
        assert lava["agreement_onchip_readout_with_host"] == lava["agreement_onchip_combined_with_host"] == 1.0
    assert load_state(out / ONCHIP_READOUT_STATE, 1)["epoch"] == 2
    # a readout stopped after its first pass resumes at the second and learns what one run learns
    # (every pass starts a new Lava network from the saved weights, with the same seeds)
    split = tmp_path / "split"
    assert main(["train", "--epochs", "1", *common[:-1], str(split), *readout[:1], "1", *readout[2:]]) == 0
    assert main(["train", "--epochs", "1", "--resume", *common[:-1], str(split), *readout]) == 0
    np.testing.assert_array_equal(np.load(split / "onchip_readout.npy"), learned)
    # a finished one stays as it is
    assert main(["train", "--epochs", "1", "--resume", *common, *readout]) == 0
    np.testing.assert_array_equal(np.load(out / "onchip_readout.npy"), learned)
    # more FF passes change the layers it reads: the readout is learned anew, said so
    capsys.readouterr()
    assert main(["train", "--epochs", "2", "--resume", *common, *readout]) == 0
    assert "learning the readout anew" in capsys.readouterr().err
    # FF passes without readout passes leave the old readout behind: evaluate leaves it out and says so
    assert main(["train", "--epochs", "3", "--resume", *common]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--dataset", "digits", "--limit", "30"]) == 0
    captured = capsys.readouterr()
    assert "accuracy_onchip_readout" not in json.loads(captured.out.strip().splitlines()[-1])
    assert "learned on other FF weights" in captured.err
    bad = ["train", "--epochs", "1", *common[:-1], str(tmp_path / "bad"), *readout]
    for flags, message in ((["--onchip-readout-lr-decay", "0"], "--onchip-readout-lr-decay must be a number in "
                                                                "(0, 1], got 0.0"),
                           (["--onchip-readout-scale", "nan"], "--onchip-readout-scale must be a positive finite "
                                                              "number, got nan")):
        capsys.readouterr()
        assert main(bad + flags) == 2
        assert message in capsys.readouterr().err
    capsys.readouterr()
    assert main(bad + ["--onchip-readout-lr", "0.01"]) == 2  # before any training
    assert "learning_rate=0.01 underflows" in capsys.readouterr().err
    assert not (tmp_path / "bad" / "onchip_state.npz").exists()


def load_trained_onchip(out):
    """``(config, deployable FF weights, neuron)`` of an on-chip run's folder, from its state."""
    import json

    from lava_ff.core.config import FFConfig
    from lava_ff.core.neuron import quantize_neuron
    from lava_ff.core.rule import deployable_weights
    from lava_ff.onchip.fit import ONCHIP_STATE, load_state

    cfg = FFConfig.from_dict(json.loads((out / "metrics.json").read_text())["config"])
    state = load_state(out / ONCHIP_STATE, len(cfg.layer_sizes))
    return cfg, [deployable_weights(w) for w in state["weights"]], quantize_neuron(cfg.neuron)


@pytest.mark.lava
def test_cli_learns_a_readout_on_views_and_lava_runs_it_over_them(tmp_path, capsys):
    """``--onchip-readout-views 5``: the readout learns on moved images and
    its figures sum its scores over five views (the host's
    ``onchip_readout_predictions`` with five views, and with one); the
    folder and its netx file run five views unasked, and in Lava predict
    what the host computes; ``--views 1`` overrides them; bad view counts
    are refused naming the value."""
    import json

    from lava_ff.cli.main import main
    from lava_ff.core.inputs import flatten_images
    from lava_ff.datasets import load_split
    from lava_ff.onchip.fit import onchip_readout_accuracy, onchip_readout_predictions

    out = tmp_path / "views"
    common = ["--dataset", "digits", "--layers", "20", "--theta", "1", "--limit", "30", "--no-progress",
              "--samples-per-run", "10", "--onchip-rule-lr", "8", "--pre-trace-impulse", "4", "--backend", "lava-fixed",
              "--epochs", "1", "--onchip-readout-epochs", "1"]
    assert main(["train", *common, "--onchip-readout-views", "5", "--out", str(out)]) == 0
    onchip = json.loads((out / "metrics.json").read_text())["onchip_readout"]
    assert onchip["views"] == 5
    model, learned = load_trained_onchip(out), np.load(out / "onchip_readout.npy")
    _, val, test, shape = load_split("digits", None, 0)
    test_x, test_y = flatten_images(test.images)[:30], np.asarray(test.labels)[:30]
    for views, suffix in ((5, ""), (1, "_one_view")):
        predicted = onchip_readout_predictions(*model, learned, test_x, logit_scale=onchip["logit_scale"],
                                               views=views, image_shape=shape)
        assert onchip[f"test_accuracy{suffix}"] == pytest.approx(np.mean(predicted[:, 0] == test_y))
        assert onchip[f"test_accuracy_combined{suffix}"] == pytest.approx(np.mean(predicted[:, 1] == test_y))
    assert onchip["val_accuracy"] == pytest.approx(onchip_readout_accuracy(
        *model, learned, flatten_images(val.images), np.asarray(val.labels), views=5, image_shape=shape))
    # the same figures without views would be another readout: the moved images changed what it learned
    plain = tmp_path / "plain"
    assert main(["train", *common, "--out", str(plain)]) == 0
    assert not np.array_equal(np.load(plain / "onchip_readout.npy"), learned)
    capsys.readouterr()
    assert main(["export", "--model", str(out), "--out", str(tmp_path / "views.net")]) == 0
    for model, backend in ((out, "lava-fixed"), (tmp_path / "views.net", "netx-fixed")):
        assert main(["evaluate", "--model", str(model), "--dataset", "digits", "--limit", "30",
                     "--backend", backend, "--no-progress"]) == 0
        lava = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert lava["views"] == 5 and lava["accuracy_onchip_readout"] == pytest.approx(onchip["test_accuracy"])
        assert lava["accuracy_onchip_combined"] == pytest.approx(onchip["test_accuracy_combined"])
        assert lava["agreement_onchip_readout_with_host"] == lava["agreement_onchip_combined_with_host"] == 1.0
        assert lava["agreement_with_torch"] == lava["agreement_with_torch_combined"] == 1.0
    assert main(["evaluate", "--model", str(out), "--dataset", "digits", "--limit", "30", "--views", "1"]) == 0
    one = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert one["views"] == 1 and one["accuracy_onchip_readout"] == pytest.approx(onchip["test_accuracy_one_view"])
    # the validation split the run held out, as the run measured it
    assert main(["evaluate", "--model", str(out), "--dataset", "digits", "--split", "val"]) == 0
    held_out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert held_out["split"] == "val" and held_out["samples"] == len(val)
    assert held_out["accuracy_onchip_readout"] == pytest.approx(onchip["val_accuracy"])
    for flags, message in ((["--onchip-readout-views", "6"], "--onchip-readout-views: views must be an integer "
                                                             "from 1 to 5.*got 6"),
                           (["--onchip-readout-views", "0"], "got 0"),
                           (["--onchip-views", "7"], "--onchip-views: views must be an integer from 1 to 5.*got 7"),
                           (["--onchip-views", "-1"], "--onchip-views: .*got -1")):
        with pytest.raises(SystemExit, match=message):
            main(["train", *common, *flags, "--out", str(tmp_path / "bad")])
    with pytest.raises(SystemExit, match="--onchip-readout-views 3: the views are those of the readout learned "
                                         "on chip; add --onchip-readout-epochs N"):
        main(["train", *common[:-2], "--onchip-readout-views", "3", "--out", str(tmp_path / "bad")])
    assert not (tmp_path / "bad").exists()
    with pytest.raises(SystemExit, match="--views: views must be an integer from 1 to 5.*got 9"):
        main(["evaluate", "--model", str(out), "--dataset", "digits", "--views", "9"])


@pytest.mark.lava
@pytest.mark.parametrize("flag", ["--onchip-readout-views", "--onchip-views"])
def test_views_on_spike_trains_are_refused_before_any_pass(nmnist_dir, tmp_path, flag):
    """Views move images: on N-MNIST's spike trains ``--onchip-readout-views``
    and ``--onchip-views`` are refused, naming the flag and the sample
    shape, before any FF pass writes a state."""
    from lava_ff.cli.main import main

    out = tmp_path / "nmnist"
    with pytest.raises(SystemExit, match=rf"{flag} 5: views move images; nmnist samples are spike "
                                         r"trains of shape \(2312, 10\)"):
        main(["train", "--dataset", "nmnist", "--data", str(nmnist_dir), "--backend", "lava-fixed", "--layers", "10",
              "--limit", "10", "--onchip-readout-epochs", "1", flag, "5", "--out", str(out),
              "--no-progress"])
    assert not out.exists()
