"""Label overlay and negative data for Forward-Forward training."""

from __future__ import annotations

import numpy as np

from .config import OVERLAYS
from .encoding import check_intensities, check_spike_trains, encode

__all__ = ["overlay_label", "neutral_label", "random_wrong_labels", "hard_negative_labels", "wrong_labels",
           "LABEL_NEGATIVES",
           "hybrid_masks", "hybrid_images", "check_labels", "overlay_encoded"]


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

    ``scores`` is a callable returning the current goodness ``[B, C]`` of
    every label; it is called only for ``hard`` and ``mixed``, after the
    random draw, so a ``random`` run never pays for a goodness pass. The
    offline trainer and on-chip learning both pick their negatives here.
    """
    if kind not in LABEL_NEGATIVES:
        raise ValueError(f"negatives {kind!r} carry no wrong label; valid: {', '.join(LABEL_NEGATIVES)}")
    wrong = random_wrong_labels(labels, num_classes, rng)
    if kind == "random":
        return wrong
    if scores is None:
        raise ValueError(f"negatives {kind!r} need the current goodness of every label (scores=)")
    hard = hard_negative_labels(scores(), labels)
    return hard if kind == "hard" else np.where(rng.random(len(labels)) < 0.5, hard, wrong)


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
    width = num_classes if scheme == "first_pixels" else 0
    blank = np.zeros((len(spikes), width), np.float32)
    code = encode(overlay_label(blank, labels, num_classes, scheme, label_scale, label_repeat),
                  time_steps, "deterministic")
    if scheme == "label_neurons":
        return np.concatenate([spikes, code], axis=1)
    spikes = spikes.copy()
    spikes[:, :num_classes] = code
    return spikes
