"""A trained network on disk and back: run folders, checkpoints, netx and NIR files.

:func:`load_trained` turns a ``lava-ff train`` run folder, a
``checkpoint.pt``, a netx ``.net`` file or a NIR ``.nir`` file into the offline network;
:func:`trained_spec` into the plain-numpy :class:`NetworkSpec` that Lava
and netx run, with the readout learned on chip where the run has one;
:func:`run_record` reads what the run recorded (data set, views, time
steps) so that evaluation can take its defaults from it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from lava_ff.core.config import FFConfig
from lava_ff.core.errors import NetxFormatError
from lava_ff.core.rule import READOUT_LOGIT_SCALE, deployable_weights
from lava_ff.core.spec import NetworkSpec
from lava_ff.netx_export.io import load as load_netx
from lava_ff.nir_format import load as load_nir
from lava_ff.offline.model import FFNetwork
from lava_ff.offline.train import CHECKPOINT, load_checkpoint
from lava_ff.onchip.fit import ONCHIP_READOUT_STATE, ReadoutTask, load_state

__all__ = ['NETX_SUFFIXES', 'NIR_SUFFIXES', 'load_file', 'load_trained', 'trained_spec']

NETX_SUFFIXES = (".net", ".h5", ".hdf5")
NIR_SUFFIXES = (".nir",)


def load_file(path: Path) -> NetworkSpec:
    """The :class:`NetworkSpec` in a netx or (``.nir``) NIR file."""
    return load_nir(path) if path.suffix in NIR_SUFFIXES else load_netx(path)


def load_trained(model: str):
    """The :class:`FFNetwork` saved in a training folder, a checkpoint file, a
    netx HDF5 file (``.net``/``.h5``) or a NIR file (``.nir``)."""
    path = Path(model)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such run folder, checkpoint, netx or NIR file")
    if path.suffix in NETX_SUFFIXES + NIR_SUFFIXES:
        return FFNetwork.from_spec(load_file(path))
    if path.is_dir() and not (path / CHECKPOINT).is_file():
        raise FileNotFoundError(f"{path}: a folder without {CHECKPOINT}; give a lava-ff train run folder, a "
                                "checkpoint or a netx file")
    ckpt = load_checkpoint(path / CHECKPOINT if path.is_dir() else path)
    # the network alone: a Trainer would check the saved schedule against its own default epoch count
    net = FFNetwork(FFConfig.from_dict(ckpt["config"]))
    net.load_state_dict(ckpt["model"])
    return net


def trained_spec(model: str, net=None):
    """The network ``model`` names as a :class:`NetworkSpec` (``net``: its
    :func:`load_trained` network, if loaded already), with the readout it
    learned on chip where it has one: a netx file's, or a training folder's
    ``onchip_readout.npy`` with the logit scale (and the views it learned
    on) its readout state (or ``metrics.json``) records. A readout whose
    state names other FF weights (the layers trained on after it) is left
    out, and said so."""

    path = Path(model)
    if path.suffix in NETX_SUFFIXES + NIR_SUFFIXES:
        return load_file(path)
    spec = NetworkSpec.from_torch(load_trained(model) if net is None else net)
    weights = path / "onchip_readout.npy"
    if not weights.is_file():
        return spec
    metrics, state = path / "metrics.json", path / ONCHIP_READOUT_STATE
    learned = ((load_state(state, 1)["run"] or {}).get("readout") or {}) if state.is_file() else {}
    if learned and learned.get("ff_weights_sha256") != \
            ReadoutTask(spec.weights).describe(spec.config)["ff_weights_sha256"]:
        print(f"{weights}: learned on other FF weights than {path}'s (its {ONCHIP_READOUT_STATE} says so); "
              "left out: learn it again with --onchip-readout-epochs", file=sys.stderr)
        return spec
    scale = learned.get("logit_scale")
    if scale is None and metrics.is_file():
        scale = (json.loads(metrics.read_text()).get("onchip_readout") or {}).get("logit_scale")
    if scale is None:
        scale = READOUT_LOGIT_SCALE
        print(f"{weights}: no logit scale recorded next to it ({ONCHIP_READOUT_STATE} or metrics.json); "
              f"taking the default {scale:g}, which only the combined classifier reads", file=sys.stderr)
    try:
        views = {"views": learned["views"], "image_shape": tuple(learned["image_shape"])} \
            if learned.get("views", 1) > 1 else {}
        return dataclasses.replace(spec, onchip_readout=deployable_weights(np.load(weights)),
                                   onchip_readout_scale=scale, **views)
    except ValueError as err:
        raise NetxFormatError(f"{weights}: {err}") from None
