"""``python -m lava_ff``: the ``lava-ff`` command (``torchrun ... -m lava_ff train ...`` too)."""

import sys

from lava_ff.cli.main import entry

sys.exit(entry())
