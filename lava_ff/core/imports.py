"""Import a dependency without the lines it prints that no user can act on.

lava-dl prints a three-line note about the Prophesee toolbox (to stdout,
beside a command's JSON output) when slayer is imported, and torch's
extension builder prints ``No CUDA runtime is found`` on a CPU-only
machine. :func:`quiet_import` drops exactly those lines and passes on
everything else the import prints; warnings are untouched.
"""

from __future__ import annotations

import importlib
import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import ModuleType

__all__ = ["NOISE", "quiet_import"]

#: the starts of the lines dropped; nothing else is
NOISE = (
    "No CUDA runtime is found, using CUDA_HOME=",
    "WARNING: Prophesee Dataset Toolbox could not be found!",
    "         Only Prophesee DVS demo will not run properly.",
    "         Please install it from https://github.com/prophesee-ai/prophesee-automotive-dataset-toolbox",
)


def quiet_import(name: str) -> ModuleType:
    """``importlib.import_module(name)``, its :data:`NOISE` lines dropped."""
    if name in sys.modules:
        return sys.modules[name]
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            module = importlib.import_module(name)
    finally:
        for captured, stream in ((out, sys.stdout), (err, sys.stderr)):
            kept = [line for line in captured.getvalue().splitlines(keepends=True) if not line.startswith(NOISE)]
            if kept:
                stream.write("".join(kept))
    return module
