"""lava-ff train --config: TOML or JSON options, flags after them win, and a run's metrics.json repeats the run."""

import json

import pytest

from lava_ff.cli.main import main


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_a_runs_metrics_json_repeats_the_run_bit_for_bit(tmp_path):
    first = tmp_path / "first"
    assert main(["train", "--layers", "30,20", "--epochs", "2", "--limit", "100", "--theta", "2.5", "--rule", "ffgaf",
                 "--shift", "1", "--negatives", "hard", "--no-progress", "--out", str(first)]) == 0
    again = tmp_path / "again"
    assert main(["train", "--config", str(first / "metrics.json"), "--no-progress", "--out", str(again)]) == 0
    a, b = _metrics(first), _metrics(again)
    for key in ("config", "train_settings", "dataset", "limit", "test", "val_accuracy"):
        assert a[key] == b[key], key
    assert [r["layer_loss"] for r in a["history"]] == [r["layer_loss"] for r in b["history"]]


def test_a_toml_file_sets_options_and_flags_after_it_override_them(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('layers = [20]\nepochs = 1\nlimit = 50\nno-progress = true\nrule = "three_factor"\n'
                      'time_steps = 6\n')
    assert main(["train", "--config", str(config), "--epochs", "2", "--out", str(tmp_path / "run")]) == 0
    metrics = _metrics(tmp_path / "run")
    assert metrics["config"]["rule"] == "three_factor" and metrics["config"]["layer_sizes"] == [20]
    assert metrics["config"]["time_steps"] == 6 and metrics["epochs"] == 2  # the flag, not the file's 1


def test_an_onchip_runs_metrics_json_repeats_its_options(tmp_path):
    first = tmp_path / "first"
    assert main(["train", "--backend", "lava-fixed", "--layers", "20", "--epochs", "1", "--limit", "20",
                 "--onchip-lr", "8", "--theta", "1", "--no-progress", "--out", str(first)]) == 0
    again = tmp_path / "again"
    assert main(["train", "--config", str(first / "metrics.json"), "--no-progress", "--out", str(again)]) == 0
    a, b = _metrics(first), _metrics(again)
    assert a["config"] == b["config"] and a["rule"] == b["rule"] and a["backend"] == b["backend"] == "lava-fixed"
    assert a["test_accuracy"] == b["test_accuracy"]


@pytest.mark.parametrize("content, suffix, message", [
    ("bogus = 1\n", ".toml", "unknown option 'bogus'"),
    ("layers = [\n", ".toml", "not a readable config file"),
    ("{\"layers\": ", ".json", "not a readable config file"),
    ("[1, 2]", ".json", "expected a table of options, got list"),
    ("resume = 3\n", ".toml", "resume is a switch, give true or false, got 3"),
    ("layers: 2\n", ".yaml", "give a .toml or .json file"),
], ids=["unknown", "bad-toml", "bad-json", "not-a-table", "bad-switch", "yaml"])
def test_bad_config_files_are_named(tmp_path, capsys, content, suffix, message):
    path = tmp_path / f"config{suffix}"
    path.write_text(content)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"--config {path}" in err and message in err
    assert not (tmp_path / "o").exists()
    assert main(["train", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
