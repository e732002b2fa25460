"""The public API (``import lava_ff as ff``), the README's quickstart, the
error hierarchy and the import contracts."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lava_ff as ff
from lava_ff.core.imports import lava_installed

REPO = Path(__file__).resolve().parents[1]
HAVE_LAVA = lava_installed()
HAVE_LAVA = lava_installed()


def test_every_public_name_resolves_and_import_lava_ff_loads_no_framework():
    code = ("import sys, lava_ff as ff\n"
            "heavy = [m for m in ('torch', 'lava', 'h5py', 'matplotlib') if m in sys.modules]\n"
            "names, lava_only = [], []\n"
            "for n in ff.__all__:\n"
            "    try:\n"
            "        names += [n] if getattr(ff, n) is None else []\n"
            "    except ff.MissingExtraError:\n"
            "        lava_only.append(ff._EXPORTS[n])\n"
            "print(heavy, names, sorted({m.split('.')[1] for m in lava_only}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # nothing heavy before first use; every exported name exists, and without Lava only the Processes need it
    assert out.stdout.strip() == ("[] [] []" if HAVE_LAVA else "[] [] ['processes']")
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        ff.no_such_name  # noqa: B018


@pytest.mark.lava
def test_readme_quickstart_runs_as_written(tmp_path):
    """The README's Python block, run exactly as written, from an empty folder:
    it imports lava_ff only, fits in 12 lines, and Lava fixed_pt agrees with torch."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Python quickstart\n\n```python\n(.*?)```", readme, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) <= 12
    assert [line for line in lines if line.startswith(("import", "from"))] == ["import lava_ff as ff"]
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    accuracy, agreement = map(float, done.stdout.splitlines()[0].split())
    assert agreement == 1.0 and accuracy > 0.5  # ten classes: chance is 0.1
    table = done.stdout.splitlines()[1:]  # lava-dl's own table of the network it loaded: two Dense blocks
    assert sum("Dense" in line for line in table) == 2 and (tmp_path / "digits.net").is_file()


def test_predictions_are_read_by_column_and_match_the_torch_table(trained, digits):
    result = ff.evaluate(trained, digits, limit=60, progress=False)
    table = trained.network.prediction_table(digits.test.images[:60].reshape(60, -1))
    assert result.predictions.columns == ("goodness", "goodness_skip_first", "readout", "combined")
    for i, name in enumerate(result.predictions.columns):
        np.testing.assert_array_equal(result.predictions[name], table[:, i])
        assert result.accuracy[name] == pytest.approx(np.mean(table[:, i] == digits.test.labels[:60]))
    assert result.agreement_with_torch is None and result.samples == 60 and result.views == 1
    with pytest.raises(KeyError, match="no prediction column 'vote'"):
        result.predictions["vote"]


def test_evaluate_takes_the_images_train_takes_in_any_shape(trained, digits):
    images, labels = digits.test.images[:30], digits.test.labels[:30]
    as_images = ff.evaluate(trained, (images, labels), progress=False)
    as_rows = ff.evaluate(trained, (images.reshape(30, -1), labels), progress=False)
    as_set = ff.evaluate(trained, digits.test.subset(slice(0, 30)), progress=False)
    for name in as_images.predictions.columns:
        np.testing.assert_array_equal(as_images.predictions[name], as_rows.predictions[name])
        np.testing.assert_array_equal(as_images.predictions[name], as_set.predictions[name])
    # training on bare arrays holds out a tenth for validation by itself
    net = ff.train((images.reshape(30, -1), labels), layers=(20,), epochs=1, progress=False)
    assert net.config.in_features == 64 and net.record["dataset"] == "arrays"


@pytest.mark.lava
@pytest.mark.parametrize("backend", ["lava-fixed", "netx-fixed"])
def test_lava_and_netx_backends_agree_with_torch_through_the_api(trained, digits, backend):
    result = ff.evaluate(trained, digits, backend=backend, limit=12, progress=False)
    assert result.agreement_with_torch == {name: 1.0 for name in result.predictions.columns}
    assert result.backend == backend and result.samples_per_second > 0


def test_export_and_load_round_trip_a_netx_file_and_a_run_folder(trained, digits, tmp_path):
    path = ff.export(trained, tmp_path / "net.net")
    loaded = ff.load(path)
    for ours, theirs in zip(trained.spec.weights, loaded.spec.weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert loaded.record["source"] == str(path)
    np.testing.assert_array_equal(ff.evaluate(loaded, digits, limit=40, progress=False).predictions["goodness"],
                                  ff.evaluate(trained, digits, limit=40, progress=False).predictions["goodness"])
    # a run folder the CLI wrote records its data set
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "lava_ff", "train", "--layers", "20", "--epochs", "1",
                           "--limit", "200", "--no-progress", "--out", str(run)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    model = ff.load(run)
    assert model.record["dataset"] == "digits" and model.config.layer_sizes == (20,)
    history = (run / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,layer_loss_1,") and len(history) == 2  # a header and the one epoch
    assert json.loads((run / "metrics.json").read_text())["config"] == model.config.to_dict()
    # lava-ff evaluate takes the data set, views and time steps from the run, and says so
    done = subprocess.run([sys.executable, "-m", "lava_ff", "evaluate", "--model", str(run), "--limit", "20",
                           "--no-progress"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "data set digits (recorded by the run), views 1 (the model's), time steps 10" in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["samples"] == 20


def test_bad_input_is_named_before_any_work(trained, digits, tmp_path):
    with pytest.raises(ff.ConfigError, match="unknown option.s. learning_rate"):
        ff.train(digits, layers=(10,), epochs=1, learning_rate=0.1)
    with pytest.raises(ff.ConfigError, match="unknown backend 'gpu'"):
        ff.evaluate(trained, digits, backend="gpu")
    with pytest.raises(ff.ConfigError, match="unknown data set 'cifar'"):
        ff.load_dataset("cifar")
    with pytest.raises(ff.ConfigError, match="expects 64 input features per sample, the data has 10"):
        ff.evaluate(trained, (np.zeros((3, 10)), np.zeros(3, int)))
    with pytest.raises(FileNotFoundError, match="no such run folder, checkpoint, netx or NIR file"):
        ff.load(tmp_path / "missing.net")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        ff.export(trained, tmp_path)


def test_errors_form_one_hierarchy_and_keep_the_builtin_bases():
    for error, builtin in ((ff.ConfigError, ValueError), (ff.DatasetError, ValueError),
                           (ff.NetxFormatError, ValueError), (ff.LavaRunError, RuntimeError)):
        assert issubclass(error, ff.LavaFFError) and issubclass(error, builtin)
    from lava_ff.netx_export import NetxFormatError

    from lava_ff.lava.runtime import LavaModelError, LavaRunTimeout

    assert NetxFormatError is ff.NetxFormatError
    assert issubclass(LavaModelError, ff.LavaRunError) and issubclass(LavaRunTimeout, ff.LavaRunError)
    with pytest.raises(ff.ConfigError, match="unknown goodness 'max'"):
        ff.FFConfig(in_features=4, goodness="max")


def test_cli_errors_are_one_line_with_exit_2_for_usage_and_1_for_failures(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "lava_ff", *args], capture_output=True, text=True,
                              cwd=tmp_path)

    usage = cli("train", "--dataset", "mnist", "--out", "x")
    assert usage.returncode == 2 and usage.stderr.strip().splitlines()[-1].startswith("lava-ff: error: ")
    assert "--data DIR" in usage.stderr and "Traceback" not in usage.stderr
    (tmp_path / "broken.net").write_bytes(b"not a netx file")
    failure = cli("export", "--model", "broken.net", "--out", "again.net")
    assert failure.returncode == 1 and "Traceback" not in failure.stderr
    assert failure.stderr.strip().splitlines()[-1].startswith("lava-ff: error: ") and "broken.net" in failure.stderr


def test_import_contracts_hold():
    """The layering of pyproject.toml's import-linter contracts (also run by make lint)."""
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "lint_imports.py")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Contracts: 4 kept, 0 broken." in done.stdout


@pytest.mark.lava
def test_train_on_chip_learns_every_weight_in_lavas_engine_and_refuses_what_it_cannot(digits):
    small = ff.Dataset("digits", digits.train.subset(slice(0, 200)), digits.val.subset(slice(0, 100)), digits.test,
                       digits.image_shape)
    net = ff.train(small, layers=(60,), epochs=1, backend="lava-fixed", theta=5.0, progress=False)
    assert net.record["backend"] == "lava-fixed" and net.config.neuron.threshold == 4.0  # the on-chip default
    assert [r["epoch"] for r in net.record["history"]] == [1] and net.record["rule"]["learning_rate"] == 16.0
    assert ff.evaluate(net, digits, limit=200, progress=False).accuracy["goodness"] > 0.2  # chance 0.1
    assert all(np.all(w % 2 == 0) for w in net.spec.weights)  # deployable: the even 8-bit grid
    # the passes learn on the images' one-pixel moves: other weights from the same start
    moved = ff.train(small, layers=(60,), epochs=1, backend="lava-fixed", theta=5.0, progress=False, onchip_views=5)
    assert not all(np.array_equal(a, b) for a, b in zip(moved.spec.weights, net.spec.weights, strict=True))
    with pytest.raises(ValueError, match="views must be an integer from 1 to 5.*got 9"):
        ff.train(small, layers=(60,), backend="lava-fixed", onchip_views=9, progress=False)
    with pytest.raises(ff.ConfigError, match="loss='symba': on-chip learning runs the softplus loss"):
        ff.train(small, layers=(60,), backend="lava-fixed", loss="symba")
    with pytest.raises(ff.ConfigError, match="on-chip options such as learning_rate"):
        ff.train(small, layers=(60,), learning_rate=3.0)
    with pytest.raises(ff.ConfigError, match="unknown training backend 'loihi2'"):
        ff.train(small, layers=(60,), backend="loihi2")


class _Payload:
    """Unpickling this runs ``touch <marker>``: what a crafted checkpoint could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    import torch

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    torch.save({"config": {}, "model": _Payload(marker)}, evil)
    with pytest.raises(ff.NetxFormatError, match="evil.pt: not a lava-ff checkpoint"):
        ff.load(evil)
    done = subprocess.run([sys.executable, "-m", "lava_ff", "evaluate", "--model", str(evil)], capture_output=True,
                          text=True)
    assert done.returncode == 1 and "not a lava-ff checkpoint" in done.stderr and "Traceback" not in done.stderr
    assert not marker.exists()


def test_the_cli_module_loads_no_framework_so_help_is_quick():
    code = "import sys, lava_ff.cli.main; print([m for m in ('torch', 'lava', 'h5py') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_cli_option_has_help_with_its_default_and_errors_are_two_lines(tmp_path):
    import argparse

    from lava_ff.cli.configfile import DEPRECATED_FLAGS
    from lava_ff.cli.main import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, command in commands.items():
        for action in command._actions:
            if not action.option_strings or action.dest == "help":
                continue
            if action.help == argparse.SUPPRESS:  # hidden: only the deprecated spellings of renamed flags
                assert set(action.option_strings) <= set(DEPRECATED_FLAGS), action.option_strings
                continue
            assert action.help, f"lava-ff {name} {action.option_strings[0]} has no help"
            shown = command.formatter_class("x")._get_help_string(action)
            assert action.default in (None, False) or "default" in shown.lower(), (name, action.option_strings)
        titles = {group.title for group in command._action_groups}
        if name == "train":
            assert {"data", "network", "offline learning", "output"} <= titles
            assert any(t.startswith("on-chip learning") for t in titles)
    done = subprocess.run([sys.executable, "-m", "lava_ff", "train", "--layers", "0"], capture_output=True, text=True,
                          cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 2 and lines[1].startswith("lava-ff: error: argument --layers")
    version = subprocess.run([sys.executable, "-m", "lava_ff", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"lava-ff {ff.__version__}" and version.stderr == ""


NOISE = ("No CUDA runtime", "CUDA_HOME", "Prophesee", "IProgress", "TqdmWarning")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["train", "--help"],
                                  ["train", "--layers", "10", "--epochs", "1", "--limit", "50", "--no-progress",
                                   "--out", "run"]], ids=["help", "version", "train-help", "tiny-train"])
def test_commands_print_no_dependency_noise(tmp_path, args):
    done = subprocess.run([sys.executable, "-m", "lava_ff", *args], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    for line in (done.stdout + done.stderr).splitlines():
        assert not any(noise in line for noise in NOISE), line


def test_demo_runs_the_main_job_end_to_end(tmp_path):
    """lava-ff demo: offline training, the same network in Lava fixed_pt, the netx and NIR exports and the netx
    file in Lava, ending with a table whose Lava rows agree with torch; without Lava, the two Lava steps are
    left out and it says how to get them."""
    done = subprocess.run([sys.executable, "-m", "lava_ff", "demo", "--out", "demo", "--no-progress"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    stages = ("1/4 offline training", "2/4 the same network", "3/4 export to netx HDF5 and NIR", "4/4 the netx file") \
        if HAVE_LAVA else ("Lava is not installed here", "pip install 'lava-ff[lava]'", "1/2 offline training",
                           "2/2 export to netx HDF5 and NIR")
    for stage in stages:
        assert stage in done.stderr
    table = done.stdout[done.stdout.index("lava-ff demo: digits"):]
    assert table.count("agreement with torch 100%") == (2 if HAVE_LAVA else 0)
    assert "model.net" in table and "model.nir" in table
    for name in ("model.net", "model.nir", "history.csv"):
        assert (tmp_path / "demo" / name).is_file()


def test_epoch_records_are_readable_lines_or_json_lines_with_json(tmp_path):
    common = ["-m", "lava_ff", "train", "--layers", "10", "--epochs", "2", "--limit", "60", "--no-progress"]
    text = subprocess.run([sys.executable, *common, "--out", "a"], capture_output=True, text=True, cwd=tmp_path)
    lines = [line for line in text.stderr.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  loss L1 ") and "val goodness" in lines[0]
    machine = subprocess.run([sys.executable, *common, "--json", "--out", "b"], capture_output=True, text=True,
                             cwd=tmp_path)
    records = [json.loads(line) for line in machine.stdout.splitlines()]
    assert [r.get("epoch") for r in records[:2]] == [1, 2] and "layer_loss" in records[0]
    assert not any(line.startswith("epoch ") for line in machine.stderr.splitlines())
    assert "test_accuracy" in records[-1]  # the run's summary stays the last line
