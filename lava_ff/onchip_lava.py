"""On-chip FF learning in Lava: build the learning network, run it, read it back.

    input (FFPhaseInput) -> FFLearningDense -> FFLearningNeuron -> FFLearningDense -> ...
                  phase_out ----------------------^ (every layer)
    each neuron's s_out_y2 / s_out_y3 -> its own synapse's s_in_y2 / s_in_y3

(the post-synaptic inputs the rule reads, :func:`lava_ff.onchip.post_synaptic_ports`:
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
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import FFConfig, FixedNeuronParams, check_positive_int
from .onchip import (
    POST_SYNAPTIC_PORTS,
    FFLearningRule,
    check_messages,
    check_start_weights,
    post_synaptic_ports,
    window_length,
)
from .runtime import lava_session

__all__ = ["OnChipNetwork", "build_learning_network", "train_onchip", "weight_updates", "ONCHIP_TAGS"]

ONCHIP_TAGS = ("floating_pt", "fixed_pt")


def weight_updates(samples: int, weights: list) -> int:
    """Synaptic updates of ``samples`` samples: every synapse of every layer
    takes one learning event per phase window, two per sample."""
    return 2 * samples * sum(w.size for w in weights)


@dataclass
class OnChipNetwork:
    source: object  # FFPhaseInput
    synapses: list  # FFLearningDense per layer
    neurons: list  # FFLearningNeuron per layer
    window_length: int
    snapshot_paths: list  # where each synapse writes its weights on snapshot.get()
    messages: str = "step"  # one Lava step per time step, or per window (see lava_ff.onchip.check_messages)

    @property
    def steps_per_sample(self) -> int:
        """Lava steps per sample: two windows."""
        return 2 if self.messages == "window" else 2 * self.window_length

    @property
    def tail_steps(self) -> int:
        """Steps after the input's last window until the last layer learned from it."""
        return 0 if self.messages == "window" else len(self.neurons)

    def weights(self) -> list[np.ndarray]:
        """The learned weights, in integer units (float model: float64), read
        through each synapse's snapshot file (``Var.get`` of a whole matrix
        takes Lava 0.10 tens of seconds). Call while the network is paused."""
        out = []
        for synapse, path in zip(self.synapses, self.snapshot_paths, strict=True):
            synapse.snapshot.get()
            out.append(np.load(path))
        return out

    @property
    def negative_block(self) -> int:
        """Samples whose negatives the input holds at a time (see :class:`FFPhaseInput`)."""
        return self.source.negatives.shape[0]

    def set_negatives(self, start: int, negative_labels: np.ndarray) -> None:
        """Hand the input the negatives of samples ``start .. start + len - 1``,
        the next block it will read (``start`` a multiple of the block, at most
        one block long; a shorter last block is padded with a wrong label no
        sample reads). Call while the network is paused before that block."""
        from .onchip import check_phase_labels

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
                           messages: str = "step") -> OnChipNetwork:
    """Wire the Processes for on-chip FF learning on ``data``; the synapses
    write weight snapshots into ``snapshot_dir`` and keep the learning
    engine's books the ``engine`` way (see :class:`FFLearningDense`).
    ``post_ports``: the synapse inputs each neuron feeds (default: those
    the rule reads, :func:`lava_ff.onchip.post_synaptic_ports`).
    ``messages``: ``"step"`` (default), one Lava step per time step, the
    network Loihi 2 runs; ``"window"``, one per phase window (needs the
    streamlined engine), the same learning in a tenth of the steps."""
    from lava_ff.processes.ff_learning_dense.process import FFLearningDense
    from lava_ff.processes.ff_learning_neuron.process import FFLearningNeuron
    from lava_ff.processes.ff_phase_input.process import FFPhaseInput

    weights = check_start_weights(weights, config)
    if check_messages(messages) == "window" and engine != "streamlined":
        raise ValueError(f"messages='window' needs engine='streamlined', got engine={engine!r}")
    if not Path(snapshot_dir).is_dir():  # the synapses would fail to write there, inside Lava
        raise FileNotFoundError(f"snapshot_dir {str(snapshot_dir)!r} is not a directory")
    source = FFPhaseInput(data=data, labels=labels, negative_labels=negative_labels, config=config, seed=seed,
                          messages=messages)
    synapses, neurons, spikes = [], [], source.s_out
    paths = [str(Path(snapshot_dir) / f"weights_{index}.npy") for index in range(len(weights))]
    if post_ports is None:
        post_ports = post_synaptic_ports(rule.lava_rule(fixed=True))
    unknown = set(post_ports) - set(POST_SYNAPTIC_PORTS)
    if unknown:
        raise ValueError(f"unknown post-synaptic ports {sorted(unknown)}; valid: {', '.join(POST_SYNAPTIC_PORTS)}")
    sparse = engine == "streamlined"  # the third factor travels only at window ends: two messages fewer a step
    for index, w in enumerate(weights):
        synapse = FFLearningDense(weights=w, rule=rule, snapshot_path=paths[index], engine=engine,
                                  post_window=(config.time_steps, index + 1) if sparse else None,
                                  messages=messages, name=f"ff_learning_dense_{index}")
        cell = FFLearningNeuron(shape=(w.shape[0],), neuron=neuron, time_steps=config.time_steps,
                                latency=index + 1, theta=config.theta, rule=rule, goodness=config.goodness,
                                log_windows=log_windows, third_factor_every_step=not sparse,
                                messages=messages, name=f"ff_learning_neuron_{index}")
        spikes.connect(synapse.s_in)
        synapse.a_out.connect(cell.a_in)
        source.phase_out.connect(cell.phase_in)
        for port in post_ports:  # s_in_bap -> s_out_bap, s_in_y2 -> s_out_y2, ...
            getattr(cell, port.replace("s_in_", "s_out_")).connect(getattr(synapse, port))
        synapses.append(synapse)
        neurons.append(cell)
        spikes = cell.s_out
    return OnChipNetwork(source, synapses, neurons, window_length(config.time_steps), paths, messages)


def train_onchip(config: FFConfig, weights: list, neuron: FixedNeuronParams, rule: FFLearningRule,
                 x: np.ndarray, y: np.ndarray, *, tag: str, rng: np.random.Generator,
                 samples_per_run: int = 500, progress: bool = True, on_chunk=None, log_windows: int = 0,
                 timeout: float | None = None, messages: str = "window") -> dict:
    """One pass of on-chip FF learning over ``x, y`` in Lava's simulator.

    Negative labels follow ``config.negatives``
    (:func:`lava_ff.negatives.wrong_labels`): ``random`` draws them all up
    front; ``hard`` and ``mixed`` choose each chunk's from the goodness of
    every label under the weights learned so far (read back after the chunk
    before; the host computes it on the deployable network, where Loihi 2
    would run ten inference windows per sample) and hand them to the input
    before the chunk runs. ``on_chunk(samples_done, weights)`` is called
    after every chunk with the weights read back from Lava. Returns the
    learned weights (integer units), the goodness log, wall time, samples/s
    and the number of weight updates (learning events x synapses).
    ``messages``: the network's Lava steps (:func:`build_learning_network`);
    ``"window"`` (default) learns what ``"step"`` learns, bit for bit, with a
    tenth of the simulator's message rounds.
    """
    from lava.magma.core.run_configs import Loihi2SimCfg
    from tqdm.auto import tqdm

    from .negatives import LABEL_NEGATIVES, random_wrong_labels

    if tag not in ONCHIP_TAGS:
        raise ValueError(f"unknown tag {tag!r}; valid: {', '.join(ONCHIP_TAGS)}")
    if config.negatives not in LABEL_NEGATIVES:
        raise ValueError(f"on-chip learning shows each sample with a wrong label; negatives={config.negatives!r} "
                         f"carries none (valid: {', '.join(LABEL_NEGATIVES)})")
    samples_per_run = check_positive_int("samples_per_run", samples_per_run)
    x, y = np.asarray(x), np.asarray(y)
    if tag == "fixed_pt" and any(not np.array_equal(w, np.round(w)) for w in weights):
        raise ValueError("fixed_pt learning needs integer weights; these have fractions (from a floating_pt "
                         "run?): round them first")
    # drawn up front whatever the kind, so the input's seed (and a random run) is the same for every chunk size
    negative = random_wrong_labels(y, config.num_classes, rng)
    seed = int(rng.integers(2**31))

    def negatives_of(begin: int, learned: list) -> np.ndarray:
        rows = slice(begin, min(begin + samples_per_run, len(x)))
        if config.negatives == "random":
            return negative[rows]
        from .onchip_train import onchip_wrong_labels

        return onchip_wrong_labels(config, learned, neuron, x[rows], y[rows], rng)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lava_ff_onchip_") as snapshots:
        learned = list(weights)
        net = build_learning_network(config, weights, neuron, rule, x, y, negatives_of(0, learned),
                                     snapshot_dir=snapshots, log_windows=log_windows, seed=seed,
                                     messages=messages)
        with lava_session(net.source, Loihi2SimCfg(select_tag=tag), timeout=timeout) as session:
            done = 0
            with tqdm(total=len(x), desc=f"on-chip FF ({tag})", unit="sample", disable=not progress,
                      leave=False) as bar:
                while done < len(x):
                    if done:
                        net.set_negatives(done, negatives_of(done, learned))
                    chunk = min(samples_per_run, len(x) - done)
                    done += chunk
                    session.run(chunk * net.steps_per_sample + (net.tail_steps if done == len(x) else 0))
                    bar.update(chunk)
                    if on_chunk is not None or config.negatives != "random" or done == len(x):
                        learned = net.weights()
                    if on_chunk is not None:
                        on_chunk(done, learned)
            goodness = net.goodness_logs() if log_windows else None
    seconds = time.perf_counter() - start
    return {"weights": learned, "goodness_log": goodness, "seconds": seconds,
            "samples_per_second": len(x) / seconds, "learning_events": 2 * len(x) * len(learned),
            "weight_updates": weight_updates(len(x), learned)}
