"""Lava Processes of lava-ff (importable only as ``lava_ff.processes``)."""

from lava_ff.runtime import prepare_multiprocessing

# Lava's message infrastructure fixes the multiprocessing start method when
# first imported (via any Process module) and fails if something chose one
# before, e.g. a tqdm progress bar in a notebook.
prepare_multiprocessing()
