"""The documentation site builds strict (no broken link or reference), its pages say what they
should, and, where Debian's Chromium is installed, its index and API page render their headings."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs group (make docs) is installed in .venv, not in .venv-core")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_the_site_builds_strict_with_every_page(site):
    for page in ("index.html", "getting-started/index.html", "concepts/forward-forward/index.html",
                 "concepts/three-factor-rule/index.html", "concepts/fixed-point/index.html",
                 "guides/offline/index.html", "guides/lava-processes/index.html", "guides/onchip/index.html",
                 "guides/netx-loihi2/index.html", "guides/event-data/index.html", "guides/robustness/index.html",
                 "guides/cli/index.html", "results/index.html", "reference/api/index.html",
                 "reference/config/index.html", "reference/processes/index.html", "changelog/index.html"):
        assert (site / page).is_file(), page


def test_the_api_reference_is_generated_from_the_docstrings(site):
    api = (site / "reference/api/index.html").read_text()
    for name in ("load_dataset", "train", "evaluate", "export", "netx_network"):
        assert f'id="lava_ff.api.{name}"' in api, name
    assert "Seed of the validation split" in api  # load_dataset's docstring, rendered
    assert ":class:" not in api and ":func:" not in api
    processes = (site / "reference/processes/index.html").read_text()
    assert "FFLearningDense" in processes and "FFPhaseInput" in processes


def test_the_results_page_gives_every_headline_config_and_the_changelog_is_included(site):
    results = (site / "results/index.html").read_text()
    for config in sorted((ROOT / "configs").glob("*.toml")):
        assert f"configs/{config.name}" in results, config.name
    assert "Unreleased" in (site / "changelog/index.html").read_text()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_chromium_renders_the_index_and_the_api_page(site, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_docs.py"), str(site),
                             "--screenshots", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "index.png").stat().st_size > 10_000
    assert (tmp_path / "reference_api_index.png").stat().st_size > 10_000
