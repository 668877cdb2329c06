"""Catalog entries of the cyclic nodes (``schedcore/schedules/cyclic.py``)."""

from __future__ import annotations

import functools
import math
from typing import Any

from hypothesis import strategies as st

import schedcore as sc

from .common import (
    AFTER_ALL,
    EXPONENT,
    MULT,
    STEPS,
    T_MUL,
    UNIT,
    Bad,
    Case,
    Entry,
    OneFlow,
    around,
    floats,
    node,
    position,
)


# -- cyclic: cycle c, x = divmod(k, up + down); rise x / up (x <= up), fall (up + down - x) / down;
# amplitude (high - low) times 1 / 0.5 ** c / gamma ** k
def cyclic_expect(low, high, up, down, mode, gamma=1.0):
    def f(k):
        c, x = divmod(k, up + down)
        scale = x / up if x <= up else (up + down - x) / down
        amp = {"triangular": 1.0, "triangular2": 0.5**c, "exp_range": gamma**k}[mode]
        return low + (high - low) * scale * amp

    return f


CYCLIC = Entry(
    "cyclic",
    strategy=lambda d: node(
        "cyclic",
        {"low": MULT, "high": MULT, "up": STEPS},
        {
            "down": st.one_of(st.none(), STEPS),
            "mode": st.sampled_from(["triangular", "triangular2", "exp_range"]),
            "gamma": st.one_of(st.just(1.0), floats(0.9, 1.0)),
        },
    ),
    cases=[
        *(
            Case(
                f"{mode}-3-5",
                functools.partial(sc.cyclic, low=0.1, high=1.0, up=3, down=5, mode=mode, gamma=0.9),
                cyclic_expect(0.1, 1.0, 3, 5, mode, 0.9),
                [*around(3, 8, 11, 16, 19, 24), 0, 1000],
            )
            for mode in ("triangular", "triangular2", "exp_range")
        ),
        Case(
            "symmetric-down-default",
            lambda: sc.cyclic(low=1.0, high=0.0, up=4),
            cyclic_expect(1.0, 0.0, 4, 4, "triangular"),
            [*around(4, 8, 12), 0],
        ),
    ],
    errors=[
        Bad("low", lambda: sc.cyclic(low=-1, high=1, up=2), "-1"),
        Bad("up", lambda: sc.cyclic(low=0, high=1, up=0), "0"),
        Bad("down", lambda: sc.cyclic(low=0, high=1, up=2, down=0), "0"),
        Bad("mode", lambda: sc.cyclic(low=0, high=1, up=2, mode="sine"), "'sine'"),
        Bad("gamma", lambda: sc.cyclic(low=0, high=1, up=2, gamma=2.0), "2.0"),
    ],
    seed={"type": "cyclic", "low": 0.1, "high": 1.0, "up": 20, "mode": "exp_range", "gamma": 0.99},
    oneflow=OneFlow(
        refused={"type": "cyclic", "low": 0.1, "high": 1.0, "up": 5},
        reason="OneFlow has no cyclical (triangular) scheduler",
    ),
)


# -- onecycle (torch's OneCycleLR): phases end at pct * steps - 1 (and 2 * pct * steps - 2 with
# three_phase) and steps - 1; within each, cos: b + (a - b) / 2 * (cos(pi p) + 1),
# linear: a + (b - a) p; the last step is steps - 1, so `after` applies from there
# (periodic: the whole cycle of `steps` updates repeats)
@st.composite
def _onecycle(draw: Any, after: st.SearchStrategy[str]) -> dict[str, Any]:
    steps = draw(st.one_of(st.integers(2, 50), st.integers(2, 10**6)))
    three = draw(st.booleans())
    # phase ends pct*steps - 1 (> 0), [2*(pct*steps - 1)], steps - 1 must increase
    low = 1.0 / steps
    high = (steps + 1) / (2 * steps) if three else 1.0
    pct = low + draw(floats(0.05, 0.95)) * (high - low)
    out: dict[str, Any] = {"type": "onecycle", "steps": steps, "pct_start": pct}
    optional = {
        "div_factor": st.one_of(st.just(25.0), floats(0.1, 100.0)),
        "final_div_factor": st.one_of(st.just(1e4), floats(0.01, 1e5)),
        "anneal": st.sampled_from(["cos", "linear"]),
        "after": after,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            out[key] = draw(strategy)
    if three or draw(st.booleans()):
        out["three_phase"] = three
    return out


def onecycle_expect(n, pct, div, fdiv, anneal, three, after):
    init = 1 / div
    final = init / fdiv
    rise = pct * n - 1
    if three:
        phases = [(rise, init, 1.0), (2 * pct * n - 2, 1.0, init), (n - 1, init, final)]
    else:
        phases = [(rise, init, 1.0), (n - 1, 1.0, final)]

    def f(k):
        # past the last step (n - 1): hold the final value; periodic repeats all n updates
        k = k % n if after == "periodic" else position(k, n - 1, after)
        begin = 0.0
        for i, (end, a, b) in enumerate(phases):
            if k <= end or i == len(phases) - 1:
                p = (k - begin) / (end - begin)
                if anneal == "cos":
                    return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)
                return a + (b - a) * p
            begin = end
        raise AssertionError

    return f


ONECYCLE = Entry(
    "onecycle",
    strategy=lambda d: _onecycle(d.after),
    cases=[
        *(
            Case(
                f"n20-{a}",
                functools.partial(sc.onecycle, steps=20, after=a),
                onecycle_expect(20, 0.3, 25.0, 1e4, "cos", False, a),
                [0, *around(5), 18, 19] + ([] if a == "error" else [20, 30, 37, 38, 39, 400]),
                a,
            )
            for a in AFTER_ALL
        ),
        Case(
            "fractional-linear",
            lambda: sc.onecycle(
                steps=10, pct_start=0.25, anneal="linear", div_factor=10, final_div_factor=100
            ),
            onecycle_expect(10, 0.25, 10.0, 100.0, "linear", False, "hold"),
            [0, *around(1, 2, 9), 20],
            "hold",
        ),
        Case(
            "three-phase",
            lambda: sc.onecycle(steps=30, pct_start=0.3, three_phase=True),
            onecycle_expect(30, 0.3, 25.0, 1e4, "cos", True, "hold"),
            [0, *around(8, 16, 29), 100],
            "hold",
        ),
    ],
    errors=[
        Bad("steps", lambda: sc.onecycle(steps=1), "1"),
        Bad("pct_start", lambda: sc.onecycle(steps=10, pct_start=0), "0"),
        Bad("pct_start", lambda: sc.onecycle(steps=10, pct_start=1.5), "1.5"),
        Bad("pct_start", lambda: sc.onecycle(steps=2, pct_start=0.3), "0.3"),
        Bad("div_factor", lambda: sc.onecycle(steps=10, div_factor=0), "0"),
        Bad("anneal", lambda: sc.onecycle(steps=10, anneal="exp"), "'exp'"),
    ],
    after_error=(functools.partial(sc.onecycle, steps=20), 19),
    seed={"type": "onecycle", "steps": 1000, "pct_start": 0.25, "three_phase": True},
    oneflow=OneFlow(
        refused={"type": "onecycle", "steps": 50},
        reason="OneFlow has no one-cycle scheduler",
        approximable=True,
    ),
)


# -- sgdr: cycle i starts at starts[i] (first update ceil(starts[i])) and lasts lengths[i];
# p = (k - starts[i]) / lengths[i]; wave = 0.5 * (1 + cos(pi * p ** k_decay));
# peak: end + (start * m**i - end) * wave, range: end + (start - end) * m**i * wave;
# `end` once cycle_limit cycles are done. The cycle starts are written out by hand.
def sgdr_expect(starts, lengths, start, end, m_mul=1.0, applies="peak", k_decay=1.0, limit=None):
    def f(k):
        i = max(j for j, s in enumerate(starts) if math.ceil(s) <= k)
        if limit is not None and i >= limit:
            return end
        p = (k - starts[i]) / lengths[i]
        wave = 0.5 * (1 + math.cos(math.pi * p**k_decay))
        if applies == "peak":
            return end + (start * m_mul**i - end) * wave
        return end + (start - end) * m_mul**i * wave

    return f


# sgdr(cycle_index="log"): timm's CosineLRScheduler._get_lr cycle index, in float64:
# i = floor(log(1 - k / period * (1 - t_mul), t_mul)), t_i = t_mul**i * period,
# t_curr = k - (1 - t_mul**i) / (1 - t_mul) * period
def sgdr_log_expect(period, t_mul, start, end, limit=None):
    def f(k):
        i = math.floor(math.log(1 - k / period * (1 - t_mul), t_mul))
        if limit is not None and i >= limit:
            return end
        t_i = t_mul**i * period
        t_curr = k - (1 - t_mul**i) / (1 - t_mul) * period
        return end + (start * 1.0 - end) * 0.5 * (1 + math.cos(math.pi * t_curr / t_i))

    return f


SGDR = Entry(
    "sgdr",
    strategy=lambda d: node(
        "sgdr",
        {"period": STEPS},
        {
            "t_mul": T_MUL,
            "m_mul": UNIT,
            "start": MULT,
            "end": MULT,
            "m_mul_applies_to": st.sampled_from(["peak", "range"]),
            "k_decay": EXPONENT,
            "cycle_limit": st.one_of(st.none(), st.integers(1, 50)),
            "cycle_index": st.sampled_from(["exact", "log"]),
        },
    ).filter(lambda n: n.get("cycle_index") != "log" or not 1 < n.get("t_mul", 1) < 1.000001),
    cases=[
        Case(
            "tmul1",
            lambda: sc.sgdr(period=5, start=1.0, end=0.1),
            sgdr_expect([5 * i for i in range(30)], [5] * 30, 1.0, 0.1),
            [*around(5, 10, 100), 0, 2, 3, 147],
        ),
        Case(
            "tmul2-peak-m0.5",
            lambda: sc.sgdr(period=3, t_mul=2, m_mul=0.5, start=1.0, end=0.1),
            sgdr_expect([0, 3, 9, 21, 45, 93], [3, 6, 12, 24, 48, 96], 1.0, 0.1, 0.5),
            [*around(3, 9, 21, 45), 0, 6, 15, 92],
        ),
        Case(
            "tmul2-range-m0.5",
            lambda: sc.sgdr(
                period=3, t_mul=2, m_mul=0.5, start=1.0, end=0.1, m_mul_applies_to="range"
            ),
            sgdr_expect([0, 3, 9, 21, 45, 93], [3, 6, 12, 24, 48, 96], 1.0, 0.1, 0.5, "range"),
            [*around(3, 9, 21, 45), 0, 6, 15, 92],
        ),
        Case(
            "tmul1.5-kdecay2",
            lambda: sc.sgdr(period=4, t_mul=1.5, start=2.0, end=0.0, k_decay=2.0),
            # lengths 4, 6, 9, 13.5, 20.25, 30.375; restarts at 0, 4, 10, 19, 32.5, 52.75, 83.125
            sgdr_expect(
                [0, 4, 10, 19, 32.5, 52.75, 83.125],
                [4, 6, 9, 13.5, 20.25, 30.375, 45.5625],
                2.0,
                0.0,
                k_decay=2.0,
            ),
            [*around(4, 10, 19, 33, 53, 84), 0, 32, 83],
        ),
        Case(
            "tmul2.5-whole-starts",
            # Keras CosineDecayRestarts(1.0, 4, t_mul=2.5, m_mul=0.9, alpha=0.1): starts 4, 14,
            # 39 are whole numbers, restarts at those very steps (0.7561 at 39)
            lambda: sc.sgdr(
                period=4, t_mul=2.5, m_mul=0.9, start=1.0, end=0.1, m_mul_applies_to="range"
            ),
            sgdr_expect(
                [0, 4, 14, 39, 101.5, 257.75],
                [4, 10, 25, 62.5, 156.25, 390.625],
                1.0,
                0.1,
                m_mul=0.9,
                applies="range",
            ),
            [*around(4, 14, 39, 102, 258), 0, 100, 600],
        ),
        Case(
            "cycle-limit2",
            lambda: sc.sgdr(period=3, t_mul=2, start=1.0, end=0.05, cycle_limit=2),
            sgdr_expect([0, 3, 9, 21, 45], [3, 6, 12, 24, 48], 1.0, 0.05, limit=2),
            [*around(3, 9, 21), 0, 2, 50, 10**9],
        ),
        Case(
            "tmul1-cycle-limit3",
            lambda: sc.sgdr(period=4, start=1.0, end=0.2, cycle_limit=3),
            sgdr_expect([0, 4, 8, 12, 16], [4, 4, 4, 4, 4], 1.0, 0.2, limit=3),
            [*around(4, 8, 12), 0, 2, 10**6],
        ),
        Case(
            "log-tmul3",  # restarts at 0, 1, 4, 13, 40, 121, 364: the logarithm rounds 121 down
            lambda: sc.sgdr(period=1, t_mul=3, start=1.0, end=0.05, cycle_index="log"),
            sgdr_log_expect(1, 3, 1.0, 0.05),
            [*around(4, 13, 40, 121, 364), 0, 1, 2],
        ),
        Case(
            "log-tmul1.5-limit",
            lambda: sc.sgdr(
                period=4, t_mul=1.5, start=1.0, end=0.1, cycle_limit=4, cycle_index="log"
            ),
            sgdr_log_expect(4, 1.5, 1.0, 0.1, limit=4),
            [*around(4, 10, 19, 33, 53), 0, 100],
        ),
    ],
    errors=[
        Bad("period", lambda: sc.sgdr(period=0), "0"),
        Bad("t_mul", lambda: sc.sgdr(period=2, t_mul=0.5), "0.5"),
        Bad(
            "t_mul",
            lambda: sc.sgdr(period=3, t_mul=1.0000000000000002, k_decay=0.5, cycle_index="log"),
            "1.0000000000000002",
        ),
        Bad("m_mul", lambda: sc.sgdr(period=2, m_mul=0), "0"),
        Bad("k_decay", lambda: sc.sgdr(period=2, k_decay=0), "0"),
        Bad("cycle_limit", lambda: sc.sgdr(period=2, cycle_limit=0), "0"),
        Bad("m_mul_applies_to", lambda: sc.sgdr(period=2, m_mul_applies_to="both"), "'both'"),
        Bad("cycle_index", lambda: sc.sgdr(period=2, cycle_index="round"), "'round'"),
    ],
    seed={"type": "sgdr", "period": 10, "t_mul": 2.0, "m_mul": 0.5, "cycle_limit": 5},
    oneflow=OneFlow(
        exact=(
            {"type": "sgdr", "period": 6, "m_mul": 0.5, "end": 0.1, "cycle_limit": 3},
            {"type": "sgdr", "period": 40, "t_mul": 2.0, "start": 2.0},
            {"type": "sgdr", "period": 3, "t_mul": 2.0, "cycle_limit": 4, "cycle_index": "log"},
            {"type": "sgdr", "period": 4, "m_mul": 0.8, "m_mul_applies_to": "range"},
            # with t_mul 1, 'log' changes nothing (cycles by integer division)
            {"type": "sgdr", "period": 5, "end": 0.2, "cycle_index": "log"},
        )
    ),
)

ENTRIES = [CYCLIC, ONECYCLE, SGDR]
