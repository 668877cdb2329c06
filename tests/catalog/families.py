"""Catalog entries of the closed-form families (``schedcore/schedules/families.py``)."""

from __future__ import annotations

import functools
import math
from typing import Any

from hypothesis import strategies as st

import schedcore as sc

from .common import (
    AFTER_ALL,
    COUNTS,
    CYCLES,
    EXPONENT,
    LIN,
    MULT,
    POSITIVE,
    STEPS,
    UNIT,
    Bad,
    Case,
    Entry,
    OneFlow,
    anneal,
    anneal_steps,
    around,
    floats,
    node,
    position,
)

partial = functools.partial

# -- constant: value v at every step, including huge ones -----------------------------------------
CONSTANT = Entry(
    "constant",
    strategy=lambda d: node("constant", {}, {"value": MULT}),
    cases=[
        Case("v0.3", lambda: sc.constant(0.3), lambda k: 0.3, [0, 1, 7, 2**53]),
        Case("v0", lambda: sc.constant(0.0), lambda k: 0.0, [0, 5, 2**40]),
        Case("default", lambda: sc.constant(), lambda k: 1.0, [0, 3]),
    ],
    errors=[
        Bad("value", lambda: sc.constant(-1.0), "-1.0"),
        Bad("value", lambda: sc.constant(float("nan")), "nan"),
    ],
    seed={"type": "constant", "value": 0.5},
    oneflow=OneFlow(exact=({"type": "constant", "value": 0.3},)),
)

# -- linear: start + (end - start) * p, p = k / steps ---------------------------------------------
LINEAR = Entry(
    "linear",
    strategy=lambda d: anneal("linear", d.after),
    cases=[
        *(
            Case(
                f"down-{a}",
                partial(sc.linear, steps=8, start=0.9, end=0.1, after=a),
                lambda k, a=a: 0.9 + (0.1 - 0.9) * position(k, 8, a) / 8,
                anneal_steps(8, a),
                a,
            )
            for a in AFTER_ALL
        ),
        Case(
            "up-default",
            lambda: sc.linear(steps=5, start=0.0, end=2.0),
            lambda k: 2.0 * min(k, 5) / 5,
            anneal_steps(5, "hold"),
            "hold",
        ),
    ],
    errors=[
        Bad("steps", lambda: sc.linear(steps=0), "0"),
        Bad("steps", lambda: sc.linear(steps=True), "True"),
        Bad("after", lambda: sc.linear(steps=4, after="wrap"), "'wrap'"),
    ],
    after_error=(partial(sc.linear, steps=8), 8),
    seed={"type": "linear", "steps": 50, "start": 1.0, "end": 0.0},
    oneflow=OneFlow(
        exact=(LIN, {"type": "linear", "steps": 7, "start": 0.0, "end": 2.0, "after": "error"})
    ),
)


# -- cosine: end + (start - end) * (0.5 * (1 + cos(2 pi cycles p))) ** exponent, p = k / steps;
# hold clamps p at 1, periodic lets the wave continue (p unclamped). The wave's period is
# steps / cycles (an integer `period` in these cases), so the exact value at a huge k is the
# value at k mod period.
def cosine_expect(n, start, end, cycles, exponent, after, period):
    assert period * cycles == n

    def f(k):
        p = (min(k, n) if after == "hold" else k % period) / n
        return end + (start - end) * (0.5 * (1 + math.cos(2 * math.pi * cycles * p))) ** exponent

    return f


# cosine(restarts=True): transformers' cosine_with_restarts with num_cycles = 2 * cycles:
# x = (2 * cycles) * (k / steps), factor 0.5 * (1 + cos(pi * (x mod 1))); `end` from k = steps
def restarts_expect(n, start, end, cycles, after):
    def f(k):
        k = position(k, n, after)
        if k >= n:
            return end
        x = (2 * cycles) * (k / n)
        return end + (start - end) * 0.5 * (1 + math.cos(math.pi * (x % 1.0)))

    return f


COSINE = Entry(
    "cosine",
    strategy=lambda d: anneal(
        "cosine",
        d.after,
        cycles=CYCLES,
        exponent=EXPONENT,
        restarts=st.booleans(),
    ),
    cases=[
        *(
            c
            for a in AFTER_ALL
            for c in (
                Case(
                    f"half-{a}",
                    partial(sc.cosine, steps=10, start=0.9, end=0.05, after=a),
                    cosine_expect(10, 0.9, 0.05, 0.5, 1.0, a, period=20),
                    [*anneal_steps(10, a), *([] if a == "error" else [15, 30, 31])],
                    a,
                ),
                Case(
                    f"cycles1.5-exp2-{a}",
                    partial(
                        sc.cosine, steps=12, start=1.0, end=0.2, cycles=1.5, exponent=2.0, after=a
                    ),
                    cosine_expect(12, 1.0, 0.2, 1.5, 2.0, a, period=8),
                    [*anneal_steps(12, a), 3, 4, 5, 8],
                    a,
                ),
            )
        ),
        *(
            Case(
                f"restarts-3-{a}",
                partial(
                    sc.cosine, steps=12, start=0.9, end=0.1, cycles=1.5, restarts=True, after=a
                ),
                restarts_expect(12, 0.9, 0.1, 1.5, a),
                [*anneal_steps(12, a), 3, 4, 5, 7, 8, 9],
                a,
            )
            for a in AFTER_ALL
        ),
        # the rounding of (22 * (15 / 22)) mod 1 = 0.999...: transformers gives ~0 there, not 1
        Case(
            "restarts-rounding",
            lambda: sc.cosine(steps=22, cycles=11.0, restarts=True),
            restarts_expect(22, 1.0, 0.0, 11.0, "hold"),
            [14, 15, 16, 21, 22, 23],
            "hold",
        ),
    ],
    errors=[
        Bad("steps", lambda: sc.cosine(steps=-3), "-3"),
        Bad("cycles", lambda: sc.cosine(steps=4, cycles=0), "0"),
        Bad("exponent", lambda: sc.cosine(steps=4, exponent=-1), "-1"),
        Bad("restarts", lambda: sc.cosine(steps=4, restarts="yes"), "'yes'"),
    ],
    after_error=(partial(sc.cosine, steps=10), 10),
    seed={"type": "cosine", "steps": 100, "end": 0.1, "after": "periodic"},
    oneflow=OneFlow(
        exact=(
            {"type": "cosine", "steps": 30, "start": 1.0, "end": 0.05},
            {"type": "cosine", "steps": 10, "start": 0.2, "end": 1.0},  # rising: alpha > 1
            {"type": "cosine", "steps": 8, "start": 1.0, "end": 0.1, "after": "periodic"},
            {"type": "cosine", "steps": 12, "start": 1.0, "end": 0.0, "cycles": 1.5},
            # hard restarts: 3 descents of 10 steps; 1.5 descents of 20; rising ones of 8,
            # repeated
            {"type": "cosine", "steps": 30, "end": 0.1, "cycles": 1.5, "restarts": True},
            {"type": "cosine", "steps": 30, "end": 0.1, "cycles": 0.75, "restarts": True},
            {
                "type": "cosine",
                "steps": 16,
                "start": 0.5,
                "end": 1.0,
                "restarts": True,
                "cycles": 1.0,
                "after": "periodic",
            },
        )
    ),
)


# -- polynomial: (start - end) * (1 - p) ** power + end --------------------------------------------
# after="stretch": Keras PolynomialDecay(cycle=True): steps' = steps * max(1, ceil(k / steps)),
# (start - end) * (1 - k / steps') ** power + end
def poly_cycle_expect(n, start, end, power):
    def f(k):
        stretched = n * max(1, math.ceil(k / n))
        return (start - end) * (1 - k / stretched) ** power + end

    return f


POLYNOMIAL = Entry(
    "polynomial",
    # polynomial has two more past-the-end modes: Keras' stretching decay, eager and in fit
    strategy=lambda d: anneal(
        "polynomial",
        st.one_of(d.after, st.sampled_from(["stretch", "stretch_early"])),
        power=floats(0.0, 5.0),
    ),
    cases=[
        *(
            Case(
                f"power2-{a}",
                partial(sc.polynomial, steps=10, start=1.0, end=0.05, power=2.0, after=a),
                lambda k, a=a: (1.0 - 0.05) * (1 - position(k, 10, a) / 10) ** 2.0 + 0.05,
                anneal_steps(10, a),
                a,
            )
            for a in AFTER_ALL
        ),
        Case(
            "power0.5-up",
            lambda: sc.polynomial(steps=7, start=0.1, end=0.8, power=0.5),
            lambda k: (0.1 - 0.8) * (1 - min(k, 7) / 7) ** 0.5 + 0.8,
            anneal_steps(7, "hold"),
            "hold",
        ),
        Case(
            "stretch",
            lambda: sc.polynomial(steps=10, start=1.0, end=0.1, power=2.0, after="stretch"),
            poly_cycle_expect(10, 1.0, 0.1, 2.0),
            [*around(10, 20, 30), 0, 1, 5, 15, 999, 1000, 1001],
            "stretch",
        ),
        Case(
            "k_decay0.5",
            lambda: sc.polynomial(steps=9, start=1.0, end=0.1, power=2.0, k_decay=0.5),
            lambda k: 0.9 * (1 - (min(k, 9) / 9) ** 0.5) ** 2.0 + 0.1,
            [0, 1, 4, 8, 9, 10, 100],
            "hold",
        ),
        Case(
            "stretch_early",
            lambda: sc.polynomial(steps=10, start=1.0, end=0.1, power=2.0, after="stretch_early"),
            lambda k: 0.9 * (1 - k / (10 * (k // 10 + 1))) ** 2.0 + 0.1,
            [*around(10, 20, 30), 0, 1, 5, 15, 999, 1000, 1001],
            "stretch_early",
        ),
    ],
    errors=[
        Bad("power", lambda: sc.polynomial(steps=4, power=-0.5), "-0.5"),
        Bad("steps", lambda: sc.polynomial(steps=4.5), "4.5"),
        Bad("after", lambda: sc.polynomial(steps=4, after="cycle"), "'cycle'"),
    ],
    after_error=(partial(sc.polynomial, steps=10, power=2.0), 10),
    seed={"type": "polynomial", "steps": 30, "power": 2.0, "after": "error"},
    oneflow=OneFlow(
        exact=(
            {"type": "polynomial", "steps": 15, "start": 1.0, "end": 0.1, "power": 2.0},
            {"type": "polynomial", "steps": 9, "start": 0.5, "end": 1.0, "power": 0.5},
            # Keras' stretching decay: OneFlow's cycle=True, but for step 0
            {"type": "polynomial", "steps": 6, "end": 0.1, "power": 2.0, "after": "stretch"},
        )
    ),
)

# -- geometric: start * (end / start) ** p ---------------------------------------------------------
GEOMETRIC = Entry(
    "geometric",
    strategy=lambda d: node(
        "geometric", {"steps": STEPS}, {"start": POSITIVE, "end": POSITIVE, "after": d.after}
    ),
    cases=[
        Case(
            f"up-{a}",
            partial(sc.geometric, steps=6, start=1e-3, end=1.0, after=a),
            lambda k, a=a: 1e-3 * (1.0 / 1e-3) ** (position(k, 6, a) / 6),
            anneal_steps(6, a),
            a,
        )
        for a in AFTER_ALL
    ],
    errors=[Bad("start", lambda: sc.geometric(steps=4, start=0.0), "0.0")],
    after_error=(partial(sc.geometric, steps=6, start=0.5, end=0.1), 6),
    seed={"type": "geometric", "steps": 40, "start": 1.0, "end": 0.01},
    oneflow=OneFlow(
        exact=(
            {"type": "geometric", "steps": 10, "start": 1.0, "end": 0.01},
            {"type": "geometric", "steps": 6, "start": 0.1, "end": 1.0},
        )
    ),
)

# -- one_minus_sqrt: end + (start - end) * (1 - sqrt(p)) -------------------------------------------
ONE_MINUS_SQRT = Entry(
    "one_minus_sqrt",
    strategy=lambda d: anneal("one_minus_sqrt", d.after),
    cases=[
        Case(
            f"{a}",
            partial(sc.one_minus_sqrt, steps=9, start=1.0, end=0.1, after=a),
            lambda k, a=a: 0.1 + (1.0 - 0.1) * (1 - math.sqrt(position(k, 9, a) / 9)),
            [*anneal_steps(9, a), 4],
            a,
        )
        for a in AFTER_ALL
    ],
    errors=[Bad("end", lambda: sc.one_minus_sqrt(steps=4, end=-0.5), "-0.5")],
    after_error=(partial(sc.one_minus_sqrt, steps=9), 9),
    seed={"type": "one_minus_sqrt", "steps": 20},
    oneflow=OneFlow(
        refused={"type": "one_minus_sqrt", "steps": 10},
        reason="OneFlow has no 1-sqrt scheduler",
        approximable=True,
    ),
)

# -- exponential: start * rate ** (k / every), staircase: rate ** floor(k / every) ---------------
EXPONENTIAL = Entry(
    "exponential",
    strategy=lambda d: node(
        "exponential", {"rate": UNIT}, {"every": STEPS, "staircase": st.booleans(), "start": MULT}
    ),
    cases=[
        Case(
            "smooth",
            lambda: sc.exponential(rate=0.5, every=3, start=2.0),
            lambda k: 2.0 * 0.5 ** (k / 3),
            [*around(3, 6), 0, 100, 1000],
        ),
        Case(
            "staircase",
            lambda: sc.exponential(rate=0.5, every=3, start=2.0, staircase=True),
            lambda k: 2.0 * 0.5 ** (k // 3),
            [*around(3, 6), 0, 100],
        ),
        Case("rate1", lambda: sc.exponential(rate=1.0), lambda k: 1.0, [0, 1, 2**50]),
    ],
    errors=[
        Bad("rate", lambda: sc.exponential(rate=1.5), "1.5"),
        Bad("every", lambda: sc.exponential(rate=0.5, every=0), "0"),
        Bad("staircase", lambda: sc.exponential(rate=0.5, staircase="yes"), "'yes'"),
    ],
    seed={"type": "exponential", "rate": 0.9, "every": 10, "staircase": True},
    oneflow=OneFlow(
        exact=(
            {"type": "exponential", "rate": 0.9},
            {"type": "exponential", "rate": 0.5, "every": 3, "start": 2.0},
            {"type": "exponential", "rate": 0.5, "every": 4, "staircase": True},
        )
    ),
)

# -- step: gamma ** floor(k / every) ---------------------------------------------------------------
STEP = Entry(
    "step",
    strategy=lambda d: node("step", {"every": STEPS}, {"gamma": UNIT}),
    cases=[
        Case(
            "every3",
            lambda: sc.step(every=3, gamma=0.5),
            lambda k: 0.5 ** (k // 3),
            [*around(3, 6, 9), 0, 31],
        )
    ],
    errors=[
        Bad("gamma", lambda: sc.step(every=3, gamma=0), "0"),
        Bad("every", lambda: sc.step(every=2.5), "2.5"),
    ],
    seed={"type": "step", "every": 30, "gamma": 0.5},
    oneflow=OneFlow(exact=({"type": "step", "every": 5, "gamma": 0.5},)),
)


# -- multistep: gamma ** (number of milestones <= k), a repeated milestone counts twice ------------
@st.composite
def _multistep(draw: Any) -> dict[str, Any]:
    milestones = sorted(draw(st.lists(COUNTS, min_size=1, max_size=6)))
    out: dict[str, Any] = {"type": "multistep", "milestones": milestones}
    if draw(st.booleans()):
        out["gamma"] = draw(st.one_of(st.just(0.1), floats(0.01, 2.0)))
    return out


MULTISTEP = Entry(
    "multistep",
    strategy=lambda d: _multistep(),
    cases=[
        Case(
            "dup",
            lambda: sc.multistep(milestones=[2, 5, 5, 9], gamma=0.5),
            lambda k: 0.5 ** sum(1 for m in (2, 5, 5, 9) if m <= k),
            [*around(2, 5, 9), 100],
        ),
        Case(
            "at0",
            lambda: sc.multistep(milestones=[0, 4], gamma=3.0),
            lambda k: 3.0 ** sum(1 for m in (0, 4) if m <= k),
            [*around(0, 4), 50],
        ),
    ],
    errors=[
        Bad("milestones[1]", lambda: sc.multistep(milestones=[5, 3]), "3"),
        Bad("milestones[0]", lambda: sc.multistep(milestones=[-1]), "-1"),
        Bad("milestones", lambda: sc.multistep(milestones=[]), "0"),
        Bad("gamma", lambda: sc.multistep(milestones=[2], gamma=-0.1), "-0.1"),
    ],
    seed={"type": "multistep", "milestones": [10, 20, 20], "gamma": 0.5},
    oneflow=OneFlow(
        exact=(
            {"type": "multistep", "milestones": [3, 8], "gamma": 0.5},
            {"type": "multistep", "milestones": [0, 4, 4, 10], "gamma": 2.0},
        )
    ),
)

# -- inverse_sqrt: 1 / sqrt((k + timescale) / timescale) -------------------------------------------
INVERSE_SQRT = Entry(
    "inverse_sqrt",
    strategy=lambda d: node("inverse_sqrt", {"timescale": STEPS}, {}),
    cases=[
        Case(
            "tau4",
            lambda: sc.inverse_sqrt(timescale=4),
            lambda k: 1 / math.sqrt((k + 4) / 4),
            [*around(4), 0, 12, 100, 2**40],
        )
    ],
    errors=[Bad("timescale", lambda: sc.inverse_sqrt(timescale=0), "0")],
    seed={"type": "inverse_sqrt", "timescale": 100},
    oneflow=OneFlow(
        refused={"type": "inverse_sqrt", "timescale": 10},
        reason="OneFlow has no inverse-square-root scheduler",
    ),
)

# -- inverse_time: 1 / (1 + rate * k / every); staircase floors k / every --------------------------
INVERSE_TIME = Entry(
    "inverse_time",
    strategy=lambda d: node(
        "inverse_time", {"rate": floats(0.0, 10.0)}, {"every": STEPS, "staircase": st.booleans()}
    ),
    cases=[
        Case(
            "smooth",
            lambda: sc.inverse_time(rate=0.5, every=2),
            lambda k: 1 / (1 + 0.5 * k / 2),
            [*around(2, 4), 0, 99],
        ),
        Case(
            "staircase",
            lambda: sc.inverse_time(rate=0.5, every=2, staircase=True),
            lambda k: 1 / (1 + 0.5 * (k // 2)),
            [*around(2, 4), 0, 99],
        ),
    ],
    errors=[Bad("rate", lambda: sc.inverse_time(rate=-1), "-1")],
    seed={"type": "inverse_time", "rate": 0.5, "every": 10},
    oneflow=OneFlow(
        refused={"type": "inverse_time", "rate": 0.5},
        reason="OneFlow has no inverse-time scheduler",
    ),
)


# -- noam (Attention Is All You Need 5.3): factor * d**-0.5 * min(s**-0.5, s * w**-1.5), with
# s = 0 replaced by 1
def noam_expect(d, w, factor):
    def f(k):
        s = max(k, 1)
        return factor * d**-0.5 * min(s**-0.5, s * w**-1.5)

    return f


NOAM = Entry(
    "noam",
    strategy=lambda d: node(
        "noam",
        {
            "d_model": st.one_of(st.sampled_from([512, 768]), st.integers(1, 8192)),
            "warmup": STEPS,
        },
        {"factor": MULT},
    ),
    cases=[
        Case(
            "d16-w4",
            lambda: sc.noam(d_model=16, warmup=4, factor=2.0),
            noam_expect(16, 4, 2.0),
            [*around(1, 4), 16, 1000],
        ),
        Case(
            "d512-w4000",
            lambda: sc.noam(d_model=512, warmup=4000),
            noam_expect(512, 4000, 1.0),
            [*around(1, 4000), 100_000],
        ),
    ],
    errors=[
        Bad("d_model", lambda: sc.noam(d_model=0, warmup=4), "0"),
        Bad("warmup", lambda: sc.noam(d_model=8, warmup=-4), "-4"),
    ],
    seed={"type": "noam", "d_model": 512, "warmup": 400, "factor": 2.0},
    oneflow=OneFlow(
        refused={"type": "noam", "d_model": 512, "warmup": 10},
        reason="OneFlow has no Noam",
    ),
)


# -- tanh: timm's TanhLRScheduler within its cycle, tr = k / steps:
# end + 0.5 * (start - end) * (1 - tanh(lb * (1 - tr) + ub * tr)); `end` from k = steps on
# (timm's lr_min after its last cycle), periodic: timm's restarts of t_initial = steps
def tanh_expect(n, start, end, lb, ub, after):
    def f(k):
        k = position(k, n, after)
        if k >= n:
            return end
        tr = k / n
        return end + 0.5 * (start - end) * (1 - math.tanh(lb * (1.0 - tr) + ub * tr))

    return f


@st.composite
def _tanh(draw: Any, after: st.SearchStrategy[str]) -> dict[str, Any]:
    out = draw(anneal("tanh", after))
    given = draw(st.sampled_from(["neither", "lb", "ub", "both"]))
    if given == "lb":  # below the default ub, 3
        out["lb"] = draw(st.one_of(st.sampled_from([-7.0, -6.0, 0.0]), floats(-100.0, 2.999)))
    elif given == "ub":  # above the default lb, -7
        out["ub"] = draw(st.one_of(st.sampled_from([3.0, 4.0, 0.0]), floats(-6.999, 100.0)))
    elif given == "both":
        lb = draw(st.one_of(st.sampled_from([-7.0, -6.0]), floats(-100.0, 99.0)))
        out["lb"] = lb
        out["ub"] = min(lb + draw(st.one_of(st.just(10.0), floats(1e-3, 50.0))), 100.0)
    return out


TANH = Entry(
    "tanh",
    strategy=lambda d: _tanh(d.after),
    cases=[
        *(
            Case(
                f"timm-defaults-{a}",
                partial(sc.tanh, steps=10, start=1.0, end=0.05, after=a),
                tanh_expect(10, 1.0, 0.05, -7.0, 3.0, a),
                [*anneal_steps(10, a), 3, 7, 9],
                a,
            )
            for a in AFTER_ALL
        ),
        Case(
            "lb-6-ub4",  # timm's defaults before 0.5
            lambda: sc.tanh(steps=7, start=0.5, end=0.0, lb=-6.0, ub=4.0),
            tanh_expect(7, 0.5, 0.0, -6.0, 4.0, "hold"),
            [*anneal_steps(7, "hold"), 2, 5],
            "hold",
        ),
        Case(
            "rising",
            lambda: sc.tanh(steps=6, start=0.1, end=1.0, lb=-1.5, ub=2.5),
            tanh_expect(6, 0.1, 1.0, -1.5, 2.5, "hold"),
            [*anneal_steps(6, "hold"), 2, 4],
            "hold",
        ),
    ],
    errors=[
        Bad("steps", lambda: sc.tanh(steps=0), "0"),
        Bad("lb", lambda: sc.tanh(steps=4, lb=-1000), "-1000"),
        Bad("ub", lambda: sc.tanh(steps=4, lb=2.0, ub=1.0), "1"),
        Bad("ub", lambda: sc.tanh(steps=4, ub=-7.0), "-7"),
        Bad("after", lambda: sc.tanh(steps=4, after="stretch"), "'stretch'"),
    ],
    after_error=(partial(sc.tanh, steps=10), 10),
    seed={"type": "tanh", "steps": 60, "start": 1.0, "end": 0.01, "lb": -6.0, "ub": 4.0},
    oneflow=OneFlow(
        refused={"type": "tanh", "steps": 10},
        reason="no OneFlow planning rule for this node type",
        approximable=True,
    ),
)

ENTRIES = [
    CONSTANT,
    LINEAR,
    COSINE,
    POLYNOMIAL,
    GEOMETRIC,
    ONE_MINUS_SQRT,
    EXPONENTIAL,
    STEP,
    MULTISTEP,
    INVERSE_SQRT,
    INVERSE_TIME,
    NOAM,
    TANH,
]
