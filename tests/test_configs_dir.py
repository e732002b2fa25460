"""configs/: one file per headline result, read by lava-ff train and by the benchmarks alike."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from lava_ff.cli.configfile import config_arguments
from lava_ff.cli.main import _with_config, build_parser

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def _benchmark(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_there_is_a_config_per_headline_result():
    names = {c.stem for c in CONFIGS}
    assert {"mnist-offline", "mnist-gradient-free", "mnist-onchip", "mnist-onchip-views", "mnist-corruption",
            "nmnist-offline", "fashion-mnist-offline"} <= names


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_parses_into_its_commands_options(config):
    text = config.read_text()
    assert "#   " in text.split("\n\n")[0] or "#   " in text  # the header names the command that runs it
    if "methods" in text:  # the evaluation suite's
        suite = _benchmark("suite")
        parser = suite.argparse.ArgumentParser()
        # the suite's own parser, built by its main(): --help parses the file and exits 0
        with pytest.raises(SystemExit) as stop:
            suite.main(["--config", str(config), "--help"])
        assert stop.value.code == 0
        del parser
        return
    args = build_parser().parse_args(_with_config(["train", "--config", str(config)]))
    assert args.out.startswith("runs/") and Path(args.out).name == config.stem
    data = ROOT / args.data
    if (ROOT.parent / "shared" / "data").exists():  # the data sets the brief ships beside the clone
        assert data.is_dir(), data


def test_reproduce_runs_a_config_and_resumes_its_folder(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    out = tmp_path / "run"
    config.write_text(f'layers = [20]\nepochs = 1\nlimit = 60\nno-progress = true\nout = "{out}"\n')
    reproduce = _benchmark("reproduce")
    first = reproduce.main([str(config)])
    assert first["resumed"] is False and 0.0 <= first["test_accuracy"] <= 1.0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["test_accuracy"] == first["test_accuracy"] and line["config"] == str(config)
    # a finished folder resumes: --epochs 2 trains only the second epoch
    second = reproduce.main([str(config), "--epochs", "2"])
    assert second["resumed"] is True and second["epochs"] == 2


def test_reproduce_reports_the_network_and_the_mean_over_seeds(tmp_path, capsys):
    config = tmp_path / "conv.toml"
    out = tmp_path / "runs"
    config.write_text(f'layers = "c12k3p2,20"\nloss = "softmax"\ngoodness = "mean_sq_rate"\nalpha = 30.0\n'
                      f'epochs = 1\nlimit = 80\nno-progress = true\nout = "{out}"\n')
    summary = _benchmark("reproduce").main([str(config), "--seeds", "0,1", "--cost-samples", "30"])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines() if line.startswith("{")]
    runs = [line for line in lines if "resumed" in line]
    assert [r["out"] for r in runs] == [str(out / "seed-0"), str(out / "seed-1")]
    # 12 3x3 kernels on one channel, 20 x (12 * 3 * 3) dense weights, a readout of every layer's rates
    readout = 10 * (12 * 6 * 6 + 20) + 10
    assert runs[0]["parameters"] == 12 * 9 + 20 * 108 + readout and runs[0]["time_steps"] == 10
    assert runs[0]["cost_mode"] == "readout" and runs[0]["windows_per_image"] == 1.0
    assert summary["test_accuracy_mean"] == pytest.approx(np.mean([r["test_accuracy"] for r in runs]))
    assert summary["synops_per_image_std"] == pytest.approx(np.std([r["synops_per_image"] for r in runs]))
    with pytest.raises(SystemExit):
        _benchmark("reproduce").main([str(config), "--seeds", "0,0"])


def test_reproduce_names_a_missing_config(capsys):
    with pytest.raises(SystemExit) as stop:
        _benchmark("reproduce").main(["configs/none.toml"])
    assert stop.value.code == 2 and "configs/none.toml: no such file" in capsys.readouterr().err


def test_unknown_options_in_a_config_are_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("layerz = [20]\n")
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    with pytest.raises(ValueError, match="unknown option 'layerz'"):
        config_arguments(str(bad), train)
