"""The compiled float32 stair table against a brute-force float32 evaluation of every step."""

from __future__ import annotations

import numpy as np
import pytest

from schedcore.port.compiled import LIMIT, compiled_stairs, quotient, stair_shifts
from schedcore.schedules.families import Exponential


@pytest.mark.parametrize("n", [3, 55, 64, 1000, 12345])
def test_stair_table_matches_float32_at_every_step_below_2_24(n):
    k = np.arange(LIMIT, dtype=np.int64)
    want = np.floor(quotient(k, n)).astype(np.int64)
    got = k // n
    for first, last, shift in stair_shifts(n):
        got[first : last + 1] = (k[first : last + 1] + shift) // n
    assert np.array_equal(got, want)
    assert (stair_shifts(n) == ()) == (n == 64)  # 1 / 64 is exact


def test_compiled_node_is_the_shifted_staircase():
    node = compiled_stairs(Exponential(rate=0.5, every=55, staircase=True), 55)
    k = np.arange(0, 2000)
    assert np.array_equal(node(k), 0.5 ** np.floor(quotient(k, 55)))
