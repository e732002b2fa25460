"""The IntFF robustness protocol: corrupted training data, test-time robustness curves.

Training (Tang, "The Integrated Forward-Forward Algorithm"): 75% of the
training set is corrupted, in four equal parts by default: clean, Gaussian
noise, randomly dropped pixels, and pure noise with random labels.
:func:`corrupt_training_set` builds that set. Early stopping uses a clean
validation split (:class:`lava_ff.offline.train.TrainSettings` ``patience``), and the
clean test set gives the figure.

Test time: :func:`robustness_curves` measures accuracy against the Gaussian
noise level and against the fraction of dropped pixels.

Images are intensities in [0, 1]; every corruption clips back into it.
The noise parameters are not in the paper's abstract; ours are
``NOISE_STD = 0.5`` and ``DROP_PROB = 0.5`` (documented in the suite's
report).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    'CORRUPTIONS', 'NOISE_STD', 'DROP_PROB', 'gaussian_noise', 'pixel_dropout', 'check_fractions',
    'corrupt_training_set', 'robustness_curves',
]


#: the four parts of the corrupted training set, in order
CORRUPTIONS = ("clean", "gaussian", "dropout", "noise_random_label")
NOISE_STD = 0.5
DROP_PROB = 0.5


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.size == 0:
        raise ValueError("no images to corrupt")
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or inf")
    if images.min() < 0 or images.max() > 1:
        raise ValueError(f"images must be intensities in [0, 1], got values in [{images.min()}, {images.max()}]")
    return images


def _check_level(name: str, value: float, upper: float | None = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value) \
            or value < 0 or (upper is not None and value > upper):
        bound = f"[0, {upper:g}]" if upper is not None else ">= 0"
        raise ValueError(f"{name} must be a number in {bound}, got {value!r}")
    return float(value)


def gaussian_noise(images: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Add zero-mean Gaussian noise of standard deviation ``std``, clip to [0, 1]."""
    std = _check_level("noise std", std, upper=None)
    images = _check_images(images)
    return np.clip(images + rng.normal(0.0, std, images.shape), 0.0, 1.0).astype(np.float32)


def pixel_dropout(images: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Set each pixel to 0 with probability ``prob``."""
    prob = _check_level("dropout probability", prob)
    images = _check_images(images)
    return np.where(rng.random(images.shape) < prob, 0.0, images).astype(np.float32)


def check_fractions(fractions) -> np.ndarray:
    """Four fractions in [0, 1] that sum to 1 (clean, gaussian, dropout, noise)."""
    values = np.asarray(fractions, dtype=np.float64).ravel()
    if values.shape != (len(CORRUPTIONS),):
        raise ValueError(f"corruption fractions need one value for each of {', '.join(CORRUPTIONS)}, "
                         f"got {list(np.atleast_1d(fractions))}")
    bad = [f"{name}={v}" for name, v in zip(CORRUPTIONS, values, strict=True)
           if not np.isfinite(v) or not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"corruption fractions must lie in [0, 1]: {', '.join(bad)}")
    if abs(values.sum() - 1.0) > 1e-6:
        raise ValueError(f"corruption fractions must sum to 1, got {values.tolist()} (sum {values.sum():g})")
    return values


def corrupt_training_set(images: np.ndarray, labels: np.ndarray, num_classes: int, rng: np.random.Generator,
                         fractions=(0.25, 0.25, 0.25, 0.25), noise_std: float = NOISE_STD,
                         drop_prob: float = DROP_PROB) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The IntFF corrupted training set.

    A random partition of the samples in the given ``fractions`` (rounded
    down; the remainder stays clean) is kept clean, gets Gaussian noise,
    loses pixels, or is replaced by uniform noise with a uniformly random
    label. Returns ``(images, labels, kind)`` with ``kind[i]`` an index into
    :data:`CORRUPTIONS`.
    """
    values = check_fractions(fractions)
    images = _check_images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
    counts = np.floor(values * len(images)).astype(int)
    counts[0] += len(images) - counts.sum()
    kind = np.repeat(np.arange(len(CORRUPTIONS)), counts)[rng.permutation(len(images))]
    out, out_labels = images.copy(), labels.copy()
    corruptions = {1: lambda x: gaussian_noise(x, noise_std, rng), 2: lambda x: pixel_dropout(x, drop_prob, rng),
                   3: lambda x: rng.random(x.shape).astype(np.float32)}
    for index, corrupt in corruptions.items():
        part = kind == index
        if part.any():
            out[part] = corrupt(images[part])
    noise = kind == 3
    out_labels[noise] = rng.integers(0, num_classes, int(noise.sum()))
    return out, out_labels, kind


def robustness_curves(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
                      rng: np.random.Generator, noise_levels=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
                      drop_levels=(0.0, 0.2, 0.4, 0.6, 0.8)) -> dict:
    """Accuracy of ``predict(images) -> labels`` under test-time Gaussian
    noise and pixel dropout, one figure per level."""
    images, labels = _check_images(images), np.asarray(labels)
    noise = [float(np.mean(predict(gaussian_noise(images, s, rng)) == labels)) for s in noise_levels]
    drop = [float(np.mean(predict(pixel_dropout(images, p, rng)) == labels)) for p in drop_levels]
    return {"noise_levels": list(map(float, noise_levels)), "noise_accuracy": noise,
            "drop_levels": list(map(float, drop_levels)), "drop_accuracy": drop}
