"""Views of an image: the image and its one-pixel moves.

A classifier that sums its scores over several views of a sample (test-time
augmentation) is steadier against the small misplacements a digit's strokes
have; a readout that learned on moved images reads every view well. A
view is a translation by ``(dy, dx)`` pixels, the uncovered border filled
with zeros, so a view of a [0, 1] image is again one (the encoders and the
input Process take it as they are).

``VIEW_MOVES[:views]`` are the views a network with ``views`` views shows:
the image itself first, then one pixel up, down, left and right (validation
on MNIST picked these five over 3 x 3 and two-pixel sets). Samples are laid
out view after view, ``x_views[k * views + v]`` is view ``v`` of sample
``k``, so a Lava input that streams one row per window shows a sample's
views in ``views`` consecutive windows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["VIEW_MOVES", "check_views", "move_images", "view_rows", "sum_views", "random_views"]

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
