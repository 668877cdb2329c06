"""Approximating with a tolerance (main venv, no oneflow): within the tolerance at every
step, with as few LinearLR segments as possible, and refused where no finite number of
segments can follow the node. ``tests/oneflow`` runs the approximations in nn.Graph."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import schedcore as sc
from schedcore.port import oneflow as of

from .cases import APPROXIMATED, COS, LIN
from .kernel_model import check_model


@pytest.mark.parametrize("tolerance", [1e-2, 1e-4])
def test_approximations_stay_within_the_tolerance_in_the_kernel_model(tolerance):
    for case in APPROXIMATED:
        schedule = sc.from_dict(case)
        plan = of.plan(schedule, tolerance)
        assert not plan.exact and 0 <= plan.max_error <= tolerance
        assert "approximated" in plan.explain()
        assert {s.kind for s in plan.schedulers} <= {"LinearLR", "ConstantLR", "CosineDecayLR"}
        check_model(schedule, plan, [5_000])


def test_a_node_cut_away_needs_no_lowering():
    """A global phase starts after the non-lowerable part of its schedule: the lowering is
    exact, with or without a tolerance, and says the node was never used."""
    inner = {
        "type": "sequence",
        "phases": [
            {"schedule": {"type": "inverse_sqrt", "timescale": 5}, "steps": 50},
            {"schedule": COS, "clock": "global"},
        ],
    }
    schedule = sc.from_dict(
        {
            "type": "sequence",
            "phases": [
                {"schedule": {"type": "constant", "value": 0.5}, "steps": 60},
                {"schedule": inner, "clock": "global"},
            ],
        }
    )
    exact, tolerant = of.plan(schedule), of.plan(schedule, tolerance=1e-3)
    assert exact.exact and tolerant.exact and exact.key() == tolerant.key()
    assert "inverse_sqrt           not lowered, never used (cut away)" in exact.explain()
    check_model(schedule, exact)


def test_a_tighter_tolerance_needs_more_segments():
    counts = [len(of.plan(sc.onecycle(steps=200), t).schedulers) for t in (1e-1, 1e-2, 1e-3, 1e-4)]
    assert counts == sorted(counts) and counts[0] < counts[-1]


@pytest.mark.parametrize(
    "schedule",
    [
        {"type": "inverse_sqrt", "timescale": 10},
        {"type": "repeat", "period": 7, "schedule": LIN},
        {"type": "cyclic", "low": 0.1, "high": 1.0, "up": 5},
    ],
)
def test_a_tail_that_never_settles_cannot_be_approximated(schedule):
    with pytest.raises(of.NotLowerable, match="never becomes constant") as info:
        of.plan(sc.from_dict(schedule), tolerance=0.1)
    assert info.value.path == "schedule" and "pass tolerance" not in str(info.value)


def test_tolerance_is_validated():
    for bad in (0, -1e-3, 1.5, "1e-3"):
        with pytest.raises(ValueError, match="tolerance must be a relative error in"):
            of.plan(sc.from_dict(COS), tolerance=bad)


def fewest_segments(values: np.ndarray, tolerance: float) -> int:
    """The true minimum number of chords (dynamic programming over every cut)."""
    n = len(values) - 1

    def ok(s: int, e: int) -> bool:
        j = np.arange(e - s)
        approx = values[s] + (values[e] - values[s]) * (j / (e - s))
        return bool(np.all(np.abs(approx - values[s:e]) <= tolerance * np.abs(values[s:e])))

    best = [0] + [math.inf] * n
    for e in range(1, n + 1):
        best[e] = min(best[s] + 1 for s in range(e) if ok(s, e))
    return int(best[n])


@settings(max_examples=60, deadline=None)
@given(
    shape=hs.sampled_from(["geometric", "polynomial", "one_minus_sqrt"]),
    steps=hs.integers(2, 50),
    start=hs.floats(0.05, 2.0),
    end=hs.floats(0.05, 2.0),
    tolerance=hs.sampled_from([1e-1, 1e-2, 1e-3]),
)
def test_greedy_segments_are_verified_and_fewest(shape, steps, start, end, tolerance):
    kwargs = {"steps": steps, "start": start, "end": end}
    if shape == "polynomial":
        kwargs["power"] = 2.0
    values = sc.from_dict({"type": shape, **kwargs})(np.arange(steps + 1))
    cuts, worst = of.greedy_segments(values, tolerance)
    assert cuts[0] == 0 and cuts[-1] == steps and worst <= tolerance
    for s, e in itertools.pairwise(cuts):
        j = np.arange(e - s)
        approx = values[s] + (values[e] - values[s]) * (j / (e - s))
        assert np.all(np.abs(approx - values[s:e]) <= tolerance * np.abs(values[s:e]))
    # each of these curves is convex or concave, so a chord that fits fits on every sub-range:
    # then the longest chord at each cut (which galloping and bisection find) is the fewest
    assert len(cuts) - 1 == fewest_segments(values, tolerance)
