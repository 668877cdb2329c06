"""Catalog entries of the piecewise nodes (``schedcore/schedules/piecewise.py``)."""

from __future__ import annotations

import functools
import math
from typing import Any

from hypothesis import strategies as st

import schedcore as sc

from .common import AFTER_ALL, COUNTS, MULT, Bad, Case, Entry, OneFlow, around, position


# -- piecewise_constant: 'at' takes values[i] from k = boundaries[i-1]; 'after' from k = b + 1 -----
@st.composite
def _piecewise_constant(draw: Any) -> dict[str, Any]:
    bounds = sorted(draw(st.lists(COUNTS, min_size=1, max_size=5, unique=True)))
    values = draw(st.lists(MULT, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    out: dict[str, Any] = {"type": "piecewise_constant", "boundaries": bounds, "values": values}
    if draw(st.booleans()):
        out["change"] = draw(st.sampled_from(["at", "after"]))
    return out


def piecewise_expect(bounds, values, change):
    def f(k):
        passed = sum(1 for b in bounds if (b <= k if change == "at" else b < k))
        return values[passed]

    return f


PIECEWISE_CONSTANT = Entry(
    "piecewise_constant",
    strategy=lambda d: _piecewise_constant(),
    cases=[
        *(
            Case(
                change,
                functools.partial(
                    sc.piecewise_constant, boundaries=[3, 7], values=[1.0, 0.5, 0.25], change=change
                ),
                piecewise_expect([3, 7], [1.0, 0.5, 0.25], change),
                [*around(0, 3, 7), 100],
            )
            for change in ("at", "after")
        ),
        Case(
            "at0",
            lambda: sc.piecewise_constant(boundaries=[0], values=[9.0, 2.0]),
            lambda k: 2.0,
            [0, 1],
        ),
    ],
    errors=[
        Bad("values", lambda: sc.piecewise_constant(boundaries=[3, 5], values=[1.0, 2.0]), "2"),
        Bad(
            "boundaries[1]",
            lambda: sc.piecewise_constant(boundaries=[3, 3], values=[1, 2, 3]),
            "3",
        ),
        Bad(
            "change",
            lambda: sc.piecewise_constant(boundaries=[3], values=[1, 2], change="before"),
            "'before'",
        ),
    ],
    seed={"type": "piecewise_constant", "boundaries": [10, 20], "values": [1.0, 0.5, 0.1]},
    oneflow=OneFlow(
        exact=(
            {"type": "piecewise_constant", "boundaries": [0, 5, 9], "values": [1, 0.5, 0.2, 2.0]},
            {
                "type": "piecewise_constant",
                "boundaries": [3],
                "values": [1, 0.1],
                "change": "after",
            },
        )
    ),
)


# -- piecewise_interpolate: the first value before the first point; linear a + (b - a) p or
# cosine b + (a - b) * 0.5 * (1 + cos(pi p)) between points; `after` past the last point
@st.composite
def _piecewise_interpolate(draw: Any, after: st.SearchStrategy[str]) -> dict[str, Any]:
    steps = sorted(draw(st.lists(COUNTS, min_size=1, max_size=5, unique=True)))
    values = draw(st.lists(MULT, min_size=len(steps), max_size=len(steps)))
    out: dict[str, Any] = {"type": "piecewise_interpolate", "steps": steps, "values": values}
    if draw(st.booleans()):
        out["interpolation"] = draw(st.sampled_from(["linear", "cosine"]))
    if draw(st.booleans()):
        mode = draw(after)
        out["after"] = "hold" if mode == "periodic" and steps[-1] == 0 else mode
    return out


def interpolate_expect(xs, ys, how, after):
    def f(k):
        k = position(k, xs[-1], after)
        if k <= xs[0]:
            return ys[0]
        for i in range(1, len(xs)):
            if k <= xs[i]:
                p = (k - xs[i - 1]) / (xs[i] - xs[i - 1])
                a, b = ys[i - 1], ys[i]
                if how == "linear":
                    return a + (b - a) * p
                return b + (a - b) * 0.5 * (1 + math.cos(math.pi * p))
        return ys[-1]

    return f


PIECEWISE_INTERPOLATE = Entry(
    "piecewise_interpolate",
    strategy=lambda d: _piecewise_interpolate(d.after),
    cases=[
        *(
            Case(
                f"{how}-{a}",
                functools.partial(
                    sc.piecewise_interpolate,
                    steps=[2, 6, 10],
                    values=[0.2, 1.0, 0.1],
                    interpolation=how,
                    after=a,
                ),
                interpolate_expect([2, 6, 10], [0.2, 1.0, 0.1], how, a),
                [0, 4, 8, *around(2, 6), 9, 10]
                + ([] if a == "error" else [11, 12, 13, 16, 20, 21, 10**6]),
                a,
            )
            for how in ("linear", "cosine")
            for a in AFTER_ALL
        ),
        Case(
            "single-point",
            lambda: sc.piecewise_interpolate(steps=[3], values=[0.7]),
            lambda k: 0.7,
            [0, 3, 4, 100],
            "hold",
        ),
    ],
    errors=[
        Bad("steps[1]", lambda: sc.piecewise_interpolate(steps=[2, 1], values=[1, 2]), "1"),
        Bad(
            "interpolation",
            lambda: sc.piecewise_interpolate(steps=[0, 4], values=[1, 2], interpolation="cubic"),
            "'cubic'",
        ),
        Bad(
            "after",
            lambda: sc.piecewise_interpolate(steps=[0], values=[1], after="periodic"),
            "'periodic'",
        ),
    ],
    after_error=(
        functools.partial(sc.piecewise_interpolate, steps=[2, 6, 10], values=[0.2, 1.0, 0.1]),
        10,
    ),
    seed={
        "type": "piecewise_interpolate",
        "steps": [0, 10, 50],
        "values": [0.0, 1.0, 0.1],
        "interpolation": "cosine",
    },
    oneflow=OneFlow(
        exact=(
            {"type": "piecewise_interpolate", "steps": [2, 6, 20], "values": [0.0, 1.0, 0.25]},
            {
                "type": "piecewise_interpolate",
                "steps": [0, 16],
                "values": [1.0, 0.1],
                "interpolation": "cosine",
            },
        )
    ),
)

ENTRIES = [PIECEWISE_CONSTANT, PIECEWISE_INTERPOLATE]
