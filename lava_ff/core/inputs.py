"""What goes into an FF network: encoding, the label overlay, negatives and views.

* encoding: intensities in [0, 1] to spike trains ``[N, F, T]``
  (deterministic, rate or latency), and event data binned into frames;
* the label: overlaid as extra label neurons or on the first pixels,
  or neutral (every label equally) for the readout's window;
* negatives: wrong labels (random, or the hardest the network scores),
  or hybrid images;
* views: an image and its one-pixel moves, summed at inference;
* the windows the on-chip learning input streams (:func:`phase_windows`).
"""

from __future__ import annotations

import numpy as np

from lava_ff.core.checks import check_positive_int
from lava_ff.core.config import ENCODINGS, OVERLAYS, FFConfig

__all__ = [
    'check_intensities', 'check_spike_trains', 'check_input_data', 'encode', 'bin_events', 'check_labels',
    'overlay_label', 'neutral_label', 'random_wrong_labels', 'hard_negative_labels', 'LABEL_NEGATIVES',
    'wrong_labels', 'hybrid_masks', 'hybrid_images', 'overlay_encoded', 'VIEW_MOVES', 'check_views',
    'check_image_rows', 'move_images', 'view_rows', 'sum_views', 'random_views', 'flatten_images',
    'prepare_inputs', 'phase_windows', 'INPUT_SCHEDULES', 'readout_window', 'check_phase_labels',
]



def check_intensities(x: np.ndarray, name: str = "input") -> np.ndarray:
    """Validate pixel intensities: finite, within [0, 1], 2-D ``[B, F]``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape [batch, features], got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be floating point in [0, 1], got dtype {x.dtype}")
    if np.isnan(x).any():
        raise ValueError(f"{name} contains NaN (first at flat index {int(np.flatnonzero(np.isnan(x))[0])})")
    lo, hi = float(x.min(initial=0.0)), float(x.max(initial=0.0))
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name} values must lie in [0, 1], got range [{lo}, {hi}]")
    return x


def check_spike_trains(x: np.ndarray, time_steps: int, name: str = "spike trains") -> np.ndarray:
    """Validate binary spike trains ``[B, F, T]`` with ``T == time_steps``."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != time_steps:
        raise ValueError(f"{name} must have shape [batch, features, {time_steps}], got {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError(f"{name} must be binary (0/1)")
    return x


def check_input_data(data: np.ndarray, time_steps: int, encoding: str) -> np.ndarray:
    """A data set an input Process streams: intensities ``[N, F]`` in [0, 1]
    (float32) or binary spike trains ``[N, F, time_steps]`` (uint8)."""
    data = np.asarray(data)
    if data.ndim == 3:
        data = check_spike_trains(data, time_steps, "spike-train data").astype(np.uint8)
    elif data.ndim != 2:
        raise ValueError(f"data must be intensities [N, F] or spikes [N, F, T], got shape {data.shape}")
    elif encoding == "spikes":
        raise ValueError(f"encoding='spikes' needs spike-train data [N, F, T], got intensities of shape {data.shape}")
    else:
        data = check_intensities(data, "data").astype(np.float32)
    if len(data) == 0:
        raise ValueError("data holds no samples")
    return data


def encode(x: np.ndarray, time_steps: int, kind: str = "deterministic",
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Encode intensities ``x`` ``[B, F]`` in [0, 1] as spike trains ``[B, F, T]``.

    * ``deterministic``: a regular train with ``floor(T * x)`` spikes,
      ``s[t] = floor((t + 1) x) - floor(t x)`` (what a constant input current
      into an integrate-and-fire encoder produces; identical in every run).
    * ``rate``: Bernoulli spikes with probability ``x`` per step (needs ``rng``).
    * ``latency``: one spike at ``t = round((1 - x) (T - 1))`` for ``x > 0``.
    * ``spikes``: the input already is binary spike trains ``[B, F, T]``
      (binned events); it is validated and returned as float32.
    """
    time_steps = check_positive_int("time_steps", time_steps)
    if kind == "spikes":
        return check_spike_trains(x, time_steps).astype(np.float32)
    x = check_intensities(x).astype(np.float32)
    if kind == "deterministic":
        t = np.arange(time_steps + 1, dtype=np.float32)
        # +1e-6 keeps exact products like 0.5 * 2 from flooring to 0.999...
        counts = np.floor(x[..., None] * t + 1e-6)
        return np.diff(counts, axis=-1).astype(np.float32)
    if kind == "rate":
        if rng is None:
            raise ValueError("rate encoding needs an explicit numpy Generator (rng=)")
        return (rng.random(x.shape + (time_steps,), dtype=np.float32) < x[..., None]).astype(np.float32)
    if kind == "latency":
        out = np.zeros(x.shape + (time_steps,), dtype=np.float32)
        when = np.rint((1.0 - x) * (time_steps - 1)).astype(np.int64)
        b, f = np.nonzero(x > 0)
        out[b, f, when[b, f]] = 1.0
        return out
    raise ValueError(f"unknown encoding {kind!r}; valid: {', '.join(ENCODINGS)}")


def bin_events(events: np.ndarray, sensor_size, time_steps: int,
               duration_us: int | None = None) -> np.ndarray:
    """Bin a tonic event array into binary spike frames ``[W*H*P, T]``.

    Events are split into ``time_steps`` equal bins over ``duration_us``
    (default: the recording's last timestamp + 1); a pixel spikes in a bin
    if it saw at least one event there. Flattening order is (p, y, x),
    i.e. ``index = (p * H + y) * W + x``.
    """
    time_steps = check_positive_int("time_steps", time_steps)
    width, height, polarities = sensor_size
    if len(events) == 0:
        raise ValueError("cannot bin an empty event recording")
    span = int(events["t"].max()) + 1 if duration_us is None else int(duration_us)
    if span <= 0:
        raise ValueError(f"duration_us must be positive, got {duration_us!r}")
    bins = np.minimum(events["t"].astype(np.int64) * time_steps // span, time_steps - 1)
    index = (events["p"].astype(np.int64) * height + events["y"]) * width + events["x"]
    frames = np.zeros((width * height * polarities, time_steps), dtype=np.float32)
    frames[index, bins] = 1.0
    return frames


def check_labels(labels: np.ndarray, num_classes: int, batch: int | None = None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape} "
                         f"dtype {labels.dtype}")
    if batch is not None and len(labels) != batch:
        raise ValueError(f"got {len(labels)} labels for {batch} samples")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(f"label {int(bad)} out of range [0, {num_classes - 1}]")
    return labels


def overlay_label(x: np.ndarray, labels: np.ndarray | None, num_classes: int,
                  scheme: str = "label_neurons", label_scale: float = 1.0,
                  label_repeat: int = 1) -> np.ndarray:
    """Write a one-hot label into flat images ``x`` ``[B, F]``.

    * ``label_neurons``: append ``num_classes * label_repeat`` label input
      neurons (``[B, F + C*k]``, class-major: neurons ``c*k .. c*k+k-1``
      carry class ``c``); the image is untouched. Repeating the label gives
      it more synapses, hence more drive, under the 8-bit weight cap.
    * ``first_pixels``: Hinton's scheme, overwrite the first ``C`` pixels.
    * ``groups``: the label stays out of the input (``x`` as it is): every
      layer's neurons are split into one group per class instead
      (:func:`lava_ff.core.goodness.class_groups`).

    ``labels=None`` gives the *neutral* label (every class at ``1/C``), used
    by the one-pass linear readout.
    """
    x = check_intensities(x, "images").astype(np.float32)
    batch = x.shape[0]
    if labels is None:
        code = np.full((batch, num_classes), 1.0 / num_classes, dtype=np.float32)
    else:
        labels = check_labels(labels, num_classes, batch)
        code = np.zeros((batch, num_classes), dtype=np.float32)
        code[np.arange(batch), labels] = 1.0
    if scheme == "groups":
        return x.copy()
    code *= label_scale
    if scheme == "label_neurons":
        code = np.repeat(np.minimum(code, 1.0), label_repeat, axis=1)
        return np.concatenate([x, code], axis=1)
    if scheme == "first_pixels":
        out = x.copy()
        out[:, :num_classes] = np.minimum(code, 1.0)
        return out
    raise ValueError(f"unknown overlay {scheme!r}; valid: {', '.join(OVERLAYS)}")


def neutral_label(x: np.ndarray, num_classes: int, scheme: str = "label_neurons",
                  label_scale: float = 1.0, label_repeat: int = 1) -> np.ndarray:
    return overlay_label(x, None, num_classes, scheme, label_scale, label_repeat)


def random_wrong_labels(labels: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random label that never equals the true one."""
    labels = check_labels(labels, num_classes)
    return (labels + rng.integers(1, num_classes, size=labels.shape)) % num_classes


def hard_negative_labels(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The wrong label with the highest score (goodness) under the current net."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    labels = check_labels(labels, scores.shape[1], scores.shape[0])
    scores[np.arange(len(labels)), labels] = -np.inf
    return scores.argmax(axis=1)


#: the negatives that carry a wrong label (``hybrid`` mixes images instead)
LABEL_NEGATIVES = ("random", "hard", "mixed")


def wrong_labels(kind: str, labels: np.ndarray, num_classes: int, rng: np.random.Generator,
                 scores=None) -> np.ndarray:
    """The wrong label each sample's negative carries, as ``kind`` says.

    * ``random``: uniform over the wrong classes (:func:`random_wrong_labels`);
    * ``hard``: the wrong label the current network scores highest
      (:func:`hard_negative_labels`; Hinton's negatives from the net's own predictions);
    * ``mixed``: per sample, hard or random with probability 1/2 each.

    ``scores(rows)`` is a callable returning the current goodness
    ``[len(rows), C]`` of every label of the samples at indices ``rows``;
    it is called only for ``hard`` (every row) and ``mixed`` (the rows whose
    draw picked the hard label, drawn first), so a ``random`` run never pays
    for a goodness pass and a ``mixed`` one scores half the samples. The
    offline trainer and on-chip learning both pick their negatives here.
    """
    if kind not in LABEL_NEGATIVES:
        raise ValueError(f"negatives {kind!r} carry no wrong label; valid: {', '.join(LABEL_NEGATIVES)}")
    wrong = random_wrong_labels(labels, num_classes, rng)
    if kind == "random":
        return wrong
    if scores is None:
        raise ValueError(f"negatives {kind!r} need the current goodness of every label (scores=)")
    rows = np.arange(len(wrong)) if kind == "hard" else np.flatnonzero(rng.random(len(wrong)) < 0.5)
    if len(rows):
        wrong[rows] = hard_negative_labels(scores(rows), np.asarray(labels)[rows])
    return wrong


def hybrid_masks(shape: tuple[int, int], count: int, rng: np.random.Generator,
                 blur_steps: int = 6) -> np.ndarray:
    """Hinton's masks for unsupervised negatives: random bits blurred repeatedly
    with a ``[1/4, 1/2, 1/4]`` filter both ways, then thresholded at 0.5, so
    they have large coherent regions of ones and zeros."""
    masks = rng.random((count,) + tuple(shape)) > 0.5
    masks = masks.astype(np.float64)
    kernel = np.array([0.25, 0.5, 0.25])
    for _ in range(blur_steps):
        for axis in (1, 2):
            padded = np.pad(masks, [(0, 0)] + [(1, 1) if a == axis else (0, 0) for a in (1, 2)],
                            mode="edge")
            lo = [slice(None)] * 3
            mid = [slice(None)] * 3
            hi = [slice(None)] * 3
            n = masks.shape[axis]
            lo[axis], mid[axis], hi[axis] = slice(0, n), slice(1, n + 1), slice(2, n + 2)
            masks = (kernel[0] * padded[tuple(lo)] + kernel[1] * padded[tuple(mid)]
                     + kernel[2] * padded[tuple(hi)])
    return (masks > 0.5).astype(np.float32)


def hybrid_images(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Negatives for unsupervised FF: ``mask * a + (1 - mask) * b`` for random
    pairs of different images ``a, b`` of ``images`` ``[B, H, W]``."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or len(images) < 2:
        raise ValueError(f"hybrid_images needs at least two [H, W] images, got shape {images.shape}")
    n = len(images)
    partner = (np.arange(n) + rng.integers(1, n, size=n)) % n
    masks = hybrid_masks(images.shape[1:], n, rng)
    return masks * images + (1.0 - masks) * images[partner]


def overlay_encoded(x: np.ndarray, labels: np.ndarray | None, num_classes: int, time_steps: int,
                    encoding: str, rng: np.random.Generator | None = None, *, scheme: str = "label_neurons",
                    label_scale: float = 1.0, label_repeat: int = 1) -> np.ndarray:
    """Overlay the label and encode: spikes ``[B, F', T]``.

    Intensities ``[B, F]`` are overlaid, then encoded with ``encoding``. For
    ``encoding='spikes'`` (``x`` is binary ``[B, F, T]``) the label code alone
    is encoded deterministically and attached (``label_neurons``) or written
    over the first ``C`` inputs (``first_pixels``). The offline model and the
    Lava input Process both call this.
    """
    if encoding != "spikes":
        overlaid = overlay_label(x, labels, num_classes, scheme, label_scale, label_repeat)
        return encode(overlaid, time_steps, encoding, rng)
    spikes = check_spike_trains(x, time_steps).astype(np.float32)
    if scheme == "groups":
        if labels is not None:
            check_labels(labels, num_classes, len(spikes))
        return spikes
    width = num_classes if scheme == "first_pixels" else 0
    blank = np.zeros((len(spikes), width), np.float32)
    code = encode(overlay_label(blank, labels, num_classes, scheme, label_scale, label_repeat),
                  time_steps, "deterministic")
    if scheme == "label_neurons":
        return np.concatenate([spikes, code], axis=1)
    spikes = spikes.copy()
    spikes[:, :num_classes] = code
    return spikes

#: (dy, dx) of each view, in pixels: the image, then one pixel up, down, left and right
VIEW_MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def check_views(views) -> int:
    """``views`` as an int, or a ValueError naming it unless it is in ``1..len(VIEW_MOVES)``."""
    if isinstance(views, bool) or not isinstance(views, (int, np.integer)) or not 1 <= views <= len(VIEW_MOVES):
        raise ValueError(f"views must be an integer from 1 to {len(VIEW_MOVES)} (the image and its one-pixel "
                         f"moves), got {views!r}")
    return int(views)


def check_image_rows(features: int, image_shape, what: str) -> tuple[int, int]:
    """``image_shape`` as ``(height, width)``, or a ValueError unless rows of
    ``features`` values are flat images of that shape, which ``what`` needs."""
    if image_shape is None or len(image_shape) != 2:
        raise ValueError(f"{what} needs the image shape (height, width), got {image_shape!r}")
    height, width = (int(v) for v in image_shape)
    if features != height * width:
        raise ValueError(f"{what} needs flat images [N, {height * width}] of shape {(height, width)}, "
                         f"got rows of {features} values")
    return height, width


def move_images(x: np.ndarray, image_shape, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Flat images ``[N, H*W]``, image ``n`` moved ``dy[n]`` pixels down and
    ``dx[n]`` right (negative: up, left), zeros where nothing moved in."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"moving images needs flat images [N, H*W], got shape {x.shape}")
    height, width = check_image_rows(x.shape[1], image_shape, "moving images")
    n = len(x)
    dy, dx = (np.broadcast_to(np.asarray(d, np.int64), (n,)) for d in (dy, dx))
    pad = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    if pad >= min(height, width):
        raise ValueError(f"a move of {pad} pixels takes a {height}x{width} image out of its frame; "
                         f"use less than {min(height, width)}")
    padded = np.zeros((n, height + 2 * pad, width + 2 * pad), x.dtype)
    padded[:, pad:pad + height, pad:pad + width] = x.reshape(n, height, width)
    rows = (pad - dy[:, None] + np.arange(height))[:, :, None]
    cols = (pad - dx[:, None] + np.arange(width))[:, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, height * width)


def view_rows(x: np.ndarray, image_shape, views: int) -> np.ndarray:
    """``[N * views, H*W]``: every sample's first ``views`` views
    (``VIEW_MOVES``), view after view. ``views=1`` returns ``x`` itself."""
    views = check_views(views)
    x = np.asarray(x)
    if views == 1:
        return x
    if x.ndim != 2:
        raise ValueError(f"views need flat images [N, H*W] (not spike trains), got shape {x.shape}")
    moves = np.asarray(VIEW_MOVES[:views])
    stacked = np.repeat(x, views, axis=0)
    return move_images(stacked, image_shape, np.tile(moves[:, 0], len(x)), np.tile(moves[:, 1], len(x)))


def sum_views(scores: np.ndarray, views: int, axis: int = 0) -> np.ndarray:
    """Scores of :func:`view_rows`' rows summed over each sample's views along ``axis``."""
    views = check_views(views)
    scores = np.asarray(scores)
    if scores.shape[axis] % views:
        raise ValueError(f"{scores.shape[axis]} rows are not whole samples of {views} views")
    shape = list(scores.shape)
    shape[axis:axis + 1] = [shape[axis] // views, views]
    return scores.reshape(shape).sum(axis=axis + 1)


def random_views(x: np.ndarray, image_shape, views: int, choice: np.ndarray) -> np.ndarray:
    """Flat images, image ``n`` shown as its view ``choice[n]`` (an index into
    ``VIEW_MOVES[:views]``): training on the views a ``views``-view
    classifier reads."""
    views = check_views(views)
    choice = np.asarray(choice)
    if choice.shape != (len(x),) or np.any((choice < 0) | (choice >= views)):
        raise ValueError(f"choice must give each of the {len(x)} images a view in 0..{views - 1}")
    if views == 1:
        return np.asarray(x)
    moves = np.asarray(VIEW_MOVES[:views])[choice]
    return move_images(x, image_shape, moves[:, 0], moves[:, 1])


def flatten_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    return images.reshape(len(images), -1)


def prepare_inputs(x: np.ndarray, config: FFConfig) -> np.ndarray:
    """Images -> flat ``[N, F]``; spike trains (``encoding='spikes'``) stay ``[N, F, T]``."""
    if config.encoding == "spikes":
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 3:
            raise ValueError(f"encoding='spikes' needs spike trains [N, F, T], got shape {x.shape}")
        return x
    return flatten_images(x)


def phase_windows(x: np.ndarray, label: int, negative_label: int, config: FFConfig,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """One sample's two windows ``[2, F', T]``: true label, then the wrong one.
    The input Process and :func:`simulate_onchip` both call this."""
    if label == negative_label:
        raise ValueError(f"the negative label must differ from the true label, both are {label}")
    return _encoded_windows(np.repeat(np.asarray(x)[None], 2, axis=0),
                            np.array([label, negative_label], dtype=np.int64), config, rng)


def _encoded_windows(batch: np.ndarray, labels: np.ndarray | None, config: FFConfig,
                     rng: np.random.Generator | None) -> np.ndarray:
    """``batch`` with ``labels`` overlaid (``None``: neutral) and encoded as ``config`` says, ``[B, F', T]``."""
    return overlay_encoded(batch, labels, config.num_classes, config.time_steps, config.encoding, rng,
                           scheme=config.overlay, label_scale=config.label_scale,
                           label_repeat=config.label_repeat)

#: what the input Process streams per sample: the FF phases, or one neutral window for an on-chip readout
INPUT_SCHEDULES = ("ff", "readout")


def readout_window(x: np.ndarray, config: FFConfig, rng: np.random.Generator | None = None) -> np.ndarray:
    """One sample's window ``[F', T]`` with the neutral label overlaid: what
    the readout sees at inference, and learns from on chip."""
    return _encoded_windows(np.asarray(x)[None], None, config, rng)[0]


def check_phase_labels(labels: np.ndarray, negative_labels: np.ndarray, num_classes: int,
                       count: int, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays checked; a negative equal to its true label is named
    by its sample index (``first``: the index of the arrays' first sample)."""
    labels = check_labels(labels, num_classes, count)
    negative_labels = check_labels(negative_labels, num_classes, count)
    same = first + np.flatnonzero(labels == negative_labels)
    if len(same):
        raise ValueError(f"negative_labels equal the true labels at samples {same[:5].tolist()}; "
                         "a negative label must be wrong")
    return labels, negative_labels
