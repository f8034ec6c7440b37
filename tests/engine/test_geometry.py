"""Box geometry: the paired IoU is the diagonal of the IoU matrix, without the matrix."""

import numpy as np
import pytest

from engine.geometry import iou_matrix, paired_iou


def test_paired_iou_is_the_diagonal_of_the_matrix():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (50, 2))
    a = np.hstack([xy, xy + rng.uniform(1, 60, (50, 2))])
    b = a + rng.normal(0, 10, a.shape)
    b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1)
    assert np.allclose(paired_iou(a, b), np.diag(iou_matrix(a, b)))


def test_paired_iou_known_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert paired_iou(a, b) == pytest.approx([1.0, 50 / 150, 0.0])
    assert paired_iou(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)


def test_paired_iou_refuses_unpaired_boxes():
    with pytest.raises(ValueError, match="as many boxes"):
        paired_iou(np.zeros((2, 4)), np.zeros((3, 4)))
