"""The exceptions lava-ff raises for a user's mistake or a failed run.

Every one derives from :class:`LavaFFError`, so ``except ff.LavaFFError``
catches all of them; each also derives from the built-in exception a
Python user would expect (``ValueError`` for bad values and files,
``RuntimeError`` for a failed run), so existing ``except ValueError``
handlers keep working. The CLI prints them as one line,
``lava-ff: error: <message>``, and exits with 2 for a :class:`ConfigError`
(a usage error) and 1 for the others (a failure).
"""

from __future__ import annotations

__all__ = ["LavaFFError", "ConfigError", "DatasetError", "NetxFormatError", "NirFormatError", "LavaRunError",
           "MissingExtraError"]


class LavaFFError(Exception):
    """Base class of every error lava-ff raises on purpose."""


class ConfigError(LavaFFError, ValueError):
    """A parameter, option or combination of them that lava-ff cannot run."""


class DatasetError(LavaFFError, ValueError):
    """A dataset file or directory is missing, malformed or inconsistent."""


class NetxFormatError(LavaFFError, ValueError):
    """A file that is not a network lava-ff can load and run."""


class NirFormatError(LavaFFError, ValueError):
    """A NIR graph that is not a network lava-ff can load and run (it names the node)."""


class LavaRunError(LavaFFError, RuntimeError):
    """A Lava run that failed: a ProcessModel crashed, or the run timed out."""


class MissingExtraError(LavaFFError, ImportError):
    """A feature that needs an optional dependency that is not installed (Lava: the ``lava`` extra)."""
