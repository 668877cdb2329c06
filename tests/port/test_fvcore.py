"""from_fvcore against the real fvcore ParamSchedulers (fvcore is installed here).

detectron2's LRMultiplier applies ``lr * scheduler(k / max_iter)`` at update ``k``; every
step up to past ``max_iter`` is compared, and where fvcore raises the recipe must too.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedcore import SpecError, StepRangeError
from schedcore.port import from_detectron2, from_fvcore

from .helpers import F64, RefusalTally, assert_lr

ps = pytest.importorskip("fvcore.common.param_scheduler")

TALLY = RefusalTally("from_fvcore")

values = st.sampled_from([0.0, 0.001, 0.1, 0.5, 1.0, 2.0])
positive = st.sampled_from([0.001, 0.1, 0.5, 1.0, 2.0])


@st.composite
def leaves(draw, total):
    kind = draw(st.sampled_from(["const", "cos", "lin", "exp", "poly", "multi", "step", "gamma"]))
    if kind == "const":
        return ps.ConstantParamScheduler(draw(values))
    if kind == "cos":
        return ps.CosineParamScheduler(draw(values), draw(values))
    if kind == "lin":
        return ps.LinearParamScheduler(draw(values), draw(values))
    if kind == "exp":
        decay = draw(st.sampled_from([0.02, 0.5, 2.0]))
        return ps.ExponentialParamScheduler(draw(positive), decay)
    if kind == "poly":
        return ps.PolynomialDecayParamScheduler(draw(positive), draw(st.sampled_from([0.5, 1, 2])))
    if kind == "multi":
        n = draw(st.integers(1, 4))
        num = draw(st.integers(n + 1, 60))
        marks = sorted(draw(st.sets(st.integers(1, num - 1), min_size=n - 1, max_size=n - 1)))
        vals = draw(st.lists(values, min_size=n, max_size=n))
        if draw(st.booleans()):
            try:  # fvcore splits num_updates evenly (its constructor may refuse the split)
                return ps.MultiStepParamScheduler(vals, num_updates=num)
            except ValueError:
                pass
        return ps.MultiStepParamScheduler(vals, num_updates=num, milestones=marks)
    if kind == "step":
        return ps.StepParamScheduler(total, draw(st.lists(values, min_size=1, max_size=5)))
    return ps.StepWithFixedGammaParamScheduler(
        draw(positive), draw(st.integers(1, 4)), draw(st.sampled_from([0.1, 0.5])), total
    )


@st.composite
def schedulers(draw, total, depth=2):
    if depth == 0 or draw(st.booleans()):
        return draw(leaves(total))
    n = draw(st.integers(1, 3))
    cuts = sorted(draw(st.sets(st.integers(1, 9), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts, 10]
    lengths = [(b - a) / 10 for a, b in itertools.pairwise(bounds)]
    children = [draw(schedulers(total, depth - 1)) for _ in range(n)]
    scaling = draw(st.lists(st.sampled_from(["rescaled", "fixed"]), min_size=n, max_size=n))
    return ps.CompositeParamScheduler(children, lengths, scaling)


def polynomials(s):
    """``(base, power)`` of every polynomial piece in ``s``, read from its attributes."""
    if isinstance(s, ps.PolynomialDecayParamScheduler):
        yield s._base_value, s._power
    for child in getattr(s, "_schedulers", ()):
        yield from polynomials(child)


def fvcore_values(scheduler, total, n):
    out = []
    for k in range(n):
        try:
            v = scheduler(k / total)
        except (RuntimeError, IndexError):
            return out, k
        if isinstance(v, complex):  # a fractional power of a negative base: no lr
            return out, k
        out.append(v)
    return out, None


@pytest.fixture(scope="module", autouse=True)
def _print_refusals():
    yield
    TALLY.report()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), total=st.sampled_from([1, 7, 10, 20, 30, 50, 100]))
def test_from_fvcore_matches_fvcore(data, total):
    scheduler = data.draw(schedulers(total))
    TALLY.draw()
    try:
        recipe = from_fvcore(scheduler, total, lr=0.5)
    except SpecError as e:
        where = re.sub(r"\[\d+\]", "[i]", e.path)
        reason = where + ": " + re.sub(r"\[\d+\]|\d+(\.\d+)?(e-?\d+)?", "#", e.problem)[:70]
        TALLY.refuse(reason)
        return
    n = 2 * total + 3
    ref, fails = fvcore_values(scheduler, total, n)
    got_n = len(ref)  # fvcore raises at `fails`; the recipe stops there or earlier
    ks = np.arange(got_n)
    try:
        lrs = recipe.lr(ks)
    except StepRangeError:
        # the recipe stops where a linear / exponential / polynomial piece passes where 1
        ok = 0
        while ok < got_n:
            try:
                recipe.lr(ok)
            except StepRangeError:
                break
            ok += 1
        assert ok == min(total + 1, got_n), (ok, total)
        ks = np.arange(ok)
        lrs = recipe.lr(ks)
        ref = ref[:ok]
    want = np.array([0.5 * v for v in ref], dtype=np.float64)
    # exact pieces: relative 1e-12. fvcore rescales `where` in float, so at a piece's end
    # (where' = 1, reached at k = total only) a polynomial of power p < 1 gives base * delta**p
    # for a residue delta <= 1e-14 where the recipe gives 0: the bound docs/porting.md states
    off = ~np.isclose(lrs, want, rtol=F64, atol=F64 * 0.5)
    assert set(np.flatnonzero(off)) <= {total}, (np.flatnonzero(off), repr(scheduler))
    if off.any():
        bound = max((0.5 * b * 1e-14**p for b, p in polynomials(scheduler) if p < 1), default=0.0)
        assert abs(lrs[total] - want[total]) <= bound, (lrs[total], want[total], bound)
    if fails is not None:
        with pytest.raises(StepRangeError):
            recipe.lr(fails)


def test_detectron2_style_warmup_composite():
    total = 1000
    cos = ps.CosineParamScheduler(1.0, 0.0)
    warm = ps.CompositeParamScheduler(
        [ps.LinearParamScheduler(0.001, cos(0.01)), cos], [0.01, 0.99], ["rescaled", "fixed"]
    )
    recipe = from_fvcore(warm, total, lr=0.02)
    ks = np.arange(total + 5)
    assert_lr(recipe.lr(ks), [0.02 * warm(k / total) for k in ks], F64)


def test_multistep_raises_past_max_iter_as_fvcore():
    s = ps.MultiStepParamScheduler([1.0, 0.1, 0.01], num_updates=90, milestones=[30, 60])
    recipe = from_fvcore(s, 90)
    assert_lr(recipe.lr(np.arange(91)), [s(k / 90) for k in range(91)], F64)
    with pytest.raises(RuntimeError):
        s(91 / 90)
    with pytest.raises(StepRangeError):
        recipe.lr(91)


def test_from_fvcore_refuses_other_objects():
    with pytest.raises(SpecError) as info:
        from_fvcore(object(), 10)
    assert info.value.path == "scheduler"


class WarmupParamScheduler(ps.CompositeParamScheduler):
    """detectron2's (detectron2/solver/lr_scheduler.py, main): a Composite subclass that only
    changes the constructor."""

    def __init__(
        self,
        scheduler,
        warmup_factor,
        warmup_length,
        warmup_method="linear",
        rescale_interval=False,
    ):
        start = warmup_factor * scheduler(0.0)
        end = scheduler(0.0) if rescale_interval else scheduler(warmup_length)
        warmup = (
            ps.ConstantParamScheduler(start)
            if warmup_method == "constant"
            else ps.LinearParamScheduler(start, end)
        )
        super().__init__(
            [warmup, scheduler],
            interval_scaling=["rescaled", "rescaled" if rescale_interval else "fixed"],
            lengths=[warmup_length, 1 - warmup_length],
        )


@pytest.mark.parametrize("rescale", [False, True])
def test_detectron2_lazyconfig_lr_multiplier(rescale):
    """A LazyConfig's instantiated lr_multiplier, read by from_detectron2 through from_fvcore."""
    sched = WarmupParamScheduler(
        ps.MultiStepParamScheduler([1.0, 0.1, 0.01], milestones=[600, 800], num_updates=900),
        0.001,
        100 / 900,
        rescale_interval=rescale,
    )
    cfg = {"lr_multiplier": sched, "train": {"max_iter": 900}, "optimizer": {"lr": 0.02}}
    recipe = from_detectron2(cfg)
    ks = np.arange(901)
    assert_lr(recipe.lr(ks), [0.02 * sched(k / 900) for k in ks], F64)
    with pytest.raises(StepRangeError):
        recipe.lr(901)  # MultiStep raises past where = 1
    with pytest.raises(SpecError) as info:
        from_detectron2({**cfg, "lr_multiplier": {"_target_": "WarmupParamScheduler"}})
    assert info.value.path == "lr_multiplier"


def test_a_subclass_that_overrides_call_is_refused():
    class Mine(ps.CosineParamScheduler):
        def __call__(self, where):
            return 0.5

    with pytest.raises(SpecError) as info:
        from_fvcore(Mine(1.0, 0.0), 10)
    assert info.value.path == "scheduler"


def test_a_piece_between_updates_is_refused_naming_the_lengths():
    cos = ps.CosineParamScheduler(1.0, 0.0)
    sched = ps.CompositeParamScheduler(
        [ps.ConstantParamScheduler(1.0), cos], [0.3, 0.7], ["rescaled", "rescaled"]
    )
    with pytest.raises(SpecError) as info:
        from_fvcore(sched, 7)  # the cosine starts at update 2.1
    assert info.value.path == "scheduler.lengths[1]"
    from_fvcore(sched, 10)  # 3 and 7 updates: read


def test_polynomial_residue_at_the_last_step_is_within_the_stated_bound():
    """fvcore rescales into the last piece by ``(where - start) / length`` with ``start`` a
    float sum minus a length. At max_iter a power-0.5 polynomial gives the square root of the
    residue (1.5e-8 for lengths 0.1, 0.7, 0.2) where the recipe gives 0, within the stated
    bound; or, when ``where'`` rounds above 1 (0.1, 0.6, 0.3), a complex number, where the
    recipe raises; or exactly 0 (0.5, 0.5)."""
    seen = set()
    poly = ps.PolynomialDecayParamScheduler(1.0, 0.5)
    const = ps.ConstantParamScheduler(1.0)
    for lengths in ([0.1, 0.6, 0.3], [0.1, 0.7, 0.2], [0.5, 0.5]):
        sched = ps.CompositeParamScheduler(
            [const] * (len(lengths) - 1) + [poly], list(lengths), ["rescaled"] * len(lengths)
        )
        recipe = from_fvcore(sched, 10)
        ks = np.arange(10)
        assert_lr(recipe.lr(ks), [sched(k / 10) for k in ks], F64)
        end = sched(1.0)
        seen.add("complex" if isinstance(end, complex) else "residue" if end else "exact")
        if isinstance(end, complex):
            with pytest.raises(StepRangeError):
                recipe.lr(10)
        else:
            assert recipe.lr(10) == 0.0 and 0 <= end <= 1e-14**0.5
    assert seen == {"complex", "residue", "exact"}


def test_a_cosine_piece_the_margin_starts_early():
    """Past 10**6 updates fvcore's 1e-6 margin switches pieces up to a few updates early: a
    rescaled cosine then sees a negative where' (even, so the recipe mirrors its start)."""
    total = 3_000_000
    sched = ps.CompositeParamScheduler(
        [ps.LinearParamScheduler(0.0, 1.0), ps.CosineParamScheduler(1.0, 0.1)],
        [0.1, 0.9],
        ["rescaled", "rescaled"],
    )
    recipe = from_fvcore(sched, total)
    ks = np.concatenate([np.arange(299_990, 300_010), np.arange(total - 5, total + 1)])
    want = [sched(k / total) for k in ks]
    assert want[8] == want[12] < 1.0 == want[10]  # 299998 mirrors 300002 about the start
    assert_lr(recipe.lr(ks), want, F64)
