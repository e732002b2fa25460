"""Views of an image (the image and its one-pixel moves): moving, laying out, summing, and training on them."""

from __future__ import annotations

import numpy as np
import pytest

from lava_ff.core.inputs import VIEW_MOVES, move_images, random_views, sum_views, view_rows


def moved_by_hand(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` (2-D) moved ``dy`` down and ``dx`` right pixel by pixel, zeros where nothing lands."""
    out = np.zeros_like(image)
    height, width = image.shape
    for row in range(height):
        for col in range(width):
            if 0 <= row - dy < height and 0 <= col - dx < width:
                out[row, col] = image[row - dy, col - dx]
    return out


def test_a_move_carries_every_pixel_and_fills_the_border_with_zeros(rng):
    images = rng.random((4, 5, 6)).astype(np.float32)
    dy, dx = np.array([0, -1, 2, 1]), np.array([1, 0, -2, 1])
    moved = move_images(images.reshape(4, -1), (5, 6), dy, dx).reshape(4, 5, 6)
    for n in range(4):
        np.testing.assert_array_equal(moved[n], moved_by_hand(images[n], dy[n], dx[n]))
    # one lit pixel at (2, 3) moved one up lands at (1, 3)
    dot = np.zeros((1, 30), np.float32)
    dot[0, 2 * 6 + 3] = 1
    assert move_images(dot, (5, 6), -1, 0).reshape(5, 6)[1, 3] == 1


def test_views_are_laid_out_view_after_view_and_summed_back(rng):
    x = rng.random((3, 20)).astype(np.float32)
    assert view_rows(x, (4, 5), 1) is x
    rows = view_rows(x, (4, 5), 5)
    assert rows.shape == (15, 20)
    for k in range(3):
        for v, (dy, dx) in enumerate(VIEW_MOVES):
            np.testing.assert_array_equal(rows[k * 5 + v].reshape(4, 5), moved_by_hand(x[k].reshape(4, 5), dy, dx))
    assert VIEW_MOVES[0] == (0, 0)  # the first view is the image itself
    scores = rng.random((2, 15, 3))
    np.testing.assert_allclose(sum_views(scores, 5, axis=1), scores.reshape(2, 3, 5, 3).sum(axis=2))
    # a view choice per image picks that view
    choice = np.array([4, 0, 2])
    np.testing.assert_array_equal(random_views(x, (4, 5), 5, choice), rows[np.arange(3) * 5 + choice])


def test_views_refuse_bad_input_naming_it(rng):
    x = rng.random((2, 20)).astype(np.float32)
    for bad in (0, 6, True, 2.0, "3"):
        with pytest.raises(ValueError, match=f"views must be an integer from 1 to 5.*got {bad!r}"):
            view_rows(x, (4, 5), bad)
    with pytest.raises(ValueError, match=r"flat images \[N, 25\] of shape \(5, 5\), got rows of 20"):
        view_rows(x, (5, 5), 2)
    with pytest.raises(ValueError, match="image shape"):
        view_rows(x, None, 2)
    with pytest.raises(ValueError, match="not spike trains"):
        view_rows(rng.random((2, 20, 3)), (4, 5), 2)
    with pytest.raises(ValueError, match="move of 4 pixels takes a 4x5 image out of its frame"):
        move_images(x, (4, 5), 4, 0)
    with pytest.raises(ValueError, match="7 rows are not whole samples of 2 views"):
        sum_views(np.zeros((7, 3)), 2)
    with pytest.raises(ValueError, match="each of the 2 images a view in 0..2"):
        random_views(x, (4, 5), 3, np.array([0, 3]))


def test_a_readout_pass_shows_the_same_views_when_resumed_midway(rng):
    """The views a readout pass draws depend on the seed and the pass only,
    so a pass resumed at any position shows every remaining image as the
    uninterrupted pass did; another pass draws others."""
    from lava_ff.onchip.fit import ReadoutTask

    x = rng.random((40, 20)).astype(np.float32)
    task = ReadoutTask((np.zeros((3, 30), np.int64),), views=5, image_shape=(4, 5))
    order = np.random.default_rng([0, 1]).permutation(40)
    whole = task.inputs(x, order, seed=0, epoch=1)
    np.testing.assert_array_equal(task.inputs(x, order[17:], seed=0, epoch=1), whole[17:])
    assert not np.array_equal(task.inputs(x, order, seed=0, epoch=2), whole)
    views = view_rows(x, (4, 5), 5).reshape(40, 5, 20)
    shown = [next(v for v in range(5) if np.array_equal(views[n, v], whole[i])) for i, n in enumerate(order)]
    assert set(shown) == set(range(5))  # 40 draws from 5 views: each at least once, none outside
    np.testing.assert_array_equal(ReadoutTask((np.zeros((3, 30), np.int64),)).inputs(x, order, 0, 1), x[order])
    assert "views" not in ReadoutTask((np.zeros((3, 30)),)).describe(_config())  # one-view states still resume
    assert ReadoutTask((np.zeros((3, 30)),), views=2, image_shape=(4, 5)).describe(_config())["views"] == 2
    with pytest.raises(ValueError, match=r"readout on 3 views needs the image shape \(height, width\), got None"):
        ReadoutTask((np.zeros((3, 30)),), views=3)
    with pytest.raises(ValueError, match="views must be an integer from 1 to 5"):
        ReadoutTask((np.zeros((3, 30)),), views=0)


def test_an_ff_pass_shows_the_views_it_draws_and_the_same_ones_when_resumed(rng):
    """The FF passes' views (``onchip_fit(views=V)``) are drawn as the
    readout's: by image, from the seed and the pass alone."""
    from lava_ff.onchip.fit import ReadoutTask, _FFTask, pass_images

    x = rng.random((40, 20)).astype(np.float32)
    order = np.random.default_rng([0, 3]).permutation(40)
    task = _FFTask(views=3, image_shape=(4, 5))
    whole = task.inputs(x, order, seed=0, epoch=3)
    np.testing.assert_array_equal(task.inputs(x, order[25:], seed=0, epoch=3), whole[25:])
    np.testing.assert_array_equal(whole, pass_images(x, order, 0, 3, 3, (4, 5)))
    readout = ReadoutTask((np.zeros((3, 30)),), views=3, image_shape=(4, 5))
    np.testing.assert_array_equal(readout.inputs(x, order, seed=0, epoch=3), whole)
    views = view_rows(x, (4, 5), 3).reshape(40, 3, 20)
    shown = [next(v for v in range(3) if np.array_equal(views[n, v], whole[i])) for i, n in enumerate(order)]
    assert set(shown) == {0, 1, 2}
    assert not np.array_equal(pass_images(x, order, 1, 3, 3, (4, 5)), whole)  # another seed, other views
    np.testing.assert_array_equal(_FFTask().inputs(x, order, 0, 3), x[order])
    assert _FFTask().describe(_config()) == {}  # states of runs on the images as they are still resume
    assert task.describe(_config()) == {"views": 3, "image_shape": [4, 5]}
    with pytest.raises(ValueError, match=r"on-chip FF learning on 2 views needs the image shape \(height, width\), "
                                         r"got None"):
        _FFTask(views=2)
    with pytest.raises(ValueError, match="views must be an integer from 1 to 5.*got 6"):
        pass_images(x, order, 0, 0, 6, (4, 5))


def _config():
    from lava_ff.core.config import FFConfig

    return FFConfig(in_features=20, layer_sizes=(3,), num_classes=3)


def test_torch_predictions_sum_every_columns_scores_over_the_views(rng):
    """``prediction_table(views=V)``: goodness, readout and combined scores
    of each view, summed per image, then the argmax; one view is the
    plain table."""
    from lava_ff.core.config import FFConfig
    from lava_ff.offline.model import FFNetwork

    net = FFNetwork(FFConfig(in_features=64, layer_sizes=(30, 20), time_steps=8, weight_scale=1.0, seed=3))
    x = rng.random((6, 64)).astype(np.float32)
    np.testing.assert_array_equal(net.prediction_table(x, views=1), net.prediction_table(x))
    per_view = [move_images(x, (8, 8), dy, dx) for dy, dx in VIEW_MOVES[:3]]
    goodness = sum(net.layer_label_scores(v) for v in per_view)  # [L, N, C]
    logits = sum(net.readout_logits(v) for v in per_view)
    combined = sum(net.combined_scores(net.layer_label_scores(v), net.readout_logits(v)) for v in per_view)
    table = net.prediction_table(x, views=3, image_shape=(8, 8))
    np.testing.assert_array_equal(table[:, 0], goodness.sum(0).argmax(1))
    np.testing.assert_array_equal(table[:, 1], goodness[1:].sum(0).argmax(1))
    np.testing.assert_array_equal(table[:, 2], logits.argmax(1))
    np.testing.assert_array_equal(table[:, 3], combined.argmax(1))
