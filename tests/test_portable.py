"""lava-ff without Lava: the offline path needs torch alone, the netx file
is byte for byte what it always was, and every Lava-only entry point says
which extra it needs, and on which Python, before it does any work.

"Without Lava" is real in the core environment (``make test-core``); here
it is made real in a child process whose ``sys.modules["lava"] = None``
makes every ``import lava...`` fail, as it does where Lava is absent."""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from lava_ff.netx_export import export, load
from lava_ff.netx_export.io import content_digest

GOLDEN = Path(__file__).parent / "data" / "golden.net"
#: the h5py that wrote GOLDEN (lava-ff 0.1.0 on Python 3.10, lava-dl installed): bytes compare under it
GOLDEN_H5PY = "3.16.0"

WITHOUT_LAVA = "import sys; sys.modules['lava'] = None\n"


def _contents(path) -> dict:
    """Every dataset (dtype, shape, value bytes) and attribute of an HDF5 file, by path."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, item):
            attrs = {k: np.asarray(v).tobytes() for k, v in item.attrs.items()}
            if isinstance(item, h5py.Dataset):
                value = np.asarray(item[()])
                out[name] = (value.dtype.str, value.shape, value.tobytes(), attrs)
            else:
                out[name] = ("group", attrs)
        f.visititems(visit)
    return out


def test_the_netx_file_is_what_lava_ff_always_wrote(tmp_path, golden_spec):
    """The writer (h5py only) writes the golden file's datasets and attributes,
    and its very bytes under the h5py that wrote it."""
    path = export(golden_spec, tmp_path / "model.net")
    assert _contents(path) == _contents(GOLDEN)
    with h5py.File(path, "r") as ours, h5py.File(GOLDEN, "r") as theirs:
        assert content_digest(ours) == content_digest(theirs)
    if h5py.__version__ == GOLDEN_H5PY:
        assert path.read_bytes() == GOLDEN.read_bytes()
    spec = load(GOLDEN)
    assert spec.views == 3 and spec.onchip_readout_scale == 2.5
    assert all(np.array_equal(a, b) for a, b in zip(spec.weights, golden_spec.weights, strict=True))


@pytest.mark.lava
def test_the_golden_file_builds_in_lava_dls_netx(golden_spec):
    import lava_ff as ff

    net = ff.netx_network(GOLDEN)
    assert [layer.synapse.weights.init.shape for layer in net.layers] == [(12, 30), (8, 12)]
    assert np.array_equal(net.layers[1].synapse.weights.init, golden_spec.weights[1])


def _run(code: str, tmp_path, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_LAVA + code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=timeout)


def _says_extra(text: str) -> bool:
    here = ".".join(map(str, sys.version_info[:3]))
    return "pip install 'lava-ff[lava]' on CPython 3.10" in text and f"(Python {here})" in text


def test_without_lava_the_offline_path_trains_exports_and_loads(tmp_path):
    done = _run("import lava_ff as ff\n"
                "data = ff.load_dataset('digits')\n"
                "net = ff.train(data, layers=(30,), epochs=1, progress=False)\n"
                "for name in ('m.net', 'm.nir'):\n"
                "    back = ff.load(ff.export(net, name))\n"
                "    print(name, ff.evaluate(back, data, limit=50, progress=False).accuracy['goodness'])\n"
                "print(sorted(m for m in sys.modules if m == 'lava' or m.startswith('lava.')))\n", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split("\n")
    assert lines[0].startswith("m.net 0.") and lines[1].startswith("m.nir 0.") and lines[2] == "['lava']"


@pytest.mark.parametrize("code, what", [
    ("import lava_ff.processes", "lava_ff.processes"),
    ("import lava_ff as ff\nff.train(ff.load_dataset('digits'), layers=(30,), epochs=1, backend='lava-fixed')",
     "train(backend='lava-fixed')"),
    ("import lava_ff as ff\nff.evaluate('absent.net', None, backend='netx-fixed')", "evaluate(backend='netx-fixed')"),
    ("import lava_ff as ff\nff.netx_network('absent.net')", "netx_network"),
    ("from lava_ff.offline.suite import check_methods\ncheck_methods('ff-surrogate,bptt')", "the bptt baseline"),
], ids=["processes", "train", "evaluate", "netx_network", "bptt"])
def test_without_lava_each_lava_entry_point_names_the_extra_before_any_work(code, what, tmp_path):
    """The evaluate and netx_network calls name files that do not exist: the
    error is about Lava, so nothing was looked at first."""
    done = _run(code, tmp_path)
    assert done.returncode == 1
    assert "MissingExtraError" in done.stderr and what in done.stderr and _says_extra(done.stderr), done.stderr


@pytest.mark.parametrize("argv", [["train", "--backend", "lava-fixed", "--out", "run"],
                                  ["evaluate", "--backend", "lava-float", "--model", "absent"],
                                  ["evaluate", "--backend", "netx-fixed", "--model", "absent"]],
                         ids=["train", "evaluate-lava", "evaluate-netx"])
def test_without_lava_the_cli_backends_say_one_line_and_write_nothing(argv, tmp_path):
    done = _run(f"from lava_ff.cli import entry\nsys.exit(entry({json.dumps(argv)}))", tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("lava-ff: error: ") and _says_extra(done.stderr), done.stderr
    assert f"--backend {argv[2]}" in done.stderr
    assert not (tmp_path / "run").exists()
