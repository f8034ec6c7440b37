"""The tracker's assignment solver against SciPy's on random matrices, gates included."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.track.matching import INF, assign, min_cost_assignment


def test_the_same_optimum_as_scipy_on_random_rectangular_matrices():
    rng = np.random.default_rng(0)
    for _ in range(500):
        n, m = (int(v) for v in rng.integers(1, 14, 2))
        cost = rng.random((n, m))
        cost[rng.random((n, m)) < 0.3] = INF  # gated pairs, as the tracker makes them
        r1, c1 = linear_sum_assignment(cost)
        r2, c2 = min_cost_assignment(cost)
        assert len(r2) == len(r1) == min(n, m)
        assert len(set(r2.tolist())) == len(r2) and len(set(c2.tolist())) == len(c2)
        assert cost[r2, c2].sum() == np.float64(cost[r1, c1].sum()) or np.isclose(
            cost[r2, c2].sum(), cost[r1, c1].sum())


def test_assign_drops_pairs_over_the_limit_and_lists_the_rest():
    cost = np.array([[0.1, 0.9, INF], [0.8, 0.2, 0.7]])
    pairs, rows, cols = assign(cost, 0.5)
    assert sorted(pairs) == [(0, 0), (1, 1)] and rows == [] and cols == [2]
    pairs, rows, cols = assign(np.zeros((0, 3)), 0.5)
    assert pairs == [] and rows == [] and cols == [0, 1, 2]


def test_a_pair_at_the_limit_is_kept():
    pairs, rows, cols = assign(np.array([[0.5, 0.6]]), 0.5)
    assert pairs == [(0, 0)] and rows == [] and cols == [1]
    pairs, rows, cols = assign(np.array([[0.6], [0.7]]), 0.5)  # more rows than columns
    assert pairs == [] and rows == [0, 1] and cols == [0]


def test_an_empty_side_assigns_nothing():
    for shape in ((0, 3), (3, 0), (0, 0)):
        rows, cols = min_cost_assignment(np.zeros(shape))
        assert rows.shape == cols.shape == (0,) and rows.dtype == cols.dtype == np.int64
