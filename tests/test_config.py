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


@pytest.mark.lava
def test_an_onchip_runs_metrics_json_repeats_its_options(tmp_path):
    first = tmp_path / "first"
    assert main(["train", "--backend", "lava-fixed", "--layers", "20", "--epochs", "1", "--limit", "20",
                 "--onchip-rule-lr", "8", "--onchip-rule-lr-decay", "0.5", "--theta", "1", "--no-progress",
                 "--out", str(first)]) == 0
    again = tmp_path / "again"
    assert main(["train", "--config", str(first / "metrics.json"), "--no-progress", "--out", str(again)]) == 0
    a, b = _metrics(first), _metrics(again)
    assert a["config"] == b["config"] and a["rule"] == b["rule"] and a["backend"] == b["backend"] == "lava-fixed"
    assert a["test_accuracy"] == b["test_accuracy"] and a["onchip_options"] == b["onchip_options"]
    assert b["onchip_options"]["onchip_rule_lr_decay"] == 0.5


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


def test_val_size_holds_out_that_many_samples_and_the_run_records_it(tmp_path):
    first = tmp_path / "first"
    assert main(["train", "--layers", "20", "--epochs", "1", "--val-size", "137", "--no-progress",
                 "--out", str(first)]) == 0
    a = _metrics(first)
    assert a["val_size"] == 137
    # the validation accuracy is a mean over 137 samples: a multiple of 1/137
    assert round(a["val_accuracy"] * 137, 6) == round(a["val_accuracy"] * 137)
    again = tmp_path / "again"
    assert main(["train", "--config", str(first / "metrics.json"), "--no-progress", "--out", str(again)]) == 0
    b = _metrics(again)
    assert b["val_size"] == 137 and a["val_accuracy"] == b["val_accuracy"] and a["test"] == b["test"]


@pytest.mark.parametrize("size", ["0", "-3", "1438", "1e3"])
def test_a_bad_val_size_is_named_before_training(tmp_path, capsys, size):
    try:  # argparse refuses what is not a positive integer; the data set what it cannot hold out
        code = main(["train", "--layers", "20", "--epochs", "1", "--val-size", size, "--out", str(tmp_path / "o")])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert "--val-size" in err and size in err
    assert not (tmp_path / "o" / "checkpoint.pt").exists()


def test_old_learning_rate_flags_still_work_and_say_their_new_names(tmp_path, capsys):
    assert main(["train", "--layers", "20", "--epochs", "1", "--limit", "50", "--lr", "0.02",
                 "--three-factor-lr", "0.3", "--no-progress", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "--lr is deprecated" in err and "use --adam-lr" in err
    assert "--three-factor-lr is deprecated" in err and "use --rule-lr" in err
    config = _metrics(tmp_path / "a")["config"]
    assert config["lr"] == 0.02 and config["three_factor_lr"] == 0.3
    file = tmp_path / "old.toml"
    file.write_text("layers = [20]\nepochs = 1\nlimit = 50\nthree_factor_lr = 0.4\n")
    assert main(["train", "--config", str(file), "--no-progress", "--out", str(tmp_path / "b")]) == 0
    assert "three_factor_lr is deprecated" in capsys.readouterr().err
    assert _metrics(tmp_path / "b")["config"]["three_factor_lr"] == 0.4


def test_new_learning_rate_flags_set_what_they_name(tmp_path):
    assert main(["train", "--layers", "20", "--epochs", "1", "--limit", "50", "--adam-lr", "0.02",
                 "--rule-lr", "0.3", "--no-progress", "--out", str(tmp_path / "a")]) == 0
    config = _metrics(tmp_path / "a")["config"]
    assert config["lr"] == 0.02 and config["three_factor_lr"] == 0.3


def test_evaluate_reads_the_data_folder_and_split_the_run_recorded(tmp_path, capsys):
    """A run on an idx folder: evaluate finds the folder and the validation split without being told."""
    import numpy as np

    from lava_ff.datasets import load_digits

    folder = tmp_path / "idx"
    folder.mkdir()
    digits = load_digits()
    for split, images, labels in (("train", digits.images[:300], digits.labels[:300]),
                                  ("t10k", digits.images[300:400], digits.labels[300:400])):
        pixels = np.round(np.asarray(images) * 255).astype(np.uint8)
        header = np.array([0x00000803, len(pixels), 8, 8], ">i4").tobytes()
        (folder / f"{split}-images-idx3-ubyte").write_bytes(header + pixels.tobytes())
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(np.array([0x00000801, len(labels)], ">i4").tobytes()
                                                            + np.asarray(labels, np.uint8).tobytes())
    run = tmp_path / "run"
    assert main(["train", "--dataset", "idx", "--data", str(folder), "--layers", "20", "--epochs", "1",
                 "--val-size", "40", "--no-progress", "--out", str(run)]) == 0
    trained = _metrics(run)
    assert trained["data"] == str(folder)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run), "--split", "val", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["samples"] == 40 and result["accuracy"] == trained["val_accuracy"], result
