"""Lava Processes of lava-ff (importable only as ``lava_ff.processes``).

Importing this package lets Lava choose its multiprocessing start method
before anything else does (:func:`prepare_multiprocessing`), so import it
(or any Process module under it) before Lava's runtime.
"""

import multiprocessing
import sys

from lava_ff.core.imports import require_lava

require_lava("lava_ff.processes (lava-ff's Lava Processes)")

_LAVA_MP = "lava.magma.runtime.message_infrastructure.multiprocessing"


def prepare_multiprocessing() -> None:
    """Let Lava choose its start method.

    Lava's message infrastructure calls ``multiprocessing.set_start_method("fork")``
    when first imported, which raises if anything fixed the start method
    earlier (a tqdm progress bar does, through ``multiprocessing.RLock()``;
    Jupyter notebooks hit this). Before that import, reset the choice so
    Lava can make it; on Linux "fork" is the default anyway.
    """
    if _LAVA_MP not in sys.modules and multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)


# Lava's message infrastructure fixes the multiprocessing start method when
# first imported (via any Process module) and fails if something chose one
# before, e.g. a tqdm progress bar in a notebook. Let it choose now, so a bar
# created between this import and the first Process module's cannot get there first.
prepare_multiprocessing()
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: E402, F401
