"""from_torch / to_torch_native against torch 2.13's own schedulers.

Each example builds the real scheduler on an SGD optimizer with one or two param groups,
steps it three times past its horizon (OneCycleLR: to ``total_steps``, where torch stops),
and compares every group's lr with ``recipe.lr(k)`` (float64: rtol 1e-12). CosineAnnealingLR
steps recursively; its recursion drifts from the closed form by about ``1e-16 * (T_max /
pi)**2`` relative near its restarts, so ``T_max`` stays below 64 here, where that is far
below 1e-12.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import schedcore as sc
from schedcore import SpecError, StepRangeError
from schedcore.port import from_torch, to_torch_native

from .helpers import (
    F64,
    FAST,
    SLOW,
    RefusalTally,
    assert_lr,
    recipe_rows,
    torch_lrs,
    torch_run,
)

L = torch.optim.lr_scheduler
STEPS = st.integers(1, 12)
UNIT = st.sampled_from([0.5, 0.1, 1.0]) | st.floats(0.05, 1.0)
# growth factors: torch runs them; the recipe too, up to the 1e100 multiplier bound (tested
# on its own below). Drawn small enough that the horizons stay below that bound, and that
# torch's recursive rounding, which a growing factor amplifies in a chain (a LinearLR that
# ends at 2.5e-16 instead of 0, times gamma**k), stays within 1e-12 of the peak
GROWTH = st.sampled_from([1.1, 1.25]) | st.floats(1.0, 1.25)


class Factor:
    """A picklable constant factor for MultiplicativeLR (read from ``self.factor``)."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, epoch):
        return self.factor


def optimizer(lrs) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def grown(kind, factor):
    """The label of a scheduler; a growth factor is marked ``^factor`` (see compare)."""
    return f"{kind}^{factor!r}" if factor > 1 else kind


@st.composite
def single(draw, multiplicative: bool = False, restarted: bool = False):
    """``(label, make(optimizer, lrs), horizon)`` for one built-in scheduler. ``restarted``:
    a later child of SequentialLR, restarted from its closed form, which divides by
    ``total_iters`` (so LinearLR and PolynomialLR get at least 1; see
    ``test_sequential_restart_of_total_iters_zero_is_refused``)."""
    low = 1 if restarted else 0
    kinds = ["step", "multistep", "constant", "linear", "exponential", "polynomial", "cosine"]
    if not restarted:  # restarted, it multiplies the lr the previous child left (refused)
        kinds += ["multiplicative"]
    if not multiplicative:
        kinds += ["warm_restarts", "cyclic", "onecycle"]
    kind = draw(st.sampled_from(kinds))
    if kind == "multiplicative":
        factor = draw(UNIT | st.just(0.0) | GROWTH)
        fn = Factor(factor) if draw(st.booleans()) else eval(f"lambda epoch: {factor!r}")
        return grown(kind, factor), lambda o, lrs: L.MultiplicativeLR(o, fn), 10
    if kind == "step":
        size, gamma = draw(STEPS), draw(UNIT | st.just(0.0) | GROWTH)
        return grown(kind, gamma), lambda o, lrs: L.StepLR(o, size, gamma), 4 * size
    if kind == "multistep":
        ms = sorted(draw(st.lists(st.integers(0, 20), min_size=1, max_size=4)))
        gamma = draw(UNIT | st.floats(1.0, 2.0))
        return kind, lambda o, lrs: L.MultiStepLR(o, ms, gamma), max(ms) + 2
    if kind == "constant":
        factor, total = draw(UNIT | st.just(0.0)), draw(st.integers(0, 12))
        return kind, lambda o, lrs: L.ConstantLR(o, factor, total), total + 2
    if kind == "linear":
        a, b, total = draw(UNIT), draw(UNIT | st.just(0.0)), draw(st.integers(low, 12))
        return kind, lambda o, lrs: L.LinearLR(o, a, b, total), total + 2
    if kind == "exponential":
        gamma = draw(UNIT | GROWTH)
        return grown(kind, gamma), lambda o, lrs: L.ExponentialLR(o, gamma), 10
    if kind == "polynomial":
        total, power = draw(st.integers(low, 12)), draw(st.sampled_from([1.0, 2.0, 0.5, 0.0]))
        return kind, lambda o, lrs: L.PolynomialLR(o, total, power), total + 2
    if kind == "cosine":
        t_max = draw(st.integers(1, 60))
        eta = 0.0 if multiplicative else draw(st.sampled_from([0.0, 1e-3]) | st.floats(0, 0.05))
        return kind, lambda o, lrs: L.CosineAnnealingLR(o, t_max, eta), 2 * t_max + 1
    if kind == "warm_restarts":
        t0, mult, eta = draw(STEPS), draw(st.integers(1, 3)), draw(st.floats(0.0, 0.01))
        return kind, lambda o, lrs: L.CosineAnnealingWarmRestarts(o, t0, mult, eta), t0 * 7
    if kind == "cyclic":
        up, down = draw(STEPS), draw(st.none() | STEPS)
        mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
        low, gamma = draw(st.floats(0.0, 0.9)), draw(st.floats(0.9, 1.0))

        def make(o, lrs):
            return L.CyclicLR(o, [low * x for x in lrs], list(lrs), up, down, mode, gamma)

        return kind, make, 3 * (up + (down or up))
    total = draw(st.integers(8, 60))
    three = draw(st.booleans())
    pct = draw(st.floats(0.15, 0.45 if three else 0.8))
    how = draw(st.sampled_from(["cos", "linear"]))
    div, final = draw(st.floats(2.0, 40.0)), draw(st.floats(1.0, 1e4))

    def one_cycle(o, lrs):
        return L.OneCycleLR(
            o,
            list(lrs),
            total_steps=total,
            pct_start=pct,
            anneal_strategy=how,
            div_factor=div,
            final_div_factor=final,
            three_phase=three,
        )

    return "onecycle", one_cycle, total


ABSOLUTE = ("warm_restarts", "cyclic", "onecycle")


@st.composite
def sequential_of(draw, parts, max_gap):
    """A SequentialLR of the drawn ``parts`` (name, maker, horizon) at drawn milestones."""
    gaps = draw(st.lists(st.integers(0, max_gap), min_size=len(parts) - 1, max_size=len(parts) - 1))
    milestones = list(np.cumsum(gaps).tolist())

    def make(o, lrs):
        return L.SequentialLR(o, [m(o, lrs) for _, m, _ in parts], milestones)

    horizon = (milestones[-1] if milestones else 0) + parts[-1][2]
    return "sequential(" + ",".join(p[0] for p in parts) + ")", make, horizon


@st.composite
def composite(draw, depth: int = 1):
    """A SequentialLR or ChainedScheduler; below ``depth`` 0, children may be composites."""
    kind = draw(st.sampled_from(["sequential", "chained"]))
    if kind == "sequential":
        inner = composite(depth - 1) if depth > 0 else single()
        first = draw(single() | inner) if depth > 0 else draw(single())
        later = single(restarted=True) | inner if depth > 0 else single(restarted=True)
        parts = [first, *draw(st.lists(later, min_size=1, max_size=2))]
        return draw(sequential_of(parts, max_gap=8))
    parts = draw(st.lists(single(multiplicative=True), min_size=1, max_size=3))
    if draw(st.booleans()):  # a child that sets the lr absolutely, last
        parts.append(draw(single().filter(lambda p: p[0] in ABSOLUTE)))

    def chain(o, lrs):
        return L.ChainedScheduler([m(o, lrs) for _, m, _ in parts], optimizer=o)

    return "chained(" + ",".join(p[0] for p in parts) + ")", chain, max(p[2] for p in parts)


@st.composite
def schedulers(draw):
    kind = draw(st.sampled_from(["single", "single", "sequential", "chained", "nested"]))
    if kind == "single":
        return draw(single())
    if kind == "nested":  # composites one or two levels deep
        return draw(composite(depth=draw(st.integers(1, 2))))
    if kind == "sequential":
        parts = [draw(single()), *draw(st.lists(single(restarted=True), min_size=1, max_size=2))]
        return draw(sequential_of(parts, max_gap=15))
    parts = draw(st.lists(single(multiplicative=True), min_size=2, max_size=3))

    def chain(o, lrs):
        return L.ChainedScheduler([m(o, lrs) for _, m, _ in parts], optimizer=o)

    return "chained(" + ",".join(p[0] for p in parts) + ")", chain, max(p[2] for p in parts)


LRS = st.sampled_from([(0.1,), (0.1, 0.03), (1.0, 0.5)])
# documented refusals the strategies reach; "closed form gives": a CyclicLR built after
# another scheduler starts from the other's lr at step 0 (torch's quirk, caught by the
# current-lr check); "must be a number", "positive base lr": a tiny or zero CyclicLR
# base_lr becomes every later scheduler's base lr; "is 1 in a chain stepped": a chained
# CosineAnnealingLR with T_max 1 stepped at step 0 adds its base lr to the others' product;
# "below its eta_min": stepped at step 0 from a base below its floor, torch's lr goes negative
REFUSED = (
    "below its eta_min",
    "is 1 in a chain stepped",
    "stepped at step 0",
    "ChainedScheduler is a product",
    "mix both",
    "closed form gives",
    "must be a number in",
    "positive base lr",
)


TALLY = RefusalTally("from_torch")


@pytest.fixture(scope="module", autouse=True)
def _print_refusals():
    yield
    TALLY.report()


def compare(label, make, horizon, lrs):
    opt = optimizer(lrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sched = make(opt, lrs)
        except (ZeroDivisionError, NotImplementedError):
            # torch cannot build it: a stepped PolynomialLR(0), or a composite restarted at a
            # milestone that the constructions around it reach
            assume(False)
            raise
    TALLY.draw()
    try:
        recipe = from_torch(sched)
    except SpecError as err:
        # documented refusals of composites: a chain mixing a floor or an absolute child
        # mid-chain, a cosine recursion mixing two base lrs, a CyclicLR's tiny base lr
        assert "(" in label and any(w in str(err) for w in REFUSED), (label, str(err))
        reason = next(w for w in REFUSED if w in str(err))
        TALLY.refuse(reason)
        return None
    n = 3 * horizon + 5
    ref, torch_stop = torch_run(sched, opt, n)  # torch raises past OneCycleLR's total_steps
    limit = n
    for k in range(n):
        try:
            recipe.lr(k)
        except StepRangeError:
            limit = k
            break
    end = n if torch_stop is None else torch_stop
    if limit != end:
        # the recipe stops earlier than torch only where it must: a chained
        # CosineAnnealingLR is a product only up to T_max, and a negative lr (OneCycleLR's
        # linear anneal extrapolated one step past its end) has no recipe
        chained_cosine = "chained" in label and "cosine" in label
        assert limit < end and (chained_cosine or (ref[:, limit] < 0).any()), (label, limit)
    if torch_stop is not None and "sequential" in label and "onecycle" not in label:
        assert limit == torch_stop, (label, limit, torch_stop)  # a composite at a milestone
    got = recipe_rows(recipe, limit)
    assert got.shape == (len(lrs), limit)
    growth = [float(g) for g in re.findall(r"\^([0-9.e+-]+)", label)]
    if growth:
        # torch's recursive rounding (a chained LinearLR ending at 2.5e-16 of the lr rather
        # than 0) is multiplied by the growing factors: 1e-14 of the lr times their growth
        slack = 1e-14 * max(lrs) * math.prod(growth) ** np.arange(limit)
        err = np.abs(got - ref[:, :limit])
        assert (err <= F64 * np.abs(ref[:, :limit]) + slack).all(), (label, err.max())
    else:
        assert_lr(got, ref[:, :limit], F64, label, max(lrs))
    return recipe


@SLOW
@given(case=schedulers(), lrs=LRS)
def test_every_scheduler_matches_torch_at_every_step(case, lrs):
    compare(*case, lrs)


@FAST
@given(case=single(), lrs=LRS)
def test_each_builtin_scheduler(case, lrs):
    compare(*case, lrs)


def test_per_group_recipe_has_one_row_per_group_in_order():
    opt = optimizer((0.1, 0.03, 0.2))
    sched = L.CosineAnnealingLR(opt, 10, eta_min=0.01)
    recipe = from_torch(sched)
    assert recipe.lr(np.arange(5)).shape == (3, 5)
    assert [g.params for g in recipe.groups] == [
        ("param_groups.0",),
        ("param_groups.1",),
        ("param_groups.2",),
    ]
    # eta_min is absolute: each group has its own cosine multiplier
    assert recipe.lr(10).tolist() == pytest.approx([0.01, 0.01, 0.01])
    again = sc.load(recipe.to_dict()).bind([f"param_groups.{i}" for i in range(3)])
    np.testing.assert_array_equal(again.lr(np.arange(40)), recipe.lr(np.arange(40)))


def test_stepped_scheduler_gives_the_same_recipe():
    opt = optimizer((0.1, 0.05))
    sched = L.SequentialLR(
        opt, [L.LinearLR(opt, 0.1, 1.0, 5), L.CosineAnnealingLR(opt, 20, 1e-3)], [5]
    )
    fresh = from_torch(sched)
    torch_lrs(sched, opt, 13)  # twelve steps
    assert sched.last_epoch == 12
    stepped = from_torch(sched)
    np.testing.assert_array_equal(stepped.lr(np.arange(60)), fresh.lr(np.arange(60)))
    assert stepped.lr(12).tolist() == pytest.approx([g["lr"] for g in opt.param_groups])


def test_lr_changed_by_hand_is_an_error():
    opt = optimizer((0.1,))
    sched = L.StepLR(opt, 3)
    opt.param_groups[0]["lr"] = 0.5
    with pytest.raises(SpecError) as info:
        from_torch(sched)
    assert info.value.path == "optimizer.param_groups[0].lr"


def test_second_scheduler_on_a_scheduled_optimizer_is_an_error():
    opt = optimizer((0.1,))
    L.LinearLR(opt, 0.5, 1.0, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = L.StepLR(opt, 3)  # starts from the lr LinearLR left: not its closed form
    with pytest.raises(SpecError, match="already had a scheduler"):
        from_torch(sched)


# -- quirks, pinned ---------------------------------------------------------------------------
def test_total_iters_zero_keeps_the_starting_factor():
    """ConstantLR / LinearLR with total_iters=0 step recursively: the factor applied at step 0
    is never undone (the closed form would give 1)."""
    opt = optimizer((1.0,))
    recipe = from_torch(L.ConstantLR(opt, 0.25, total_iters=0))
    assert recipe.lr(1000) == 0.25
    # restarted by SequentialLR at its milestone, the closed form applies instead
    opt = optimizer((1.0,))
    sched = L.SequentialLR(opt, [L.ExponentialLR(opt, 0.5), L.ConstantLR(opt, 0.25, 0)], [3])
    recipe = from_torch(sched)
    assert_lr(recipe.lr(np.arange(10)), torch_lrs(sched, opt, 10)[0], F64)
    assert recipe.lr(9) == 1.0


def test_sequential_restart_of_total_iters_zero_is_refused():
    """torch restarts a later child from its closed form, which divides by total_iters."""
    opt = optimizer((1.0,))
    sched = L.SequentialLR(opt, [L.StepLR(opt, 2), L.LinearLR(opt, 0.5, 1.0, 0)], [3])
    with pytest.raises(SpecError) as info:
        from_torch(sched)
    assert info.value.path == "scheduler._schedulers[1].total_iters"
    with pytest.raises(ZeroDivisionError):
        torch_lrs(sched, opt, 5)


def test_nested_sequential_runs_one_step_ahead():
    """torch steps a nested SequentialLR once more when the outer one starts it: its
    milestone 3 falls at step 2, and its first child is stepped (not initialized) at step 0,
    so an ExponentialLR there applies gamma once more."""
    opt = optimizer((1.0,))
    inner = L.SequentialLR(opt, [L.ExponentialLR(opt, 0.5), L.ConstantLR(opt, 0.2, 100)], [3])
    sched = L.SequentialLR(opt, [inner, L.StepLR(opt, 4, 0.5)], [7])
    recipe = from_torch(sched)
    ref = torch_lrs(sched, opt, 30)[0]
    assert ref[:3].tolist() == [0.5, 0.25, 0.2] and ref[7] == 1.0
    assert_lr(recipe.lr(np.arange(30)), ref, F64)


@pytest.mark.parametrize(
    "make",
    [
        # two levels deep: the innermost clock runs two steps ahead (milestone 5 at step 3)
        lambda o: L.SequentialLR(
            o,
            [
                L.SequentialLR(
                    o,
                    [
                        L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.StepLR(o, 3)], [5]),
                        L.LinearLR(o, 0.5, 1.0, 4),
                    ],
                    [6],
                )
            ],
            [],
        ),
        # a ChainedScheduler two levels deep
        lambda o: L.SequentialLR(
            o,
            [
                L.SequentialLR(
                    o,
                    [
                        L.ChainedScheduler([L.ExponentialLR(o, 0.9), L.StepLR(o, 3, 0.5)]),
                        L.LinearLR(o, 0.5, 1.0, 4),
                    ],
                    [6],
                ),
                L.ConstantLR(o, 0.5, 3),
            ],
            [9],
        ),
        # a milestone reached while torch builds the composites (2 levels: at 2)
        lambda o: L.SequentialLR(
            o,
            [
                L.SequentialLR(
                    o, [L.SequentialLR(o, [L.StepLR(o, 2), L.ExponentialLR(o, 0.8)], [2])], []
                )
            ],
            [],
        ),
        # a cosine stepped at step 0 by nested composites: scaled up to T_max, then the wave
        lambda o: L.SequentialLR(
            o, [L.SequentialLR(o, [L.CosineAnnealingLR(o, 5), L.StepLR(o, 2)], [8])], []
        ),
        lambda o: L.SequentialLR(o, [L.SequentialLR(o, [L.CosineAnnealingLR(o, 7, 0.01)], [])], []),
        lambda o: L.SequentialLR(o, [L.SequentialLR(o, [L.CosineAnnealingLR(o, 1, 0.01)], [])], []),
        lambda o: L.SequentialLR(
            o,
            [L.SequentialLR(o, [L.SequentialLR(o, [L.CosineAnnealingLR(o, 7, 0.02)], [])], [])],
            [],
        ),
    ],
)
def test_nested_composites_two_levels_deep_and_stepped_cosines(make):
    opt = optimizer((0.1, 0.03))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
    recipe = from_torch(sched)
    ref = torch_lrs(sched, opt, 40)
    assert_lr(recipe_rows(recipe, 40), ref, F64)


def test_stepped_cosine_in_a_chain_holds_to_t_max():
    """Stepped at step 0, a chained cosine's product holds up to T_max (then torch's additive
    branch drops the other factors): the recipe raises after T_max."""
    opt = optimizer((0.1,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chain = L.ChainedScheduler([L.CosineAnnealingLR(opt, 6), L.ExponentialLR(opt, 0.9)])
        sched = L.SequentialLR(opt, [L.SequentialLR(opt, [chain], [])], [])
    recipe = from_torch(sched)
    ref = torch_lrs(sched, opt, 20)[0]
    assert_lr(recipe.lr(np.arange(7)), ref[:7], F64)
    with pytest.raises(StepRangeError):
        recipe.lr(7)
    assert ref[7] > 0  # torch goes on, with the additive restart


@pytest.mark.parametrize(
    "make, last",
    [
        (lambda o: L.ExponentialLR(o, 10.0), 100),
        (lambda o: L.StepLR(o, 3, 10.0), 302),
        (lambda o: L.MultiplicativeLR(o, Factor(10.0)), 100),
        (lambda o: L.MultiplicativeLR(o, lambda epoch: 1.5), 567),
        # a chain shares the bound: just under 10 ** 50 each
        (lambda o: L.ChainedScheduler([L.ExponentialLR(o, 10.0), L.StepLR(o, 1, 10.0)]), 49),
    ],
)
def test_growth_factors_run_up_to_the_multiplier_bound(make, last):
    """torch runs a growth factor above 1 until its float overflows; the recipe reproduces it
    while the multiplier stays at most 1e100 (the largest a node holds), then raises."""
    opt = optimizer((1.0,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
    recipe = from_torch(sched)
    ref = torch_lrs(sched, opt, last + 2)[0]
    assert_lr(recipe.lr(np.arange(last + 1)), ref[: last + 1], 1e-11)
    assert np.isfinite(ref[last + 1])
    with pytest.raises(StepRangeError):
        recipe.lr(last + 1)


def test_nested_composite_at_a_later_milestone_raises_there():
    """torch cannot restart a composite at its milestone (NotImplementedError there): the
    recipe runs up to it and raises StepRangeError at it."""
    opt = optimizer((0.1,))
    inner = L.SequentialLR(opt, [L.StepLR(opt, 3)], [])
    sched = L.SequentialLR(opt, [L.StepLR(opt, 2), inner], [4])
    recipe = from_torch(sched)
    ref, stop = torch_run(sched, opt, 10)
    assert stop == 4
    assert_lr(recipe.lr(np.arange(4)), ref[0], F64)
    with pytest.raises(StepRangeError):
        recipe.lr(4)


def test_chained_scheduler_ending_with_an_absolute_child_is_that_child():
    """CosineAnnealingWarmRestarts sets the lr from its base lr after the others stepped."""
    opt = optimizer((0.1, 0.03))
    warm = L.CosineAnnealingWarmRestarts
    sched = L.ChainedScheduler([L.StepLR(opt, 3, 0.5), warm(opt, 4, 2, 1e-3)], optimizer=opt)
    recipe = from_torch(sched)
    assert_lr(recipe_rows(recipe, 40), torch_lrs(sched, opt, 40), F64)
    # alone in a chain, a floor eta_min is the cosine's own
    opt = optimizer((0.1,))
    sched = L.ChainedScheduler([L.CosineAnnealingLR(opt, 6, 0.01)])
    assert_lr(from_torch(sched).lr(np.arange(30)), torch_lrs(sched, opt, 30)[0], F64)


@pytest.mark.parametrize("fn", [lambda epoch: 0.9, Factor(0.9)], ids=["literal", "object"])
def test_multiplicative_constant_factor_is_read_without_calling_it(fn):
    calls = []

    class Spy(Factor):
        def __getattribute__(self, name):
            calls.append(name)
            return object.__getattribute__(self, name)

    opt = optimizer((0.1,))
    sched = L.MultiplicativeLR(opt, fn)
    recipe = from_torch(sched)
    assert_lr(recipe.lr(np.arange(20)), torch_lrs(sched, opt, 20)[0], F64)
    with pytest.raises(SpecError, match="constant factor"):
        from_torch(L.MultiplicativeLR(optimizer((0.1,)), Spy(0.9)))
    assert "factor" not in calls  # its custom attribute lookup is user code: never run


def test_cosine_annealing_is_periodic_past_t_max():
    opt = optimizer((1.0,))
    recipe = from_torch(L.CosineAnnealingLR(opt, 10))
    assert recipe.lr(20) == pytest.approx(1.0) and recipe.lr(10) == pytest.approx(0.0)


def test_onecycle_extrapolates_one_step_then_raises():
    opt = optimizer((1.0,))
    sched = L.OneCycleLR(opt, 1.0, total_steps=20)
    recipe = from_torch(sched)
    ref = torch_lrs(sched, opt, 21)[0]  # the 21st value is total_steps: extrapolated
    assert ref[20] > ref[19]
    assert_lr(recipe.lr(np.arange(21)), ref, F64)
    with pytest.raises(ValueError, match="Tried to step"):
        sched.step()
    with pytest.raises(StepRangeError):
        recipe.lr(21)


def test_constant_factor_zero_raises_where_torch_divides_by_it():
    opt = optimizer((1.0,))
    sched = L.ConstantLR(opt, 0.0, total_iters=3)
    recipe = from_torch(sched)
    assert recipe.lr(2) == 0.0
    with pytest.raises(ZeroDivisionError):
        torch_lrs(sched, opt, 5)
    with pytest.raises(StepRangeError):
        recipe.lr(3)


def test_chained_cosine_is_a_product_up_to_t_max():
    opt = optimizer((1.0,))
    sched = L.ChainedScheduler([L.ExponentialLR(opt, 0.9), L.CosineAnnealingLR(opt, 10)])
    recipe = from_torch(sched)
    ref = torch_lrs(sched, opt, 14)[0]
    assert_lr(recipe.lr(np.arange(11)), ref[:11], F64)
    # torch's recursion restarts the cosine additively at T_max + 1 (from its own base lr),
    # dropping the exponential's 0.9 ** 11 (applied before it in the chain)
    assert ref[11] == pytest.approx(0.5 * (1 - math.cos(math.pi / 10)))
    assert ref[11] != pytest.approx(0.5 * (1 - math.cos(math.pi / 10)) * 0.9**11)
    with pytest.raises(StepRangeError):
        recipe.lr(11)


# -- refusals --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, path, words",
    [
        (lambda o: L.ReduceLROnPlateau(o), "scheduler", "metric"),
        (
            lambda o: L.MultiplicativeLR(o, lambda k: 0.9 if k < 3 else 1.0),
            "scheduler.lr_lambdas[0]",
            "arbitrary function",
        ),
        (
            lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.MultiplicativeLR(o, Factor(0.9))], [3]),
            "scheduler._schedulers[1]",
            "previous scheduler left",
        ),
        (lambda o: L.LambdaLR(o, lambda k: 0.9**k), "scheduler.lr_lambdas[0]", "arbitrary"),
        (
            lambda o: L.CyclicLR(o, 0.01, 0.1, 4, scale_fn=lambda x: 1.0),
            "scheduler.scale_fn",
            "arbitrary",
        ),
        (
            # an absolute child is read last only: the children after it apply ratios
            lambda o: L.ChainedScheduler([L.OneCycleLR(o, 0.1, total_steps=9), L.StepLR(o, 2)]),
            "scheduler._schedulers[0]",
            "multiplicative",
        ),
        (
            lambda o: L.ChainedScheduler([L.CosineAnnealingLR(o, 9, 0.01), L.StepLR(o, 2)]),
            "scheduler._schedulers[0]",
            "eta_min",
        ),
        # torch runs degenerate OneCycleLR phases (a first phase ending below 0, a three-phase
        # second phase ending past total_steps - 1); schedcore's onecycle cannot
        (
            lambda o: L.OneCycleLR(o, 1.0, total_steps=5, pct_start=0.1),
            "scheduler.pct_start",
            "0.1",
        ),
        (lambda o: L.OneCycleLR(o, 1.0, total_steps=10, pct_start=0.0), "scheduler.pct_start", "0"),
        (
            lambda o: L.OneCycleLR(o, 1.0, total_steps=17, pct_start=0.9, three_phase=True),
            "scheduler.pct_start",
            "(total_steps + 1) / 2",
        ),
    ],
)
def test_refusals_name_the_object(make, path, words):
    opt = optimizer((0.1,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
    with pytest.raises(SpecError) as info:
        from_torch(sched)
    assert info.value.path == path, str(info.value)
    assert words in str(info.value)


def test_not_a_torch_scheduler():
    with pytest.raises(SpecError, match="from_torch reads torch"):
        from_torch(object())


# -- export ------------------------------------------------------------------------------------
NATIVE = [
    {"type": "constant", "value": 0.5},
    {"type": "linear", "steps": 10, "start": 0.2, "end": 0.9},
    {"type": "step", "every": 4, "gamma": 0.5},
    {"type": "multistep", "milestones": [3, 7, 7], "gamma": 0.3},
    {"type": "exponential", "rate": 0.9},
    {"type": "exponential", "rate": 0.5, "every": 3, "staircase": True},
    {"type": "polynomial", "steps": 12, "power": 2.0},
    {"type": "piecewise_constant", "boundaries": [5], "values": [0.3, 1.0]},
    {"type": "cosine", "steps": 12, "end": 0.1, "after": "periodic"},
    {"type": "cosine", "steps": 12, "end": 0.1},
    {"type": "sgdr", "period": 4, "t_mul": 2, "end": 0.05},
    {"type": "cyclic", "low": 0.1, "high": 1.0, "up": 3, "down": 5, "mode": "triangular2"},
    {"type": "onecycle", "steps": 30, "after": "error"},
    {
        "type": "warmup",
        "steps": 5,
        "start_factor": 0.1,
        "schedule": {"type": "cosine", "steps": 20},
    },
    {
        "type": "sequence",
        "phases": [
            {"schedule": {"type": "constant", "value": 0.5}, "steps": 4},
            {"schedule": {"type": "exponential", "rate": 0.8}},
        ],
    },
    {
        "type": "product",
        "schedules": [
            {"type": "step", "every": 5, "gamma": 0.5},
            {"type": "linear", "steps": 8, "start": 0.5, "end": 1.0},
        ],
    },
]


@pytest.mark.parametrize("schedule", NATIVE, ids=lambda d: d["type"])
@pytest.mark.parametrize("lrs", [(0.1,), (0.2, 0.2)])
def test_native_export_runs_the_recipe(schedule, lrs):
    recipe = sc.load({"lr": lrs[0], "schedule": schedule})
    opt = optimizer(lrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = to_torch_native(recipe, opt)
    n = 29 if schedule["type"] == "onecycle" else 60
    ref = torch_lrs(sched, opt, n)
    for row in ref:
        assert_lr(row, recipe.lr(np.arange(n)), F64, schedule["type"])
    again = from_torch(sched)  # and back: the same lr at every step
    assert_lr(recipe_rows(again, n)[0], recipe.lr(np.arange(n)), F64)


def test_native_export_of_a_chained_cosine_holds_only_to_t_max():
    """A cosine factor of a product exports only as a half wave with after = 'error': past
    T_max torch's recursion restarts it additively, dropping the other factors."""
    opt = optimizer((0.1,))
    recipe = from_torch(L.ChainedScheduler([L.CosineAnnealingLR(opt, 5), L.StepLR(opt, 2, 0.5)]))
    fresh = optimizer((0.1,))
    sched = to_torch_native(recipe, fresh)
    assert type(sched).__name__ == "ChainedScheduler"
    assert_lr(torch_lrs(sched, fresh, 6)[0], recipe.lr(np.arange(6)), F64)
    periodic = sc.load(
        {
            "lr": 0.1,
            "schedule": {
                "type": "product",
                "schedules": [
                    {"type": "cosine", "steps": 5, "after": "periodic"},
                    {"type": "step", "every": 3, "gamma": 0.5},
                ],
            },
        }
    )
    with pytest.raises(SpecError, match="T_max") as info:
        to_torch_native(periodic, optimizer((0.1,)))
    assert info.value.path == "schedule.schedules[0].after"


@pytest.mark.parametrize(
    "schedule, words",
    [
        ({"type": "warmup", "steps": 5, "schedule": {"type": "constant"}}, "exactly 0"),
        (
            {"type": "piecewise_constant", "boundaries": [3], "values": [0.0, 1.0]},
            "ZeroDivisionError",
        ),
        ({"type": "noam", "d_model": 8, "warmup": 4}, "no exact native torch scheduler"),
        ({"type": "cosine", "steps": 10, "exponent": 2.0}, "no exact native"),
    ],
)
def test_native_export_refusals(schedule, words):
    recipe = sc.load({"lr": 0.1, "schedule": schedule})
    with pytest.raises(SpecError, match=words):
        to_torch_native(recipe, optimizer((0.1,)))
