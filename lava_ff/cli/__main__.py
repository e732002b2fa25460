"""``python -m lava_ff.cli.main``: the ``lava-ff`` command."""

import sys

from lava_ff.cli.main import entry

sys.exit(entry())
