"""from_optax against optax 0.2.8's schedule builders (jax on the CPU).

Each example calls the real builder, evaluates it with ``jax.vmap`` at every step up to past
three horizons, and compares with ``recipe.lr(k)``; optax computes in float32 (rtol 1e-6,
plus one float32 ulp of the peak for values that cancel near 0).
"""

from __future__ import annotations

from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedcore import SpecError, StepRangeError
from schedcore.port import from_optax, to_optax

from .helpers import F32, FAST, assert_lr

VALUE = st.sampled_from([0.0, 1e-3, 0.1, 1.0]) | st.floats(1e-4, 2.0)
POSITIVE = st.sampled_from([1e-3, 0.1, 1.0]) | st.floats(1e-4, 2.0)
STEPS = st.integers(1, 30)
BEGIN = st.integers(-3, 15)


def optax_values(schedule, n: int) -> np.ndarray:
    values = np.asarray(jax.vmap(schedule)(jnp.arange(n)))
    return values.astype(np.float64)


def build(name: str, kwargs: dict):
    """The optax schedule (join_schedules' parts are (name, kwargs) pairs here too)."""
    if name == "join_schedules":
        parts = [build(n, k) for n, k in kwargs["schedules"]]
        return optax.join_schedules(parts, kwargs["boundaries"])
    return getattr(optax, name)(**kwargs)


def scales(draw, low: int) -> dict:
    keys = draw(st.lists(st.integers(low, 40), max_size=4, unique=True))
    return {k: draw(st.sampled_from([0.5, 0.1, 2.0]) | st.floats(0.0, 3.0)) for k in keys}


@st.composite
def builders(draw, allow_join: bool = True):
    """``(name, kwargs, horizon)`` for every builder schedcore reads."""
    names = [
        "constant_schedule",
        "polynomial_schedule",
        "linear_schedule",
        "piecewise_constant_schedule",
        "exponential_decay",
        "cosine_decay_schedule",
        "warmup_cosine_decay_schedule",
        "warmup_exponential_decay_schedule",
        "piecewise_interpolate_schedule",
        "linear_onecycle_schedule",
        "cosine_onecycle_schedule",
        "sgdr_schedule",
    ]
    if allow_join:
        names.append("join_schedules")
    name = draw(st.sampled_from(names))
    if name == "constant_schedule":
        return name, {"value": draw(VALUE)}, 5
    if name in ("polynomial_schedule", "linear_schedule"):
        kw = {
            "init_value": draw(VALUE),
            "end_value": draw(VALUE),
            "transition_steps": draw(st.integers(-2, 30)),
        }
        if draw(st.booleans()):
            kw["transition_begin"] = draw(BEGIN)
        if name == "polynomial_schedule":
            kw["power"] = draw(st.sampled_from([1, 2.0, 0.5]) | st.floats(0.0, 3.0))
        return name, kw, max(kw["transition_steps"], 1) + max(kw.get("transition_begin", 0), 0)
    if name == "piecewise_constant_schedule":
        return name, {"init_value": draw(VALUE), "boundaries_and_scales": scales(draw, -3)}, 42
    if name == "exponential_decay":
        kw = {
            "init_value": draw(VALUE),
            "transition_steps": draw(st.integers(-1, 20)),
            "decay_rate": draw(
                st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]) | st.floats(0.05, 1.0)
                | st.floats(1.0, 3.0)
            ),
            "staircase": draw(st.booleans()),
        }
        if draw(st.booleans()):
            kw["transition_begin"] = draw(BEGIN)
        if draw(st.booleans()) or kw["decay_rate"] > 1:  # a growth needs its cap
            kw["end_value"] = draw(VALUE)
        return name, kw, 40
    if name == "cosine_decay_schedule":
        return (
            name,
            {
                "init_value": draw(VALUE),
                "decay_steps": draw(STEPS),
                "alpha": draw(st.floats(0.0, 1.0)),
                "exponent": draw(st.sampled_from([1.0, 2.0]) | st.floats(0.5, 3.0)),
            },
            30,
        )
    if name == "warmup_cosine_decay_schedule":
        w = draw(st.integers(0, 15))
        return (
            name,
            {
                "init_value": draw(VALUE),
                "peak_value": draw(POSITIVE),
                "warmup_steps": w,
                "decay_steps": w + draw(STEPS),
                "end_value": draw(VALUE) / 4,
                "exponent": draw(st.sampled_from([1.0, 2.0])),
            },
            w + 30,
        )
    if name == "warmup_exponential_decay_schedule":
        w = draw(st.integers(0, 15))
        kw = {
            "init_value": draw(VALUE),
            "peak_value": draw(POSITIVE),
            "warmup_steps": w,
            "transition_steps": draw(STEPS),
            "decay_rate": draw(st.floats(0.1, 1.0)),
            "transition_begin": draw(st.integers(0, 5)),
            "staircase": draw(st.booleans()),
        }
        if draw(st.booleans()):
            kw["end_value"] = draw(VALUE) / 4
        return name, kw, w + 40
    if name == "piecewise_interpolate_schedule":
        return (
            name,
            {
                "interpolate_type": draw(st.sampled_from(["linear", "cosine"])),
                "init_value": draw(VALUE),
                "boundaries_and_scales": scales(draw, 0),
            },
            42,
        )
    if name in ("linear_onecycle_schedule", "cosine_onecycle_schedule"):
        kw = {
            "transition_steps": draw(st.integers(1, 60)),
            "peak_value": draw(POSITIVE),
            "pct_start": draw(st.floats(0.05, 0.5)),
            "div_factor": draw(st.floats(2.0, 40.0)),
            "final_div_factor": draw(st.floats(1.0, 1e4)),
        }
        if name == "linear_onecycle_schedule":
            kw["pct_final"] = draw(st.floats(0.5, 0.95))
        return name, kw, kw["transition_steps"]
    if name == "sgdr_schedule":
        parts = []
        for _ in range(draw(st.integers(1, 3))):
            w = draw(st.integers(0, 5))
            parts.append(
                {
                    "init_value": draw(VALUE),
                    "peak_value": draw(POSITIVE),
                    "warmup_steps": w,
                    "decay_steps": w + draw(STEPS),
                }
            )
        return name, {"cosine_kwargs": parts}, sum(p["decay_steps"] for p in parts)
    parts = draw(st.lists(builders(allow_join=False), min_size=2, max_size=3))
    bounds = draw(st.lists(st.integers(-2, 30), min_size=len(parts) - 1, max_size=len(parts) - 1))
    if draw(st.booleans()):
        bounds = sorted(bounds)
    kw = {"schedules": [(n, k) for n, k, _ in parts], "boundaries": bounds}
    return name, kw, max([*bounds, 0]) + max(h for _, _, h in parts)


def float32_tolerance(name: str, kwargs: dict, n: int) -> float:
    """F32, or more where optax raises its float32 ``decay_rate`` (relative error up to
    2**-24 from rounding it) to the power ``count / transition_steps``: that rounding error
    grows with the power (0.99999 ** 123 is 1.7e-6 off), the port's float64 rate's does not."""
    if name == "join_schedules":
        return max(float32_tolerance(n_, k_, n) for n_, k_ in kwargs["schedules"])
    if "decay_rate" in kwargs:
        return max(F32, 2.0**-24 * (2 + n / kwargs["transition_steps"]))
    return F32


@FAST
@given(case=builders())
def test_every_builder_matches_optax_at_every_step(case):
    name, kwargs, horizon = case
    n = 3 * horizon + 3
    ref = optax_values(build(name, kwargs), n)
    recipe = from_optax(name, arithmetic="eager", **kwargs)
    rel = float32_tolerance(name, kwargs, n)
    assert_lr(recipe.lr(np.arange(n)), ref, rel, f"{name} {kwargs}")
    # under jit a polynomial's 1 - k * fl(1/n) can be -3e-8 at its end: a fractional power
    # of it is NaN there, and the recipe raises at exactly those steps
    jitted = jit_values(build(name, kwargs), n)
    ok = np.isfinite(jitted)
    jit_recipe = from_optax(name, **kwargs)
    got = jit_recipe.lr(np.arange(n)[ok])
    assert_lr(got, jitted[ok], rel, f"jit {name} {kwargs}", scale=float(np.max(ref, initial=0)))
    for k in np.flatnonzero(~ok)[:3]:
        with pytest.raises(StepRangeError):
            jit_recipe.lr(int(k))


def jit_values(schedule, n: int, first: int = 0) -> np.ndarray:
    """The lrs a jitted optax train step applies at updates ``first .. first + n - 1``:
    ``optax.sgd(schedule)`` on a zero parameter with gradient 1 (the update is ``-lr``,
    exact), its state's count started at ``first``, run by ``lax.scan``."""
    tx = optax.sgd(schedule)
    params = jnp.zeros(())
    state = jax.tree_util.tree_map(
        lambda x: jnp.asarray(first, x.dtype) if x.dtype == jnp.int32 else x, tx.init(params)
    )

    def update(state, _):
        step, state = tx.update(jnp.ones(()), state, params)
        return state, -step

    _, lrs = jax.jit(lambda s: jax.lax.scan(update, s, None, length=n))(state)
    return np.asarray(lrs, dtype=np.float64)


def test_a_jitted_train_step_applies_the_old_stair_at_update_55():
    """``55 * fl(1 / 55) = 0.99999994`` under ``jax.jit``: 1.0 at update 55."""
    schedule = optax.exponential_decay(1.0, 55, 0.5, staircase=True)
    applied = jit_values(schedule, 60)
    assert applied[55] == 1.0 and float(schedule(55)) == 0.5  # jit vs eager
    kwargs = {"init_value": 1.0, "transition_steps": 55, "decay_rate": 0.5, "staircase": True}
    np.testing.assert_array_equal(from_optax("exponential_decay", **kwargs).lr(range(60)), applied)
    assert from_optax("exponential_decay", arithmetic="eager", **kwargs).lr(55) == 0.5


@FAST
@given(
    n=st.integers(1, 300),
    begin=st.integers(0, 5),
    rate=st.sampled_from([0.5, 0.9]) | st.floats(0.05, 0.99),
    warmup=st.integers(0, 3),
)
def test_jitted_staircases_match_at_the_first_20_boundaries(n, begin, rate, warmup):
    kwargs = {"transition_steps": n, "decay_rate": rate, "staircase": True}
    kwargs["transition_begin"] = begin
    name = "exponential_decay"
    if warmup:
        name = "warmup_exponential_decay_schedule"
        kwargs.update(init_value=0.0, peak_value=1.0, warmup_steps=warmup)
    else:
        kwargs["init_value"] = 1.0
    horizon = 20 * n + begin + warmup + 2
    got = from_optax(name, **kwargs).lr(np.arange(horizon))
    assert_lr(got, jit_values(build(name, kwargs), horizon), F32, f"{name} {kwargs}")


def test_jitted_far_boundaries():
    """Off stairs far out: n = 55 at 220 and 5,500,000 (late), n = 3 from 12,582,914
    (early), read from a jitted train step whose count starts there."""
    for n, first in ((55, 218), (55, 5_499_998), (3, 12_582_912), (3, 16_777_212)):
        kwargs = {"init_value": 1.0, "transition_steps": n, "decay_rate": 0.5, "staircase": True}
        kwargs["end_value"] = 1e-30  # keep the values apart from 0 (they clip there)
        steps = np.arange(first, first + 5)
        want = jit_values(build("exponential_decay", kwargs), 5, first)
        got = from_optax("exponential_decay", **kwargs).lr(steps)
        np.testing.assert_allclose(got, want, rtol=F32)


def test_refusal_counts_of_the_strategy(capsys):
    """The share of :func:`builders` draws the importer refuses, by reason (printed for the
    fidelity report); the strategy draws only what optax runs, so each one is a gap."""
    counts: Counter[str] = Counter()

    @settings(max_examples=500, derandomize=True, database=None, deadline=None)
    @given(case=builders())
    def draw(case):
        name, kwargs, _ = case
        try:
            from_optax(name, **kwargs)
            counts["reproduced"] += 1
        except SpecError as err:
            counts[f"refused: {name} {err.path}"] += 1

    draw()
    total = sum(counts.values())
    refused = total - counts["reproduced"]
    with capsys.disabled():
        print(f"\noptax importer: {refused}/{total} draws refused ({refused / total:.1%})")
        for reason, count in counts.most_common():
            print(f"  {count:4d}  {reason}")
    assert refused == 0


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("begin", [0, 4])
def test_exponential_growth_capped_by_end_value(staircase, begin):
    """decay_rate > 1 with end_value: optax grows to the cap and holds it (eager and
    jitted alike); so does the recipe."""
    kw = {
        "init_value": 0.1,
        "transition_steps": 3,
        "decay_rate": 1.7,
        "end_value": 0.8,
        "staircase": staircase,
        "transition_begin": begin,
    }
    schedule = optax.exponential_decay(**kw)
    ref = optax_values(schedule, 60)
    jitted = np.array([float(jax.jit(schedule)(k)) for k in range(60)])
    np.testing.assert_array_equal(ref, jitted)
    recipe = from_optax("exponential_decay", **kw)
    assert_lr(recipe.lr(np.arange(60)), ref, F32, str(kw))
    assert recipe.lr(59) == 0.8 and ref[59] == np.float32(0.8)
    first = int(np.argmax(ref >= np.float32(0.8)))  # the step the cap is reached
    assert recipe.lr(first - 1) < 0.8 and recipe.lr(first) == 0.8
    # a cap below init_value: min(init, end) from step 0
    low = from_optax("exponential_decay", **{**kw, "end_value": 0.05})
    assert_lr(low.lr(np.arange(20)), optax_values(optax.exponential_decay(
        **{**kw, "end_value": 0.05}), 20), F32)  # fmt: skip


def test_join_schedules_gives_later_schedules_a_local_step():
    recipe = from_optax(
        "join_schedules",
        schedules=[
            ("constant_schedule", {"value": 1.0}),
            ("linear_schedule", {"init_value": 1.0, "end_value": 0.0, "transition_steps": 10}),
        ],
        boundaries=[5],
    )
    assert recipe.lr(5) == 1.0 and recipe.lr(10) == pytest.approx(0.5)


def test_warmup_cosine_decay_steps_include_the_warmup():
    recipe = from_optax(
        "warmup_cosine_decay_schedule",
        init_value=0.0,
        peak_value=1.0,
        warmup_steps=10,
        decay_steps=30,
    )
    assert recipe.lr(10) == 1.0 and recipe.lr(30) == 0.0 and recipe.lr(20) == pytest.approx(0.5)


def test_piecewise_constant_changes_at_the_boundary():
    recipe = from_optax(
        "piecewise_constant_schedule", init_value=1.0, boundaries_and_scales={5: 0.5}
    )
    assert recipe.lr(4) == 1.0 and recipe.lr(5) == 0.5


def test_onecycle_boundaries_collide_as_in_optax():
    """transition_steps=3: int(.3*3)=0, int(.85*3)=2, 3: the dict literal keeps them all; with
    transition_steps=1 the second key (0) overwrites the first."""
    for steps in (1, 3):
        kw = {"transition_steps": steps, "peak_value": 1.0}
        ref = optax_values(optax.linear_onecycle_schedule(**kw), 8)
        assert_lr(from_optax("linear_onecycle_schedule", **kw).lr(np.arange(8)), ref, F32)


@pytest.mark.parametrize(
    "name, kwargs, path",
    [
        ("cosine_decay", {"init_value": 1.0}, "builder"),
        ("cosine_decay_schedule", {"init_value": 1.0}, "decay_steps"),
        ("cosine_decay_schedule", {"init_value": 1.0, "decay_steps": 0}, "decay_steps"),
        ("cosine_decay_schedule", {"init_value": 1.0, "decay_steps": 9, "alfa": 0.1}, "alfa"),
        (
            "exponential_decay",
            {"init_value": 1.0, "transition_steps": 9, "decay_rate": 1.5},
            "end_value",
        ),
        (
            "warmup_cosine_decay_schedule",
            {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 10, "decay_steps": 10},
            "decay_steps",
        ),
        (
            "join_schedules",
            {
                "schedules": [
                    ("constant_schedule", {"value": 1.0}),
                    ("constant_schedule", {"valu": 1.0}),
                ],
                "boundaries": [3],
            },
            "schedules[1].valu",
        ),
        (
            "join_schedules",
            {"schedules": [("constant_schedule", {"value": 1.0})], "boundaries": [3]},
            "boundaries",
        ),
    ],
)
def test_errors_name_the_argument(name, kwargs, path):
    with pytest.raises(SpecError) as info:
        from_optax(name, **kwargs)
    assert info.value.path == path, str(info.value)


# -- issue 16: polynomial_schedule's NaN under jit ----------------------------------------------
@pytest.mark.parametrize("power", [0.5, 1.5, 2.0])
def test_jitted_polynomial_with_a_fractional_power_raises_where_optax_gives_nan(power):
    """``optax.polynomial_schedule(1.0, 0.2, power, 3, transition_begin=2)`` in a jitted train
    step: ``1 - 3 * fl(1 / 3)`` is -3e-8 there (an fma), so a fractional power gives NaN
    from update 5 on, for good (the count is clipped at the end). The recipe gives optax's
    values before and raises StepRangeError there; eagerly optax gives 0.2 there."""
    kwargs = {"init_value": 1.0, "end_value": 0.2, "power": power, "transition_steps": 3,
              "transition_begin": 2}  # fmt: skip
    jitted = jit_values(optax.polynomial_schedule(**kwargs), 12)
    recipe = from_optax("polynomial_schedule", **kwargs)
    if power == 2.0:  # a whole power of a tiny negative number is a number
        assert np.isfinite(jitted).all()
        assert_lr(recipe.lr(np.arange(12)), jitted, F32)
        return
    assert np.isnan(jitted[5:]).all() and np.isfinite(jitted[:5]).all()
    assert_lr(recipe.lr(np.arange(5)), jitted[:5], F32)
    with pytest.raises(StepRangeError):
        recipe.lr(5)
    eager = from_optax("polynomial_schedule", arithmetic="eager", **kwargs)
    assert eager.lr(11) == pytest.approx(0.2)


# -- to_optax -----------------------------------------------------------------------------------
def exported_values(recipe, n: int) -> tuple[str, np.ndarray]:
    name, kwargs = to_optax(recipe)
    return name, jit_values(build(name, kwargs), n)


@FAST
@given(case=builders())
def test_to_optax_round_trips_through_real_jitted_optax(case):
    """from_optax -> to_optax -> the real optax builder, run in a jitted train step: the
    same lrs as the recipe (and as the original builder), wherever an export exists."""
    name, kwargs, horizon = case
    n = 3 * horizon + 3
    recipe = from_optax(name, **kwargs)
    try:
        got_name, got = exported_values(recipe, n)
    except SpecError as err:
        assert "no optax schedule" in str(err)
        return
    expected = jit_values(build(name, kwargs), n)
    ok = np.isfinite(expected) & np.isfinite(got)
    scale = float(np.max(np.abs(expected[ok]), initial=0.0))
    assert_lr(got[ok], expected[ok], F32, f"{name} -> {got_name}", scale=scale)
    assert_lr(got[ok], recipe.lr(np.arange(n)[ok]), F32, f"{name} -> {got_name}", scale=scale)


def test_to_optax_picks_the_native_builder():
    import schedcore as sc

    warm = sc.load({"lr": 1e-3, "training": {"total_steps": 100},
                    "schedule": {"warmup": 10, "decay": "cosine"}})  # fmt: skip
    name, kwargs = to_optax(warm)
    assert name == "warmup_cosine_decay_schedule"
    assert (kwargs["warmup_steps"], kwargs["decay_steps"]) == (10, 100)
    assert kwargs["peak_value"] == pytest.approx(1e-3) and kwargs["init_value"] == 0.0
    assert_lr(exported_values(warm, 130)[1], warm.lr(np.arange(130)), F32)
    stairs = from_optax("exponential_decay", init_value=1.0, transition_steps=55,
                        decay_rate=0.5, staircase=True)  # fmt: skip
    assert to_optax(stairs)[0] == "exponential_decay" and to_optax(stairs)[1]["staircase"]
    eager = from_optax("exponential_decay", arithmetic="eager", init_value=1.0,
                       transition_steps=55, decay_rate=0.5, staircase=True)  # fmt: skip
    with pytest.raises(SpecError, match=r"count \* \(1 / 55\)"):
        to_optax(eager)
    with pytest.raises(SpecError, match=r"'sgdr' with these fields has no optax schedule"):
        to_optax(sc.recipe(lr=0.1, schedule=sc.sgdr(period=10)))
    with pytest.raises(SpecError, match="named schedules"):
        to_optax(sc.load({"lr": 0.1, "schedules": {"head": {"type": "constant"}}}))
