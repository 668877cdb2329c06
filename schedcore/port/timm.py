"""timm: its schedulers' arguments, or ``create_scheduler_v2(**scheduler_kwargs(args))``.

Checked against timm 1.0.31 (``timm/scheduler/*.py``). Every scheduler computes
``_get_lr(t)`` in Python float64 (noise aside); the warmup, where there is one, is
``warmup_lr_init + t * (base - warmup_lr_init) / warmup_t`` for ``t < warmup_t``, and the
body then sees ``t - warmup_t`` with ``warmup_prefix``, else ``t``. The bodies:

- ``cosine`` (CosineLRScheduler): cycle ``i = floor(log(1 - t / t_initial * (1 - cycle_mul),
  cycle_mul))`` (``t // t_initial`` when ``cycle_mul == 1``), then ``lr_min + 0.5 *
  (base * cycle_decay**i - lr_min) * (1 + cos(pi * t_curr**k / t_i**k))`` while
  ``i < cycle_limit``, ``lr_min`` after.
- ``tanh`` (TanhLRScheduler): the same cycles, ``lr_min + 0.5 * (lr_max - lr_min) *
  (1 - tanh(lb * (1 - r) + ub * r))`` with ``r = t_curr / t_i``; without ``warmup_prefix``
  its warmup ramps to the curve's value at ``warmup_t``, not to the base lr.
- ``poly`` (PolyLRScheduler): the same cycles, ``lr_min + (lr_max - lr_min) *
  (1 - t_curr**k / t_i**k) ** power``.
- ``step`` (StepLRScheduler): ``base * decay_rate ** (t // decay_t)``, a fractional
  ``decay_t`` counted as Python's float ``//`` does (``1 // 0.1 == 9``), a ``decay_rate``
  above 1 growing until the float overflows; ``constant`` is
  create_scheduler_v2's StepLRScheduler with ``decay_t=1, decay_rate=1``.
- ``multistep`` (MultiStepLRScheduler): ``base * decay_rate ** bisect_right(decay_t, t + 1)``
  (a milestone ``m`` applies from ``t = m - 1``).
- ``wsd`` (WSDLRScheduler): warmup always a prefix; ``max(base * stable(t_s), lr_min)``
  until the last ``decay_t`` of ``t_initial`` steps, then ``lr_min + (stable - lr_min) *
  decay(t_decay / decay_t)``; ``lr_min`` after. ``stable`` is 1 or ``(1 + t_s /
  timescale) ** -power`` (0.5 for ``rsqrt``); ``decay(f)`` is ``1 - f``, ``1 - sqrt(f)``,
  ``0.5 * (1 + cos(pi * f))``, ``1 - f ** decay_power`` or ``(r ** f - r) / (1 - r)``.

``t`` is the update count with ``t_in_epochs=False`` (``step_update(num_updates)``), else
the epoch (``step(epoch)``), so update ``k`` uses ``t = k // updates_per_epoch``. Update 0
(epoch 0) runs before any step, at the lr the constructor leaves: ``warmup_lr_init`` with a
warmup, else the optimizer's lr (which ``_get_lr(0)`` need not be: tanh's curve starts just
below it, a milestone at 1 applies at ``t = 0``, ``cycle_limit=0`` gives ``lr_min``).
A param group's ``lr_scale`` (timm's layer-wise lr decay) multiplies every lr timm sets
for that group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from ..errors import SpecError, describe
from ..fields import MAX_STEP
from ..recipes import Recipe
from ..schedules.combinators import Clamp, PerEpoch, Product, Repeat, Shift
from ..schedules.cyclic import SGDR
from ..schedules.families import (
    Constant,
    Cosine,
    InverseSqrt,
    InverseTime,
    Linear,
    MultiStep,
    OneMinusSqrt,
    Polynomial,
    Step,
    Tanh,
)
from ..schedules.node import MAX_PEAK, Schedule
from ..schedules.piecewise import PiecewiseConstant
from .common import (
    boolean,
    choice,
    group_recipe,
    growth,
    integer,
    known_keys,
    lr_value,
    phases,
    real,
)

_COMMON = {
    "t_in_epochs": True,
    "noise_range_t": None,
    "noise_pct": 0.67,
    "noise_std": 1.0,
    "noise_seed": 42,
    "initialize": True,
}
_WARMUP = {"warmup_t": 0, "warmup_lr_init": 0.0}
_CYCLES = {"lr_min": 0.0, "cycle_mul": 1.0, "cycle_decay": 1.0, "cycle_limit": 1}
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "cosine": (
        "CosineLRScheduler",
        {"t_initial": None, **_CYCLES, **_WARMUP, "warmup_prefix": False, "k_decay": 1.0},
    ),
    "tanh": (
        "TanhLRScheduler",
        {"t_initial": None, "lb": -7.0, "ub": 3.0, **_CYCLES, **_WARMUP, "warmup_prefix": False},
    ),
    "poly": (
        "PolyLRScheduler",
        {
            "t_initial": None,
            "power": 0.5,
            **_CYCLES,
            **_WARMUP,
            "warmup_prefix": False,
            "k_decay": 1.0,
        },
    ),
    "step": (
        "StepLRScheduler",
        {"decay_t": None, "decay_rate": 1.0, **_WARMUP, "warmup_prefix": True},
    ),
    "multistep": (
        "MultiStepLRScheduler",
        {"decay_t": None, "decay_rate": 1.0, **_WARMUP, "warmup_prefix": True},
    ),
    "wsd": (
        "WSDLRScheduler",
        {
            "t_initial": None,
            "decay_t": None,
            "lr_min": 0.0,
            "stable_fn": "constant",
            "stable_timescale": None,
            "stable_power": 0.5,
            "decay_fn": "1-sqrt",
            "decay_power": 0.5,
            "decay_ratio": 0.1,
            **_WARMUP,
        },
    ),
}
"""timm's scheduler classes by their ``create_scheduler_v2`` name: the class, and its
arguments with their defaults (besides ``_COMMON``)."""

V2_KEYS = {
    "sched": "cosine",
    "num_epochs": 300,
    "decay_epochs": None,
    "decay_milestones": (90, 180, 270),
    "cooldown_epochs": 0,
    "patience_epochs": 10,
    "decay_rate": 0.1,
    "min_lr": 0.0,
    "warmup_lr": 1e-5,
    "warmup_epochs": 0,
    "warmup_prefix": False,
    "noise": None,
    "noise_pct": 0.67,
    "noise_std": 1.0,
    "noise_seed": 42,
    "cycle_mul": 1.0,
    "cycle_decay": 0.1,
    "cycle_limit": 1,
    "k_decay": 1.0,
    "decay_fn": None,
    "stable_timescale": None,
    "plateau_mode": "max",
    "step_on_epochs": True,
}
"""create_scheduler_v2's arguments (timm 1.0.31), all that ``scheduler_kwargs`` gives."""
V2_SCHEDS = ("cosine", "tanh", "step", "constant", "multistep", "poly", "wsd", "rsqrt", "none")
V2_ONLY = set(V2_KEYS) - set(_COMMON).union(*(keys for _, keys in SCHEDULERS.values()))
RESTARTS = ("timm", "exact")
CYCLE_PHASES = 64
"""Most cycles of a decaying tanh or poly schedule spelled out one phase each."""


def _v2(kw: dict[str, Any], updates: int | None) -> tuple[str, dict[str, Any]]:
    """create_scheduler_v2: the scheduler it builds, and that scheduler's arguments."""
    known_keys(kw, tuple(V2_KEYS))
    a = {**V2_KEYS, **kw}
    sched = choice(a["sched"], "sched", V2_SCHEDS)
    if a["noise"] is not None:
        raise SpecError("noise", "adds random noise to the lr; schedcore reproduces no noise")
    on_epochs = boolean(a["step_on_epochs"], "step_on_epochs")
    decay = a["decay_epochs"]
    if decay is None:  # timm: the last 20% for wsd / rsqrt, a step every 90 epochs
        decay = 0.2 if sched in ("wsd", "rsqrt") else 90
    decay = real(decay, "decay_epochs", 0.0)
    t_initial, warmup_t, timescale = a["num_epochs"], a["warmup_epochs"], a["stable_timescale"]
    milestones = a["decay_milestones"]
    if not on_epochs:
        if not updates:
            raise SpecError("updates_per_epoch", "must be positive with step_on_epochs=False")
        t_initial = integer(t_initial, "num_epochs", 1) * updates
        warmup_t = integer(warmup_t, "warmup_epochs") * updates
        if not 0 < decay < 1 or sched not in ("wsd", "rsqrt"):
            decay = decay * updates
        if timescale is not None:
            timescale = real(timescale, "stable_timescale", 0.0) * updates
        milestones = [real(m, "decay_milestones", -math.inf) * updates for m in milestones]
    warm = {"warmup_t": warmup_t, "warmup_lr_init": a["warmup_lr"]}
    cycles = {k: a[k] for k in ("cycle_mul", "cycle_decay", "cycle_limit")}
    common = {"t_in_epochs": on_epochs, **warm}
    if sched in ("cosine", "tanh", "poly"):
        args = {"t_initial": t_initial, "lr_min": a["min_lr"], **cycles, **common}
        args["warmup_prefix"] = a["warmup_prefix"]
        if sched != "tanh":
            args["k_decay"] = a["k_decay"]
        if sched == "poly":
            args["power"] = a["decay_rate"]  # timm overloads decay_rate as the power
        return sched, args
    if sched in ("step", "constant", "multistep"):
        args = {**common, "warmup_prefix": a["warmup_prefix"], "decay_rate": a["decay_rate"]}
        if sched == "constant":  # a step schedule that never decays
            return "step", {**args, "decay_t": 1, "decay_rate": 1.0}
        return sched, {**args, "decay_t": milestones if sched == "multistep" else decay}
    if sched == "none":  # no scheduler: the optimizer's lr, lr_scale unapplied
        return "none", {}
    # wsd / rsqrt: warmup always a prefix; with warmup_prefix=False the stable and decay
    # phases fit within num_epochs
    t_sched = t_initial if boolean(a["warmup_prefix"], "warmup_prefix") else t_initial - warmup_t
    if 0 < decay < 1:
        decay = decay * t_sched
    decay_t = round(decay)
    if not 0 < decay_t <= t_sched:
        raise SpecError(
            "decay_epochs",
            f"must give 0 < decay <= {t_sched} (epochs{'' if a['warmup_prefix'] else ' - warmup'}"
            f"), as timm requires; got {decay_t}",
        )
    rsqrt = sched == "rsqrt"
    return "wsd", {
        **common,
        "t_initial": t_sched,
        "decay_t": decay_t,
        "lr_min": a["min_lr"],
        "stable_fn": "rsqrt" if rsqrt else "constant",
        "stable_timescale": timescale,
        "decay_fn": a["decay_fn"] or ("linear" if rsqrt else "1-sqrt"),
    }


def _timm_cycle(t: float, t_initial: int, cycle_mul: float) -> int:
    """timm's cycle index of ``t``, in its order of operations."""
    if cycle_mul == 1:
        return int(t // t_initial)
    return math.floor(math.log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))


def _cycled(curve, a: dict[str, Any], end: float) -> Schedule:
    """tanh's and poly's restarts: ``curve(peak, steps)`` over each cycle, ``end`` after the
    last.

    A whole ``cycle_mul`` gives cycles of whole lengths ``t_initial * cycle_mul**i`` starting
    at whole steps: one phase each, where timm's float ``floor(log(...))`` puts each restart
    at its exact step (else the restart it moves is refused). A fractional one starts cycles
    at fractional steps, where timm evaluates its curves at fractional positions; only cosine
    (the ``sgdr`` node) has such restarts."""
    t_initial = integer(a["t_initial"], "t_initial", 1)
    mul = real(a["cycle_mul"], "cycle_mul", 1.0)
    decay = real(a["cycle_decay"], "cycle_decay", 0.0, 1.0, open_low=True)
    limit = integer(a["cycle_limit"], "cycle_limit")
    if limit == 0:
        return Constant(end)
    if mul != 1 and not mul.is_integer():
        if limit > 1 or _timm_cycle(t_initial, t_initial, mul) < 1:
            raise SpecError(
                "cycle_mul",
                f"growing cycles of a fractional factor ({mul!r}) are reproduced for cosine only "
                "(the sgdr node); this scheduler's restarts fall at fractional positions: use a "
                "whole cycle_mul, cycle_mul=1, or cycle_limit=1",
            )
        limit = 1  # one cycle: its length is t_initial whatever the growth
    if mul == 1 and (limit == 1 or decay == 1.0):
        body = curve(1.0, t_initial)
        if limit > 1:
            body = Repeat(schedule=body, period=t_initial)
        return phases((body, t_initial * limit, "local"), (Constant(end), None, "local"))
    if limit > CYCLE_PHASES:
        raise SpecError(
            "cycle_limit",
            f"at most {CYCLE_PHASES} decaying or growing cycles are spelled out, got {limit}",
        )
    lengths = [t_initial * int(mul) ** i for i in range(limit)]
    if sum(lengths) > MAX_STEP:
        raise SpecError(
            "cycle_limit",
            f"{limit} cycles growing by {mul!r} end past step {MAX_STEP}; give fewer cycles",
        )
    begin = 0
    for i, length in enumerate(lengths if mul != 1 else [], 1):
        begin += length
        # timm's cycle index must change exactly at each cycle's first step and at the end
        if (
            _timm_cycle(begin - 1, t_initial, mul) != i - 1
            or _timm_cycle(begin, t_initial, mul) != i
        ):
            raise SpecError(
                "cycle_mul",
                f"timm's float floor(log(...)) moves the restart at step {begin} (cycle {i}) by "
                "a step, where it evaluates a cycle's curve at its end (position 1), which no "
                "node does; a whole cycle_mul is reproduced where every restart is exact",
            )
    items = [(curve(decay**i, n), n, "local") for i, n in enumerate(lengths)]
    return phases(*items, (Constant(end), None, "local"))


STABLE_POWER_HALVES = 8
"""The 'power' stable function is reproduced for ``stable_power`` a multiple of 0.5 up to
this many halves: a product of ``inverse_time`` (power 1) and ``inverse_sqrt`` nodes."""


def _wsd_decay(fn: str, power: float, steps: int, end: float) -> Schedule:
    """WSD's decay factor over ``steps``, from 1 down to ``end``: ``end + (1 - end) *
    decay(frac)`` with ``frac = k / steps``."""
    if fn == "power":  # 1 - frac ** decay_power: (1 - p ** k_decay) ** 1 of polynomial
        if power == 1.0:
            fn = "linear"
        elif power == 0.5:
            fn = "1-sqrt"
        else:
            return Polynomial(steps=steps, start=1.0, end=end, power=1.0, k_decay=power)
    shape = {"linear": Linear, "1-sqrt": OneMinusSqrt, "cosine": Cosine}[fn]
    return shape(steps=steps, start=1.0, end=end)


def _wsd_stable(a: dict[str, Any], stable_fn: str) -> Schedule:
    """WSD's decaying stable factor ``(1 + t_s / timescale) ** -power``."""
    power = (
        0.5 if stable_fn == "rsqrt" else real(a["stable_power"], "stable_power", 0.0, open_low=True)
    )
    timescale = a["stable_timescale"]
    if timescale is None:
        timescale = a["warmup_t"]
    timescale = real(timescale, "stable_timescale")
    if timescale <= 0:
        raise SpecError(
            "stable_timescale",
            f"must be positive for stable_fn '{stable_fn}' (it defaults to warmup_t), as timm "
            f"requires; got {timescale!r}",
        )
    halves = 2 * power
    if not halves.is_integer() or halves > STABLE_POWER_HALVES:
        raise SpecError(
            "stable_power",
            f"(1 + t / timescale) ** -{power!r} has no node: multiples of 0.5 up to "
            f"{STABLE_POWER_HALVES / 2:g} are reproduced (inverse_sqrt and inverse_time nodes)",
        )
    halves = int(halves)
    factors: list[Schedule] = [InverseTime(rate=1.0 / timescale)] * (halves // 2)
    if halves % 2:
        if not timescale.is_integer():
            raise SpecError(
                "stable_timescale",
                f"{timescale!r} is fractional: an odd multiple of 0.5 as the power needs the "
                "inverse_sqrt node, whose timescale is a whole number of steps",
            )
        factors.append(InverseSqrt(timescale=int(timescale)))
    return factors[0] if len(factors) == 1 else Product(schedules=tuple(factors))


def _wsd(a: dict[str, Any], base: float) -> Schedule:
    """WSDLRScheduler past its warmup (``t_s = 0`` at the warmup's end)."""
    t_initial = integer(a["t_initial"], "t_initial", 1)
    decay_t = integer(a["decay_t"], "decay_t", 1, t_initial)
    end = real(a["lr_min"], "lr_min", 0.0) / base
    stable_fn = choice(a["stable_fn"], "stable_fn", ("constant", "rsqrt", "power"))
    fn = a["decay_fn"]
    if callable(fn):
        raise SpecError("decay_fn", "is a Python callable; schedcore reproduces named decays")
    fn = choice(fn, "decay_fn", ("linear", "1-sqrt", "cosine", "power", "exp"))
    power = real(a["decay_power"], "decay_power", 0.0, open_low=True)
    real(a["decay_ratio"], "decay_ratio", 0.0, 1.0, open_low=True)
    if fn == "exp":
        raise SpecError(
            "decay_fn",
            "'exp', (r ** frac - r) / (1 - r), is an exponential less a constant: no node "
            "adds a constant to an exponential (geometric and exponential only scale it)",
        )
    hold = t_initial - decay_t
    if stable_fn == "constant":
        if end >= 1:  # max(base, lr_min) is lr_min, and the decay keeps it
            return Constant(end)
        return phases(
            (Constant(1.0), hold, "local"),
            (_wsd_decay(fn, power, decay_t, end), decay_t, "local"),
            (Constant(end), None, "local"),
        )
    stable = _wsd_stable(a, stable_fn)
    if end > 0:
        # max(stable, lr_min), then lr_min + (that - lr_min) * decay(frac): where the stable
        # factor has reached lr_min when the decay begins, the decay leaves lr_min
        if stable(hold) <= end:
            return Clamp(schedule=stable, min=end)
        raise SpecError(
            "lr_min",
            f"{a['lr_min']!r} above 0 with stable_fn '{stable_fn}' decays lr_min + (stable - "
            "lr_min) * decay(frac): no node adds a constant to a product of schedules "
            "(reproduced: lr_min 0, or a stable lr that reaches lr_min before the decay)",
        )
    cool = Product(
        schedules=(Shift(schedule=stable, offset=hold), _wsd_decay(fn, power, decay_t, 0.0))
    )
    return phases((stable, hold, "local"), (cool, decay_t, "local"), (Constant(0.0), None, "local"))


STAIRS_EXACT_TO = 2**40
"""A fractional ``decay_t`` is reproduced exactly for every ``t`` below this at least."""
_STAIR_PERIOD = 10_000


def _fractional_steps(every: float, rate: float) -> Schedule:
    """``rate ** (t // every)`` for a fractional ``every``, as Python's float ``//`` counts:
    ``floor(t / d)`` of the exact value ``d`` of the float (``1 // 0.1 == 9``: 0.1 is
    0.1000000000000000055...). With ``a / b`` the simplest fraction of period ``a <= 10000``
    close enough to ``d``, stair ``m`` starts at ``ceil(m * a / b)`` where ``d <= a / b``
    (at ``floor(m * a / b) + 1``, a multiple of ``a / b`` one step late, where ``d > a / b``)
    for every ``t`` below :data:`STAIRS_EXACT_TO` at least; the ``b`` stairs of each
    ``a`` steps repeat: ``rate ** b`` per period times a table within it."""
    exact = Fraction(every)
    for approx in _convergents(exact):
        a, b = approx.numerator, approx.denominator
        if a > _STAIR_PERIOD:
            break
        gap = abs(exact - approx)
        # stair m moves only once m * gap reaches 1 / b: never below t / every = m
        if gap == 0 or Fraction(STAIRS_EXACT_TO) / exact * gap * b < 1:
            break
    else:  # pragma: no cover - a convergent equals the float eventually
        a = _STAIR_PERIOD + 1
    if a > _STAIR_PERIOD or not 0.0 < _power(rate, b) <= MAX_PEAK:
        raise SpecError(
            "decay_t",
            f"{every!r} steps per decay has no short repeating pattern of stairs (period up to "
            f"{_STAIR_PERIOD} steps, a factor of rate ** stairs per period above 0 and at most "
            f"{MAX_PEAK:g})",
        )
    late = exact > approx  # a multiple of a / b is reached one step later
    offset = b - 1 if late else 0  # stairs by step u (= t - 1 when late): (u * b + offset) // a
    counts = [(r * b + offset) // a for r in range(a)]
    marks = [r for r in range(1, a) if counts[r] != counts[r - 1]]
    top = rate ** max(counts) if rate > 1 else 1.0  # the largest factor within a period
    # a growing lr (rate > 1): the periods' factor runs up to the 1e100 bound, then raises
    period = growth(rate**b, a, MAX_PEAK / top) if rate > 1 else Step(every=a, gamma=rate**b)
    if marks:
        within = PiecewiseConstant(
            boundaries=tuple(marks),
            values=tuple(rate ** counts[r] for r in [0, *marks]),
        )
        period = Product(schedules=(period, Repeat(schedule=within, period=a)))
    elif counts[0]:
        period = Product(schedules=(period, Constant(rate ** counts[0])))
    if not late:
        return period
    return phases((Constant(1.0), 1, "local"), (period, None, "local"))


def _power(x: float, n: int) -> float:
    try:
        return x**n
    except OverflowError:
        return math.inf


def _convergents(x: Fraction):
    """The continued-fraction convergents of ``x``, simplest first."""
    h0, h1, k0, k1 = 0, 1, 1, 0
    rest = x
    while True:
        whole = math.floor(rest)
        h0, h1 = h1, whole * h1 + h0
        k0, k1 = k1, whole * k1 + k0
        yield Fraction(h1, k1)
        if rest == whole:
            return
        rest = 1 / (rest - whole)


def _body(kind: str, a: dict[str, Any], base: float, restarts: str) -> Schedule:
    """The multiplier of ``base`` that ``_get_lr`` gives past the warmup, on the body's
    clock (``t - warmup_t`` with a warmup prefix, else ``t``)."""
    if kind == "wsd":
        return _wsd(a, base)
    if kind == "step":
        every = real(a["decay_t"], "decay_t", 0.0, open_low=True)
        rate = real(a["decay_rate"], "decay_rate", 0.0, open_low=True)
        if every.is_integer():
            # a growing lr (rate > 1) runs up to the 1e100 multiplier, then raises
            return growth(rate, int(every)) if rate > 1 else Step(every=int(every), gamma=rate)
        return _fractional_steps(every, rate)
    if kind == "multistep":
        rate = real(a["decay_rate"], "decay_rate", 0.0)
        given = a["decay_t"]
        if not isinstance(given, (list, tuple)):
            raise SpecError("decay_t", f"must be a list of milestones, got {describe(given)}")
        marks = [integer(m, f"decay_t[{i}]", -(2**53)) for i, m in enumerate(given)]
        if marks != sorted(marks):
            raise SpecError("decay_t", f"must be sorted (timm bisects them), got {marks}")
        if not marks or rate == 1.0:
            return Constant(1.0)
        # bisect_right(decay_t, t + 1): milestone m counts from t = m - 1
        if rate == 0.0:  # 0 ** 0 = 1 before the first milestone, 0 from it on
            return PiecewiseConstant(boundaries=(max(marks[0] - 1, 0),), values=(1.0, 0.0))
        return MultiStep(milestones=tuple(max(m - 1, 0) for m in marks), gamma=rate)
    end = real(a["lr_min"], "lr_min", 0.0) / base
    t_initial = integer(a["t_initial"], "t_initial", 1)
    if kind == "tanh":
        lb, ub = real(a["lb"], "lb"), real(a["ub"], "ub")
        if not lb < ub:
            raise SpecError("ub", f"must be greater than lb = {lb!r}, got {ub!r}")
        return _cycled(
            lambda peak, steps: Tanh(steps=steps, start=peak, end=end, lb=lb, ub=ub), a, end
        )
    k_decay = real(a["k_decay"], "k_decay", 0.0, open_low=True)
    if kind == "poly":
        power = real(a["power"], "power", 0.0)
        return _cycled(
            lambda peak, steps: Polynomial(
                steps=steps, start=peak, end=end, power=power, k_decay=k_decay
            ),
            a,
            end,
        )
    # cosine
    cycle_limit = integer(a["cycle_limit"], "cycle_limit")
    cycle_mul = real(a["cycle_mul"], "cycle_mul", 1.0)
    if cycle_limit == 0:  # i < 0 never holds
        return Constant(end)
    return SGDR(
        period=t_initial,
        t_mul=cycle_mul,
        m_mul=real(a["cycle_decay"], "cycle_decay", 0.0, 1.0, open_low=True),
        start=1.0,
        end=end,
        k_decay=k_decay,
        cycle_limit=cycle_limit,
        cycle_index="log" if restarts == "timm" and cycle_mul != 1 else "exact",
    )


def _schedule(kind: str, a: dict[str, Any], base: float, restarts: str) -> Schedule:
    """The multiplier of ``base`` timm sets at ``t`` (in its own steps, epochs or updates)."""
    body = _body(kind, a, base, restarts)
    warmup_t = integer(a["warmup_t"], "warmup_t")
    init = real(a["warmup_lr_init"], "warmup_lr_init", 0.0) / base
    prefix = True if kind == "wsd" else boolean(a["warmup_prefix"], "warmup_prefix")
    node = body
    if warmup_t:
        # tanh without a prefix ramps to its curve's value at warmup_t, the others to base
        top = body(warmup_t) if kind == "tanh" and not prefix else 1.0
        ramp = Linear(steps=warmup_t, start=init, end=float(top))
        node = phases((ramp, warmup_t, "local"), (body, None, "local" if prefix else "global"))
    # t = 0 runs before any step, at the lr the constructor leaves
    first = init if warmup_t else 1.0
    if node(0) != first:
        node = phases((Constant(first), 1, "local"), (node, None, "global"))
    return node


def _per_group(value: Any, name: str) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def from_timm(
    *,
    lr: float | Sequence[float],
    updates_per_epoch: int | None = None,
    restarts: str = "timm",
    scheduler: str | None = None,
    lr_scale: float | Sequence[float] | None = None,
    **kwargs: Any,
) -> Recipe:
    """The recipe of a timm scheduler for an optimizer whose param groups have lr ``lr``
    (a list: one per group, giving a per-group recipe) and, optionally, timm's layer-decay
    ``lr_scale`` (a list: one per group; a single lr is shared by all the groups then).

    ``scheduler`` names the class by its ``create_scheduler_v2`` name: ``'cosine'``
    (CosineLRScheduler, the default), ``'tanh'``, ``'poly'``, ``'step'``, ``'multistep'`` or
    ``'wsd'``; ``kwargs`` are the class's arguments. Or pass ``create_scheduler_v2``'s
    arguments (``sched``, ``num_epochs``, ``warmup_epochs``, ``min_lr``, ``step_on_epochs``,
    ``decay_fn``, ...: all that ``scheduler_kwargs(args)`` gives): ``sched`` may also be
    ``'constant'``, ``'rsqrt'`` or ``'none'``.

    ``recipe.lr(k)`` is the lr timm sets for update ``k`` (times the group's ``lr_scale``).
    Per-epoch stepping (``t_in_epochs=True``, timm's default; ``step_on_epochs`` for v2)
    needs ``updates_per_epoch``: the epoch's value holds for its updates. Noise raises
    SpecError (it is random), as do the plateau scheduler (it follows a metric) and the
    shapes without a node (tanh or poly cycles growing by a fractional ``cycle_mul``, or a
    whole one whose restart timm's float log moves; WSD's ``exp`` decay, an ``lr_min`` under
    a decaying stable lr that is still above it when the decay begins, a ``stable_power``
    off the multiples of 0.5, an odd one over a fractional ``stable_timescale``): each
    names its argument. A ``decay_rate`` above 1 (a growing lr) runs up to the 1e100
    multiplier, then raises StepRangeError (timm runs on until its float overflows).

    ``restarts='timm'`` (default) finds cosine cycles with timm's ``floor(log(...))`` in
    float64, which puts some restarts a step late (``t_initial=1, cycle_mul=3``: 121 stays
    at ``lr_min``), as timm does; ``'exact'`` uses exact restarts instead.
    """
    restarts = choice(restarts, "restarts", RESTARTS)
    updates = (
        None if updates_per_epoch is None else integer(updates_per_epoch, "updates_per_epoch", 1)
    )
    if "sched" in kwargs or set(kwargs) & V2_ONLY:
        if scheduler is not None:
            raise SpecError("scheduler", "give create_scheduler_v2's sched instead")
        kind, kwargs = _v2(kwargs, updates)
    else:
        kind = choice("cosine" if scheduler is None else scheduler, "scheduler", tuple(SCHEDULERS))
    lrs = _per_group(lr, "lr")
    scales = [1.0] if lr_scale is None else _per_group(lr_scale, "lr_scale")
    if len(lrs) == 1 and len(scales) > 1:
        lrs = lrs * len(scales)
    if len(scales) == 1:
        scales = scales * len(lrs)
    if len(scales) != len(lrs) or not lrs:
        raise SpecError(
            "lr_scale", f"must give one scale per param group ({len(lrs)}), got {len(scales)}"
        )
    many = len(lrs) > 1 or isinstance(lr, (list, tuple))
    bases = [lr_value(v, f"lr[{i}]" if many else "lr") for i, v in enumerate(lrs)]
    if kind == "none":  # no scheduler touches the groups: their lr, unscaled
        return group_recipe([(b, Constant(1.0)) for b in bases], "timm (no scheduler)")
    factors = [
        real(
            s,
            f"lr_scale[{i}]" if lr_scale is not None and len(scales) > 1 else "lr_scale",
            0.0,
            open_low=True,
        )
        for i, s in enumerate(scales)
    ]
    cls, keys = SCHEDULERS[kind]
    known_keys(kwargs, (*keys, *_COMMON))
    a = {**_COMMON, **keys, **kwargs}
    for key in ("t_initial", "decay_t"):
        if key in keys and a[key] is None:
            raise SpecError(key, f"is required by {cls}")
    if a["noise_range_t"] is not None:
        raise SpecError(
            "noise_range_t", "adds random noise to the lr; schedcore reproduces no noise"
        )
    if not boolean(a["initialize"], "initialize"):
        raise SpecError("initialize", "must be true: the base lr is the optimizer's lr")
    in_epochs = boolean(a["t_in_epochs"], "t_in_epochs")
    if in_epochs and updates is None:
        raise SpecError(
            "updates_per_epoch",
            "is required with t_in_epochs=True (timm steps once per epoch): give the "
            "optimizer updates per epoch, or use t_in_epochs=False",
        )
    groups = []
    for base, factor in zip(bases, factors, strict=True):
        node = _schedule(kind, a, base, restarts)
        if in_epochs:
            assert updates is not None
            node = PerEpoch(schedule=node, steps_per_epoch=updates)
        groups.append((lr_value(base * factor, "lr_scale"), node))
    return group_recipe(groups, f"timm {cls}")
