"""``lava-ff train --config FILE``: options from a TOML or JSON file, flags after it.

A file sets any ``train`` option by its flag name (``time-steps`` or
``time_steps``); lists become comma-separated values, ``true`` a flag that
is set. A run's own ``metrics.json`` is a config file too: its recorded
data set, network, training settings and on-chip rule come back as the
options that made them, so a run can be repeated from its folder::

    lava-ff train --config configs/mnist_ffgaf.toml --data ../shared/data/mnist
    lava-ff train --config runs/mnist/metrics.json --out runs/mnist_again
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lava_ff.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # the 3.10 stack: the same parser, under its own name
    import tomli as tomllib


#: deprecated flag -> its new name (the old names still work, with a warning, until 0.3)
DEPRECATED_FLAGS = {"--lr": "--adam-lr", "--three-factor-lr": "--rule-lr", "--onchip-lr": "--onchip-rule-lr",
                    "--onchip-lr-decay": "--onchip-rule-lr-decay"}


def warn_deprecated(old: str, where: str = "") -> str:
    """Say on stderr that ``old`` (a flag, or a config file's key) is deprecated; return its new name
    in the same spelling (``--adam-lr`` for ``--lr``, ``adam_lr`` for ``lr``)."""
    flag = "--" + old.lstrip("-").replace("_", "-")
    new = DEPRECATED_FLAGS[flag]
    if not old.startswith("--"):
        new = new[2:].replace("-", "_")
    print(f"lava-ff: warning: {where}{old} is deprecated and will be removed in lava-ff 0.3; use {new}",
          file=sys.stderr)
    return new


__all__ = ["DEPRECATED_FLAGS", "warn_deprecated", "config_arguments", "metrics_options"]

#: FFConfig fields -> train flags (the rest have the same name)
_CONFIG_FLAGS = {"layer_sizes": "layers", "symba_alpha": "alpha", "lr": "adam_lr", "three_factor_lr": "rule_lr"}
#: FFConfig fields that come from the data, not from an option
_FROM_DATA = ("in_features", "num_classes")
#: TrainSettings fields with no train flag
_NOT_OPTIONS = ("eval_batch", "progress", "epoch_log")


def metrics_options(metrics: dict, where: str) -> dict:
    """The ``train`` options that made the run ``metrics`` (a ``metrics.json``) records."""
    config = dict(metrics.get("config") or {})
    options = {key: metrics.get(key) for key in ("dataset", "data", "limit", "val_size")}
    neuron = config.pop("neuron", {}) or {}
    options.update(threshold=neuron.get("threshold"), current_decay=neuron.get("current_decay"),
                   voltage_decay=neuron.get("voltage_decay"))
    for field in _FROM_DATA:
        config.pop(field, None)
    if metrics.get("dataset") == "nmnist":
        config.pop("encoding", None)  # spike trains: set by the data set
    for field in ("label_scale", "weight_scale", "eval_skip_first"):  # no flag: refuse what a flag cannot repeat
        value = config.pop(field, None)
        default = {"label_scale": 1.0, "weight_scale": 0.3, "eval_skip_first": False}[field]
        if value is not None and value != default:
            raise ConfigError(f"--config {where}: the run set {field}={value!r}, which lava-ff train has no "
                              "option for; repeat it through the Python API (ff.train)")
    options.update({_CONFIG_FLAGS.get(k, k): v for k, v in config.items()})
    settings = dict(metrics.get("train_settings") or {})
    for field in _NOT_OPTIONS:
        settings.pop(field, None)
    options.update(settings)
    if metrics.get("backend") not in (None, "torch"):  # an on-chip run
        rule = metrics.get("rule") or {}
        options.update(backend=metrics["backend"], epochs=metrics.get("epochs"),
                       onchip_rule_lr=rule.get("learning_rate"), pre_trace_tau=rule.get("pre_trace_tau"),
                       pre_trace_impulse=rule.get("pre_trace_impulse"), lava_messages=metrics.get("lava_messages"),
                       readout_epochs=metrics.get("readout_epochs"), train_classes=metrics.get("train_classes"),
                       replay=metrics.get("replay") or None)
        options.update(metrics.get("onchip_options") or {})
    options["train_classes"] = metrics.get("train_classes") or options.get("train_classes")
    return {k: v for k, v in options.items() if v is not None}


def config_arguments(path: str, parser) -> list[str]:
    """The ``train`` arguments a config file stands for, checked against ``parser``'s options."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"--config {path}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
        if file.suffix == ".toml":
            values = tomllib.loads(text)
        elif file.suffix == ".json":
            values = json.loads(text)
        else:
            raise ConfigError(f"--config {path}: give a .toml or .json file")
    except (UnicodeDecodeError, ValueError) as err:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise ConfigError(f"--config {path}: not a readable config file ({err})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"--config {path}: expected a table of options, got {type(values).__name__}")
    if isinstance(values.get("config"), dict) and ("train_settings" in values or "backend" in values):
        values = metrics_options(values, path)
    flags = {action.dest: action for action in parser._actions
             if action.option_strings and action.help != argparse.SUPPRESS}  # not the deprecated spellings
    arguments = []
    for key, value in values.items():
        dest = str(key).replace("-", "_")
        if "--" + dest.replace("_", "-") in DEPRECATED_FLAGS:  # an old name: still read, with a warning
            dest = warn_deprecated(dest, where=f"--config {path}: ")
        if dest not in flags or dest in ("help", "config"):
            raise ConfigError(f"--config {path}: unknown option {key!r}")
        flag = max(flags[dest].option_strings, key=len)
        if flags[dest].nargs == 0:  # a switch
            if value is True:
                arguments.append(flag)
            elif value is not False:
                raise ConfigError(f"--config {path}: {key} is a switch, give true or false, got {value!r}")
        elif isinstance(value, (list, tuple)):
            arguments += [flag, ",".join(map(str, value))]
        else:
            arguments += [flag, str(value)]
    return arguments
