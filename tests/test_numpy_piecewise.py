"""numpy's ``piecewise``: the one place where the core's evaluation runs only the phase a step
falls in. Every piece must see exactly the steps of its interval, on every input layout
(sorted, unsorted, one step, no step; few pieces and many), and the result must be each
step's piece value."""

from __future__ import annotations

import numpy as np
import pytest

import schedcore as sc
from schedcore.schedules.ops import NUMPY

FEW = [10, 20]  # three pieces: a mask per piece
MANY = [5 * i for i in range(1, 12)]  # twelve pieces: grouped by one sort
RNG = np.random.default_rng(7)

LAYOUTS = {
    "sorted": np.arange(0, 70, dtype=np.int64),
    "sorted with repeats": np.repeat(np.arange(0, 70, 3, dtype=np.int64), 3),
    "unsorted": RNG.permutation(np.arange(0, 70, dtype=np.int64)),
    "unsorted with repeats": RNG.integers(0, 70, 200, dtype=np.int64),
    "one step": np.array([23], dtype=np.int64),
    "no step": np.array([], dtype=np.int64),
    "sorted in one piece": np.arange(12, 18, dtype=np.int64),
    "unsorted in one piece": np.array([17, 12, 15, 12, 16], dtype=np.int64),
    "at the bounds": np.array([20, 10, 9, 19, 0, 55, 54], dtype=np.int64),
}


@pytest.mark.parametrize("bounds", [FEW, MANY], ids=["few pieces", "many pieces"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_piece_runs_only_on_its_own_steps(bounds, layout):
    steps = LAYOUTS[layout]
    seen: dict[int, list[int]] = {}

    def piece(i, t):
        seen.setdefault(i, []).extend(t.tolist())
        return 1000.0 * i + t

    values = NUMPY.piecewise(steps, bounds, piece)
    expected = np.searchsorted(bounds, steps, side="right")  # the piece of each step
    np.testing.assert_array_equal(values, 1000.0 * expected + steps)
    edges = [0, *bounds, 2**63 - 1]
    for i, got in seen.items():
        assert got, f"piece {i} ran on no step"
        assert all(edges[i] <= k < edges[i + 1] for k in got), f"piece {i} saw {got}"
    assert sorted(k for got in seen.values() for k in got) == sorted(steps.tolist())


def test_a_phase_that_raises_past_its_end_never_sees_the_later_steps():
    """A phase with after = 'error' ends where the next phase starts: evaluating the sequence
    (called, or through ``dense`` with numpy as a lowering does) must not raise."""
    first = sc.linear(steps=10, start=0.0, end=1.0, after="error")
    node = sc.sequence((first, 10), (sc.cosine(steps=30, end=0.1), 30), (sc.constant(0.1), 5))
    steps = np.arange(0, 60, dtype=np.int64)
    expected = np.array([node(int(k)) for k in steps])
    np.testing.assert_array_equal(node(steps), expected)
    np.testing.assert_array_equal(node.dense(NUMPY, steps), expected)
    shuffled = RNG.permutation(steps)
    np.testing.assert_array_equal(node.dense(NUMPY, shuffled), expected[shuffled])
    assert expected[9] == 0.9 and expected[10] == 1.0
