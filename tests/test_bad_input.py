"""Bad input is named before any work, never a traceback: data files, output
paths, resource sizes and option values, run through the ``lava-ff``
command as a user would."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lava_ff import datasets
from lava_ff.core.errors import DatasetError


def _idx(directory: Path, prefix: str, images: np.ndarray, labels: np.ndarray, label_type: bytes = b"\x08") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    img = b"\x00\x00\x08\x03" + np.array(images.shape, ">u4").tobytes() + images.tobytes()
    lbl = b"\x00\x00" + label_type + b"\x01" + np.array([len(labels)], ">u4").tobytes() + labels.tobytes()
    (directory / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(img))
    (directory / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(lbl))


@pytest.fixture
def idx_dir(tmp_path, rng):
    """A tiny MNIST-format data set: 40 training and 10 test 6x6 images of classes 0-3."""
    folder = tmp_path / "idx"
    _idx(folder, "train", rng.integers(0, 256, (40, 6, 6), dtype=np.uint8), np.arange(40, dtype=np.uint8) % 4)
    _idx(folder, "t10k", rng.integers(0, 256, (10, 6, 6), dtype=np.uint8), np.arange(10, dtype=np.uint8) % 4)
    return folder


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lava_ff", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _refused(done, *needles, status=None):
    """One ``lava-ff...: error:`` line naming the value, no traceback, no work (no metrics written)."""
    assert done.returncode != 0 and (status is None or done.returncode == status), done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert "error:" in last, last
    for needle in needles:
        assert needle in last, last


# ------------------------------------------------------------------- data files
@pytest.mark.parametrize("label, needle", [(255, "test label 255 at index 3 is not one of the training split's 10"),
                                           (10, "test label 10 at index 3")])
def test_test_split_labels_outside_the_training_classes_are_refused(idx_dir, tmp_path, rng, label, needle):
    labels = np.arange(10, dtype=np.uint8) % 4
    labels[3] = label
    _idx(idx_dir, "t10k", rng.integers(0, 256, (10, 6, 6), dtype=np.uint8), labels)
    _refused(_cli("train", "--dataset", "idx", "--data", idx_dir, "--out", tmp_path / "o", cwd=tmp_path), needle,
             status=1)
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_float_labels_are_refused_not_truncated(idx_dir, tmp_path):
    _idx(idx_dir, "t10k", np.zeros((10, 6, 6), np.uint8), np.full(10, 1.7, ">f4"), label_type=b"\x0d")
    _refused(_cli("train", "--dataset", "idx", "--data", idx_dir, "--out", tmp_path / "o", cwd=tmp_path),
             "t10k-labels-idx1-ubyte.gz: labels must be integers", status=1)


def test_an_idx_header_whose_dimensions_overflow_is_named(tmp_path):
    header = b"\x00\x00\x08\x03" + np.array([2**32 - 1] * 3, ">u4").tobytes()
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(header + bytes(10))
    with pytest.raises(DatasetError, match="huge-idx3-ubyte: truncated: header says shape .4294967295"):
        datasets.read_idx_file(path)


def test_test_images_of_another_shape_are_refused_before_training(idx_dir, tmp_path, rng):
    _idx(idx_dir, "t10k", rng.integers(0, 256, (10, 5, 5), dtype=np.uint8), np.arange(10, dtype=np.uint8) % 4)
    _refused(_cli("train", "--dataset", "idx", "--data", idx_dir, "--out", tmp_path / "o", cwd=tmp_path),
             "test samples have shape (5, 5), training samples (6, 6)", status=1)


@pytest.mark.parametrize("kind", ["directory", "symlink_loop", "binary_labels"])
def test_nmnist_paths_that_are_not_files_are_named(tmp_path, kind):
    folder = tmp_path / "nmnist"
    folder.mkdir()
    (folder / "train.txt").write_text("0 1\n")
    (folder / "test.txt").write_text("0 1\n")
    if kind == "directory":
        (folder / "0.bs2").mkdir()
        needle = "0.bs2: cannot read"
    elif kind == "symlink_loop":
        os.symlink(folder / "0.bs2", folder / "0.bs2")
        needle = "0.bs2: cannot read"
    else:
        (folder / "train.txt").write_bytes(b"\xff\xfe\x00binary")
        needle = "train.txt: not a text label list"
    _refused(_cli("train", "--dataset", "nmnist", "--data", folder, "--out", tmp_path / "o", cwd=tmp_path),
             needle, status=1)


# ------------------------------------------------------------------ output paths
@pytest.mark.parametrize("out, needle", [
    ("", "--out is empty"),
    ("a_file", "--out a_file: exists and is not a folder"),
    ("a_file/under", "a_file is a file, so no folder can be made under it"),
    ("/dev/null", "--out /dev/null: exists and is not a folder"),
    ("/proc/lava_ff_run", "nothing can be written in /proc"),
], ids=["empty", "file", "under_file", "dev_null", "read_only"])
def test_bad_output_folders_are_refused_before_training(tmp_path, out, needle):
    (tmp_path / "a_file").write_text("keep")
    for command in (["train", "--epochs", "1"], ["demo"]):
        _refused(_cli(*command, "--out", out, cwd=tmp_path), needle, status=2)
    assert (tmp_path / "a_file").read_text() == "keep"


def test_export_to_a_folder_is_refused(tmp_path):
    done = _cli("train", "--layers", "10", "--epochs", "1", "--limit", "50", "--no-progress", "--out", "run",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    _refused(_cli("export", "--model", "run", "--out", tmp_path, cwd=tmp_path), "is a directory", status=1)


# --------------------------------------------------------- resources and values
@pytest.mark.parametrize("steps", [20000, 100000000])
def test_time_steps_beyond_memory_are_refused_at_once(tmp_path, steps):
    _refused(_cli("train", "--time-steps", steps, "--out", "o", cwd=tmp_path), f"time_steps={steps}", "GiB",
             status=2)
    assert not (tmp_path / "o" / "checkpoint.pt").exists()


@pytest.mark.parametrize("flag, value", [("--seed", "-1"), ("--epochs", "0"), ("--layers", "10,0")])
def test_bad_option_values_name_the_flag(tmp_path, flag, value):
    done = _cli("train", flag, value, "--out", "o", cwd=tmp_path)
    assert done.returncode == 2 and f"argument {flag}:" in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------- files run writes
@pytest.mark.parametrize("stage", ["test_split", "plots"])
def test_metrics_are_written_whole_and_survive_an_interruption_after_training(tmp_path, monkeypatch, stage):
    """Ctrl-C while the test split is measured, or while the plots are drawn,
    keeps the training metrics (and the test figures measured by then)."""
    import lava_ff.offline.train as train_module
    from lava_ff.cli.main import main

    measure, calls = train_module.evaluate_accuracy, []

    def interrupted_on_the_test_split(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the first measures the one epoch's validation split
            raise KeyboardInterrupt
        return measure(*args, **kwargs)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    if stage == "test_split":
        monkeypatch.setattr(train_module, "evaluate_accuracy", interrupted_on_the_test_split)
    else:
        monkeypatch.setattr("lava_ff.plots.plot_history", interrupted)
    with pytest.raises(SystemExit) as stop:
        main(["train", "--layers", "10", "--epochs", "1", "--limit", "60", "--no-progress",
              "--out", str(tmp_path / "run")])
    assert stop.value.code == 130
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["val_accuracy"] is not None
    assert (metrics["test"] is None) == (stage == "test_split")
    assert [p.name for p in (tmp_path / "run").iterdir() if p.name.startswith(".")] == []  # no temporary left


@pytest.mark.parametrize("epochs_done", [0, 1])
def test_an_interrupted_offline_run_says_only_what_it_saved(tmp_path, monkeypatch, capsys, epochs_done):
    """Ctrl-C before the first epoch ends saves nothing and says so; after it, names the checkpoint."""
    import lava_ff.offline.train as train
    from lava_ff.cli.main import main
    from lava_ff.offline.train import Trainer

    original = train.save_checkpoint

    def save_then_interrupt(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt

    if epochs_done:
        monkeypatch.setattr(train, "save_checkpoint", save_then_interrupt)
    else:
        def interrupt(self, *args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(Trainer, "fit", interrupt)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stop:
        main(["train", "--layers", "20", "--epochs", "2", "--no-progress", "--out", str(out)])
    assert stop.value.code == 130
    err = capsys.readouterr().err
    if epochs_done:
        assert "the last completed epoch (1) is saved" in err and (out / "checkpoint.pt").is_file()
    else:
        assert "nothing was saved" in err and not (out / "checkpoint.pt").exists()
