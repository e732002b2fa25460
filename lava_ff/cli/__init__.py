"""The ``lava-ff`` command line: parse arguments, call the library, print.

Nothing in the library imports this package.
"""

from lava_ff.cli.main import entry, main

__all__ = ["entry", "main"]
