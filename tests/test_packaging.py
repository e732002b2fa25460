"""One import name per module: processes/ and netx_export/ live only under lava_ff."""

import subprocess
import sys
from pathlib import Path

import lava_ff.netx_export
import pytest

import lava_ff

REPO = Path(__file__).resolve().parents[1]


def test_mapped_packages_resolve_to_top_level_folders():
    assert Path(lava_ff.netx_export.__file__).parent == REPO / "netx_export"
    assert lava_ff.netx_export.__name__ == "lava_ff.netx_export"


@pytest.mark.lava
def test_the_processes_package_resolves_to_its_top_level_folder():
    import lava_ff.processes

    assert Path(lava_ff.processes.__file__).parent == REPO / "processes"
    assert lava_ff.processes.__name__ == "lava_ff.processes"


def test_bare_names_are_not_importable_outside_the_repo(tmp_path):
    for name in ("processes", "netx_export"):
        result = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=tmp_path,
                                capture_output=True, text=True)
        assert result.returncode != 0, f"'import {name}' must fail outside the repo"
        assert "No module named" in result.stderr


def test_every_package_folder_is_listed_in_pyproject():
    text = (REPO / "pyproject.toml").read_text()
    for root, prefix in ((REPO / "processes", "lava_ff.processes"),
                         (REPO / "netx_export", "lava_ff.netx_export"),
                         (REPO / "lava_ff", "lava_ff")):
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            name = ".".join((prefix,) + rel)
            assert f'"{name}"' in text, f"package {name} missing from [tool.setuptools] packages"


def test_import_lava_ff_stays_light():
    code = "import sys, lava_ff; print(any(m in sys.modules for m in ('torch', 'lava', 'h5py')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_readme_is_short_and_every_headline_row_has_its_figure_and_command():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "--config" in line]
    configs = {c.name for c in (REPO / "configs").glob("*.toml")}
    named = {name for row in rows for name in configs if f"configs/{name}" in row}
    assert named == configs, configs - named  # every committed config is a row of the results table
    for row in rows + [line for line in readme.splitlines() if line.startswith("| `0")]:
        assert "%" in row or " s |" in row or "min |" in row, row  # a figure, or a run time
    for placeholder in ("FASHION_", "OFFLINE_VAL", "| T0"):
        assert placeholder not in readme
    assert "scratch probe" not in readme.lower()


def test_the_results_page_has_no_unfilled_figures():
    text = (REPO / "docs" / "results.md").read_text()
    for placeholder in ("FASHION_", "OFFLINE_VAL"):
        assert placeholder not in text
