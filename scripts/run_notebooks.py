"""Execute tutorials at their default settings and save them with their outputs (``make notebooks``).

    .venv/bin/python scripts/run_notebooks.py tutorials/*.ipynb

Each notebook runs top to bottom on a fresh kernel from ``tutorials/``; the
executed notebook replaces the file only once it has run to the end (written
beside it, then renamed), and only if it stays under 2 MB. Prints each
notebook's wall time and size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MAX_BYTES = 2_000_000


def run(path: Path, timeout: int) -> tuple[float, int]:
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    start = time.perf_counter()
    NotebookClient(book, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    book.metadata.pop("widgets", None)
    text = nbformat.writes(book) + "\n"
    size = len(text.encode())
    if size > MAX_BYTES:
        raise SystemExit(f"{path}: {size:,} bytes executed, over the {MAX_BYTES:,}-byte limit; not written")
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return seconds, size


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = p.parse_args(argv)
    for path in args.notebooks:
        if not path.is_file():
            p.error(f"{path}: no such notebook")
    for path in args.notebooks:
        seconds, size = run(path, args.timeout)
        print(f"{path}: wall time {seconds:.0f} s, {size / 1e3:.0f} kB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
