"""Every random draw of an on-chip run follows from --seed: two runs with the same command write the same metrics."""

import json

import pytest

pytestmark = pytest.mark.lava  # every test here runs Lava

TIMING = ("train_seconds", "samples_per_second", "seconds")


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING and "seconds" not in k}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def test_two_identical_onchip_runs_write_identical_metrics(tmp_path):
    from lava_ff.cli.main import main

    common = ["train", "--backend", "lava-fixed", "--layers", "30", "--epochs", "1", "--limit", "40",
              "--readout-epochs", "2", "--no-progress", "--seed", "5"]
    for name in ("a", "b"):
        assert main([*common, "--out", str(tmp_path / name)]) == 0
    first, second = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("a", "b"))
    assert first["test_accuracy_readout"] is not None  # the host readout, whose start used to be unseeded
    assert _without_timing(first) == _without_timing(second)


def _interrupt_after(monkeypatch, saves: int):
    """Ctrl-C right after the ``saves``-th state save of an on-chip run (the state is written first)."""
    import lava_ff.onchip.fit as fit

    original, calls = fit._save_state, []

    def save_then_interrupt(*args, **kwargs):
        original(*args, **kwargs)
        calls.append(1)
        if len(calls) == saves:
            raise KeyboardInterrupt

    monkeypatch.setattr(fit, "_save_state", save_then_interrupt)


def test_an_interrupted_onchip_run_resumes_bit_identically_at_two_points(tmp_path, monkeypatch, capsys):
    """Interrupted mid-way through pass 1 (after its first chunk), or mid-way through pass 2 (after its
    second), then resumed: the same weights and metrics as the run that was never interrupted."""
    import numpy as np
    import pytest

    from lava_ff.cli.main import main
    from lava_ff.onchip.fit import load_state

    common = ["train", "--backend", "lava-fixed", "--layers", "30", "--epochs", "2", "--limit", "60",
              "--samples-per-run", "20", "--negatives", "mixed", "--readout-epochs", "2", "--no-progress",
              "--seed", "3"]
    assert main([*common, "--out", str(tmp_path / "whole")]) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    # saves: pass 1 writes 3 chunks and its end (4), pass 2's chunks are saves 5, 6, 7
    for name, saves in (("pass1", 1), ("pass2", 6)):
        out = tmp_path / name
        with monkeypatch.context() as patch:
            _interrupt_after(patch, saves)
            with pytest.raises(SystemExit) as stop:
                main([*common, "--out", str(out)])
        assert stop.value.code == 130
        assert "--resume continues the run" in capsys.readouterr().err
        stopped = load_state(out / "onchip_state.npz", 1)
        assert stopped["position"] == (20 if name == "pass1" else 40) and stopped["pass_start"] is not None
        assert main([*common, "--resume", "--out", str(out)]) == 0
        resumed = json.loads((out / "metrics.json").read_text())
        assert _without_timing(resumed) == _without_timing(whole), name
        a, b = load_state(tmp_path / "whole" / "onchip_state.npz", 1), load_state(out / "onchip_state.npz", 1)
        assert all(np.array_equal(x, y) for x, y in zip(a["weights"], b["weights"], strict=True)), name
