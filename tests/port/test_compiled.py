"""The compiled float32 stair table against a brute-force float32 evaluation of every step."""

from __future__ import annotations

import numpy as np
import pytest

from schedcore.port.compiled import (
    LIMIT,
    ceil_shifts,
    compiled_cycles,
    compiled_stairs,
    compiled_stretch,
    quotient,
    stair_shifts,
)
from schedcore.schedules.cyclic import SGDR
from schedcore.schedules.families import Exponential, Polynomial


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


@pytest.mark.parametrize("n", [3, 7, 55, 64, 1000])
def test_ceil_table_matches_float32_at_every_step_below_2_24(n):
    k = np.arange(1, LIMIT, dtype=np.int64)
    want = np.ceil(quotient(k, n)).astype(np.int64)
    got = -(-k // n)
    for first, last, shift in ceil_shifts(n):
        got[first - 1 : last] = -(-(k[first - 1 : last] + shift) // n)
    assert np.array_equal(got, want)
    assert ceil_shifts(7)[0] == (21, 21, 1)  # 21 * fl(1/7) = 3.0000002


@pytest.mark.parametrize("n", [41, 61, 3])
def test_equal_cycles_take_the_float32_cycle_index(n):
    """The compiled restarts: cycle ``floor(fl(k * fl(1/n)))`` and the exact position in it,
    clamped to [0, 1], around the first 2000 multiples of ``n`` and 50000 more up to 2**24
    (``n = 3``: early from 12582914)."""
    node = SGDR(period=n, m_mul=0.9, start=1.0, end=0.1, m_mul_applies_to="range")
    sample = np.linspace(1, (LIMIT - 2) // n, 50_000).astype(np.int64)
    m = np.unique(np.concatenate([np.arange(1, 2000), sample]))
    k = np.unique((m[:, None] * n + np.array([-1, 0, 1])).ravel())
    cycle = np.floor(quotient(k, n)).astype(np.float64)
    position = np.clip(k / n - cycle, 0.0, 1.0)
    want = 0.1 + 0.9 * 0.9**cycle * 0.5 * (1 + np.cos(np.pi * position))
    got = compiled_cycles(node)(k)
    if n == 3:  # early: the node shifted a step, its position 1/3 off (float32's spacing)
        early = k >= 12582914
        assert np.allclose(got[early], want[early], atol=0.9 * 0.9 ** cycle[early] + 1e-12)
        k, got, want = k[~early], got[~early], want[~early]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_stretch_takes_the_float32_count():
    node = Polynomial(steps=7, start=1.0, end=0.0, power=1.0, after="stretch")
    k = np.arange(1, 1 << 20, dtype=np.int64)
    count = np.ceil(quotient(k, 7))
    want = 1.0 - k / (7 * count)
    np.testing.assert_allclose(compiled_stretch(node)(k), want, rtol=1e-12, atol=1e-15)
