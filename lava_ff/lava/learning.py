"""On-chip FF learning in Lava: build the learning network, run it, read it back.

    input (FFPhaseInput) -> FFLearningDense -> FFLearningNeuron -> FFLearningDense -> ...
                  phase_out ----------------------^ (every layer)
    each neuron's s_out_y2 / s_out_y3 -> its own synapse's s_in_y2 / s_in_y3

(the post-synaptic inputs the rule reads, :func:`lava_ff.processes.learning_rule.post_synaptic_ports`:
the FF rule has no ``y1`` term and no post-spike dependency, so ``s_in_bap``
and ``s_in_y1`` stay unconnected and read as zeros). With the streamlined
engine (the default) the neurons send ``y2``/``y3`` only at their windows'
last steps and each synapse reads them then (``post_window``), the only
steps they are nonzero. With ``messages="window"`` (what :func:`train_onchip`
runs by default) each Lava step carries one whole window through every
Process, and the network learns the same weights bit for bit.

:func:`train_onchip` streams a training set through it in chunks (one
``run()`` each, under a progress bar), reads the weights back after every
chunk and hands them to a callback, which the CLI uses to checkpoint
atomically; a resumed run starts a fresh network from those weights at the
next sample.

An on-chip readout learns behind the frozen layers: :func:`train_onchip_readout`
runs them in Lava (:func:`build_learning_network` with ``readout``), or,
given their spikes, replays them (:func:`build_readout_replay_network`)::

    FFSpikeReplay -> FFLearningDense (every readout layer) -> FFReadoutNeuron
           label_out -------------------------------------------^
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lava_ff.core.checks import check_positive_int
from lava_ff.core.clock import check_messages, check_samples_per_step, window_length
from lava_ff.core.config import FFConfig
from lava_ff.core.errors import ConfigError
from lava_ff.core.inputs import check_labels, readout_window, wrong_labels
from lava_ff.core.neuron import FixedNeuronParams
from lava_ff.core.rule import READOUT_LOGIT_SCALE, FFLearningRule, check_start_weights
from lava_ff.lava.runtime import lava_session

__all__ = [
    'ONCHIP_TAGS', 'weight_updates', 'OnChipReadout', 'OnChipNetwork', 'build_learning_network',
    'build_readout_replay_network', 'train_onchip', 'train_onchip_readout',
]


ONCHIP_TAGS = ("floating_pt", "fixed_pt")


def weight_updates(samples: int, weights: list) -> int:
    """Synaptic updates of ``samples`` samples: every synapse of every layer
    takes one learning event per phase window, two per sample."""
    return 2 * samples * sum(w.size for w in weights)


@dataclass(frozen=True)
class OnChipReadout:
    """What an on-chip readout learns with (:func:`build_learning_network`'s
    ``readout``): its start weights ``[classes, readout features]`` in
    integer units (the readout layers' neurons side by side,
    ``FFConfig.readout_layers``, as the host readout reads them), its rule
    (the FF rule's string, its own rate and trace) and the logit per unit
    of ``W @ rates`` (see :class:`FFReadoutNeuron`)."""

    weights: np.ndarray
    rule: FFLearningRule
    logit_scale: float = READOUT_LOGIT_SCALE


@dataclass
class OnChipNetwork:
    source: object  # FFPhaseInput, or FFSpikeReplay (build_readout_replay_network)
    synapses: list  # FFLearningDense per layer
    neurons: list  # FFLearningNeuron per layer
    window_length: int
    snapshot_paths: list  # where each synapse writes its weights on snapshot.get()
    messages: str = "step"  # one Lava step per time step, or per window (see lava_ff.core.clock.check_messages)
    readout_synapses: list | None = None  # FFLearningDense per readout layer into the readout (schedule "readout")
    readout_neuron: object = None  # FFReadoutNeuron
    readout_paths: list | None = None
    windows_per_step: int = 1  # with window messages (see lava_ff.core.clock.check_windows_per_step)

    @property
    def windows_per_sample(self) -> int:
        """Two phase windows, or one neutral window for the readout."""
        return 1 if self.readout_neuron is not None else 2

    def steps_for(self, samples: int) -> int:
        """Lava steps that carry ``samples`` samples (window messages: the last step may carry fewer)."""
        if self.messages == "window":
            return -(-samples * self.windows_per_sample // self.windows_per_step)
        return samples * self.windows_per_sample * self.window_length

    @property
    def tail_steps(self) -> int:
        """Steps after the input's last window until the last learner learned from it."""
        return 0 if self.messages == "window" else len(self.neurons) + (self.readout_neuron is not None)

    @staticmethod
    def _snapshot(synapse, path) -> np.ndarray:
        synapse.snapshot.get()
        return np.load(path)

    def weights(self) -> list[np.ndarray]:
        """The learned weights, in integer units (float model: float64), read
        through each synapse's snapshot file (``Var.get`` of a whole matrix
        takes Lava 0.10 tens of seconds). Call while the network is paused."""
        return [self._snapshot(s, p) for s, p in zip(self.synapses, self.snapshot_paths, strict=True)]

    def readout_weights(self) -> np.ndarray:
        """The on-chip readout's learned weights ``[classes, readout features]``, as :meth:`weights`."""
        if self.readout_synapses is None:
            raise ValueError("this network has no on-chip readout (build it with readout=)")
        return np.concatenate([self._snapshot(s, p) for s, p in zip(self.readout_synapses, self.readout_paths,
                                                                   strict=True)], axis=1)

    def predictions(self) -> np.ndarray:
        """The readout's predicted class per window (``-1``: not reached; see ``log_windows``)."""
        if self.readout_neuron is None:
            raise ValueError("this network has no on-chip readout (build it with readout=)")
        return np.asarray(self.readout_neuron.prediction_log.get(), np.int64)

    @property
    def negative_block(self) -> int:
        """Samples whose negatives the input holds at a time (see :class:`FFPhaseInput`)."""
        return self.source.negatives.shape[0]

    def set_negatives(self, start: int, negative_labels: np.ndarray) -> None:
        """Hand the input the negatives of samples ``start .. start + len - 1``,
        the next block it will read (``start`` a multiple of the block, at most
        one block long; a shorter last block is padded with a wrong label no
        sample reads). Call while the network is paused before that block."""
        from lava_ff.core.inputs import check_phase_labels

        block, labels = self.negative_block, self.source.proc_params["labels"]
        negative_labels = np.asarray(negative_labels)
        if start % block or not 1 <= len(negative_labels) <= block or start + len(negative_labels) > len(labels):
            raise ValueError(f"negatives for samples {start}..{start + len(negative_labels) - 1} do not fill one "
                             f"block of {block} of the {len(labels)} samples")
        true = labels[start:start + len(negative_labels)]
        _, negative_labels = check_phase_labels(true, negative_labels, self.source.proc_params["config"].num_classes,
                                                len(true), first=start)
        padded = np.resize(negative_labels, block)  # repeats: wrong for the samples they stand beside
        self.source.negatives.set(padded.astype(np.int32))

    def goodness_logs(self) -> np.ndarray:
        """Raw goodness per layer and window ``[L, windows]`` (see ``log_windows``)."""
        return np.stack([np.asarray(n.goodness_log.get(), np.float64) for n in self.neurons])


def build_learning_network(config: FFConfig, weights: list, neuron: FixedNeuronParams, rule: FFLearningRule,
                           data: np.ndarray, labels: np.ndarray, negative_labels: np.ndarray, *,
                           snapshot_dir, log_windows: int = 0, seed: int = 0,
                           engine: str = "streamlined", post_ports: tuple | None = None,
                           messages: str = "step", readout: OnChipReadout | None = None,
                           samples_per_step: int = 1) -> OnChipNetwork:
    """Wire the Processes for on-chip FF learning on ``data``; the synapses
    write weight snapshots into ``snapshot_dir`` and keep the learning
    engine's books the ``engine`` way (see :class:`FFLearningDense`).
    ``post_ports``: the synapse inputs each neuron feeds (default: those
    the rule reads, :func:`lava_ff.processes.learning_rule.post_synaptic_ports`).
    ``messages``: ``"step"`` (default), one Lava step per time step, the
    network Loihi 2 runs; ``"window"``, one per sample, its two phase
    windows exchanged in turn (needs the streamlined engine; one window a
    step with ``readout``), the same learning in a twentieth of the steps.

    ``readout``: the network learns an on-chip readout instead
    (``negative_labels`` None): the input shows each sample once with the
    neutral label (``schedule="readout"``), the FF layers run with phase 0
    and learn nothing, and an :class:`FFReadoutNeuron` one step behind the
    last layer learns from the true label the input sends it, through one
    ``FFLearningDense`` per readout layer (``FFConfig.readout_layers``);
    an earlier layer's synapse holds its spikes back (``pre_delay``) so
    that its windows line up with the last layer's.

    ``samples_per_step``: with window messages, the samples one Lava step
    carries, their windows exchanged in turn (:func:`check_samples_per_step`):
    the same learning, with fewer steps for Lava's runtime to synchronise."""
    from lava_ff.processes.ff_learning_neuron.process import FFLearningNeuron
    from lava_ff.processes.ff_phase_input.process import FFPhaseInput
    from lava_ff.processes.learning_rule import POST_SYNAPTIC_PORTS

    weights = check_start_weights(weights, config)
    if check_messages(messages) == "window" and engine != "streamlined":
        raise ValueError(f"messages='window' needs engine='streamlined', got engine={engine!r}")
    if not Path(snapshot_dir).is_dir():  # the synapses would fail to write there, inside Lava
        raise FileNotFoundError(f"snapshot_dir {str(snapshot_dir)!r} is not a directory")
    samples_per_step = check_samples_per_step(samples_per_step, messages)
    if readout is not None and samples_per_step > 1:
        raise ConfigError(f"samples_per_step={samples_per_step}: the readout behind FF layers running in Lava "
                          "takes one sample a step (replay the frozen layers, frozen_spikes, for more)")
    # window messages: both phase windows of every sample a step carries while the FF layers learn
    per_step = (1 if readout is not None else 2) * samples_per_step if messages == "window" else 1
    source = FFPhaseInput(data=data, labels=labels, negative_labels=negative_labels, config=config, seed=seed,
                          messages=messages, schedule="ff" if readout is None else "readout",
                          windows_per_step=per_step)
    synapses, neurons, spikes = [], [], source.s_out
    paths = [str(Path(snapshot_dir) / f"weights_{index}.npy") for index in range(len(weights))]
    if post_ports is None:
        post_ports = _post_ports(rule)
    unknown = set(post_ports) - set(POST_SYNAPTIC_PORTS)
    if unknown:
        raise ValueError(f"unknown post-synaptic ports {sorted(unknown)}; valid: {', '.join(POST_SYNAPTIC_PORTS)}")
    # window messages: y2 and y3 travel as one message where the rule reads just them
    packed = messages == "window" and tuple(post_ports) == ("s_in_y2", "s_in_y3")
    learning_synapse = _synapse_maker(config, engine, messages, per_step)
    for index, w in enumerate(weights):
        synapse = learning_synapse(w, rule, paths[index], index + 1, f"ff_learning_dense_{index}",
                                   packed_post=packed)
        cell = FFLearningNeuron(shape=(w.shape[0],), neuron=neuron, time_steps=config.time_steps,
                                latency=index + 1, theta=config.theta, rule=rule, goodness=config.goodness,
                                log_windows=log_windows, third_factor_every_step=engine != "streamlined",
                                messages=messages, windows_per_step=per_step, packed_post=packed,
                                name=f"ff_learning_neuron_{index}")
        spikes.connect(synapse.s_in)
        synapse.a_out.connect(cell.a_in)
        source.phase_out.connect(cell.phase_in)
        for port in ("s_in_post",) if packed else post_ports:  # s_in_bap -> s_out_bap, s_in_y2 -> s_out_y2, ...
            getattr(cell, port.replace("s_in_", "s_out_")).connect(getattr(synapse, port))
        synapses.append(synapse)
        neurons.append(cell)
        spikes = cell.s_out
    net = OnChipNetwork(source, synapses, neurons, window_length(config.time_steps), paths, messages,
                        windows_per_step=per_step)
    if readout is not None:
        last = len(net.neurons) - 1  # an earlier layer's spikes are held back to line up with the last's
        inputs = [(net.neurons[layer].s_out, layer, last - layer) for layer in config.readout_layers]
        _attach_readout(net, readout, config, learning_synapse, post_ports, log_windows, Path(snapshot_dir), inputs)
    return net


def build_readout_replay_network(config: FFConfig, packed_spikes: np.ndarray, labels: np.ndarray,
                                 readout: OnChipReadout, *, snapshot_dir, log_windows: int = 0,
                                 samples_per_step: int = 1) -> OnChipNetwork:
    """The on-chip readout's learning network with its FF layers frozen and
    replayed (window messages): an :class:`FFSpikeReplay` sends the readout
    layers' spikes, ``packed_spikes`` (``np.packbits(spikes, axis=1)`` of
    :func:`lava_ff.onchip.reference.hidden_window_spikes`), and each
    window's true label, through one ``FFLearningDense`` of every readout
    weight into the :class:`FFReadoutNeuron`. It learns what the readout of
    :func:`build_learning_network` learns from the same spikes: bit for bit
    in ``fixed_pt``, where Lava's engine draws one random number per
    learning epoch for all of a synapse's weights, from the same seeds in
    every synapse, so one synapse of the readout layers side by side rounds
    as the per-layer synapses do; in ``floating_pt`` to float64's rounding
    (the neuron's input summed in another order). ``samples_per_step``
    windows a Lava step, in turn (the same readout)."""
    from lava_ff.processes.ff_spike_replay.process import FFSpikeReplay

    if not Path(snapshot_dir).is_dir():
        raise FileNotFoundError(f"snapshot_dir {str(snapshot_dir)!r} is not a directory")
    per_step = check_samples_per_step(samples_per_step, "window")
    labels = check_labels(labels, config.num_classes, len(packed_spikes))  # -1 (no learning) is the Process's own
    source = FFSpikeReplay(packed=packed_spikes, labels=labels, size=config.readout_features,
                           windows_per_step=per_step)
    if source.s_out.shape[1] != config.time_steps:
        raise ValueError(f"the replayed windows hold {source.s_out.shape[1]} steps, the network "
                         f"{config.time_steps}")
    net = OnChipNetwork(source, [], [], window_length(config.time_steps), [], "window", windows_per_step=per_step)
    _attach_readout(net, readout, config, _synapse_maker(config, "streamlined", "window", per_step),
                    _post_ports(readout.rule), log_windows, Path(snapshot_dir),
                    [(source.s_out, None, 0)], latency=len(config.layer_sizes) + 1)
    return net


def _synapse_maker(config: FFConfig, engine: str, messages: str, windows_per_step: int = 1):
    """``learning_synapse(w, rule, path, latency, name, pre_delay=0, packed_post=False)``: an
    ``FFLearningDense`` of the network's engine, messages and windows per
    step; the streamlined engine reads the third factor at window ends only."""
    from lava_ff.processes.ff_learning_dense.process import FFLearningDense

    sparse = engine == "streamlined"  # the third factor travels only at window ends: two messages fewer a step

    def learning_synapse(w, synapse_rule, path, latency, name, pre_delay=0, packed_post=False):
        return FFLearningDense(weights=w, rule=synapse_rule, snapshot_path=path, engine=engine,
                               post_window=(config.time_steps, latency) if sparse else None,
                               messages=messages, pre_delay=pre_delay, windows_per_step=windows_per_step,
                               packed_post=packed_post, name=name)
    return learning_synapse


def _post_ports(rule: FFLearningRule) -> tuple:
    """The post-synaptic inputs ``rule`` reads."""
    from lava_ff.processes.learning_rule import lava_learning_rule, post_synaptic_ports

    return post_synaptic_ports(lava_learning_rule(rule, fixed=True))


def _attach_readout(net: OnChipNetwork, readout: OnChipReadout, config: FFConfig, learning_synapse,
                    post_ports: tuple, log_windows: int, snapshot_dir: Path, inputs: list, *,
                    latency: int | None = None) -> None:
    """The readout neuron one step behind the last layer, and a synapse into
    it from each of ``inputs``: ``(spike port, readout layer or None for
    all of them side by side, steps it holds the spikes back)``."""
    from lava_ff.core.rule import check_learning_weights
    from lava_ff.processes.ff_readout_neuron.process import FFReadoutNeuron

    if not isinstance(readout, OnChipReadout):
        raise TypeError(f"readout must be an OnChipReadout, got {type(readout).__name__}")
    weights = check_learning_weights(readout.weights, "readout weights", (config.num_classes, config.readout_features))
    latency = len(net.neurons) + 1 if latency is None else latency
    cell = FFReadoutNeuron(shape=(config.num_classes,), time_steps=config.time_steps, latency=latency,
                           logit_scale=readout.logit_scale, rule=readout.rule, log_windows=log_windows,
                           messages=net.messages, windows_per_step=net.windows_per_step, name="ff_readout_neuron")
    net.source.label_out.connect(cell.label_in)
    offsets, synapses, paths = config.readout_offsets, [], []
    for port, layer, delay in inputs:
        suffix = "all" if layer is None else layer
        columns = slice(None) if layer is None else slice(offsets[layer], offsets[layer] + config.layer_sizes[layer])
        paths.append(str(snapshot_dir / f"weights_readout_{suffix}.npy"))
        synapse = learning_synapse(weights[:, columns], readout.rule, paths[-1], latency,
                                   f"ff_readout_dense_{suffix}", pre_delay=delay)
        port.connect(synapse.s_in)
        synapse.a_out.connect(cell.a_in)
        for post in post_ports:
            getattr(cell, post.replace("s_in_", "s_out_")).connect(getattr(synapse, post))
        synapses.append(synapse)
    net.readout_synapses, net.readout_neuron, net.readout_paths = synapses, cell, paths


def train_onchip(config: FFConfig, weights: list, neuron: FixedNeuronParams, rule: FFLearningRule,
                 x: np.ndarray, y: np.ndarray, *, tag: str, rng: np.random.Generator,
                 samples_per_run: int = 500, progress: bool = True, on_chunk=None, log_windows: int = 0,
                 timeout: float | None = None, messages: str = "window", label_scores=None,
                 samples_per_step: int | None = None) -> dict:
    """One pass of on-chip FF learning over ``x, y`` in Lava's simulator.

    Negative labels follow ``config.negatives``
    (:func:`lava_ff.core.inputs.wrong_labels`): ``random`` draws them all up
    front; ``hard`` and ``mixed`` choose each chunk's from the goodness of
    every label under the weights learned so far (read back after the chunk
    before; the host computes it on the deployable network, where Loihi 2
    would run ten inference windows per sample) and hand them to the input
    before the chunk runs: ``label_scores(weights, x)`` returns the goodness
    of every label ``[N, classes]`` of samples ``x`` under learned
    ``weights`` (:func:`lava_ff.onchip.fit.onchip_fit` passes the deployable
    network's), and is needed for those kinds only. ``on_chunk(samples_done, weights)`` is called
    after every chunk with the weights read back from Lava. Returns the
    learned weights (integer units), the goodness log, wall time, samples/s
    and the number of weight updates (learning events x synapses).
    ``messages``: the network's Lava steps (:func:`build_learning_network`);
    ``"window"`` (default) learns what ``"step"`` learns, bit for bit, in a
    twentieth of the simulator's steps; ``samples_per_step`` samples a
    Lava step (window messages; it must divide ``samples_per_run``; default:
    :func:`lava_ff.core.clock.check_samples_per_step`'s) learn the same
    again in fewer steps.
    """
    from lava_ff.core.inputs import LABEL_NEGATIVES, random_wrong_labels

    samples_per_run = _check_run(tag, samples_per_run, weights)
    samples_per_step = check_samples_per_step(samples_per_step, messages, samples_per_run)
    if config.negatives not in LABEL_NEGATIVES:
        raise ValueError(f"on-chip learning shows each sample with a wrong label; negatives={config.negatives!r} "
                         f"carries none (valid: {', '.join(LABEL_NEGATIVES)})")
    if config.negatives != "random" and label_scores is None:
        raise ConfigError(f"negatives={config.negatives!r} chooses each chunk's wrong labels by their goodness: "
                          "pass label_scores(weights, x)")
    x, y = np.asarray(x), np.asarray(y)
    # drawn up front whatever the kind, so the input's seed (and a random run) is the same for every chunk size
    negative = random_wrong_labels(y, config.num_classes, rng)
    seed = int(rng.integers(2**31))

    def negatives_of(begin: int, learned: list) -> np.ndarray:
        rows = slice(begin, min(begin + samples_per_run, len(x)))
        if config.negatives == "random":
            return negative[rows]
        return wrong_labels(config.negatives, y[rows], config.num_classes, rng,
                            scores=lambda hard: label_scores(learned, x[rows][hard]))

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lava_ff_onchip_") as snapshots:
        net = build_learning_network(config, weights, neuron, rule, x, y, negatives_of(0, list(weights)),
                                     snapshot_dir=snapshots, log_windows=log_windows, seed=seed,
                                     messages=messages, samples_per_step=samples_per_step)
        learned, goodness = _run_chunks(
            net, tag, len(x), samples_per_run, read=net.weights, initial=list(weights), timeout=timeout,
            progress=progress, desc=f"on-chip FF ({tag})",
            before_chunk=lambda done, learned: net.set_negatives(done, negatives_of(done, learned)),
            read_every_chunk=on_chunk is not None or config.negatives != "random", on_chunk=on_chunk,
            finish=lambda: net.goodness_logs() if log_windows else None)
    seconds = time.perf_counter() - start
    return {"weights": learned, "goodness_log": goodness, "seconds": seconds,
            "samples_per_second": len(x) / seconds, "learning_events": 2 * len(x) * len(learned),
            "weight_updates": weight_updates(len(x), learned)}


def _check_run(tag: str, samples_per_run: int, weights: list) -> int:
    """What every on-chip training run checks first: the tag, the chunk size
    (returned as an int) and, for ``fixed_pt``, that the ``weights`` it
    starts from are integers."""
    if tag not in ONCHIP_TAGS:
        raise ValueError(f"unknown tag {tag!r}; valid: {', '.join(ONCHIP_TAGS)}")
    samples_per_run = check_positive_int("samples_per_run", samples_per_run)
    if tag == "fixed_pt" and any(not np.array_equal(w, np.round(w)) for w in weights):
        raise ValueError("fixed_pt learning needs integer weights; these have fractions (from a floating_pt "
                         "run?): round them first")
    return samples_per_run


def _run_chunks(net: OnChipNetwork, tag: str, total: int, samples_per_run: int, *, read, initial, timeout,
                progress: bool, desc: str, before_chunk, read_every_chunk: bool, on_chunk, finish):
    """Run ``net`` over ``total`` samples, ``samples_per_run`` per ``run()``
    under a progress bar, stopped on every path. Before every chunk but the
    first ``before_chunk(done, learned)``; after each, ``learned = read()``
    (every chunk with ``read_every_chunk``, else after the last) and
    ``on_chunk(done, learned)``. Returns ``learned`` and ``finish()``, read
    while the network is still up."""
    from lava.magma.core.run_configs import Loihi2SimCfg

    from lava_ff.core.progress import tqdm

    learned = initial
    with lava_session(net.source, Loihi2SimCfg(select_tag=tag), timeout=timeout) as session:
        done = 0
        with tqdm(total=total, desc=desc, unit="sample", disable=not progress, leave=False) as bar:
            while done < total:
                if done:
                    before_chunk(done, learned)
                chunk = min(samples_per_run, total - done)
                done += chunk
                session.run(net.steps_for(chunk) + (net.tail_steps if done == total else 0))
                bar.update(chunk)
                if read_every_chunk or done == total:
                    learned = read()
                if on_chunk is not None:
                    on_chunk(done, learned)
        return learned, finish()


def train_onchip_readout(config: FFConfig, weights: list, neuron: FixedNeuronParams, readout: OnChipReadout,
                         x: np.ndarray, y: np.ndarray, *, tag: str, rng: np.random.Generator,
                         samples_per_run: int = 500, progress: bool = True, on_chunk=None, log_windows: int = 0,
                         timeout: float | None = None, messages: str = "window", frozen_spikes=None,
                         spike_memory: dict | None = None, samples_per_step: int | None = None) -> dict:
    """One pass of on-chip readout learning over ``x, y`` in Lava's simulator.

    The FF layers run ``weights`` (as deployed: the even 8-bit grid, see
    :func:`lava_ff.core.rule.deployable_weights`) without learning, each sample
    once with the neutral label, and the :class:`FFReadoutNeuron` behind the
    last layer learns ``readout.weights`` with ``readout.rule`` from the
    true labels (:func:`build_learning_network` with ``readout``).
    ``on_chunk(samples_done, readout_weights)`` after every chunk. Returns the
    learned readout weights (integer units), the readout's prediction per
    sample while it learned (with ``log_windows``), wall time, samples/s
    and the number of weight updates.

    ``frozen_spikes(windows)``: the readout layers' spikes ``[K, H, T]`` for
    input windows ``[K, F', T]``, exactly as the FF layers with ``weights``
    send them (:func:`lava_ff.onchip.reference.hidden_window_spikes`, which
    :class:`lava_ff.onchip.fit.ReadoutTask` passes). Given, the FF layers do
    not run in Lava: their spikes for every sample, encoded as the input
    Process encodes them, are computed first (in batches, packed one bit a
    neuron-step) and replayed into the readout
    (:func:`build_readout_replay_network`, window messages only): the same
    readout (bit for bit in ``fixed_pt``) from a network of three Processes
    instead of ``2 L + 2 + len(readout layers)``.

    ``spike_memory``: a dict that keeps every window's packed spikes by the
    window's digest; passes handed the same dict (and the same
    ``frozen_spikes``) compute each distinct window's spikes once, so a
    readout that sees the same windows every pass (deterministic encoding,
    one view) runs the frozen layers once in all.

    ``samples_per_step``: samples a Lava step carries (replay only; it must
    divide ``samples_per_run``; default: 1 behind layers in Lava, else
    :func:`lava_ff.core.clock.check_samples_per_step`'s), the same readout
    in fewer steps."""
    start_weights = np.asarray(readout.weights)
    samples_per_run = _check_run(tag, samples_per_run, [start_weights])
    if samples_per_step is None and frozen_spikes is None:
        samples_per_step = 1
    samples_per_step = check_samples_per_step(samples_per_step, messages, samples_per_run)
    x, y = np.asarray(x), np.asarray(y)
    start = time.perf_counter()
    seed = int(rng.integers(2**31))
    if frozen_spikes is not None and check_messages(messages) != "window":
        raise ValueError(f"replaying the frozen layers' spikes needs messages='window', got {messages!r}")
    with tempfile.TemporaryDirectory(prefix="lava_ff_readout_") as snapshots:
        if frozen_spikes is None:
            net = build_learning_network(config, weights, neuron, readout.rule, x, y, None, snapshot_dir=snapshots,
                                         log_windows=log_windows, seed=seed, messages=messages, readout=readout,
                                         samples_per_step=samples_per_step)
        else:
            packed = _packed_frozen_spikes(config, x, seed, frozen_spikes, progress,
                                           {} if spike_memory is None else spike_memory)
            net = build_readout_replay_network(config, packed, y, readout, snapshot_dir=snapshots,
                                               log_windows=log_windows, samples_per_step=samples_per_step)
        learned, predictions = _run_chunks(
            net, tag, len(x), samples_per_run, read=net.readout_weights, initial=start_weights,
            timeout=timeout, progress=progress, desc=f"on-chip readout ({tag})", before_chunk=lambda *_: None,
            read_every_chunk=on_chunk is not None, on_chunk=on_chunk,
            finish=lambda: net.predictions()[:len(x)] if log_windows else None)
    seconds = time.perf_counter() - start
    return {"weights": learned, "predictions": predictions, "seconds": seconds,
            "samples_per_second": len(x) / seconds, "weight_updates": len(x) * start_weights.size}


def _packed_frozen_spikes(config: FFConfig, x: np.ndarray, seed: int, frozen_spikes, progress: bool,
                          memory: dict, batch: int = 500) -> np.ndarray:
    """``frozen_spikes`` of every sample's readout window, encoded as
    :class:`FFPhaseInput` with ``seed`` encodes it (one window a sample, in
    order), packed along the neurons (``np.packbits(axis=1)``). ``memory``
    maps a window's digest to its packed spikes: windows found there are
    not computed again, the others are added."""
    import hashlib

    from lava_ff.core.progress import tqdm

    encoder, shape = np.random.default_rng(seed), (config.readout_features, config.time_steps)
    packed = np.zeros((len(x), -(-shape[0] // 8), shape[1]), np.uint8)
    for begin in tqdm(range(0, len(x), batch), desc="frozen layers' spikes", unit="batch", disable=not progress,
                      leave=False):
        windows = np.stack([readout_window(xi, config, encoder) for xi in x[begin:begin + batch]])
        keys = [hashlib.blake2b(np.ascontiguousarray(w).tobytes(), digest_size=16).digest() for w in windows]
        first = {}  # every window not yet in memory, by the first sample that shows it
        for i, key in enumerate(keys):
            if key not in memory:
                first.setdefault(key, i)
        new = list(first.values())
        if new:
            spikes = np.asarray(frozen_spikes(windows[new]))
            if spikes.shape != (len(new), *shape):
                raise ValueError(f"frozen_spikes gave spikes of shape {spikes.shape} for {len(new)} windows, "
                                 f"expected {(len(new), *shape)}")
            for i, rows in zip(new, np.packbits(spikes.astype(bool), axis=1), strict=True):
                memory[keys[i]] = rows
        packed[begin:begin + len(windows)] = [memory[key] for key in keys]
    return packed
