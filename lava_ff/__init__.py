"""lava-ff: Forward-Forward learning for spiking neural networks on Lava and Loihi 2.

The public API, loaded on first use (``import lava_ff`` imports numpy only;
torch, Lava and h5py load with the names that need them)::

    import lava_ff as ff
    data = ff.load_dataset("digits")
    net = ff.train(data, layers=(200, 200), epochs=2)
    ff.evaluate(net, data, backend="lava-fixed")
    ff.export(net, "model.net")

The layers underneath: :mod:`lava_ff.core` (numpy: the neuron, the rule,
goodness, inputs, the network spec), :mod:`lava_ff.offline` (torch
training), :mod:`lava_ff.processes` (the Lava Processes),
:mod:`lava_ff.lava` (Lava runs), :mod:`lava_ff.onchip` (on-chip learning
epochs and its numpy reference), :mod:`lava_ff.netx_export` (netx HDF5),
:mod:`lava_ff.artifacts` and :mod:`lava_ff.cli`.
"""

from __future__ import annotations

import importlib
import warnings

# tqdm's notebook bars need ipywidgets; without it, any package that imports tqdm.auto in Jupyter (tonic
# does) warns "IProgress not found". lava-ff draws text bars there (lava_ff.core.progress): exactly that
# warning is dropped, no other.
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    # data, training, evaluation, files
    "load_dataset": "lava_ff.api",
    "Dataset": "lava_ff.api",
    "train": "lava_ff.api",
    "evaluate": "lava_ff.api",
    "fit_readout": "lava_ff.api",
    "export": "lava_ff.api",
    "load": "lava_ff.api",
    "netx_network": "lava_ff.api",
    "inspect": "lava_ff.inspection",
    "Inspection": "lava_ff.inspection",
    "Model": "lava_ff.api",
    "Predictions": "lava_ff.api",
    "Evaluation": "lava_ff.api",
    "BACKENDS": "lava_ff.api",
    "EXPORT_FORMATS": "lava_ff.api",
    # configuration
    "FFConfig": "lava_ff.core.config",
    "NeuronParams": "lava_ff.core.neuron",
    "FixedNeuronParams": "lava_ff.core.neuron",
    "FFLearningRule": "lava_ff.core.rule",
    "NetworkSpec": "lava_ff.core.spec",
    "TrainSettings": "lava_ff.offline.train",
    # data and inputs
    "ImageSet": "lava_ff.datasets",
    "load_digits": "lava_ff.datasets",
    "load_mnist": "lava_ff.datasets",
    "load_idx": "lava_ff.datasets",
    "load_nmnist": "lava_ff.datasets",
    "find_shared_data": "lava_ff.datasets",
    "EVENT_DTYPE": "lava_ff.datasets",
    "NMNIST_SENSOR": "lava_ff.datasets",
    "flatten_images": "lava_ff.core.inputs",
    "prepare_inputs": "lava_ff.core.inputs",
    "random_wrong_labels": "lava_ff.core.inputs",
    "phase_windows": "lava_ff.core.inputs",
    "quantize_neuron": "lava_ff.core.neuron",
    "quantize_weights": "lava_ff.core.loihi",
    # offline training, step by step
    "FFNetwork": "lava_ff.offline.model",
    "Trainer": "lava_ff.offline.train",
    "evaluate_accuracy": "lava_ff.offline.train",
    # Lava and netx runs, step by step
    "build_lava_network": "lava_ff.lava.inference",
    "run_lava_inference": "lava_ff.lava.inference",
    "build_netx_network": "lava_ff.netx_export.run",
    "run_netx_inference": "lava_ff.netx_export.run",
    "run_config": "lava_ff.netx_export.run",
    # on-chip learning in Lava, and its numpy reference
    "train_onchip": "lava_ff.lava.learning",
    "train_onchip_readout": "lava_ff.lava.learning",
    "OnChipReadout": "lava_ff.lava.learning",
    "onchip_fit": "lava_ff.onchip.fit",
    "ReadoutTask": "lava_ff.onchip.fit",
    "initial_weights": "lava_ff.onchip.fit",
    "onchip_network": "lava_ff.onchip.fit",
    "onchip_readout_accuracy": "lava_ff.onchip.fit",
    "onchip_readout_predictions": "lava_ff.onchip.fit",
    "simulate_onchip": "lava_ff.onchip.reference",
    "deployable_weights": "lava_ff.core.rule",
    "READOUT_LOGIT_SCALE": "lava_ff.core.rule",
    "onchip_learning_rate": "lava_ff.core.rule",
    # errors
    "LavaFFError": "lava_ff.core.errors",
    "ConfigError": "lava_ff.core.errors",
    "DatasetError": "lava_ff.core.errors",
    "NetxFormatError": "lava_ff.core.errors",
    "NirFormatError": "lava_ff.core.errors",
    "LavaRunError": "lava_ff.core.errors",
    "MissingExtraError": "lava_ff.core.errors",
    # the Lava Processes
    "FFInput": "lava_ff.processes.ff_input.process",
    "FFLayer": "lava_ff.processes.ff_layer.process",
    "FFReadout": "lava_ff.processes.ff_readout.process",
    "FFGoodnessMonitor": "lava_ff.processes.ff_monitor.process",
    "FFPhaseInput": "lava_ff.processes.ff_phase_input.process",
    "FFLearningDense": "lava_ff.processes.ff_learning_dense.process",
    "FFLearningNeuron": "lava_ff.processes.ff_learning_neuron.process",
    "FFReadoutNeuron": "lava_ff.processes.ff_readout_neuron.process",
    "FFSpikeReplay": "lava_ff.processes.ff_spike_replay.process",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'lava_ff' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
