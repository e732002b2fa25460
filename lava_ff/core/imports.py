"""Import a dependency without the lines it prints that no user can act on.

lava-dl prints a three-line note about the Prophesee toolbox (to stdout,
beside a command's JSON output) when slayer is imported, and torch's
extension builder prints ``No CUDA runtime is found`` on a CPU-only
machine (newer torch logs it as a warning of the
``torch.utils.cpp_extension`` logger). :func:`quiet_import` drops exactly
those lines and that one log record and passes on everything else the
import prints; warnings are untouched.

:func:`require_lava` is the one check every Lava-only entry point makes
before it does any work: Lava's last releases (the ``lava`` extra) exist
for CPython 3.10 only.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import logging
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import ModuleType

from lava_ff.core.errors import MissingExtraError

__all__ = ["NOISE", "quiet_import", "LAVA_EXTRA", "lava_installed", "require_lava"]

#: how to get Lava: the extra, and the Python it needs
LAVA_EXTRA = ("pip install 'lava-ff[lava]' on CPython 3.10 (Lava's last releases, lava-nc 0.10 and lava-dl 0.6, "
              "exist for Python 3.10 only)")

#: the starts of the lines dropped; nothing else is
NOISE = (
    "No CUDA runtime is found, using CUDA_HOME=",
    "WARNING: Prophesee Dataset Toolbox could not be found!",
    "         Only Prophesee DVS demo will not run properly.",
    "         Please install it from https://github.com/prophesee-ai/prophesee-automotive-dataset-toolbox",
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(NOISE)


def quiet_import(name: str) -> ModuleType:
    """``importlib.import_module(name)``, its :data:`NOISE` lines (printed or logged) dropped."""
    if name in sys.modules:
        return sys.modules[name]
    out, err = io.StringIO(), io.StringIO()
    logger, noise = logging.getLogger("torch.utils.cpp_extension"), _DropNoise()
    logger.addFilter(noise)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            module = importlib.import_module(name)
    finally:
        logger.removeFilter(noise)
        for captured, stream in ((out, sys.stdout), (err, sys.stderr)):
            kept = [line for line in captured.getvalue().splitlines(keepends=True) if not line.startswith(NOISE)]
            if kept:
                stream.write("".join(kept))
    return module


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # its parent package is absent or broken
        return False


def lava_installed() -> bool:
    """Whether Lava (lava-nc) and lava-dl, the ``lava`` extra, can be imported here."""
    return _installed("lava.magma") and _installed("lava.lib.dl")


def require_lava(what: str) -> None:
    """Raise :class:`MissingExtraError` naming ``what``, the ``lava`` extra
    and the Python it needs, unless Lava is installed."""
    if not lava_installed():
        here = ".".join(map(str, sys.version_info[:3]))
        raise MissingExtraError(f"{what} needs Lava, which is not installed here (Python {here}): {LAVA_EXTRA}. "
                                "Training, evaluation in torch, netx and NIR files work without it.")
