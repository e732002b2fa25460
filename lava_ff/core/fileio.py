"""Atomic file writes: every file lava-ff writes appears whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success the file is
    flushed to disk and renamed onto ``path`` (``os.replace``), on any failure
    (Ctrl-C included) it is removed and ``path`` stays as it was. ``suffix``
    ends the temporary name (``np.savez`` needs ``.npz``). The file gets the
    mode ``open`` would give a new file (0666 less the umask)."""
    path = Path(path)
    if not path.name or path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; give the path of a file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode())  # mkstemp's 0600 would hide a shared model or checkpoint from its group
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
