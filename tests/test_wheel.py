"""The wheel: ``python -m build`` makes it, it installs into a fresh Python 3.10 virtual
environment, and ``lava-ff demo`` runs from it outside the repository.

The fresh environment takes the wheel itself with ``--no-deps`` and sees the
dependencies (Lava, lava-dl, torch, ...) of the test's own environment through a
path entry, so that the test needs no network and no 3 GB download; lava-ff
itself must come from the wheel, which the test asserts.
"""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from lava_ff.core.imports import lava_installed

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_installs_in_a_fresh_venv_and_runs_the_demo_outside_the_repo(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist),
                            str(ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    wheels = list(dist.glob("lava_ff-*.whl"))
    assert len(wheels) == 1

    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = fresh / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies, from this environment; its own lava_ff (an editable install) is not on that path
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheels[0])],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    mapped = "lava_ff.processes" if lava_installed() else "lava_ff.netx_export"  # the Processes need Lava
    where = subprocess.run([str(python), "-c", f"import lava_ff, {mapped}; "
                            f"print(lava_ff.__file__); print({mapped}.__file__); print(lava_ff.__version__)"],
                           cwd=work, capture_output=True, text=True, timeout=300)
    assert where.returncode == 0, where.stderr[-3000:]
    files = where.stdout.split()
    assert all(f.startswith(site) for f in files[:2]), files  # from the wheel, not from the repository
    demo = subprocess.run([str(fresh / "bin" / "lava-ff"), "demo", "--out", "demo", "--no-progress"],
                          cwd=work, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stderr[-3000:]
    for stage in ("offline", "Lava fixed_pt" if lava_installed() else "Lava is not installed here", "netx", "NIR"):
        assert stage in demo.stdout + demo.stderr, stage
    assert (work / "demo" / "metrics.json").is_file()
    assert list((work / "demo").glob("*.net")) and list((work / "demo").glob("*.nir"))
