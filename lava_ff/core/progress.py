"""The progress bar every long loop shows: tqdm's notebook widget where
Jupyter can draw it (ipywidgets installed), else tqdm's text bar, so that
no notebook prints tqdm's "IProgress not found" warning."""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["tqdm"]
