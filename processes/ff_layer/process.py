"""The FF layer Process: Dense synapses + CUBA LIF neurons + a goodness accumulator."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_ff.core.checks import check_positive_int
from lava_ff.core.config import GOODNESS_KINDS
from lava_ff.core.layers import Synapse
from lava_ff.core.loihi import check_integer_weights
from lava_ff.core.neuron import FixedNeuronParams


class FFLayer(AbstractProcess):
    """A Forward-Forward layer: Dense + CUBA LIF + goodness over a window.

    Runs ``copies`` independent replicas of the layer side by side (one per
    candidate label, plus the neutral-label copy for the linear readout), so
    one pass over a sample scores every label. All copies share ``weights``.

    Discrete-time equations per copy, in Loihi 2 integers (the fixed model;
    the float model runs the same recursion on ``x / 4096``)::

        a[t] = W @ s_in[t]                                (W: even ints in [-256, 254])
        u[t] = rtz(u[t-1] * (4096 - (du + 1)), 12) + (a[t] << 6)   (24-bit wrap)
        v[t] = rtz(v[t-1] * (4096 - dv), 12) + u[t]                (24-bit clip)
        s_out[t] = v[t] > vth << 6;  v[t] = 0 where s_out[t]
        count += s_out[t]

    Unlike Lava's ``Dense`` (which buffers its output for one step), the
    synapse and the neuron are one Process, so ``s_out[t]`` answers
    ``s_in[t]`` with no delay: the layer reproduces the offline torch model
    step for step, and Lava's ``Dense`` + ``LIF`` one step later.

    Every ``time_steps`` steps (a sample's presentation window) ``u``, ``v``
    and the counters reset; at the window's last step the layer sends its
    raw goodness (``sum_n count**2``, see :func:`lava_ff.core.goodness.raw_goodness`)
    as row ``layer_index`` of ``g_out`` and, if it feeds the linear readout,
    the spike counts of copy ``neutral_copy`` into ``r_out`` at
    ``readout_offset``. Several layers' ``g_out``/``r_out`` connect to one
    readout port; Lava adds their messages, and every layer writes only its
    own slot.

    Parameters
    ----------
    weights : int array [out, in] or [out channels, in channels, k, k]
        Loihi integer weights (even values in [-256, 254]); see
        :func:`lava_ff.core.loihi.quantize_weights`. Four dimensions: a
        convolution (stride 1, no padding; :mod:`lava_ff.core.layers`), whose
        ``out`` neurons are its channels x height x width, flattened.
    neuron : FixedNeuronParams
        ``vth``, ``i_decay``, ``v_decay``; the Vars hold Lava's LIF
        convention ``du = i_decay - 1``, ``dv = v_decay``.
    time_steps : int
        Presentation window per sample.
    copies : int
        Replicas run side by side.
    goodness : str
        ``sum_sq_rate``, ``mean_sq_rate`` or ``sum_sq_voltage``.
    layer_index, num_layers : int
        This layer's row in ``g_out`` of shape ``(num_layers, copies)``.
    readout_offset : int or None
        Where this layer's neutral-copy counts go in ``r_out``; ``None``: the
        layer does not feed the readout.
    readout_width : int
        Length of ``r_out`` (the readout's feature count).
    neutral_copy : int
        The copy whose counts feed the readout (of each sample's copies).
    batch : int
        Samples side by side: the ``copies`` are ``batch`` samples'
        ``copies // batch`` each, and ``r_out`` ``(batch, readout_width)``
        carries every sample's neutral-copy counts.
    in_shape : (channels, height, width) or None
        The shape of what ``s_in`` carries (the sender's neurons, or the
        image); a convolution needs it. ``None``: a flat vector.
    pool : int
        The synapses first sum ``s_in`` over ``pool`` x ``pool`` blocks of
        ``in_shape`` (:func:`lava_ff.core.layers.pool_spikes`): the
        sender's pooling, as the offline model applies it.
    """

    def __init__(self, *, weights: np.ndarray, neuron: FixedNeuronParams, time_steps: int,
                 copies: int = 1, goodness: str = "sum_sq_rate", layer_index: int = 0,
                 num_layers: int = 1, readout_offset: int | None = None, readout_width: int = 1,
                 neutral_copy: int = -1, batch: int = 1, in_shape: tuple | None = None, pool: int = 1,
                 name: str | None = None):
        self._runtime = None  # Lava's __del__ reads it, also when validation below raises
        synapse = Synapse.of(np.shape(weights), in_shape, pool)
        weights = check_integer_weights(weights, "weights", np.shape(weights) if synapse.conv else None)
        if not isinstance(neuron, FixedNeuronParams):
            raise TypeError(f"neuron must be FixedNeuronParams (integers), got {type(neuron).__name__}; "
                            "convert float parameters with lava_ff.core.neuron.quantize_neuron")
        time_steps = check_positive_int("time_steps", time_steps)
        copies = check_positive_int("copies", copies)
        num_layers = check_positive_int("num_layers", num_layers)
        readout_width = check_positive_int("readout_width", readout_width)
        batch = check_positive_int("batch", batch)
        if copies % batch:
            raise ValueError(f"copies={copies} is not a multiple of batch={batch}")
        per_sample = copies // batch
        if goodness not in GOODNESS_KINDS:
            raise ValueError(f"unknown goodness {goodness!r}; valid: {', '.join(GOODNESS_KINDS)}")
        if not 0 <= layer_index < num_layers:
            raise ValueError(f"layer_index={layer_index} outside [0, {num_layers - 1}]")
        n_out, n_in = synapse.n_out, synapse.n_in
        if readout_offset is not None and not 0 <= readout_offset <= readout_width - n_out:
            raise ValueError(f"readout_offset={readout_offset} does not fit {n_out} neurons into "
                             f"readout_width={readout_width}")
        if not -per_sample <= neutral_copy < per_sample:
            raise ValueError(f"neutral_copy={neutral_copy} outside a sample's {per_sample} copies")
        super().__init__(time_steps=time_steps, copies=copies, goodness=goodness,
                         layer_index=layer_index, num_layers=num_layers, readout_offset=readout_offset,
                         neutral_rows=np.arange(batch) * per_sample + neutral_copy % per_sample,
                         synapse=synapse, name=name)
        self.s_in = InPort(shape=(copies, n_in))
        self.s_out = OutPort(shape=(copies, n_out))
        self.g_out = OutPort(shape=(num_layers, copies))
        self.r_out = OutPort(shape=(batch, readout_width))
        self.weights = Var(shape=weights.shape, init=weights)
        lif = neuron.lava_lif_params
        self.vth = Var(shape=(1,), init=lif["vth"])
        self.du = Var(shape=(1,), init=lif["du"])
        self.dv = Var(shape=(1,), init=lif["dv"])
        self.u = Var(shape=(copies, n_out), init=0)
        self.v = Var(shape=(copies, n_out), init=0)
        self.spike_count = Var(shape=(copies, n_out), init=0)
        self.voltage_goodness = Var(shape=(copies,), init=0)
