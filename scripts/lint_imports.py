"""Check the import contracts in ``pyproject.toml`` on lava-ff as it installs.

A wheel holds ``processes/`` and ``netx_export/`` inside ``lava_ff/`` (the
``package-dir`` mapping); the source tree keeps them beside it, where
import-linter's graph builder, which walks ``lava_ff/``, cannot see them. So
this lays the package out as the wheel does, in a temporary folder, and
runs ``lint-imports`` there.

    .venv/bin/python scripts/lint_imports.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lava_ff_lint_") as tmp:
        package = Path(tmp) / "lava_ff"
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / "lava_ff", package, ignore=skip)
        for folder in ("processes", "netx_export"):
            shutil.copytree(ROOT / folder, package / folder, ignore=skip)
        # the editable install's finder would send lava_ff back to the source tree
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")]
        sys.path.insert(0, tmp)
        import lava_ff

        if not Path(lava_ff.__file__).is_relative_to(tmp):
            raise SystemExit(f"lava_ff came from {lava_ff.__file__}, not the staged {package}")
        from importlinter.cli import lint_imports

        return lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)


if __name__ == "__main__":
    sys.exit(main())
