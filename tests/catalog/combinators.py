"""Catalog entries of the combinators (``schedcore/schedules/combinators.py``): warmup-stable-
decay, and the nodes over child schedules (sequence, warmup, product, scale, clamp, shift,
repeat, per_epoch)."""

from __future__ import annotations

import functools
import math
from typing import Any

from hypothesis import strategies as st

import schedcore as sc

from .common import (
    COS,
    COUNTS,
    CYCLES,
    FACTORS,
    FRACTION,
    LIN,
    MULT,
    OFFSETS,
    STEPS,
    Bad,
    Case,
    Entry,
    OneFlow,
    around,
    floats,
    length,
    node,
    with_hold,
)

#: the child of the combinators' fuzz seeds
LEAF = {"type": "cosine", "steps": 100, "end": 0.1, "after": "periodic"}


# -- wsd: warmup from `end` to 1 (linear, or cosine end + (1 - end) * 0.5 * (1 - cos(pi p))),
# stable 1, cooldown to `end` (linear 1 - p, cosine 0.5 * (1 + cos(2 pi cycles p)), 1-sqrt
# 1 - sqrt(p), each scaled by (1 - end) and raised by end), then `end`
def wsd_expect(w, s, d, end, warm, cool, cycles=0.5):
    def f(k):
        if k < w:
            p = k / w
            shape = p if warm == "linear" else 0.5 * (1 - math.cos(math.pi * p))
            return end + (1 - end) * shape
        if k < w + s:
            return 1.0
        if k < w + s + d:
            p = (k - w - s) / d
            shape = {
                "linear": 1 - p,
                "cosine": 0.5 * (1 + math.cos(2 * math.pi * cycles * p)),
                "1-sqrt": 1 - math.sqrt(p),
            }[cool]
            return end + (1 - end) * shape
        return end

    return f


WSD = Entry(
    "wsd",
    strategy=lambda d: node(
        "wsd",
        {"stable": COUNTS, "decay": STEPS},
        {
            "warmup": COUNTS,
            "warmup_shape": st.sampled_from(["linear", "cosine"]),
            "decay_shape": st.sampled_from(["linear", "cosine", "1-sqrt"]),
            "end": FRACTION,
            "cycles": CYCLES,
        },
    ),
    cases=[
        *(
            Case(
                f"{warm}-{cool}",
                functools.partial(
                    sc.wsd,
                    warmup=2,
                    stable=3,
                    decay=4,
                    end=0.1,
                    warmup_shape=warm,
                    decay_shape=cool,
                ),
                wsd_expect(2, 3, 4, 0.1, warm, cool),
                [*around(2, 5, 9), 0, 7, 100],
            )
            for warm, cool in (("linear", "linear"), ("cosine", "cosine"), ("linear", "1-sqrt"))
        ),
        Case(
            "no-warmup-no-stable-cycles1",
            lambda: sc.wsd(stable=0, decay=6, decay_shape="cosine", cycles=1.0),
            wsd_expect(0, 0, 6, 0.0, "linear", "cosine", cycles=1.0),
            [*around(3, 6), 0, 50],
        ),
    ],
    errors=[
        Bad("decay", lambda: sc.wsd(stable=3, decay=0), "0"),
        Bad("stable", lambda: sc.wsd(stable=-1, decay=3), "-1"),
        Bad("decay_shape", lambda: sc.wsd(stable=1, decay=3, decay_shape="exp"), "'exp'"),
        Bad("end", lambda: sc.wsd(stable=1, decay=3, end=-0.1), "-0.1"),
    ],
    seed={"type": "wsd", "warmup": 10, "stable": 100, "decay": 50, "decay_shape": "1-sqrt"},
    oneflow=OneFlow(
        exact=(
            {"type": "wsd", "warmup": 5, "stable": 10, "decay": 20},
            {
                "type": "wsd",
                "warmup": 3,
                "stable": 4,
                "decay": 12,
                "decay_shape": "cosine",
                "end": 0.1,
            },
        )
    ),
)


# -- sequence: phase i runs from starts[i] on its local clock (k - starts[i]) or the global k ------
@st.composite
def _sequence(draw: Any, children: st.SearchStrategy[dict]) -> dict[str, Any]:
    phases = draw(st.lists(children, min_size=1, max_size=4))
    out = []
    for i, child in enumerate(phases):
        phase: dict[str, Any] = {"schedule": child}
        own = length(child)
        last = i == len(phases) - 1
        # a phase may leave out `steps` when its schedule has a (moderate) length of its own;
        # the last phase may always leave it out
        may_omit = (last and (own is None or own <= 10**12)) or (
            own is not None and 1 <= own <= 10**6
        )
        if not may_omit or draw(st.booleans()):
            phase["steps"] = draw(STEPS)
        if draw(st.booleans()):
            phase["clock"] = draw(st.sampled_from(["local", "global"]))
        out.append(phase)
    return {"type": "sequence", "phases": out}


def _seq_phases():
    return (
        sc.Phase(sc.linear(steps=4, start=0.0, end=1.0)),  # steps default to the length: 4
        sc.Phase(sc.constant(0.5), 3),
        sc.Phase(sc.cosine(steps=6, start=1.0, end=0.1)),  # last phase runs on past its end
    )


def seq_expect(clock):
    def f(k):
        if k < 4:
            return k / 4
        if k < 7:
            return 0.5
        j = k - 7 if clock == "local" else k
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(j, 6) / 6))

    return f


SEQUENCE = Entry(
    "sequence",
    combinator=True,
    strategy=lambda d: _sequence(d.children),
    cases=[
        Case(
            "local",
            lambda: sc.Sequence(phases=_seq_phases()),
            seq_expect("local"),
            [*around(4, 7, 13), 0, 10, 100],
        ),
        Case(
            "global-last",
            lambda: sc.Sequence(
                phases=(
                    *_seq_phases()[:2],
                    sc.Phase(sc.cosine(steps=12, start=1.0, end=0.1), None, "global"),
                )
            ),
            lambda k: (
                seq_expect("local")(k)
                if k < 7
                else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(k, 12) / 12))
            ),
            [*around(4, 7, 12), 0, 10, 100],
        ),
        Case(
            "tuples-open-last",
            lambda: sc.sequence((sc.constant(2.0), 3), sc.exponential(rate=0.5)),
            lambda k: 2.0 if k < 3 else 0.5 ** (k - 3),
            [*around(3), 0, 40],
        ),
    ],
    errors=[
        Bad("phases", lambda: sc.Sequence(phases=()), "0"),
        Bad("phases[0].steps", lambda: sc.sequence(sc.constant(), sc.linear(steps=3)), None),
        Bad(
            "phases[0].steps",
            lambda: sc.from_dict(
                {"type": "sequence", "phases": [{"schedule": {"type": "constant"}, "steps": -3}]}
            ),
            "-3",
        ),
        Bad(
            "phases[0].clock",
            lambda: sc.from_dict(
                {
                    "type": "sequence",
                    "phases": [{"schedule": {"type": "constant"}, "steps": 2, "clock": "wall"}],
                }
            ),
            "'wall'",
        ),
    ],
    seed={
        "type": "sequence",
        "phases": [
            {"schedule": {"type": "linear", "steps": 10, "start": 0.0, "end": 1.0}},
            {"schedule": LEAF, "steps": 200, "clock": "global"},
        ],
    },
    oneflow=OneFlow(
        exact=(
            {
                "type": "sequence",
                "phases": [{"schedule": LIN}, {"schedule": COS, "clock": "global"}],
            },
            # a global phase over a local sequence: a scheduler that sees k - 5 from step 10
            {
                "type": "sequence",
                "phases": [
                    {"schedule": {"type": "constant", "value": 0.5}, "steps": 10},
                    {
                        "clock": "global",
                        "schedule": {
                            "type": "sequence",
                            "phases": [
                                {"schedule": {"type": "linear", "steps": 5, "start": 0.0}},
                                {"schedule": COS},
                            ],
                        },
                    },
                ],
            },
            # a global phase after local ones: SequentialLR's clock stays at the last rescaled
            # milestone, so the phase at 10 must not rescale (it nests), or the last sees k - 10
            {
                "type": "sequence",
                "phases": [
                    {"schedule": LIN, "steps": 10},
                    {"schedule": COS, "steps": 20},
                    {"schedule": {"type": "step", "every": 7, "gamma": 0.5}, "clock": "global"},
                ],
            },
            # ... and a scheduler that relies on it: COS sees k - 10 from step 15
            {
                "type": "sequence",
                "phases": [
                    {"schedule": LIN, "steps": 10},
                    {
                        "schedule": {
                            "type": "sequence",
                            "phases": [
                                {"schedule": {"type": "constant", "value": 0.5}, "steps": 5},
                                {"schedule": COS, "clock": "global"},
                            ],
                        }
                    },
                ],
            },
        )
    ),
)


# -- warmup over a cosine body c(j) = 0.1 + 0.9 * 0.5 * (1 + cos(pi * min(j, 10) / 10)):
# v = c(0) (prefix: the body sees j = k - W) or c(W) (overlay: the body sees k);
# over k < W the ramp rises from f * v to v: linear v (f + (1 - f) k / W), cosine
# v + (f v - v) * 0.5 * (1 + cos(pi k / W)), exponential f v (1 / f) ** (k / W), constant f v
@st.composite
def _warmup(draw: Any, children: st.SearchStrategy[dict], allow_after_error: bool) -> dict:
    out: dict[str, Any] = {"type": "warmup", "schedule": draw(children), "steps": draw(STEPS)}
    prefix = draw(st.sampled_from([None, True, False]))
    if prefix is not None:
        out["prefix"] = prefix
    if allow_after_error:
        # the warmup evaluates its schedule where it hands over (step 0, or `steps` without
        # prefix) when it is built; a schedule with after = "error" must be defined there
        try:
            sc.from_dict(out["schedule"])(0 if prefix in (None, True) else out["steps"])
        except sc.StepRangeError:
            out["schedule"] = with_hold(out["schedule"])
    shape = draw(st.sampled_from([None, "linear", "cosine", "exponential", "constant"]))
    if shape is not None:
        out["shape"] = shape
    if shape == "exponential":
        out["start_factor"] = draw(st.one_of(st.just(0.01), floats(1e-3, 1.0)))
    elif draw(st.booleans()):
        out["start_factor"] = draw(FRACTION)
    return out


def _cos_body(j):
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(j, 10) / 10))


def warmup_expect(w, shape, f, prefix):
    v = _cos_body(0 if prefix else w)

    def g(k):
        if k >= w:
            return _cos_body(k - w if prefix else k)
        if shape == "linear":
            return v * (f + (1 - f) * k / w)
        if shape == "cosine":
            return v + (f * v - v) * 0.5 * (1 + math.cos(math.pi * k / w))
        if shape == "exponential":
            return f * v * (1 / f) ** (k / w)
        return f * v

    return g


WARMUP = Entry(
    "warmup",
    combinator=True,
    strategy=lambda d: _warmup(d.children, d.allow_after_error),
    cases=[
        Case(
            f"{shape}-f{f}-{'prefix' if prefix else 'overlay'}",
            functools.partial(
                sc.warmup,
                schedule=sc.cosine(steps=10, start=1.0, end=0.1),
                steps=4,
                shape=shape,
                start_factor=f,
                prefix=prefix,
            ),
            warmup_expect(4, shape, f, prefix),
            [*around(4, 10, 14), 0, 2, 7, 100],
        )
        for shape, f in (
            ("linear", 0.0),
            ("linear", 0.25),
            ("cosine", 0.0),
            ("exponential", 0.01),
            ("constant", 0.1),
        )
        for prefix in (True, False)
    ],
    errors=[
        Bad("steps", lambda: sc.warmup(sc.constant(), steps=0), "0"),
        Bad("shape", lambda: sc.warmup(sc.constant(), steps=3, shape="quadratic"), "'quadratic'"),
        Bad("start_factor", lambda: sc.warmup(sc.constant(), steps=3, start_factor=1.5), "1.5"),
        Bad("start_factor", lambda: sc.warmup(sc.constant(), steps=3, shape="exponential"), "0.0"),
        Bad("schedule", lambda: sc.warmup(5, steps=3), "5"),
    ],
    seed={
        "type": "warmup",
        "schedule": LEAF,
        "steps": 10,
        "shape": "exponential",
        "start_factor": 0.01,
        "prefix": False,
    },
    oneflow=OneFlow(
        exact=(
            {"type": "warmup", "steps": 10, "schedule": COS},
            {
                "type": "warmup",
                "steps": 5,
                "prefix": False,
                "start_factor": 0.1,
                "schedule": {"type": "exponential", "rate": 0.8, "every": 2},
            },
            {
                "type": "warmup",
                "steps": 4,
                "shape": "constant",
                "start_factor": 0.25,
                "schedule": LIN,
            },
        )
    ),
)


# -- product, scale, clamp: act on values ----------------------------------------------------------
def _lin10(j):  # linear(steps=10) from 1 to 0, held
    return 1 - min(j, 10) / 10


PRODUCT = Entry(
    "product",
    combinator=True,
    strategy=lambda d: node(
        "product", {"schedules": st.lists(d.children, min_size=1, max_size=3)}, {}
    ),
    cases=[
        Case(
            "linear-x-step",
            lambda: sc.product(schedules=[sc.linear(steps=10), sc.step(every=3, gamma=0.5)]),
            lambda k: _lin10(k) * 0.5 ** (k // 3),
            [*around(3, 6, 10), 0, 30],
        ),
        Case("single", lambda: sc.product(schedules=[sc.constant(0.25)]), lambda k: 0.25, [0, 9]),
    ],
    errors=[
        Bad("schedules", lambda: sc.product(schedules=[]), "0"),
        Bad("schedules[0]", lambda: sc.Product(schedules=(1,)), "1"),
    ],
    seed={"type": "product", "schedules": [LEAF, {"type": "constant", "value": 2.0}]},
    oneflow=OneFlow(
        exact=({"type": "product", "schedules": [{"type": "constant", "value": 2.0}, LIN]},)
    ),
)

SCALE = Entry(
    "scale",
    combinator=True,
    strategy=lambda d: node("scale", {"schedule": d.children, "factor": MULT}, {}),
    cases=[
        Case(
            "x3",
            lambda: sc.scale(sc.linear(steps=10), factor=3.0),
            lambda k: 3.0 * _lin10(k),
            [*around(10), 0, 5, 40],
        )
    ],
    errors=[Bad("factor", lambda: sc.scale(sc.constant(), factor=-2), "-2")],
    seed={"type": "scale", "schedule": LEAF, "factor": 3.0},
    oneflow=OneFlow(exact=({"type": "scale", "factor": 0.5, "schedule": COS},)),
)


@st.composite
def _clamp(draw: Any, children: st.SearchStrategy[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "clamp", "schedule": draw(children)}
    which = draw(st.sampled_from(["min", "max", "both"]))
    low, high = sorted([draw(MULT), draw(MULT)])
    if which in ("min", "both"):
        out["min"] = low
    if which in ("max", "both"):
        out["max"] = high
    return out


CLAMP = Entry(
    "clamp",
    combinator=True,
    strategy=lambda d: _clamp(d.children),
    cases=[
        Case(
            "both",
            lambda: sc.clamp(sc.linear(steps=10), min=0.2, max=0.7),
            lambda k: min(max(_lin10(k), 0.2), 0.7),
            [*around(3, 8, 10), 0, 5, 40],
        ),
        Case(
            "min-only",
            lambda: sc.clamp(sc.linear(steps=10), min=0.35),
            lambda k: max(_lin10(k), 0.35),
            [*around(6, 7), 0, 40],
        ),
    ],
    errors=[
        Bad("min", lambda: sc.clamp(sc.constant()), None),
        Bad("max", lambda: sc.clamp(sc.constant(), min=0.5, max=0.2), "0.2"),
        Bad("min", lambda: sc.clamp(sc.constant(), min=-1), "-1"),
    ],
    seed={"type": "clamp", "schedule": LEAF, "min": 0.2, "max": 0.9},
    oneflow=OneFlow(
        exact=(
            {
                "type": "clamp",
                "min": 0.3,
                "max": 0.9,
                "schedule": {
                    "type": "piecewise_constant",
                    "boundaries": [4, 8],
                    "values": [1.0, 0.5, 0.1],
                },
            },
            {"type": "clamp", "max": 5.0, "schedule": COS},
        )
    ),
)

# -- shift, repeat, per_epoch: act on the step -----------------------------------------------------
SHIFT = Entry(
    "shift",
    combinator=True,
    strategy=lambda d: node("shift", {"schedule": d.children, "offset": OFFSETS}, {}),
    cases=[
        Case(
            "plus1",
            lambda: sc.shift(sc.linear(steps=10), offset=1),
            lambda k: _lin10(k + 1),
            [*around(9, 10), 0, 40],
        ),
        Case(
            "minus3",
            lambda: sc.shift(sc.linear(steps=10), offset=-3),
            lambda k: _lin10(max(k - 3, 0)),
            [*around(3, 13), 0, 40],
        ),
    ],
    errors=[
        Bad("offset", lambda: sc.shift(sc.constant(), offset=2**60), str(2**60)),
        Bad("offset", lambda: sc.shift(sc.constant(), offset=1.5), "1.5"),
    ],
    seed={"type": "shift", "schedule": LEAF, "offset": -5},
    oneflow=OneFlow(
        exact=(
            {"type": "shift", "offset": -6, "schedule": COS},
            {
                "type": "shift",
                "offset": 3,
                "schedule": {
                    "type": "piecewise_constant",
                    "boundaries": [5, 9],
                    "values": [1.0, 0.5, 0.2],
                },
            },
        )
    ),
)

REPEAT = Entry(
    "repeat",
    combinator=True,
    strategy=lambda d: node("repeat", {"schedule": d.children, "period": STEPS}, {}),
    cases=[
        Case(
            "period4",
            lambda: sc.repeat(sc.linear(steps=10), period=4),
            lambda k: _lin10(k % 4),
            [*around(4, 8, 12), 0, 2**40 + 3],
        )
    ],
    errors=[Bad("period", lambda: sc.repeat(sc.constant(), period=0), "0")],
    seed={"type": "repeat", "schedule": LEAF, "period": 60},
    oneflow=OneFlow(
        refused={"type": "repeat", "period": 7, "schedule": LIN},
        reason="OneFlow's Graph schedulers cannot repeat a stretch of steps",
    ),
)

PER_EPOCH = Entry(
    "per_epoch",
    combinator=True,
    strategy=lambda d: node("per_epoch", {"schedule": d.children, "steps_per_epoch": FACTORS}, {}),
    cases=[
        Case(
            "step-in-epochs",
            lambda: sc.per_epoch(sc.step(every=2, gamma=0.5), steps_per_epoch=5),
            lambda k: 0.5 ** ((k // 5) // 2),
            [*around(5, 10, 20), 0, 101],
        )
    ],
    errors=[
        Bad("steps_per_epoch", lambda: sc.per_epoch(sc.constant(), steps_per_epoch=0), "0"),
    ],
    seed={"type": "per_epoch", "schedule": LEAF, "steps_per_epoch": 39},
    oneflow=OneFlow(
        exact=(
            {"type": "per_epoch", "steps_per_epoch": 3, "schedule": {"type": "step", "every": 2}},
            {
                "type": "per_epoch",
                "steps_per_epoch": 4,
                "schedule": {"type": "exponential", "rate": 0.7},
            },
            {
                "type": "per_epoch",
                "steps_per_epoch": 5,
                "schedule": {"type": "multistep", "milestones": [1, 3]},
            },
        )
    ),
)

ENTRIES = [WSD, SEQUENCE, WARMUP, PRODUCT, SCALE, CLAMP, SHIFT, REPEAT, PER_EPOCH]
