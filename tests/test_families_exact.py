"""Exact values of every schedule node type at its boundaries, and against reference libraries.

Step semantics: ``k`` is the 0-based count of completed optimizer updates; update ``k`` uses
``s(k)``. Expected values come from one of two independent sources, never from schedcore:

* a formula written out below in plain Python ``math`` (the documented formula of the node),
  evaluated at step 0, the end of warmup, the step before / at / after every phase
  boundary, the last step and past the end (for every ``after`` mode the node has);
* the real reference library (torch, transformers, Keras, optax), evaluated at every step
  of a horizon of about three times the schedule's length. torch and transformers compute
  in float64 (``rtol=1e-12``); Keras and optax in float32 (``rtol=1e-6``, plus an absolute
  slack of one float32 ulp at 1.0, 2**-23, for values near zero, where float32's
  ``1 + cos(x)`` cancels).

For torch-style schedulers the lr that update ``k`` uses is ``param_groups[0]["lr"]`` after
construction (which applies f(0)) and ``k`` calls of ``scheduler.step()``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import schedcore as sc
from schedcore import SpecError, StepRangeError

REL = 1e-12  # float64 references and hand formulas
ABS = 1e-15  # values that are mathematically 0 (e.g. 1 + cos(pi)) but rounded
F32_REL = 1e-6
F32_ABS = 2.0**-23


# ------------------------------------------------------------------------------ helpers
def evaluate(node: sc.Schedule, steps: Sequence[int]) -> np.ndarray:
    """``node`` at ``steps``, checking that the scalar, vectorized and unordered paths agree
    bit for bit (the node contract says they give identical values)."""
    array = np.asarray(steps, dtype=np.int64)
    vector = node(array)
    assert vector.dtype == np.float64 and vector.shape == array.shape
    scalars = np.array([node(int(k)) for k in array])
    np.testing.assert_array_equal(scalars, vector)
    backwards = node(array[::-1].copy())
    np.testing.assert_array_equal(backwards[::-1], vector)
    return vector


def close(actual: np.ndarray, expected: Sequence[float], rel: float = REL, abs_: float = ABS):
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), rtol=rel, atol=abs_)


def around(*points: int) -> list[int]:
    """The step before, at and after each boundary (steps below 0 left out), sorted."""
    return sorted({k for p in points for k in (p - 1, p, p + 1) if k >= 0})


def position(k: int, length: int, after: str) -> int:
    """The step a finite node's formula sees under its past-the-end mode (by the node docs:
    hold clamps at the end, periodic wraps modulo the length, error leaves k as is)."""
    if after == "hold":
        return min(k, length)
    if after == "periodic":
        return k % length
    return k


@functools.cache
def _torch():
    import torch

    return torch


@functools.cache
def _optax():
    import jax.numpy as jnp
    import optax

    return optax, jnp


@functools.cache
def _keras_schedules():
    import keras

    return keras.optimizers.schedules


def torch_lrs(make: Callable, n: int, lr: float = 1.0) -> np.ndarray:
    """The lr of updates 0..n-1 under a torch scheduler built by ``make(optimizer)``."""
    torch = _torch()
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = make(opt)
    out = []
    for k in range(n):
        out.append(opt.param_groups[0]["lr"])
        if k < n - 1:
            opt.step()
            sched.step()
    return np.asarray(out, dtype=np.float64)


def optax_values(schedule, n: int) -> np.ndarray:
    import jax

    _, jnp = _optax()
    values = np.asarray(jax.vmap(schedule)(jnp.arange(n)))
    assert values.dtype == np.float32
    return values.astype(np.float64)


def keras_values(schedule, n: int) -> np.ndarray:
    values = np.asarray(schedule(np.arange(n)))
    assert values.dtype == np.float32
    return values.astype(np.float64)


# ------------------------------------------------------------------ hand-formula cases
@dataclasses.dataclass(frozen=True)
class Case:
    type: str
    id: str
    build: Callable[[], sc.Schedule]
    expect: Callable[[int], float]
    steps: tuple[int, ...]
    after: str | None = None  # the node's past-the-end mode, where it has one


CASES: list[Case] = []


def case(type_: str, id_: str, build, expect, steps, after=None) -> None:
    CASES.append(Case(type_, id_, build, expect, tuple(sorted(set(steps))), after))


def anneal_steps(n: int, after: str) -> list[int]:
    """0, 1, the middle, around the end and, unless after = 'error', well past it."""
    base = [0, 1, n // 2, *around(n)]
    if after == "error":
        return [k for k in base if k <= n]
    return [*base, *around(2 * n), 5 * n + 3, 2**40 + 1]


# constant: value v at every step, including huge ones
case("constant", "v0.3", lambda: sc.constant(0.3), lambda k: 0.3, [0, 1, 7, 2**53])
case("constant", "v0", lambda: sc.constant(0.0), lambda k: 0.0, [0, 5, 2**40])
case("constant", "default", lambda: sc.constant(), lambda k: 1.0, [0, 3])


# linear: start + (end - start) * p, p = k / steps
for _after in ("hold", "periodic", "error"):
    case(
        "linear",
        f"down-{_after}",
        functools.partial(sc.linear, steps=8, start=0.9, end=0.1, after=_after),
        lambda k, a=_after: 0.9 + (0.1 - 0.9) * position(k, 8, a) / 8,
        anneal_steps(8, _after),
        _after,
    )
case(
    "linear",
    "up-default",
    lambda: sc.linear(steps=5, start=0.0, end=2.0),
    lambda k: 2.0 * min(k, 5) / 5,
    anneal_steps(5, "hold"),
    "hold",
)


# cosine: end + (start - end) * (0.5 * (1 + cos(2 pi cycles p))) ** exponent, p = k / steps;
# hold clamps p at 1, periodic lets the wave continue (p unclamped). The wave's period is
# steps / cycles (an integer `period` in these cases), so the exact value at a huge k is the
# value at k mod period.
def cosine_expect(n, start, end, cycles, exponent, after, period):
    assert period * cycles == n

    def f(k):
        p = (min(k, n) if after == "hold" else k % period) / n
        return end + (start - end) * (0.5 * (1 + math.cos(2 * math.pi * cycles * p))) ** exponent

    return f


for _after in ("hold", "periodic", "error"):
    case(
        "cosine",
        f"half-{_after}",
        functools.partial(sc.cosine, steps=10, start=0.9, end=0.05, after=_after),
        cosine_expect(10, 0.9, 0.05, 0.5, 1.0, _after, period=20),
        [*anneal_steps(10, _after), *([] if _after == "error" else [15, 30, 31])],
        _after,
    )
    case(
        "cosine",
        f"cycles1.5-exp2-{_after}",
        functools.partial(
            sc.cosine, steps=12, start=1.0, end=0.2, cycles=1.5, exponent=2.0, after=_after
        ),
        cosine_expect(12, 1.0, 0.2, 1.5, 2.0, _after, period=8),
        [*anneal_steps(12, _after), 3, 4, 5, 8],
        _after,
    )


# polynomial: (start - end) * (1 - p) ** power + end
for _after in ("hold", "periodic", "error"):
    case(
        "polynomial",
        f"power2-{_after}",
        functools.partial(sc.polynomial, steps=10, start=1.0, end=0.05, power=2.0, after=_after),
        lambda k, a=_after: (1.0 - 0.05) * (1 - position(k, 10, a) / 10) ** 2.0 + 0.05,
        anneal_steps(10, _after),
        _after,
    )
case(
    "polynomial",
    "power0.5-up",
    lambda: sc.polynomial(steps=7, start=0.1, end=0.8, power=0.5),
    lambda k: (0.1 - 0.8) * (1 - min(k, 7) / 7) ** 0.5 + 0.8,
    anneal_steps(7, "hold"),
    "hold",
)


# geometric: start * (end / start) ** p
for _after in ("hold", "periodic", "error"):
    case(
        "geometric",
        f"up-{_after}",
        functools.partial(sc.geometric, steps=6, start=1e-3, end=1.0, after=_after),
        lambda k, a=_after: 1e-3 * (1.0 / 1e-3) ** (position(k, 6, a) / 6),
        anneal_steps(6, _after),
        _after,
    )


# one_minus_sqrt: end + (start - end) * (1 - sqrt(p))
for _after in ("hold", "periodic", "error"):
    case(
        "one_minus_sqrt",
        f"{_after}",
        functools.partial(sc.one_minus_sqrt, steps=9, start=1.0, end=0.1, after=_after),
        lambda k, a=_after: 0.1 + (1.0 - 0.1) * (1 - math.sqrt(position(k, 9, a) / 9)),
        [*anneal_steps(9, _after), 4],
        _after,
    )


# exponential: start * rate ** (k / every), staircase: rate ** floor(k / every)
case(
    "exponential",
    "smooth",
    lambda: sc.exponential(rate=0.5, every=3, start=2.0),
    lambda k: 2.0 * 0.5 ** (k / 3),
    [*around(3, 6), 0, 100, 1000],
)
case(
    "exponential",
    "staircase",
    lambda: sc.exponential(rate=0.5, every=3, start=2.0, staircase=True),
    lambda k: 2.0 * 0.5 ** (k // 3),
    [*around(3, 6), 0, 100],
)
case(
    "exponential",
    "rate1",
    lambda: sc.exponential(rate=1.0),
    lambda k: 1.0,
    [0, 1, 2**50],
)

# step: gamma ** floor(k / every)
case(
    "step",
    "every3",
    lambda: sc.step(every=3, gamma=0.5),
    lambda k: 0.5 ** (k // 3),
    [*around(3, 6, 9), 0, 31],
)

# multistep: gamma ** (number of milestones <= k), a repeated milestone counts twice
case(
    "multistep",
    "dup",
    lambda: sc.multistep(milestones=[2, 5, 5, 9], gamma=0.5),
    lambda k: 0.5 ** sum(1 for m in (2, 5, 5, 9) if m <= k),
    [*around(2, 5, 9), 100],
)
case(
    "multistep",
    "at0",
    lambda: sc.multistep(milestones=[0, 4], gamma=3.0),
    lambda k: 3.0 ** sum(1 for m in (0, 4) if m <= k),
    [*around(0, 4), 50],
)

# inverse_sqrt: 1 / sqrt((k + timescale) / timescale)
case(
    "inverse_sqrt",
    "tau4",
    lambda: sc.inverse_sqrt(timescale=4),
    lambda k: 1 / math.sqrt((k + 4) / 4),
    [*around(4), 0, 12, 100, 2**40],
)

# inverse_time: 1 / (1 + rate * k / every); staircase floors k / every
case(
    "inverse_time",
    "smooth",
    lambda: sc.inverse_time(rate=0.5, every=2),
    lambda k: 1 / (1 + 0.5 * k / 2),
    [*around(2, 4), 0, 99],
)
case(
    "inverse_time",
    "staircase",
    lambda: sc.inverse_time(rate=0.5, every=2, staircase=True),
    lambda k: 1 / (1 + 0.5 * (k // 2)),
    [*around(2, 4), 0, 99],
)


# noam (anchors, Attention Is All You Need 5.3): factor * d**-0.5 * min(s**-0.5, s * w**-1.5),
# with s = 0 replaced by 1
def noam_expect(d, w, factor):
    def f(k):
        s = max(k, 1)
        return factor * d**-0.5 * min(s**-0.5, s * w**-1.5)

    return f


case(
    "noam",
    "d16-w4",
    lambda: sc.noam(d_model=16, warmup=4, factor=2.0),
    noam_expect(16, 4, 2.0),
    [*around(1, 4), 16, 1000],
)
case(
    "noam",
    "d512-w4000",
    lambda: sc.noam(d_model=512, warmup=4000),
    noam_expect(512, 4000, 1.0),
    [*around(1, 4000), 100_000],
)


# piecewise_constant: 'at' takes values[i] from k = boundaries[i-1]; 'after' from k = b + 1
def piecewise_expect(bounds, values, change):
    def f(k):
        passed = sum(1 for b in bounds if (b <= k if change == "at" else b < k))
        return values[passed]

    return f


for _change in ("at", "after"):
    case(
        "piecewise_constant",
        _change,
        functools.partial(
            sc.piecewise_constant, boundaries=[3, 7], values=[1.0, 0.5, 0.25], change=_change
        ),
        piecewise_expect([3, 7], [1.0, 0.5, 0.25], _change),
        [*around(0, 3, 7), 100],
    )
case(
    "piecewise_constant",
    "at0",
    lambda: sc.piecewise_constant(boundaries=[0], values=[9.0, 2.0]),
    lambda k: 2.0,
    [0, 1],
)


# piecewise_interpolate: the first value before the first point; linear a + (b - a) p or
# cosine b + (a - b) * 0.5 * (1 + cos(pi p)) between points; `after` past the last point
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


for _how in ("linear", "cosine"):
    for _after in ("hold", "periodic", "error"):
        case(
            "piecewise_interpolate",
            f"{_how}-{_after}",
            functools.partial(
                sc.piecewise_interpolate,
                steps=[2, 6, 10],
                values=[0.2, 1.0, 0.1],
                interpolation=_how,
                after=_after,
            ),
            interpolate_expect([2, 6, 10], [0.2, 1.0, 0.1], _how, _after),
            [0, 4, 8, *around(2, 6), 9, 10]
            + ([] if _after == "error" else [11, 12, 13, 16, 20, 21, 10**6]),
            _after,
        )
case(
    "piecewise_interpolate",
    "single-point",
    lambda: sc.piecewise_interpolate(steps=[3], values=[0.7]),
    lambda k: 0.7,
    [0, 3, 4, 100],
    "hold",
)


# cyclic: cycle c, x = divmod(k, up + down); rise x / up (x <= up), fall (up + down - x) / down;
# amplitude (high - low) times 1 / 0.5 ** c / gamma ** k
def cyclic_expect(low, high, up, down, mode, gamma=1.0):
    def f(k):
        c, x = divmod(k, up + down)
        scale = x / up if x <= up else (up + down - x) / down
        amp = {"triangular": 1.0, "triangular2": 0.5**c, "exp_range": gamma**k}[mode]
        return low + (high - low) * scale * amp

    return f


for _mode in ("triangular", "triangular2", "exp_range"):
    case(
        "cyclic",
        f"{_mode}-3-5",
        functools.partial(sc.cyclic, low=0.1, high=1.0, up=3, down=5, mode=_mode, gamma=0.9),
        cyclic_expect(0.1, 1.0, 3, 5, _mode, 0.9),
        [*around(3, 8, 11, 16, 19, 24), 0, 1000],
    )
case(
    "cyclic",
    "symmetric-down-default",
    lambda: sc.cyclic(low=1.0, high=0.0, up=4),
    cyclic_expect(1.0, 0.0, 4, 4, "triangular"),
    [*around(4, 8, 12), 0],
)


# onecycle (torch's OneCycleLR): phases end at pct * steps - 1 (and 2 * pct * steps - 2 with
# three_phase) and steps - 1; within each, cos: b + (a - b) / 2 * (cos(pi p) + 1),
# linear: a + (b - a) p; the last step is steps - 1, so `after` applies from there
# (periodic: the whole cycle of `steps` updates repeats)
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


for _after in ("hold", "periodic", "error"):
    case(
        "onecycle",
        f"n20-{_after}",
        functools.partial(sc.onecycle, steps=20, after=_after),
        onecycle_expect(20, 0.3, 25.0, 1e4, "cos", False, _after),
        [0, *around(5), 18, 19] + ([] if _after == "error" else [20, 30, 37, 38, 39, 400]),
        _after,
    )
case(
    "onecycle",
    "fractional-linear",
    lambda: sc.onecycle(
        steps=10, pct_start=0.25, anneal="linear", div_factor=10, final_div_factor=100
    ),
    onecycle_expect(10, 0.25, 10.0, 100.0, "linear", False, "hold"),
    [0, *around(1, 2, 9), 20],
    "hold",
)
case(
    "onecycle",
    "three-phase",
    lambda: sc.onecycle(steps=30, pct_start=0.3, three_phase=True),
    onecycle_expect(30, 0.3, 25.0, 1e4, "cos", True, "hold"),
    [0, *around(8, 16, 29), 100],
    "hold",
)


# sgdr: cycle i starts at starts[i] (first update ceil(starts[i])) and lasts lengths[i];
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


case(
    "sgdr",
    "tmul1",
    lambda: sc.sgdr(period=5, start=1.0, end=0.1),
    sgdr_expect([5 * i for i in range(30)], [5] * 30, 1.0, 0.1),
    [*around(5, 10, 100), 0, 2, 3, 147],
)
case(
    "sgdr",
    "tmul2-peak-m0.5",
    lambda: sc.sgdr(period=3, t_mul=2, m_mul=0.5, start=1.0, end=0.1),
    sgdr_expect([0, 3, 9, 21, 45, 93], [3, 6, 12, 24, 48, 96], 1.0, 0.1, 0.5),
    [*around(3, 9, 21, 45), 0, 6, 15, 92],
)
case(
    "sgdr",
    "tmul2-range-m0.5",
    lambda: sc.sgdr(period=3, t_mul=2, m_mul=0.5, start=1.0, end=0.1, m_mul_applies_to="range"),
    sgdr_expect([0, 3, 9, 21, 45, 93], [3, 6, 12, 24, 48, 96], 1.0, 0.1, 0.5, "range"),
    [*around(3, 9, 21, 45), 0, 6, 15, 92],
)
case(
    "sgdr",
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
)
case(
    "sgdr",
    "cycle-limit2",
    lambda: sc.sgdr(period=3, t_mul=2, start=1.0, end=0.05, cycle_limit=2),
    sgdr_expect([0, 3, 9, 21, 45], [3, 6, 12, 24, 48], 1.0, 0.05, limit=2),
    [*around(3, 9, 21), 0, 2, 50, 10**9],
)
case(
    "sgdr",
    "tmul1-cycle-limit3",
    lambda: sc.sgdr(period=4, start=1.0, end=0.2, cycle_limit=3),
    sgdr_expect([0, 4, 8, 12, 16], [4, 4, 4, 4, 4], 1.0, 0.2, limit=3),
    [*around(4, 8, 12), 0, 2, 10**6],
)


# sequence: phase i runs from starts[i] on its local clock (k - starts[i]) or the global k
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


case(
    "sequence",
    "local",
    lambda: sc.Sequence(phases=_seq_phases()),
    seq_expect("local"),
    [*around(4, 7, 13), 0, 10, 100],
)
case(
    "sequence",
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
)
case(
    "sequence",
    "tuples-open-last",
    lambda: sc.sequence((sc.constant(2.0), 3), sc.exponential(rate=0.5)),
    lambda k: 2.0 if k < 3 else 0.5 ** (k - 3),
    [*around(3), 0, 40],
)


# warmup over a cosine body c(j) = 0.1 + 0.9 * 0.5 * (1 + cos(pi * min(j, 10) / 10)):
# v = c(0) (prefix: the body sees j = k - W) or c(W) (overlay: the body sees k);
# over k < W the ramp rises from f * v to v: linear v (f + (1 - f) k / W), cosine
# v + (f v - v) * 0.5 * (1 + cos(pi k / W)), exponential f v (1 / f) ** (k / W), constant f v
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


for _shape, _f in (
    ("linear", 0.0),
    ("linear", 0.25),
    ("cosine", 0.0),
    ("exponential", 0.01),
    ("constant", 0.1),
):
    for _prefix in (True, False):
        case(
            "warmup",
            f"{_shape}-f{_f}-{'prefix' if _prefix else 'overlay'}",
            functools.partial(
                sc.warmup,
                schedule=sc.cosine(steps=10, start=1.0, end=0.1),
                steps=4,
                shape=_shape,
                start_factor=_f,
                prefix=_prefix,
            ),
            warmup_expect(4, _shape, _f, _prefix),
            [*around(4, 10, 14), 0, 2, 7, 100],
        )


# wsd: warmup from `end` to 1 (linear, or cosine end + (1 - end) * 0.5 * (1 - cos(pi p))),
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


for _warm, _cool in (("linear", "linear"), ("cosine", "cosine"), ("linear", "1-sqrt")):
    case(
        "wsd",
        f"{_warm}-{_cool}",
        functools.partial(
            sc.wsd, warmup=2, stable=3, decay=4, end=0.1, warmup_shape=_warm, decay_shape=_cool
        ),
        wsd_expect(2, 3, 4, 0.1, _warm, _cool),
        [*around(2, 5, 9), 0, 7, 100],
    )
case(
    "wsd",
    "no-warmup-no-stable-cycles1",
    lambda: sc.wsd(stable=0, decay=6, decay_shape="cosine", cycles=1.0),
    wsd_expect(0, 0, 6, 0.0, "linear", "cosine", cycles=1.0),
    [*around(3, 6), 0, 50],
)


# product, scale, clamp: act on values
def _lin10(j):  # linear(steps=10) from 1 to 0, held
    return 1 - min(j, 10) / 10


case(
    "product",
    "linear-x-step",
    lambda: sc.product(schedules=[sc.linear(steps=10), sc.step(every=3, gamma=0.5)]),
    lambda k: _lin10(k) * 0.5 ** (k // 3),
    [*around(3, 6, 10), 0, 30],
)
case(
    "product",
    "single",
    lambda: sc.product(schedules=[sc.constant(0.25)]),
    lambda k: 0.25,
    [0, 9],
)
case(
    "scale",
    "x3",
    lambda: sc.scale(sc.linear(steps=10), factor=3.0),
    lambda k: 3.0 * _lin10(k),
    [*around(10), 0, 5, 40],
)
case(
    "clamp",
    "both",
    lambda: sc.clamp(sc.linear(steps=10), min=0.2, max=0.7),
    lambda k: min(max(_lin10(k), 0.2), 0.7),
    [*around(3, 8, 10), 0, 5, 40],
)
case(
    "clamp",
    "min-only",
    lambda: sc.clamp(sc.linear(steps=10), min=0.35),
    lambda k: max(_lin10(k), 0.35),
    [*around(6, 7), 0, 40],
)


# shift, repeat, per_epoch: act on the step
case(
    "shift",
    "plus1",
    lambda: sc.shift(sc.linear(steps=10), offset=1),
    lambda k: _lin10(k + 1),
    [*around(9, 10), 0, 40],
)
case(
    "shift",
    "minus3",
    lambda: sc.shift(sc.linear(steps=10), offset=-3),
    lambda k: _lin10(max(k - 3, 0)),
    [*around(3, 13), 0, 40],
)
case(
    "repeat",
    "period4",
    lambda: sc.repeat(sc.linear(steps=10), period=4),
    lambda k: _lin10(k % 4),
    [*around(4, 8, 12), 0, 2**40 + 3],
)
case(
    "per_epoch",
    "step-in-epochs",
    lambda: sc.per_epoch(sc.step(every=2, gamma=0.5), steps_per_epoch=5),
    lambda k: 0.5 ** ((k // 5) // 2),
    [*around(5, 10, 20), 0, 101],
)


# options added for porting (schedcore.port): transformers' hard restarts, Keras' cycling
# polynomial, timm's / OneFlow's floor(log) cycle index. Each hand formula is the source
# library's own expression, written out.


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


for _after in ("hold", "periodic", "error"):
    case(
        "cosine",
        f"restarts-3-{_after}",
        functools.partial(
            sc.cosine, steps=12, start=0.9, end=0.1, cycles=1.5, restarts=True, after=_after
        ),
        restarts_expect(12, 0.9, 0.1, 1.5, _after),
        [*anneal_steps(12, _after), 3, 4, 5, 7, 8, 9],
        _after,
    )
# the rounding of (22 * (15 / 22)) mod 1 = 0.999...: transformers gives ~0 there, not 1
case(
    "cosine",
    "restarts-rounding",
    lambda: sc.cosine(steps=22, cycles=11.0, restarts=True),
    restarts_expect(22, 1.0, 0.0, 11.0, "hold"),
    [14, 15, 16, 21, 22, 23],
    "hold",
)


# polynomial(after="stretch"): Keras PolynomialDecay(cycle=True): steps' = steps *
# max(1, ceil(k / steps)), (start - end) * (1 - k / steps') ** power + end
def poly_cycle_expect(n, start, end, power):
    def f(k):
        stretched = n * max(1, math.ceil(k / n))
        return (start - end) * (1 - k / stretched) ** power + end

    return f


case(
    "polynomial",
    "stretch",
    lambda: sc.polynomial(steps=10, start=1.0, end=0.1, power=2.0, after="stretch"),
    poly_cycle_expect(10, 1.0, 0.1, 2.0),
    [*around(10, 20, 30), 0, 1, 5, 15, 999, 1000, 1001],
    "stretch",
)


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


case(
    "sgdr",
    "log-tmul3",  # restarts at 0, 1, 4, 13, 40, 121, 364: the logarithm rounds 121 down
    lambda: sc.sgdr(period=1, t_mul=3, start=1.0, end=0.05, cycle_index="log"),
    sgdr_log_expect(1, 3, 1.0, 0.05),
    [*around(4, 13, 40, 121, 364), 0, 1, 2],
)
case(
    "sgdr",
    "log-tmul1.5-limit",
    lambda: sc.sgdr(period=4, t_mul=1.5, start=1.0, end=0.1, cycle_limit=4, cycle_index="log"),
    sgdr_log_expect(4, 1.5, 1.0, 0.1, limit=4),
    [*around(4, 10, 19, 33, 53), 0, 100],
)


def test_log_cycle_index_misplaces_a_restart_as_timm_does() -> None:
    exact = sc.sgdr(period=1, t_mul=3, start=1.0, end=0.05)
    log = sc.sgdr(period=1, t_mul=3, start=1.0, end=0.05, cycle_index="log")
    assert exact(121) == 1.0
    assert log(121) == pytest.approx(0.05)  # the end of cycle 4, not a restart
    steps = np.arange(400)
    differ = np.flatnonzero(exact(steps) != log(steps))
    assert [int(k) for k in differ if abs(exact(int(k)) - log(int(k))) > 1e-9] == [121]


@pytest.mark.parametrize("c", CASES, ids=lambda c: f"{c.type}-{c.id}")
def test_hand_formula(c: Case) -> None:
    node = c.build()
    assert node.type_name == c.type
    if c.after is not None:
        assert node.after == c.after
    expected = [c.expect(k) for k in c.steps]
    close(evaluate(node, c.steps), expected)


# ---------------------------------------------------------------- after = "error"
# (node, its last step): the last step evaluates (to the hold value), the next one raises
AFTER_ERROR = [
    (functools.partial(sc.linear, steps=8), 8),
    (functools.partial(sc.cosine, steps=10), 10),
    (functools.partial(sc.polynomial, steps=10, power=2.0), 10),
    (functools.partial(sc.geometric, steps=6, start=0.5, end=0.1), 6),
    (functools.partial(sc.one_minus_sqrt, steps=9), 9),
    (functools.partial(sc.piecewise_interpolate, steps=[2, 6, 10], values=[0.2, 1.0, 0.1]), 10),
    (functools.partial(sc.onecycle, steps=20), 19),
]


@pytest.mark.parametrize("make, last", AFTER_ERROR, ids=[m.func.__name__ for m, _ in AFTER_ERROR])
def test_after_error(make, last) -> None:
    strict, held = make(after="error"), make(after="hold")
    assert strict(last) == held(last)
    close(strict(np.arange(last + 1)), held(np.arange(last + 1)), 0.0, 0.0)
    with pytest.raises(StepRangeError, match=f"step {last + 1} is past its end"):
        strict(last + 1)
    with pytest.raises(StepRangeError):
        strict(np.array([0, last + 1, 1]))
    with pytest.raises(StepRangeError):
        strict(2**53)


def test_after_error_inside_warmup_uses_local_step() -> None:
    node = sc.warmup(sc.cosine(steps=10, after="error"), steps=5)
    assert node(15) == 0.0  # the body's last step, k - 5 = 10
    with pytest.raises(StepRangeError):
        node(16)


# ------------------------------------------------------------------ coverage
def _types_with_after() -> set[str]:
    return {
        name
        for name, cls in sc.NODE_TYPES.items()
        if "after" in {f.name for f in dataclasses.fields(cls)}
    }


def test_every_node_type_has_exact_cases() -> None:
    """A new node type without hand-formula cases (or error cases) fails here."""
    registered = set(sc.NODE_TYPES)
    assert {c.type for c in CASES} == registered
    assert {c.type for c in ERROR_CASES} == registered
    for c in CASES:
        assert c.build().type_name == c.type


def test_every_after_mode_is_covered() -> None:
    with_after = _types_with_after()
    assert with_after  # the registry does declare `after` fields
    for name in with_after:
        modes = {c.after for c in CASES if c.type == name}
        assert {"hold", "periodic", "error"} <= modes, name
    assert {make(after="hold").type_name for make, _ in AFTER_ERROR} == with_after


# --------------------------------------------------------- torch reference schedulers
def test_cosine_periodic_matches_torch_cosine_annealing() -> None:
    torch = _torch()
    T, eta_min, n = 10, 0.1, 31
    stepped = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T, eta_min), n)
    closed = [eta_min + (1 - eta_min) * (1 + math.cos(math.pi * k / T)) / 2 for k in range(n)]
    node = sc.cosine(steps=T, start=1.0, end=eta_min, after="periodic")
    values = evaluate(node, range(n))
    close(values, closed)
    close(values, stepped)  # torch's recursive form drifts ~1e-16 here
    # the default (hold) agrees up to T, then stays at eta_min where torch rises again
    held = evaluate(sc.cosine(steps=T, start=1.0, end=eta_min), range(n))
    close(held[: T + 1], stepped[: T + 1])
    close(held[T:], [eta_min] * (n - T))
    assert stepped[2 * T] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(total_steps=20),
        dict(total_steps=23, pct_start=0.25, anneal_strategy="linear"),
        dict(total_steps=10, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
        dict(total_steps=30, three_phase=True),
        dict(total_steps=31, pct_start=0.4, three_phase=True, anneal_strategy="linear"),
    ],
    ids=str,
)
def test_onecycle_matches_torch(kw) -> None:
    torch = _torch()
    n = kw["total_steps"]
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, cycle_momentum=False, **kw),
        n,
    )
    node = sc.onecycle(
        steps=n,
        pct_start=kw.get("pct_start", 0.3),
        div_factor=kw.get("div_factor", 25.0),
        final_div_factor=kw.get("final_div_factor", 1e4),
        anneal=kw.get("anneal_strategy", "cos"),
        three_phase=kw.get("three_phase", False),
    )
    values = evaluate(node, range(3 * n))
    close(values[:n], ref)
    # past the last update (k = n - 1) the default holds torch's final value
    close(values[n:], [ref[-1]] * (2 * n))


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("up, down", [(3, 5), (4, None), (7, 2)])
def test_cyclic_matches_torch(mode, up, down) -> None:
    torch = _torch()
    period = up + (down or up)
    n = 4 * period + 3
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CyclicLR(
            o,
            base_lr=0.1,
            max_lr=1.0,
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=0.97,
            cycle_momentum=False,
        ),
        n,
    )
    node = sc.cyclic(low=0.1, high=1.0, up=up, down=down, mode=mode, gamma=0.97)
    close(evaluate(node, range(n)), ref)


def test_multistep_and_step_match_torch() -> None:
    torch = _torch()
    n = 40
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5, 5, 9, 30], gamma=0.5),
        n,
    )
    node = sc.multistep(milestones=[2, 5, 5, 9, 30], gamma=0.5)
    close(evaluate(node, range(n)), ref)
    ref = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3), n)
    close(evaluate(sc.step(every=3, gamma=0.3), range(n)), ref)


def test_exponential_linear_polynomial_constant_match_torch() -> None:
    torch = _torch()
    lr_sched = torch.optim.lr_scheduler
    n = 30
    ref = torch_lrs(lambda o: lr_sched.ExponentialLR(o, gamma=0.9), n)
    close(evaluate(sc.exponential(rate=0.9), range(n)), ref)
    ref = torch_lrs(
        lambda o: lr_sched.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8), n
    )
    close(evaluate(sc.linear(steps=8, start=0.25, end=1.0), range(n)), ref)
    ref = torch_lrs(lambda o: lr_sched.PolynomialLR(o, total_iters=10, power=2.0), n)
    close(evaluate(sc.polynomial(steps=10, power=2.0), range(n)), ref)
    ref = torch_lrs(lambda o: lr_sched.ConstantLR(o, factor=0.5, total_iters=4), n)
    node = sc.piecewise_constant(boundaries=[4], values=[0.5, 1.0])
    close(evaluate(node, range(n)), ref)


@pytest.mark.parametrize("t_mul", [1, 2, 3])
def test_sgdr_matches_torch_warm_restarts(t_mul) -> None:
    torch = _torch()
    n = 3 * (3 + 3 * t_mul + 3 * t_mul**2)
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=3, T_mult=t_mul, eta_min=0.05
        ),
        n,
        lr=0.8,
    )
    node = sc.sgdr(period=3, t_mul=t_mul, start=1.0, end=0.05 / 0.8)
    close(0.8 * evaluate(node, range(n)), ref)


def test_sgdr_restarts_exactly_at_integer_cycle_starts() -> None:
    """period 1, t_mul 3: cycles start at 0, 1, 4, 13, 40, 121, 364 (sum of 3**i). A cycle
    index from floor(log(...)) rounds 121 into the previous cycle (timm, anchors 7)."""
    node = sc.sgdr(period=1, t_mul=3, start=1.0, end=0.0)
    restarts = [0, 1, 4, 13, 40, 121, 364, 1093]
    values = evaluate(node, restarts)
    assert values.tolist() == [1.0] * len(restarts)
    # the last update of cycle i (length 3**i) is at position (3**i - 1) / 3**i
    lasts = [r - 1 for r in restarts[1:]]
    expected = [0.5 * (1 + math.cos(math.pi * (3**i - 1) / 3**i)) for i in range(len(lasts))]
    close(evaluate(node, lasts), expected)
    # and torch (integer T_cur / T_i arithmetic) agrees at every step
    torch = _torch()
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3),
        400,
    )
    close(evaluate(node, range(400)), ref)
    assert [k for k in range(400) if ref[k] == 1.0] == restarts[:7]


# ------------------------------------------------------------- transformers (via torch)
def _hf():
    from transformers import optimization

    return optimization


def _recipe_lr(schedule: dict, lr: float, total: int, n: int) -> np.ndarray:
    recipe = sc.load({"lr": lr, "training": {"total_steps": total}, "schedule": schedule})
    out = recipe.lr(np.arange(n))
    close(out, evaluate(recipe.schedule, range(n)) * lr, 0.0, 0.0)
    return out


@pytest.mark.parametrize("cycles", [None, 1.5])
def test_shortform_cosine_matches_hf(cycles) -> None:
    hf = _hf()
    T, W, lr = 50, 5, 0.3
    kw = {} if cycles is None else {"num_cycles": cycles}
    ref = torch_lrs(lambda o: hf.get_cosine_schedule_with_warmup(o, W, T, **kw), 3 * T + 1, lr)
    short = {"warmup": W, "decay": "cosine", **({} if cycles is None else {"cycles": cycles})}
    got = _recipe_lr(short, lr, T, 3 * T + 1)
    close(got[: T + 1], ref[: T + 1], abs_=ABS * lr)
    # past T: schedcore holds the value at T (min lr 0), transformers' wave continues
    final = 0.0 if cycles is None else 0.5 * (1 + math.cos(math.pi * 2 * 1.5)) * lr
    close(got[T:], [final] * (2 * T + 1), abs_=ABS * lr)
    # the explicit periodic variant reproduces transformers at every step
    node = sc.warmup(sc.cosine(steps=T - W, cycles=cycles or 0.5, after="periodic"), steps=W)
    close(evaluate(node, range(3 * T + 1)) * lr, ref, abs_=ABS * lr)


@pytest.mark.parametrize("given", ["min_lr", "min_lr_ratio"])
def test_shortform_cosine_min_lr_matches_hf(given) -> None:
    """transformers' cosine_with_min_lr: factor * (1 - m) + m, m = min_lr / lr."""
    hf = _hf()
    T, W, lr, min_lr = 60, 6, 0.4, 0.01
    ref = torch_lrs(
        lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup(o, W, T, min_lr=min_lr),
        T + 1,
        lr,
    )
    value = min_lr if given == "min_lr" else min_lr / lr
    got = _recipe_lr({"warmup": W, "decay": "cosine", given: value}, lr, T, 3 * T)
    close(got[: T + 1], ref)
    close(got[T:], [min_lr] * (2 * T))


def test_shortform_constant_warmup_matches_hf() -> None:
    hf = _hf()
    W, lr = 9, 0.05
    ref = torch_lrs(lambda o: hf.get_constant_schedule_with_warmup(o, W), 40, lr)
    recipe = sc.load({"lr": lr, "schedule": {"warmup": W}})
    close(recipe.lr(np.arange(40)), ref)


def test_sgdr_cycle_limit_in_warmup_matches_hf_hard_restarts() -> None:
    """transformers' cosine_with_restarts: c hard restarts over T - W steps, then 0; with
    (T - W) / c an integer it is warmup(sgdr(period=(T - W) / c, cycle_limit=c), W)."""
    hf = _hf()
    T, W, c, lr = 50, 5, 3, 0.2
    ref = torch_lrs(
        lambda o: hf.get_cosine_with_hard_restarts_schedule_with_warmup(o, W, T, num_cycles=c),
        3 * T,
        lr,
    )
    node = sc.warmup(sc.sgdr(period=(T - W) // c, cycle_limit=c), steps=W)
    close(evaluate(node, range(3 * T)) * lr, ref, abs_=ABS * lr)


def test_shortform_linear_matches_hf() -> None:
    hf = _hf()
    T, W, lr = 40, 7, 2e-3
    ref = torch_lrs(lambda o: hf.get_linear_schedule_with_warmup(o, W, T), 3 * T, lr)
    close(_recipe_lr({"warmup": W, "decay": "linear"}, lr, T, 3 * T), ref, abs_=ABS * lr)
    # a percentage warmup is ceil(T * ratio) steps, as the HF Trainer computes it
    ref = torch_lrs(
        lambda o: hf.get_linear_schedule_with_warmup(o, math.ceil(T * 0.15), T), 3 * T, lr
    )
    close(_recipe_lr({"warmup": "15%", "decay": "linear"}, lr, T, 3 * T), ref, abs_=ABS * lr)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_shortform_polynomial_matches_hf(power) -> None:
    """transformers' lr_end and schedcore's min_lr are both absolute."""
    hf = _hf()
    T, W, lr, lr_end = 30, 4, 0.5, 1e-3
    ref = torch_lrs(
        lambda o: hf.get_polynomial_decay_schedule_with_warmup(o, W, T, lr_end=lr_end, power=power),
        3 * T,
        lr,
    )
    short = {"warmup": W, "decay": "polynomial", "min_lr": lr_end, "power": power}
    close(_recipe_lr(short, lr, T, 3 * T), ref)


@pytest.mark.parametrize("warm", ["linear", "cosine"])
@pytest.mark.parametrize("cool", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("min_ratio", [0.0, 0.1])
def test_wsd_matches_hf(warm, cool, min_ratio) -> None:
    hf = _hf()
    W, S, D, lr = 5, 8, 6, 0.1
    n = 3 * (W + S + D)
    ref = torch_lrs(
        lambda o: hf.get_wsd_schedule(
            o,
            W,
            D,
            num_stable_steps=S,
            warmup_type=warm,
            decay_type=cool,
            min_lr_ratio=min_ratio,
        ),
        n,
        lr,
    )
    node = sc.wsd(warmup=W, stable=S, decay=D, warmup_shape=warm, decay_shape=cool, end=min_ratio)
    close(evaluate(node, range(n)) * lr, ref, abs_=ABS * lr)


@pytest.mark.parametrize("cool", ["linear", "1-sqrt"])
def test_shortform_wsd_matches_hf(cool) -> None:
    """The short form's wsd: linear warmup from 0, cooldown of `cooldown` steps ending at
    training.total_steps (min lr 0, where the warmup start 0 equals HF's min_lr_ratio)."""
    hf = _hf()
    T, W, D, lr = 40, 4, 10, 0.1
    ref = torch_lrs(
        lambda o: hf.get_wsd_schedule(o, W, D, num_training_steps=T, decay_type=cool), 3 * T, lr
    )
    short = {"warmup": W, "decay": "wsd", "cooldown": D, "cooldown_shape": cool}
    close(_recipe_lr(short, lr, T, 3 * T), ref, abs_=ABS * lr)


def test_shortform_wsd_with_min_lr_matches_hf_given_warmup_start_factor() -> None:
    """transformers' WSD warms up from min_lr_ratio; the short form's warmup starts from
    warmup_start_factor (default 0), so the HF schedule is the short form with both set."""
    hf = _hf()
    T, W, D, lr, m = 40, 4, 10, 0.1, 0.2
    ref = torch_lrs(
        lambda o: hf.get_wsd_schedule(
            o, W, D, num_training_steps=T, decay_type="linear", min_lr_ratio=m
        ),
        3 * T,
        lr,
    )
    short = {
        "warmup": W,
        "decay": "wsd",
        "cooldown": D,
        "min_lr_ratio": m,
        "warmup_start_factor": m,
    }
    close(_recipe_lr(short, lr, T, 3 * T), ref)


@pytest.mark.parametrize("W, timescale", [(10, None), (10, 25), (0, None)])
def test_shortform_inverse_sqrt_matches_hf(W, timescale) -> None:
    """The short form is warmup(inverse_sqrt(timescale=tau), steps=W): the body sees the
    local step j = k - W, so for k >= W it is 1 / sqrt((k - W + tau) / tau), which is exactly
    transformers' 1 / sqrt((k + shift) / tau) with shift = tau - W (and tau defaults to W,
    or 10 000 without warmup, in both)."""
    hf = _hf()
    lr, n = 0.01, 300
    ref = torch_lrs(lambda o: hf.get_inverse_sqrt_schedule(o, W, timescale), n, lr)
    short = {"warmup": W, "decay": "inverse_sqrt"}
    if timescale is not None:
        short["timescale"] = timescale
    recipe = sc.load({"lr": lr, "schedule": short})
    close(evaluate(recipe.schedule, range(n)) * lr, ref)
    tau = timescale or W or 10_000
    hand = [k / W if k < W else 1 / math.sqrt((k - W + tau) / tau) for k in range(n)]
    close(evaluate(recipe.schedule, range(n)), hand)


# --------------------------------------------------------------- Keras 3 (float32)
def test_piecewise_constant_after_matches_keras() -> None:
    schedules = _keras_schedules()
    bounds, values = [3, 7, 20], [1.0, 0.5, 0.1, 0.02]
    ref = keras_values(schedules.PiecewiseConstantDecay(bounds, values), 60)
    node = sc.piecewise_constant(boundaries=bounds, values=values, change="after")
    close(evaluate(node, range(60)), ref, F32_REL, F32_ABS)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_and_inverse_time_match_keras(staircase) -> None:
    schedules = _keras_schedules()
    n = 50
    ref = keras_values(schedules.ExponentialDecay(2.0, 3, 0.5, staircase=staircase), n)
    node = sc.exponential(rate=0.5, every=3, start=2.0, staircase=staircase)
    close(evaluate(node, range(n)), ref, F32_REL, F32_ABS)
    ref = keras_values(schedules.InverseTimeDecay(1.0, 2, 0.5, staircase=staircase), n)
    node = sc.inverse_time(rate=0.5, every=2, staircase=staircase)
    close(evaluate(node, range(n)), ref, F32_REL, F32_ABS)


def test_polynomial_and_cosine_match_keras() -> None:
    schedules = _keras_schedules()
    n = 40
    ref = keras_values(schedules.PolynomialDecay(1.0, 10, 0.05, power=2.0), n)
    close(evaluate(sc.polynomial(steps=10, end=0.05, power=2.0), range(n)), ref, F32_REL, F32_ABS)
    ref = keras_values(schedules.CosineDecay(1.0, 10, alpha=0.1), n)
    close(evaluate(sc.cosine(steps=10, end=0.1), range(n)), ref, F32_REL, F32_ABS)


def test_sgdr_range_matches_keras_cosine_decay_restarts() -> None:
    """Keras shrinks the span above alpha by m_mul (m_mul_applies_to='range')."""
    schedules = _keras_schedules()
    n = 160
    ref = keras_values(schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1), n)
    node = sc.sgdr(period=10, t_mul=2, m_mul=0.5, end=0.1, m_mul_applies_to="range")
    close(evaluate(node, range(n)), ref, F32_REL, F32_ABS)


# ------------------------------------------------------------------ optax (float32)
def test_piecewise_constant_at_matches_optax() -> None:
    optax, _ = _optax()
    ref = optax_values(optax.piecewise_constant_schedule(1.0, {3: 0.5, 7: 0.2, 20: 0.5}), 60)
    node = sc.piecewise_constant(boundaries=[3, 7, 20], values=[1.0, 0.5, 0.1, 0.05])
    close(evaluate(node, range(60)), ref, F32_REL, F32_ABS)


@pytest.mark.parametrize("how", ["linear", "cosine"])
def test_piecewise_interpolate_matches_optax(how) -> None:
    optax, _ = _optax()
    ref = optax_values(optax.piecewise_interpolate_schedule(how, 0.2, {5: 5.0, 12: 0.1}), 40)
    node = sc.piecewise_interpolate(steps=[0, 5, 12], values=[0.2, 1.0, 0.1], interpolation=how)
    close(evaluate(node, range(40)), ref, F32_REL, F32_ABS)


def test_polynomial_and_cosine_match_optax() -> None:
    optax, _ = _optax()
    n = 40
    ref = optax_values(optax.polynomial_schedule(1.0, 0.05, 3.0, 12), n)
    close(evaluate(sc.polynomial(steps=12, end=0.05, power=3.0), range(n)), ref, F32_REL, F32_ABS)
    ref = optax_values(optax.cosine_decay_schedule(1.0, 12, alpha=0.1, exponent=2.0), n)
    close(evaluate(sc.cosine(steps=12, end=0.1, exponent=2.0), range(n)), ref, F32_REL, F32_ABS)


def test_sequence_matches_optax_join_schedules() -> None:
    """optax's join_schedules gives each later schedule the local step, as Phase does."""
    optax, _ = _optax()
    ref = optax_values(
        optax.join_schedules(
            [
                optax.linear_schedule(0.0, 1.0, 5),
                optax.cosine_decay_schedule(1.0, 10, alpha=0.1),
                optax.constant_schedule(0.1),
            ],
            [5, 15],
        ),
        40,
    )
    node = sc.sequence(
        sc.linear(steps=5, start=0.0, end=1.0), sc.cosine(steps=10, end=0.1), sc.constant(0.1)
    )
    close(evaluate(node, range(40)), ref, F32_REL, F32_ABS)
    ref = optax_values(optax.warmup_cosine_decay_schedule(0.0, 1.0, 5, 15, end_value=0.1), 40)
    node = sc.warmup(sc.cosine(steps=10, end=0.1), steps=5)
    close(evaluate(node, range(40)), ref, F32_REL, F32_ABS)


# ------------------------------------------------------------------------ errors
@dataclasses.dataclass(frozen=True)
class Bad:
    type: str
    build: Callable[[], object]
    path: str
    given: str | None  # the value's text in the message (None: a missing field)


ERROR_CASES = [
    Bad("constant", lambda: sc.constant(-1.0), "value", "-1.0"),
    Bad("constant", lambda: sc.constant(float("nan")), "value", "nan"),
    Bad("linear", lambda: sc.linear(steps=0), "steps", "0"),
    Bad("linear", lambda: sc.linear(steps=True), "steps", "True"),
    Bad("linear", lambda: sc.linear(steps=4, after="wrap"), "after", "'wrap'"),
    Bad("cosine", lambda: sc.cosine(steps=-3), "steps", "-3"),
    Bad("cosine", lambda: sc.cosine(steps=4, cycles=0), "cycles", "0"),
    Bad("cosine", lambda: sc.cosine(steps=4, exponent=-1), "exponent", "-1"),
    Bad("polynomial", lambda: sc.polynomial(steps=4, power=-0.5), "power", "-0.5"),
    Bad("polynomial", lambda: sc.polynomial(steps=4.5), "steps", "4.5"),
    Bad("geometric", lambda: sc.geometric(steps=4, start=0.0), "start", "0.0"),
    Bad("one_minus_sqrt", lambda: sc.one_minus_sqrt(steps=4, end=-0.5), "end", "-0.5"),
    Bad("exponential", lambda: sc.exponential(rate=1.5), "rate", "1.5"),
    Bad("exponential", lambda: sc.exponential(rate=0.5, every=0), "every", "0"),
    Bad("exponential", lambda: sc.exponential(rate=0.5, staircase="yes"), "staircase", "'yes'"),
    Bad("step", lambda: sc.step(every=3, gamma=0), "gamma", "0"),
    Bad("step", lambda: sc.step(every=2.5), "every", "2.5"),
    Bad("multistep", lambda: sc.multistep(milestones=[5, 3]), "milestones[1]", "3"),
    Bad("multistep", lambda: sc.multistep(milestones=[-1]), "milestones[0]", "-1"),
    Bad("multistep", lambda: sc.multistep(milestones=[]), "milestones", "0"),
    Bad("multistep", lambda: sc.multistep(milestones=[2], gamma=-0.1), "gamma", "-0.1"),
    Bad("inverse_sqrt", lambda: sc.inverse_sqrt(timescale=0), "timescale", "0"),
    Bad("inverse_time", lambda: sc.inverse_time(rate=-1), "rate", "-1"),
    Bad("noam", lambda: sc.noam(d_model=0, warmup=4), "d_model", "0"),
    Bad("noam", lambda: sc.noam(d_model=8, warmup=-4), "warmup", "-4"),
    Bad(
        "piecewise_constant",
        lambda: sc.piecewise_constant(boundaries=[3, 5], values=[1.0, 2.0]),
        "values",
        "2",
    ),
    Bad(
        "piecewise_constant",
        lambda: sc.piecewise_constant(boundaries=[3, 3], values=[1, 2, 3]),
        "boundaries[1]",
        "3",
    ),
    Bad(
        "piecewise_constant",
        lambda: sc.piecewise_constant(boundaries=[3], values=[1, 2], change="before"),
        "change",
        "'before'",
    ),
    Bad(
        "piecewise_interpolate",
        lambda: sc.piecewise_interpolate(steps=[2, 1], values=[1, 2]),
        "steps[1]",
        "1",
    ),
    Bad(
        "piecewise_interpolate",
        lambda: sc.piecewise_interpolate(steps=[0, 4], values=[1, 2], interpolation="cubic"),
        "interpolation",
        "'cubic'",
    ),
    Bad(
        "piecewise_interpolate",
        lambda: sc.piecewise_interpolate(steps=[0], values=[1], after="periodic"),
        "after",
        "'periodic'",
    ),
    Bad("cyclic", lambda: sc.cyclic(low=-1, high=1, up=2), "low", "-1"),
    Bad("cyclic", lambda: sc.cyclic(low=0, high=1, up=0), "up", "0"),
    Bad("cyclic", lambda: sc.cyclic(low=0, high=1, up=2, down=0), "down", "0"),
    Bad("cyclic", lambda: sc.cyclic(low=0, high=1, up=2, mode="sine"), "mode", "'sine'"),
    Bad("cyclic", lambda: sc.cyclic(low=0, high=1, up=2, gamma=2.0), "gamma", "2.0"),
    Bad("onecycle", lambda: sc.onecycle(steps=1), "steps", "1"),
    Bad("onecycle", lambda: sc.onecycle(steps=10, pct_start=0), "pct_start", "0"),
    Bad("onecycle", lambda: sc.onecycle(steps=10, pct_start=1.5), "pct_start", "1.5"),
    Bad("onecycle", lambda: sc.onecycle(steps=2, pct_start=0.3), "pct_start", "0.3"),
    Bad("onecycle", lambda: sc.onecycle(steps=10, div_factor=0), "div_factor", "0"),
    Bad("onecycle", lambda: sc.onecycle(steps=10, anneal="exp"), "anneal", "'exp'"),
    Bad("sgdr", lambda: sc.sgdr(period=0), "period", "0"),
    Bad("sgdr", lambda: sc.sgdr(period=2, t_mul=0.5), "t_mul", "0.5"),
    Bad("sgdr", lambda: sc.sgdr(period=2, m_mul=0), "m_mul", "0"),
    Bad("sgdr", lambda: sc.sgdr(period=2, k_decay=0), "k_decay", "0"),
    Bad("sgdr", lambda: sc.sgdr(period=2, cycle_limit=0), "cycle_limit", "0"),
    Bad("sgdr", lambda: sc.sgdr(period=2, m_mul_applies_to="both"), "m_mul_applies_to", "'both'"),
    Bad("sequence", lambda: sc.Sequence(phases=()), "phases", "0"),
    Bad(
        "sequence",
        lambda: sc.sequence(sc.constant(), sc.linear(steps=3)),
        "phases[0].steps",
        None,
    ),
    Bad(
        "sequence",
        lambda: sc.from_dict(
            {"type": "sequence", "phases": [{"schedule": {"type": "constant"}, "steps": -3}]}
        ),
        "phases[0].steps",
        "-3",
    ),
    Bad(
        "sequence",
        lambda: sc.from_dict(
            {
                "type": "sequence",
                "phases": [{"schedule": {"type": "constant"}, "steps": 2, "clock": "wall"}],
            }
        ),
        "phases[0].clock",
        "'wall'",
    ),
    Bad("warmup", lambda: sc.warmup(sc.constant(), steps=0), "steps", "0"),
    Bad(
        "warmup",
        lambda: sc.warmup(sc.constant(), steps=3, shape="quadratic"),
        "shape",
        "'quadratic'",
    ),
    Bad(
        "warmup", lambda: sc.warmup(sc.constant(), steps=3, start_factor=1.5), "start_factor", "1.5"
    ),
    Bad(
        "warmup",
        lambda: sc.warmup(sc.constant(), steps=3, shape="exponential"),
        "start_factor",
        "0.0",
    ),
    Bad("warmup", lambda: sc.warmup(5, steps=3), "schedule", "5"),
    Bad("wsd", lambda: sc.wsd(stable=3, decay=0), "decay", "0"),
    Bad("wsd", lambda: sc.wsd(stable=-1, decay=3), "stable", "-1"),
    Bad("wsd", lambda: sc.wsd(stable=1, decay=3, decay_shape="exp"), "decay_shape", "'exp'"),
    Bad("wsd", lambda: sc.wsd(stable=1, decay=3, end=-0.1), "end", "-0.1"),
    Bad("product", lambda: sc.product(schedules=[]), "schedules", "0"),
    Bad("product", lambda: sc.Product(schedules=(1,)), "schedules[0]", "1"),
    Bad("scale", lambda: sc.scale(sc.constant(), factor=-2), "factor", "-2"),
    Bad("clamp", lambda: sc.clamp(sc.constant()), "min", None),
    Bad("clamp", lambda: sc.clamp(sc.constant(), min=0.5, max=0.2), "max", "0.2"),
    Bad("clamp", lambda: sc.clamp(sc.constant(), min=-1), "min", "-1"),
    Bad("shift", lambda: sc.shift(sc.constant(), offset=2**60), "offset", str(2**60)),
    Bad("shift", lambda: sc.shift(sc.constant(), offset=1.5), "offset", "1.5"),
    Bad("repeat", lambda: sc.repeat(sc.constant(), period=0), "period", "0"),
    Bad(
        "per_epoch", lambda: sc.per_epoch(sc.constant(), steps_per_epoch=0), "steps_per_epoch", "0"
    ),
    Bad("cosine", lambda: sc.cosine(steps=4, restarts="yes"), "restarts", "'yes'"),
    Bad("polynomial", lambda: sc.polynomial(steps=4, after="cycle"), "after", "'cycle'"),
    Bad("sgdr", lambda: sc.sgdr(period=2, cycle_index="round"), "cycle_index", "'round'"),
]


@pytest.mark.parametrize(
    "bad", ERROR_CASES, ids=[f"{b.type}-{b.path}-{b.given}" for b in ERROR_CASES]
)
def test_invalid_field_names_field_and_value(bad: Bad) -> None:
    with pytest.raises(SpecError) as info:
        bad.build()
    message = str(info.value)
    assert info.value.path == bad.path
    assert message.startswith(f"{bad.path}: "), message
    if bad.given is not None:  # the value as a whole token, not inside another number
        assert re.search(rf"(?<![\w.\-]){re.escape(bad.given)}(?![\w.])", message), message


def test_scale_rejects_unbounded_values() -> None:
    with pytest.raises(SpecError, match="unbounded"):
        sc.scale(sc.constant(1e200), factor=1e200)


@pytest.mark.parametrize(
    "schedule, prefix, given",
    [
        (
            {
                "type": "sequence",
                "phases": [
                    {"schedule": {"type": "constant"}, "steps": 5},
                    {"schedule": {"type": "linear", "steps": -3}},
                ],
            },
            "schedule.phases[1].schedule.steps:",
            "-3",
        ),
        (
            {"type": "warmup", "steps": 5, "schedule": {"type": "cosine", "steps": 0}},
            "schedule.schedule.steps:",
            "0",
        ),
        (
            {
                "type": "product",
                "schedules": [{"type": "constant"}, {"type": "step", "every": 2, "gamma": 7}],
            },
            "schedule.schedules[1].gamma:",
            "7",
        ),
        ({"type": "spline"}, "schedule.type:", "'spline'"),
        ({"warmup": 10, "decay": "cosine", "cycles": -1}, "schedule.cycles:", "-1"),
        ({"warmup": "110%", "decay": "linear"}, "schedule.warmup:", "'110%'"),
        ({"warmup": 3, "warmup_shape": "sigmoid"}, "schedule.warmup_shape:", "'sigmoid'"),
    ],
)
def test_load_errors_name_the_full_path(schedule, prefix, given) -> None:
    with pytest.raises(SpecError) as info:
        sc.load({"lr": 1, "training": {"total_steps": 100}, "schedule": schedule})
    message = str(info.value)
    assert message.startswith(prefix), message
    assert given in message, message


def test_sgdr_past_two_to_the_53_from_nested_shifts_stays_in_its_cycle():
    """Shifts ahead reach steps past 2**53 (nested, past 2**54): the restart table reaches
    2**62, so such a step still falls in its own cycle (found by the property tests)."""
    inner = sc.sgdr(period=1, t_mul=2.0)
    ahead = sc.shift(sc.shift(inner, 2**53), 2**53)
    # step 2**54 is the first step of the cycle [2**54 - 1, 2**55 - 1): position 1 / 2**54
    expected = 0.5 * (1.0 + math.cos(math.pi / 2**54))
    assert ahead(0) == expected
    assert np.all(np.isfinite(ahead(np.array([0, 2**53, 2**53 - 1]))))
