"""schedcore.port.from_oneflow against OneFlow 0.9.0's schedulers, in eager mode.

Each example builds the real scheduler on an SGD optimizer (one or two param groups), steps
it past three times its horizon, and compares every group's lr with ``recipe.lr(k)``; OneFlow
evaluates its closed forms in Python float64: rtol 1e-12 (plus a few float64 roundings of
the peak for values that cancel near 0).
"""

from __future__ import annotations

import numpy as np
import oneflow as flow
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schedcore import SpecError, StepRangeError
from schedcore.port import from_oneflow

L = flow.optim.lr_scheduler
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STEPS = st.integers(1, 12)
UNIT = st.sampled_from([0.5, 0.1, 1.0]) | st.floats(0.05, 1.0)
GROWTH = st.sampled_from([1.5, 2.0]) | st.floats(1.0, 3.0)  # OneFlow runs a gamma above 1


def optimizer(lrs):
    groups = [{"params": [flow.nn.Parameter(flow.zeros(1))], "lr": lr} for lr in lrs]
    return flow.optim.SGD(groups, lr=lrs[0])


def oneflow_lrs(scheduler, opt, n):
    rows = []
    for k in range(n):
        rows.append([float(g["lr"]) for g in opt.param_groups])
        if k < n - 1:
            opt.step()
            scheduler.step()
    return np.asarray(rows, dtype=np.float64).T


def close(got, ref, what="", scale=0.0):
    """rtol 1e-12, and a few float64 roundings at the scale of the peak or base lr (a linear
    anneal ending at 1e-110 lands on ``1 + (1e-110 - 1) = 0`` in the closed form)."""
    got, ref = np.atleast_2d(got), np.atleast_2d(ref)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    slack = 1e-14 * max(float(np.max(np.abs(ref))), scale)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=slack, err_msg=what)


@st.composite
def single(draw, multiplicative=False):
    kinds = [
        "step",
        "multistep",
        "exponential",
        "cosine_decay",
        "cosine",
        "warm_restarts",
        "polynomial",
        "constant",
        "linear",
    ]
    kind = draw(st.sampled_from(kinds))
    if kind == "step":
        size, gamma = draw(STEPS), draw(UNIT | GROWTH)
        return kind, lambda o: L.StepLR(o, size, gamma), 4 * size
    if kind == "multistep":
        ms = sorted(set(draw(st.lists(st.integers(0, 20), min_size=1, max_size=4))))
        gamma = draw(UNIT | st.floats(1.0, 2.0))
        return kind, lambda o: L.MultiStepLR(o, ms, gamma), max(ms) + 2
    if kind == "exponential":
        gamma = draw(UNIT | GROWTH)
        return kind, lambda o: L.ExponentialLR(o, gamma), 10
    if kind == "cosine_decay":
        steps, alpha = draw(st.integers(1, 30)), draw(st.floats(0.0, 1.0))
        return kind, lambda o: L.CosineDecayLR(o, steps, alpha), steps
    if kind == "cosine":
        t_max = draw(st.integers(1, 30))
        eta = 0.0 if multiplicative else draw(st.floats(0.0, 0.05))
        return kind, lambda o: L.CosineAnnealingLR(o, t_max, eta), 2 * t_max
    if kind == "warm_restarts":
        t0, mult = draw(STEPS), draw(st.integers(1, 3))
        eta = 0.0 if multiplicative else draw(st.floats(0.0, 0.01))
        decay, limit = draw(UNIT), draw(st.integers(0, 5))
        return kind, lambda o: L.CosineAnnealingWarmRestarts(o, t0, mult, eta, decay, limit), 30
    if kind == "polynomial":
        steps, power, cycle = (
            draw(st.integers(1, 20)),
            draw(st.floats(0.0, 3.0)),
            draw(st.booleans()),
        )
        # None: OneFlow's default end_learning_rate (1e-4)
        end = 0.0 if multiplicative else draw(st.none() | st.floats(0.0, 0.01))
        if end is None:
            return kind, lambda o: L.PolynomialLR(o, steps, power=power, cycle=cycle), steps
        return kind, lambda o: L.PolynomialLR(o, steps, end, power, cycle), steps
    if kind == "constant":
        factor, total = draw(st.floats(0.0, 1.0)), draw(st.integers(0, 12))
        return f"constant({factor!r}, {total})", lambda o: L.ConstantLR(o, factor, total), total + 2
    a, b, total = draw(st.floats(0.0, 1.0)), draw(st.floats(0.0, 1.0)), draw(st.integers(0, 12))
    return f"linear({a!r}, {b!r}, {total})", lambda o: L.LinearLR(o, a, b, total), total + 2


@st.composite
def schedulers(draw):
    kind = draw(st.sampled_from(["single", "sequential", "warmup", "chained"]))
    if kind == "single":
        return draw(single())
    if kind == "sequential":
        parts = draw(st.lists(single(), min_size=2, max_size=3))
        gaps = draw(st.lists(st.integers(0, 15), min_size=len(parts) - 1, max_size=len(parts) - 1))
        milestones = np.cumsum(gaps).tolist()
        rescale = draw(st.lists(st.booleans(), min_size=len(gaps), max_size=len(gaps)))

        def make(o):
            return L.SequentialLR(o, [m(o) for _, m, _ in parts], milestones, rescale)

        return "sequential", make, (milestones[-1] if milestones else 0) + parts[-1][2]
    if kind == "warmup":
        label, inner, horizon = draw(single())
        factor, iters = draw(st.floats(0.0, 1.0)), draw(st.integers(1, 10))
        method, prefix = draw(st.sampled_from(["linear", "constant"])), draw(st.booleans())

        def warm(o):
            return L.WarmupLR(inner(o), factor, iters, method, prefix)

        return f"warmup({label})", warm, horizon + iters
    # the first child starts from the base lr: a floor (eta_min, end_learning_rate) is read there
    first = draw(single())
    parts = [first, *draw(st.lists(single(multiplicative=True), min_size=1, max_size=2))]

    def chain(o):
        return L.ChainedScheduler([m(o) for _, m, _ in parts])

    return "chained(" + ",".join(p[0] for p in parts) + ")", chain, max(p[2] for p in parts)


@SETTINGS
@given(case=schedulers(), lrs=st.sampled_from([(0.1,), (0.1, 0.03)]))
def test_every_scheduler_matches_oneflow_eager(case, lrs):
    label, make, horizon = case
    if label.startswith("warmup"):
        lrs = (lrs[0],) * len(lrs)  # WarmupLR without prefix needs equal base lrs
    opt = optimizer(lrs)
    try:
        sched = make(opt)
    except ValueError:  # OneFlow refuses (WarmupLR ending above 1: a MultiStepLR gamma > 1)
        assume(False)
        raise
    recipe = from_oneflow(sched)
    n = 3 * horizon + 5
    ref = oneflow_lrs(sched, opt, n)
    got = recipe_lrs(recipe, n)
    # a growing recipe ends once a growth factor passes its share of the 1e100 bound: with
    # gamma <= 3 and at most three growing children, not before step 70
    assert got.shape[1] == n or got.shape[1] >= 70, (label, got.shape[1])
    close(got, ref[:, : got.shape[1]], label, max(lrs))


def recipe_lrs(recipe, n):
    """``(groups, m)`` lrs of the recipe at steps 0..m-1: ``m = n``, or the first step where
    it raises StepRangeError (a growth factor past its multiplier bound)."""
    for k in range(n):
        try:
            recipe.lr(k)
        except StepRangeError:
            n = k
            break
    return np.atleast_2d(recipe.lr(np.arange(n)))


@pytest.mark.parametrize(
    "make",
    [
        lambda o: L.ExponentialLR(o, 1.5),
        lambda o: L.ExponentialLR(o, 1.01),
        lambda o: L.StepLR(o, 3, 2.0),
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 5), L.ExponentialLR(o, 1.2)], [5]),
    ],
)
def test_growth_factor_runs_until_the_largest_multiplier(make):
    """OneFlow computes ``base * gamma ** step``; the recipe reproduces every step whose
    multiplier stays at most 1e100 and raises StepRangeError from the first that does not."""
    opt = optimizer((0.1,))
    sched = make(opt)
    recipe = from_oneflow(sched)
    end = None
    for k in range(100_000):
        try:
            recipe.lr(k)
        except StepRangeError:
            end = k
            break
    assert end is not None
    ref = oneflow_lrs(sched, opt, end + 1)[0]
    close(recipe.lr(np.arange(end)), ref[:end])
    assert ref[end] / 0.1 > 1e100 >= ref[end - 1] / 0.1  # ends exactly past the bound


def test_chained_polynomial_default_end_learning_rate():
    """PolynomialLR's default end_learning_rate (1e-4) is a floor, not a factor: read as the
    first child of a ChainedScheduler (which starts it from the base lr)."""
    opt = optimizer((0.1, 0.03))
    sched = L.ChainedScheduler([L.PolynomialLR(opt, 10, power=2.0), L.ExponentialLR(opt, 0.9)])
    recipe = from_oneflow(sched)
    close(recipe.lr(np.arange(40)), oneflow_lrs(sched, opt, 40))


def test_chained_growth_factors_share_the_multiplier_bound():
    opt = optimizer((0.1,))
    sched = L.ChainedScheduler([L.ExponentialLR(opt, 3.0), L.StepLR(opt, 2, 2.5)])
    recipe = from_oneflow(sched)
    got = recipe_lrs(recipe, 400)
    assert 50 < got.shape[1] < 400
    close(got, oneflow_lrs(sched, opt, got.shape[1]))


def test_sequential_interval_rescaling_picks_the_clock():
    """interval_rescaling=False (the default): the child sees the global step."""
    for rescale in (False, True):
        opt = optimizer((1.0,))
        sched = L.SequentialLR(
            opt, [L.ConstantLR(opt, 0.1, 100), L.ExponentialLR(opt, 0.5)], [3], [rescale]
        )
        recipe = from_oneflow(sched)
        assert recipe.lr(3) == (1.0 if rescale else 0.5**3)
        close(recipe.lr(np.arange(20)), oneflow_lrs(sched, opt, 20))


def test_warm_restarts_keep_oneflow_log_rounding():
    """floor(log(...)) puts step 121 in cycle 4 (T_0=1, T_mult=3): eta_min, not a restart."""
    opt = optimizer((1.0,))
    sched = L.CosineAnnealingWarmRestarts(opt, 1, 3, 0.01)
    recipe = from_oneflow(sched)
    ref = oneflow_lrs(sched, opt, 130)[0]
    assert ref[121] == pytest.approx(0.01) and ref[40] == 1.0
    close(recipe.lr(np.arange(130)), ref)


def test_polynomial_cycle_replaces_step_zero_by_one():
    opt = optimizer((1.0,))
    recipe = from_oneflow(L.PolynomialLR(opt, 10, 0.0, 1.0, cycle=True))
    assert recipe.lr(0) == pytest.approx(0.9) and recipe.lr(11) == pytest.approx(0.45)


def test_stepped_and_hand_changed():
    opt = optimizer((0.1,))
    sched = L.CosineDecayLR(opt, 10, 0.1)
    fresh = from_oneflow(sched)
    oneflow_lrs(sched, opt, 6)
    again = from_oneflow(sched)
    np.testing.assert_array_equal(again.lr(np.arange(30)), fresh.lr(np.arange(30)))
    opt.param_groups[0]["lr"] = 1.0
    with pytest.raises(SpecError) as info:
        from_oneflow(sched)
    assert info.value.path == "optimizer.param_groups[0].lr"


@pytest.mark.parametrize(
    "make, path",
    [
        (lambda o: L.LambdaLR(o, lambda k: 0.9**k), "scheduler"),
        (
            lambda o: L.ChainedScheduler([L.StepLR(o, 2), L.CosineAnnealingLR(o, 5, 0.01)]),
            "scheduler.schedulers[1]",
        ),
        (
            lambda o: L.ChainedScheduler([L.StepLR(o, 2), L.PolynomialLR(o, 5)]),
            "scheduler.schedulers[1]",
        ),
    ],
)
def test_refusals(make, path):
    opt = optimizer((0.1,))
    with pytest.raises(SpecError) as info:
        from_oneflow(make(opt))
    assert info.value.path == path, str(info.value)
