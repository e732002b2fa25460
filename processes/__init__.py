"""Lava Processes of lava-ff (importable only as ``lava_ff.processes``)."""

from lava_ff.runtime import prepare_multiprocessing

# Lava's message infrastructure fixes the multiprocessing start method when
# first imported (via any Process module) and fails if something chose one
# before, e.g. a tqdm progress bar in a notebook. Let it choose now, so a bar
# created between this import and the first Process module's cannot get there first.
prepare_multiprocessing()
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: E402, F401
