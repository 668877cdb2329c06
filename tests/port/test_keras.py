"""from_keras / to_keras_config against Keras 3.15's six built-in schedules.

Each example builds the real schedule object (and its ``serialize()`` dict), evaluates it at
every step up to past three horizons, and compares with ``recipe.lr(k)``.

Keras computes in the dtype of ``initial_learning_rate``. By default that is float32: rtol
1e-6, plus an absolute slack of one float32 ulp of the peak (values that cancel near 0) and
of the rounding of Keras' own float32 progress ``step / decay_steps`` (a restart cycle's
position at step 26 of 3-step cycles is off by 6e-7, relative 2e-6 after the cosine). The
same schedule built with a float64 ``initial_learning_rate`` runs Keras' code in float64:
that must match to rtol 1e-12 -- except CosineDecayRestarts with ``t_mul != 1``, which finds
its cycle with ``floor(log(...))``: in float64 that rounds some restarts a step late
(``first_decay_steps=1, t_mul=3``: steps 1 and 4), while in the float32 Keras runs by
default it does not (the float32 comparison checks every step), and the recipe's restarts
are exact.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedcore as sc
from schedcore import SpecError
from schedcore.port import from_keras, to_keras_config

from .helpers import F32, F64, FAST, SLOW, assert_lr

S = keras.optimizers.schedules

LR = st.sampled_from([0.1, 1e-3, 1.0]) | st.floats(1e-4, 2.0)
# lengths whose compiled float32 quotient k * fl(1/n) first rounds wrong at a multiple of n
# (model.fit applies the step before: 41, 47, 55, 61; the step after: 7, 13, 14, 15 for ceil)
# are drawn too, so that boundaries in the first 20 steps or stairs come up
STEPS = st.integers(1, 40) | st.sampled_from([41, 47, 55, 61, 7, 13])


def real(low: float, high: float):
    """0, or a number in [max(low, 1e-6), high]: Keras holds every number in float32, where
    a power of 1e-102 is 0 (and 0 ** 0 = 1): such values are outside what it represents."""
    return st.just(0.0) | st.floats(max(low, 1e-6), high)


def keras_values(schedule, n: int, dtype=np.float32) -> np.ndarray:
    if isinstance(schedule, S.CosineDecay) and schedule.warmup_target is not None:
        # ops.cond needs a scalar step: one call per step
        values = np.array([np.asarray(schedule(k)) for k in range(n)])
    else:
        values = np.asarray(schedule(np.arange(n)))
    assert values.dtype == dtype
    return values.astype(np.float64)


def in_float64(schedule):
    """The same schedule with float64 numbers: ``initial_learning_rate`` sets the dtype, and a
    Python float argument would go through a float32 tensor first (``ops.cast(0.05,
    float64)`` is 0.05 rounded to float32)."""
    config = schedule.get_config()
    for key, value in config.items():
        if isinstance(value, float):
            config[key] = np.float64(value)
    if isinstance(schedule, S.PiecewiseConstantDecay):
        config["values"] = [np.float64(v) for v in config["values"]]
    return type(schedule).from_config(config)


def log_restarts(schedule) -> bool:
    return isinstance(schedule, S.CosineDecayRestarts) and schedule.get_config()["t_mul"] != 1


def progress_slack(schedule, n: int) -> np.ndarray:
    """Per step: 4 float32 ulps of Keras' progress ``step / decay_steps``, times pi."""
    config = schedule.get_config()
    steps = config.get("decay_steps", config.get("first_decay_steps", 1))
    progress = (np.arange(n) / steps).astype(np.float32)
    return 4 * np.pi * np.spacing(progress).astype(np.float64)


def assert_float32(got, ref, schedule, what=""):
    peak = float(np.max(np.abs(ref)))
    slack = peak * (2.0**-23 + progress_slack(schedule, len(ref)))
    assert np.all(np.abs(got - ref) <= F32 * np.abs(ref) + slack), what


@st.composite
def schedules(draw):
    """``(keras schedule, horizon)`` for every built-in class."""
    kind = draw(st.sampled_from(["exp", "piecewise", "poly", "inverse", "cosine", "restarts"]))
    lr = draw(LR)
    if kind == "exp":
        steps = draw(STEPS)
        return S.ExponentialDecay(
            lr, steps, draw(st.floats(0.05, 1.0)), staircase=draw(st.booleans())
        ), 4 * steps
    if kind == "piecewise":
        bounds = sorted(draw(st.lists(st.integers(0, 60), min_size=1, max_size=5, unique=True)))
        values = draw(
            st.lists(LR | st.just(0.0), min_size=len(bounds) + 1, max_size=len(bounds) + 1).filter(
                lambda v: max(v) > 0
            )
        )
        return S.PiecewiseConstantDecay(bounds, values), bounds[-1] + 2
    if kind == "poly":
        steps = draw(STEPS)
        end = lr * draw(real(0.0, 0.5))
        power = draw(st.sampled_from([1.0, 2.0, 0.5]) | real(0.0, 3.0))
        return S.PolynomialDecay(lr, steps, end, power=power, cycle=draw(st.booleans())), steps
    if kind == "inverse":
        steps = draw(STEPS)
        return S.InverseTimeDecay(
            lr, steps, draw(real(0.0, 5.0)), staircase=draw(st.booleans())
        ), 4 * steps
    if kind == "cosine":
        steps = draw(STEPS)
        alpha = draw(st.sampled_from([0.0, 0.1]) | real(0.0, 1.0))
        if draw(st.booleans()):
            return S.CosineDecay(lr, steps, alpha=alpha), steps
        target = draw(LR)
        warm = draw(st.integers(0, 20))
        return S.CosineDecay(
            lr, steps, alpha=alpha, warmup_target=target, warmup_steps=warm
        ), steps + warm
    period = draw(STEPS)
    t_mul = draw(st.sampled_from([1.0, 2.0, 1.5, 3.0, 2.5, 3.5, 1.25]))
    m_mul = draw(st.sampled_from([1.0, 0.5]) | st.floats(0.1, 1.0))
    alpha = draw(st.sampled_from([0.0, 0.1]) | real(0.0, 0.5))
    return S.CosineDecayRestarts(lr, period, t_mul=t_mul, m_mul=m_mul, alpha=alpha), 4 * period


@pytest.mark.parametrize(
    "period, t_mul, restart, value",
    [(4, 2.5, 39, 0.7561), (16, 1.25, 61, 0.7561), (4, 3.5, 67, 0.7561), (2, 2.5, 7, 0.829)],
)
def test_fractional_t_mul_restarts_where_keras_does(period, t_mul, restart, value):
    """A cycle start that is a whole number (4 + 10 + 25 = 39) is a restart at that step, as
    Keras runs it eagerly (float32 and float64): not a step late."""
    schedule = S.CosineDecayRestarts(1.0, period, t_mul=t_mul, m_mul=0.9, alpha=0.1)
    steps = np.arange(restart - 2, restart + 3)
    got = from_keras(schedule, arithmetic="eager").lr(steps)
    for ref in (keras_values(schedule, restart + 3)[steps], [float(schedule(k)) for k in steps]):
        np.testing.assert_allclose(got, ref, rtol=1e-6)
    assert got[2] == pytest.approx(value, rel=1e-12) and got[2] > got[1]
    assert restart in sc.sgdr(period=period, t_mul=t_mul).restarts(restart)


@FAST
@given(case=schedules())
def test_every_schedule_matches_keras_at_every_step(case):
    schedule, horizon = case
    n = 3 * horizon + 3
    ref = keras_values(schedule, n)
    exact = None if log_restarts(schedule) else keras_values(in_float64(schedule), n, np.float64)
    for source in (schedule, S.serialize(schedule)):
        recipe = from_keras(source, arithmetic="eager")
        got = recipe.lr(np.arange(n))
        if exact is not None:
            assert_lr(got, exact, F64, repr(schedule.get_config()))
        assert_float32(got, ref, schedule, repr(schedule.get_config()))


@FAST
@given(case=schedules())
def test_to_keras_config_round_trips(case):
    schedule, horizon = case
    recipe = from_keras(schedule, arithmetic="eager")
    config = to_keras_config(recipe)
    assert to_keras_config(from_keras(schedule)) == config  # the fit recipe exports the same
    rebuilt = S.deserialize(config)
    assert type(rebuilt).__name__ == type(schedule).__name__
    n = 3 * horizon + 3
    got = recipe.lr(np.arange(n))
    if not log_restarts(rebuilt):
        assert_lr(got, keras_values(in_float64(rebuilt), n, np.float64), F64)
    assert_float32(got, keras_values(rebuilt, n), rebuilt)
    again = from_keras(config, arithmetic="eager")
    assert_lr(again.lr(np.arange(n)), recipe.lr(np.arange(n)), 1e-12)


def test_piecewise_changes_one_step_after_the_boundary():
    recipe = from_keras(S.PiecewiseConstantDecay([10], [1.0, 0.5]))
    assert recipe.lr(10) == 1.0 and recipe.lr(11) == 0.5


def test_polynomial_cycle_does_not_return_to_the_initial_lr():
    """anchors: 0.45 at step 11 with decay_steps 10 (lr 1, end 0, power 1)."""
    recipe = from_keras(S.PolynomialDecay(1.0, 10, 0.0, cycle=True))
    assert recipe.lr(10) == 0.0 and recipe.lr(11) == pytest.approx(0.45)
    assert recipe.schedule.after == "stretch"


def test_cosine_warmup_decay_steps_exclude_the_warmup():
    """platform anchors: 0.1, 0.55, 1.0, 0.5, 0.0 at steps 0, 5, 10, 60, 110."""
    recipe = from_keras(S.CosineDecay(0.1, 100, warmup_target=1.0, warmup_steps=10))
    assert recipe.lr(np.array([0, 5, 10, 60, 110])) == pytest.approx([0.1, 0.55, 1.0, 0.5, 0.0])
    # without warmup_target, warmup_steps is ignored (as in Keras)
    plain = from_keras(S.CosineDecay(0.1, 100, warmup_steps=10))
    assert plain.lr(0) == 0.1


def test_warmup_downwards_from_above_the_target():
    schedule = S.CosineDecay(1.0, 20, warmup_target=0.5, warmup_steps=4)
    recipe = from_keras(schedule)
    assert_lr(recipe.lr(np.arange(40)), keras_values(in_float64(schedule), 40, np.float64), F64)
    assert recipe.schedule.type_name == "sequence"


@pytest.mark.parametrize(
    "source, path",
    [
        (
            {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1}},
            "config.decay_steps",
        ),
        (
            {
                "class_name": "CosineDecay",
                "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "alfa": 0.1},
            },
            "config.alfa",
        ),
        ({"class_name": "LinearDecay", "config": {}}, "class_name"),
        ({"config": {}}, "class_name"),
        (
            {
                "class_name": "ExponentialDecay",
                "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 1.5},
            },
            "config.decay_rate",
        ),
        (
            {
                "class_name": "PiecewiseConstantDecay",
                "config": {"boundaries": [5, 3], "values": [1, 2, 3]},
            },
            "config.boundaries[1]",
        ),
    ],
)
def test_errors_name_the_field(source, path):
    with pytest.raises(SpecError) as info:
        from_keras(source)
    assert info.value.path == path, str(info.value)


def test_export_refusals():
    recipe = sc.load({"lr": 0.1, "schedule": {"type": "step", "every": 3}})
    with pytest.raises(SpecError, match="no built-in Keras schedule"):
        to_keras_config(recipe)


def test_short_form_warmup_cosine_exports_to_keras_and_back():
    """A warmup from 0 becomes CosineDecay(initial_learning_rate=0, warmup_target=lr)."""
    recipe = sc.load(
        {
            "lr": 1e-3,
            "training": {"total_steps": 100},
            "schedule": {"warmup": 10, "decay": "cosine", "min_lr_ratio": 0.1},
        }
    )
    config = to_keras_config(recipe)
    assert config["config"]["initial_learning_rate"] == 0.0
    rebuilt = S.deserialize(config)
    assert_float32(recipe.lr(np.arange(300)), keras_values(rebuilt, 300), rebuilt)
    assert_lr(from_keras(config).lr(np.arange(300)), recipe.lr(np.arange(300)), F64)


@pytest.mark.parametrize(("period", "t_mul"), [(4, 2.5), (16, 1.25), (4, 3.5), (3, 1.1)])
def test_fractional_restarts_stay_put_under_xla(period, t_mul):
    """The cycle starts are one exact table for every backend: TensorFlow with and without
    XLA (which rewrites divisions and has its own expm1) restarts where numpy does."""
    import tensorflow as tf

    import schedcore_keras as sk

    node = sc.sgdr(period=period, t_mul=t_mul, end=0.1)
    restarts = node.restarts(2**40)
    steps = np.unique(np.concatenate([np.arange(max(b - 2, 0), b + 3) for b in restarts]))
    schedule = sk.schedule(node)
    for jit in (False, True):
        got = tf.function(schedule, jit_compile=jit)(tf.constant(steps, tf.int64)).numpy()
        np.testing.assert_allclose(got, node(steps), rtol=1e-6)


# -- what model.fit applies -------------------------------------------------------------------
def fit_lrs(schedule, steps) -> np.ndarray:
    """The lr real ``model.fit`` (TensorFlow, SGD) applies at each of ``steps``, in one fit
    call: before each batch the optimizer's ``iterations`` is set to the step, after it the
    update of a zero weight with gradient 1 is read (``-lr``, exact in float32) and reset."""
    steps = [int(k) for k in steps]
    inputs = keras.Input((1,))
    layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")
    model = keras.Model(inputs, layer(inputs))
    optimizer = keras.optimizers.SGD(schedule)
    model.compile(optimizer=optimizer, loss=lambda _, y: keras.ops.sum(y))
    out: list[float] = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            optimizer.iterations.assign(steps[batch])

        def on_train_batch_end(self, batch, logs=None):
            out.append(-float(layer.kernel.numpy()[0, 0]))
            layer.kernel.assign(np.zeros((1, 1), np.float32))

    x = np.ones((len(steps), 1), np.float32)
    model.fit(x, x, batch_size=1, epochs=1, verbose=0, callbacks=[Probe()], shuffle=False)
    return np.asarray(out)


def test_fit_applies_the_old_stair_at_update_55():
    """``55 * fl(1 / 55) = 0.99999994`` in the compiled train step: 1.0 at update 55."""
    schedule = S.ExponentialDecay(1.0, 55, 0.5, staircase=True)
    steps = np.array([0, 54, 55, 56, 109, 110, 111, 219, 220, 221])
    applied = fit_lrs(schedule, steps)
    assert applied[2] == 1.0 and float(schedule(55)) == 0.5  # fit vs eager
    np.testing.assert_array_equal(from_keras(schedule).lr(steps), applied)
    eager = from_keras(schedule, arithmetic="eager")
    assert eager.lr(55) == 0.5
    np.testing.assert_array_equal(eager.lr(steps), keras_values(schedule, 222)[steps])


def stair_probe(n: int, stairs: int = 20) -> np.ndarray:
    """The steps around each of the first ``stairs`` multiples of ``n``."""
    m = np.arange(1, stairs + 1)
    return np.unique(np.concatenate([[0], m * n - 1, m * n, m * n + 1]))


@SLOW
@given(
    n=st.integers(1, 300) | st.sampled_from([41, 55, 61]),
    kind=st.sampled_from(["exp", "inverse", "restarts", "poly", "cycle"]),
    rate=st.sampled_from([0.5, 0.9]) | st.floats(0.05, 0.99),
    alpha=st.sampled_from([0.0, 0.1]) | st.floats(0.0, 1.0),
)
def test_fit_staircases_match_at_the_first_20_boundaries(n, kind, rate, alpha):
    """Staircases, restarts with equal cycles, held and stretching polynomials: each divides
    the step by a constant, which the compiled train step multiplies by its float32
    reciprocal."""
    if kind == "exp":
        schedule = S.ExponentialDecay(1.0, n, rate, staircase=True)
    elif kind == "inverse":
        schedule = S.InverseTimeDecay(1.0, n, 10 * rate, staircase=True)
    elif kind == "restarts":
        schedule = S.CosineDecayRestarts(1.0, n, t_mul=1.0, m_mul=rate, alpha=alpha)
    else:
        schedule = S.PolynomialDecay(1.0, n, alpha, power=rate, cycle=kind == "cycle")
    steps = stair_probe(n)
    got, applied = from_keras(schedule).lr(steps), fit_lrs(schedule, steps)
    if kind in ("exp", "inverse"):
        np.testing.assert_allclose(got, applied, rtol=F32)
    else:  # float32 curves: relative 1e-6 and one ulp of the peak, as for eager Keras
        assert_float32(got, applied, schedule)


@pytest.mark.parametrize(
    ("n", "alpha", "m_mul"), [(41, 0.1, 0.9), (61, 0.0, 0.5), (55, 0.2, 1.0), (55, 1.5, 0.5)]
)
def test_fit_restarts_equal_cycles_one_step_late(n, alpha, m_mul):
    """``41 * fl(1/41) = 0.99999994``: model.fit ends the first cycle at update 41 (``alpha``)
    and restarts at 42, where eager Keras restarts at 41; likewise at 82, 164, ..."""
    schedule = S.CosineDecayRestarts(1.0, n, t_mul=1.0, m_mul=m_mul, alpha=alpha)
    steps = stair_probe(n)
    applied = fit_lrs(schedule, steps)
    assert applied[list(steps).index(n)] == np.float32(alpha)
    assert float(schedule(n)) != np.float32(alpha)  # eager restarts at n
    assert_float32(from_keras(schedule).lr(steps), applied, schedule)
    eager = from_keras(schedule, arithmetic="eager")
    assert_float32(eager.lr(steps), keras_values(schedule, steps[-1] + 1)[steps], schedule)


@pytest.mark.parametrize("n", [7, 13, 55])
def test_fit_stretches_a_cycling_polynomial_a_step_early(n):
    """``21 * fl(1/7) = 3.0000002``: ``ceil`` gives 4, so model.fit applies the decay
    stretched to 28 at update 21 (``1 - 21/28 = 0.25``) where eager Keras reaches 0."""
    schedule = S.PolynomialDecay(1.0, n, 0.0, cycle=True)
    steps = stair_probe(n)
    applied = fit_lrs(schedule, steps)
    assert_float32(from_keras(schedule).lr(steps), applied, schedule)
    if n == 7:
        assert applied[list(steps).index(21)] == 0.25 and float(schedule(21)) == 0.0
        assert from_keras(schedule, arithmetic="eager").lr(21) == 0.0


def test_fit_holds_a_fractional_power_above_the_end():
    """``p = min(k, 55) * fl(1/55)`` stays ``1 - 2**-24``: ``(2**-24) ** 0.5 = 2.44e-4``
    is held from update 55 on instead of the end value 0."""
    schedule = S.PolynomialDecay(1.0, 55, 0.0, power=0.5)
    steps = np.array([0, 54, 55, 56, 1000])
    applied = fit_lrs(schedule, steps)
    assert applied[2] == pytest.approx(2**-12) and float(schedule(55)) == 0.0
    assert_float32(from_keras(schedule).lr(steps), applied, schedule)
    assert from_keras(schedule, arithmetic="eager").lr(55) == 0.0


def test_fit_far_boundaries():
    """Late stairs far out (n = 55: first off stairs 1, 2, 4, 8; n = 3: early from 12582914)
    and the step where n = 3's compiled stair comes early."""
    late = S.InverseTimeDecay(1.0, 55, 0.5, staircase=True)
    steps = np.array([55 * 4, 55 * 3, 55 * 1000, 55 * 100_000, 55 * 100_000 + 1])
    np.testing.assert_allclose(from_keras(late).lr(steps), fit_lrs(late, steps), rtol=F32)
    early = S.InverseTimeDecay(1.0, 3, 0.5, staircase=True)
    steps = np.array([12582913, 12582914, 12582915, 16777214, 16777213])
    np.testing.assert_allclose(from_keras(early).lr(steps), fit_lrs(early, steps), rtol=F32)
    assert from_keras(early).lr(12582914) != from_keras(early, arithmetic="eager").lr(12582914)


def test_about_13_percent_of_decay_lengths_have_a_boundary_in_the_first_20_stairs():
    from schedcore.port.compiled import stair_shifts

    hit = [n for n in range(1, 301) if stair_shifts(n) and stair_shifts(n)[0][0] <= 20 * n + 1]
    share = len(hit) / 300
    print(f"decay lengths 1..300 with a compiled boundary in the first 20 stairs: {share:.1%}")
    assert 0.10 <= share <= 0.16 and 55 in hit


def test_arithmetic_is_checked():
    with pytest.raises(SpecError) as info:
        from_keras(S.ExponentialDecay(1.0, 5, 0.5), arithmetic="jit")
    assert info.value.path == "arithmetic"


def test_refusal_counts_of_the_strategy():
    """The share of :func:`schedules` draws ``from_keras`` refuses, by reason (printed for
    the fidelity report); the strategy draws only what Keras runs, so each one is a gap."""
    from collections import Counter

    from hypothesis import settings

    counts: Counter[str] = Counter()

    @settings(max_examples=300, derandomize=True, database=None, deadline=None)
    @given(case=schedules())
    def draw(case):
        try:
            from_keras(case[0])
            counts["reproduced"] += 1
        except SpecError as err:
            counts[f"refused: {err.path}"] += 1

    draw()
    refused = sum(v for k, v in counts.items() if k != "reproduced")
    total = sum(counts.values())
    print(f"\nkeras importer: {refused}/{total} draws refused ({refused / total:.1%})")
    for reason, count in counts.most_common():
        print(f"  {count:4d}  {reason}")
    assert refused == 0
