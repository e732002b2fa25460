"""Atomic file writes: every file lava-ff writes appears whole or not at all.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lava_ff.core.errors import ConfigError

__all__ = ["atomic_path", "write_json", "write_history_csv", "check_output_dir"]


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


def write_json(path: str | os.PathLike, value) -> Path:
    """``value`` as indented JSON in ``path``, written whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2))
    return Path(path)


def write_history_csv(history: list[dict], path: str | os.PathLike) -> Path:
    """A training history (one dict per epoch) as CSV, one row per epoch,
    written whole or not at all: a list value becomes one column per item
    (``layer_loss`` -> ``layer_loss_1, layer_loss_2, ...``), a missing or
    ``None`` value an empty cell."""
    rows = []
    for record in history:
        row = {}
        for key, value in record.items():
            if isinstance(value, (list, tuple)):
                row.update({f"{key}_{i + 1}": item for i, item in enumerate(value)})
            elif not isinstance(value, dict):
                row[key] = value
        rows.append(row)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return Path(path)


def check_output_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """``path`` as a folder a run can create and write into, checked before
    any work starts and without creating it: a :class:`ConfigError` naming
    ``what`` and the reason otherwise (an empty path, a file, a path under
    a file, a place where nothing can be written)."""
    text = os.fspath(path)
    if not str(text).strip():
        raise ConfigError(f"{what} is empty; give the folder to write into")
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{what} {text}: exists and is not a folder")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{what} {text}: {existing} is a file, so no folder can be made under it")
    try:  # what the run would do first: write a file there (a folder it makes is as writable)
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".lava_ff_write_test_"):
            pass
    except OSError as err:
        raise ConfigError(f"{what} {text}: nothing can be written in {existing} ({err.strerror or err})") from None
    return folder


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
