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
from .kernel_model import MODEL_RTOL, applied, check_model


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


# -- few segments over a long horizon ------------------------------------------------------------
LONG = 24_000
LONG_RECIPES = {
    "cosine after an exponential warmup": {"warmup": 1000, "warmup_shape": "exponential",
                                           "warmup_start_factor": 0.05, "decay": "cosine"},
    "inverse_sqrt": {"warmup": 1000, "decay": "inverse_sqrt"},
    "inverse_sqrt after an exponential warmup": {"warmup": 1000, "warmup_shape": "exponential",
                                                 "warmup_start_factor": 0.01,
                                                 "decay": "inverse_sqrt"},
    "linear after an exponential warmup": {"warmup": 2000, "warmup_shape": "exponential",
                                           "warmup_start_factor": 0.05, "decay": "linear"},
}  # fmt: skip


def curvature_bound(values: np.ndarray, tolerance: float) -> int:
    """At most how many segments the greedy cut makes on ``values`` (a bound from curvature,
    not from trying chords). With second differences at most ``M`` in absolute value on
    ``[s, s + L]``, a chord from ``s`` to ``s + L`` misses by at most ``M * L**2 / 8`` (the
    discrete maximum principle), so it fits where that is at most ``tolerance * min|v|``
    there: the greedy segment from ``s`` is at least that long, ``l(s)``. As ``s + l(s)``
    never decreases with ``s``, the greedy cut is at or past the walk ``s -> s + l(s)`` at
    each segment, and needs no more segments than the walk."""
    n = len(values) - 1
    second = np.abs(np.diff(values, 2))
    size = np.abs(values)

    def fits(s: int, length: int) -> bool:
        curve = second[s : s + length - 1].max(initial=0.0)
        return curve * length**2 / 8 <= tolerance * size[s : s + length + 1].min()

    count, s = 0, 0
    while s < n:
        length = 1
        while s + 2 * length <= n and fits(s, 2 * length):
            length *= 2
        step = length // 2
        while step:
            if s + length + step <= n and fits(s, length + step):
                length += step
            step //= 2
        s, count = s + length, count + 1
    return count


@pytest.mark.parametrize("name", sorted(LONG_RECIPES))
def test_a_long_horizon_needs_few_segments_within_the_tolerance_at_every_step(name):
    """24,000 steps at tolerance 1e-3: the greedy cut needs no more segments than the
    curvature bound (tens, not thousands, for these smooth recipes), never more than the steps;
    the kernel model applies values within the plan's max error at every step of the horizon,
    and that error leaves FLOAT32_MARGIN of the tolerance for nn.Graph's float32 rounding."""
    tolerance = 1e-3
    recipe = sc.load({"lr": 0.1, "training": {"total_steps": LONG}, "schedule": LONG_RECIPES[name]})
    plan = of.plan_schedules(recipe, tolerance=tolerance)["default"]
    schedule = recipe.schedule
    assert plan.approximations and plan.max_error <= tolerance - of.FLOAT32_MARGIN
    bound = 0
    for record in plan.approximations:
        last = LONG if record.last is None else record.last
        values = schedule(np.arange(record.first, last + 1))
        bound += curvature_bound(values, of.fit_tolerance(tolerance) * (1 - 1e-9))
        assert record.segments <= last - record.first
    segments = sum(r.segments for r in plan.approximations)
    assert segments <= bound <= 150, (segments, bound)
    assert f"{segments} LinearLR segments" in of.explain(recipe, tolerance)
    steps = np.arange(LONG + 3)
    got, exact = applied(plan, steps), schedule(steps)
    assert np.all(np.abs(got - exact) <= (plan.max_error + MODEL_RTOL) * np.abs(exact)), name


def test_a_schedule_that_bends_at_every_step_gets_at_most_one_segment_per_step():
    """Restarts every 3 steps (each a steep cosine): no chord longer than a step fits at
    1e-3, so the cut is one segment per step, never more."""
    schedule = sc.from_dict({"type": "sgdr", "period": 3, "end": 0.1})
    values = schedule(np.arange(301))
    cuts, worst = of.greedy_segments(values, 1e-3)
    assert cuts == list(range(301)) and worst == 0.0
