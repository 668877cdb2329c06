"""optax: schedule builders by name, with their keyword arguments.

An optax schedule is a pure function ``count -> value`` (float32); optax evaluates it
before the count increments, so update ``k`` applies ``schedule(k)``. Builders are given
by name (their closures cannot be read back); ``join_schedules`` takes
``(name, kwargs)`` pairs. Values are absolute: each builder gives ``(base, multiplier
schedule)`` and the recipe's lr is the base of the schedule active at step 0 (or of the
first with a positive one).
"""

from __future__ import annotations

import contextvars
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..schedules.breakpoints import leading_warmup
from ..schedules.combinators import Clamp, PerEpoch, Phase, Scale, Shift
from ..schedules.combinators import Sequence as SequenceNode
from ..schedules.families import Constant, Cosine, Exponential, Geometric, Linear, Polynomial
from ..schedules.node import MAX_STEP, Schedule
from ..schedules.piecewise import PiecewiseConstant, PiecewiseInterpolate
from .common import boolean, choice, integer, real, recipe, until
from .compiled import compiled

Absolute = tuple[float, Schedule]
"""``(base, multiplier)``: the value at step ``k`` is ``base * multiplier(k)``."""

_BIG = 2**62
ARITHMETIC = ("jit", "eager")
"""``from_optax(..., arithmetic=)``: what a ``jax.jit`` train step applies, or eager."""

_ARITHMETIC: contextvars.ContextVar[str] = contextvars.ContextVar("optax_arithmetic", default="jit")
"""The arithmetic of the :func:`from_optax` call being read (builders see it here)."""


def _absolute(values: Sequence[float], make: Callable[[float], Schedule]) -> Absolute:
    base = max(values)
    if base <= 0:
        return 1.0, Constant(0.0)
    return base, make(base)


def _value(x: Any, path: str) -> float:
    return real(x, path, 0.0)


def _shift(node: Schedule, begin: int) -> Schedule:
    return Shift(schedule=node, offset=-begin) if begin > 0 else node


def constant_schedule(value: Any) -> Absolute:
    v = _value(value, "value")
    return _absolute([v], lambda b: Constant(v / b))


def polynomial_schedule(
    init_value: Any, end_value: Any, power: Any, transition_steps: Any, transition_begin: Any = 0
) -> Absolute:
    init, end = _value(init_value, "init_value"), _value(end_value, "end_value")
    p = real(power, "power", 0.0)
    n = integer(transition_steps, "transition_steps", -_BIG, _BIG)
    begin = max(integer(transition_begin, "transition_begin", -_BIG, _BIG), 0)
    if n <= 0 or np.float32(p) == 0:
        # optax: a constant init_value; it also computes in float32, where a power that
        # rounds to 0 makes (1 - k / n) ** power = 1 at every step (0 ** 0 included)
        return constant_schedule(init)
    if p == 1:
        return _absolute(
            [init, end], lambda b: _shift(Linear(steps=n, start=init / b, end=end / b), begin)
        )

    def make(b: float) -> Schedule:
        node: Schedule = Polynomial(steps=n, start=init / b, end=end / b, power=p)
        if _ARITHMETIC.get() == "jit" and _nan_at_end(n, p):
            node = until(node, n - 1)
        return _shift(node, begin)

    return _absolute([init, end], make)


def _nan_at_end(n: int, power: float) -> bool:
    """Whether jitted optax gives NaN from ``count = n`` on: XLA computes ``1 - count / n``
    as ``fma(-count, fl(1 / n), 1)`` in float32, which is a tiny negative number at ``count
    = n`` (where the count is clipped for good) when ``fl(1 / n) > 1 / n``, and a negative
    number to a fractional power is NaN (``n = 3``, ``power = 0.5``: NaN from step 3)."""
    if float(np.float32(power)).is_integer():
        return False
    return Fraction(float(np.float32(1.0) / np.float32(n))) * n > 1


def linear_schedule(
    init_value: Any, end_value: Any, transition_steps: Any, transition_begin: Any = 0
) -> Absolute:
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def warmup_constant_schedule(init_value: Any, peak_value: Any, warmup_steps: Any) -> Absolute:
    return linear_schedule(init_value, peak_value, warmup_steps)


def _scales(raw: Any, path: str) -> list[tuple[int, float]]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise SpecError(path, f"must be a dict of step: scale, got {describe(raw)}")
    out = [
        (integer(k, f"{path}[{k!r}]", -_BIG, _BIG), _value(v, f"{path}[{k!r}]"))
        for k, v in raw.items()
    ]
    return sorted(out)


def piecewise_constant_schedule(init_value: Any, boundaries_and_scales: Any = None) -> Absolute:
    init = _value(init_value, "init_value")
    value, first, bounds, values = init, init, [], []
    for b, scale in _scales(boundaries_and_scales, "boundaries_and_scales"):
        value = value * scale
        if b <= 0:  # passed at step 0 already: the scale applies from the boundary on
            first = value
            continue
        bounds.append(b)
        values.append(value)
    values = [first, *values]
    if not bounds:
        return _absolute(values, lambda b: Constant(values[0] / b))
    return _absolute(
        values,
        lambda b: PiecewiseConstant(boundaries=tuple(bounds), values=tuple(v / b for v in values)),
    )


def exponential_decay(
    init_value: Any,
    transition_steps: Any,
    decay_rate: Any,
    transition_begin: Any = 0,
    staircase: Any = False,
    end_value: Any = None,
) -> Absolute:
    init = _value(init_value, "init_value")
    n = integer(transition_steps, "transition_steps", -_BIG, _BIG)
    rate = real(decay_rate, "decay_rate", 0.0)
    begin = max(integer(transition_begin, "transition_begin", -_BIG, _BIG), 0)
    stair = boolean(staircase, "staircase")
    end = None if end_value is None else _value(end_value, "end_value")
    if n <= 0 or rate == 0:  # optax: a constant init_value (no clipping)
        return constant_schedule(init)
    if rate > 1:
        return _growth(init, n, rate, begin, stair, end)
    if init == 0:
        return constant_schedule(max(0.0, end) if end is not None and rate < 1 else 0.0)

    def make(b: float) -> Schedule:
        node: Schedule = _shift(Exponential(rate=rate, every=n, staircase=stair), begin)
        if end is None:
            return node
        if rate < 1:
            return Clamp(schedule=node, min=end / b)
        return Clamp(schedule=node, max=end / b)

    return init, make(init)


def _growth(init: float, n: int, rate: float, begin: int, stair: bool, end: float | None):
    """optax's ``exponential_decay`` with ``decay_rate > 1``: ``init * rate ** p`` capped
    by ``end_value`` (``min``). The growth reaches the cap after ``m`` periods of ``n``
    steps, ``init * rate ** m >= end``: a geometric ramp over ``m * n`` steps
    (``rate ** (k / n)``; under :class:`PerEpoch` of ``n``, ``rate ** floor(k / n)``), then
    held and clamped at the cap. Without a cap the value grows without bound (optax
    overflows to inf): refused."""
    if end is None:
        raise SpecError(
            "end_value",
            f"is needed with decay_rate {rate:g} > 1: without it the value grows without "
            "bound (optax overflows to inf)",
        )
    if init == 0 or end <= init:  # min(init * rate ** p, end) is end from step 0 on
        return constant_schedule(min(init, end))
    m = max(1, math.ceil(math.log(end / init) / math.log(rate)))
    while init * rate ** (m - 1) >= end:  # the log's rounding: the fewest periods
        m -= 1
    while init * rate**m < end:
        m += 1
    if m * n > MAX_STEP:
        raise SpecError(
            "decay_rate",
            f"{rate:g} reaches end_value only after {m * n} steps, past 2**53",
        )
    if stair:
        ramp: Schedule = PerEpoch(
            schedule=Geometric(steps=m, start=init / end, end=init * rate**m / end),
            steps_per_epoch=n,
        )
    else:
        ramp = Geometric(steps=m * n, start=init / end, end=init * rate**m / end)
    return end, Clamp(schedule=_shift(ramp, begin), max=1.0)


def cosine_decay_schedule(
    init_value: Any, decay_steps: Any, alpha: Any = 0.0, exponent: Any = 1.0
) -> Absolute:
    init = _value(init_value, "init_value")
    n = integer(decay_steps, "decay_steps", 1)
    a = real(alpha, "alpha", 0.0)
    e = real(exponent, "exponent", 0.0, open_low=True)
    return _absolute(
        [init],
        lambda b: (
            Scale(schedule=Cosine(steps=n, start=1.0, end=a, exponent=e), factor=init / b)
            if init != b
            else Cosine(steps=n, start=1.0, end=a, exponent=e)
        ),
    )


def warmup_cosine_decay_schedule(
    init_value: Any,
    peak_value: Any,
    warmup_steps: Any,
    decay_steps: Any,
    end_value: Any = 0.0,
    exponent: Any = 1.0,
) -> Absolute:
    peak = _value(peak_value, "peak_value")
    end = _value(end_value, "end_value")
    w = integer(warmup_steps, "warmup_steps", -_BIG, _BIG)
    d = integer(decay_steps, "decay_steps", -_BIG, _BIG)
    if d - w <= 0:
        raise SpecError(
            "decay_steps",
            f"must exceed warmup_steps ({w}): the cosine runs decay_steps - warmup_steps steps "
            f"(optax raises), got {d}",
        )
    alpha = 0.0 if peak == 0.0 else end / peak
    return _join(
        [
            linear_schedule(init_value, peak, w),
            cosine_decay_schedule(peak, d - w, alpha, exponent),
        ],
        [w],
    )


def warmup_exponential_decay_schedule(
    init_value: Any,
    peak_value: Any,
    warmup_steps: Any,
    transition_steps: Any,
    decay_rate: Any,
    transition_begin: Any = 0,
    staircase: Any = False,
    end_value: Any = None,
) -> Absolute:
    w = integer(warmup_steps, "warmup_steps", -_BIG, _BIG)
    return _join(
        [
            linear_schedule(init_value, peak_value, w),
            exponential_decay(
                peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value
            ),
        ],
        [w],
    )


def piecewise_interpolate_schedule(
    interpolate_type: Any, init_value: Any, boundaries_and_scales: Any = None
) -> Absolute:
    how = choice(interpolate_type, "interpolate_type", ("linear", "cosine"))
    init = _value(init_value, "init_value")
    pairs = _scales(boundaries_and_scales, "boundaries_and_scales")
    for b, _ in pairs:
        if b < 0:
            raise SpecError(
                f"boundaries_and_scales[{b}]", "must be a step >= 0 (optax interpolates from 0)"
            )
    steps, values = [0], [init]
    for b, scale in pairs:
        value = values[-1] * scale
        if b == steps[-1]:  # an empty interval: the new value starts at once
            values[-1] = value
        else:
            steps.append(b)
            values.append(value)
    return _absolute(
        values,
        lambda base: PiecewiseInterpolate(
            steps=tuple(steps), values=tuple(v / base for v in values), interpolation=how
        ),
    )


def _onecycle_args(
    transition_steps: Any, peak_value: Any, pct_start: Any, div_factor: Any, final_div_factor: Any
) -> tuple[int, float, float, float, float]:
    """The arguments both one-cycle builders share, checked."""
    return (
        integer(transition_steps, "transition_steps", 1),
        _value(peak_value, "peak_value"),
        real(pct_start, "pct_start", 0.0, 1.0),
        real(div_factor, "div_factor", 0.0, open_low=True),
        real(final_div_factor, "final_div_factor", 0.0, open_low=True),
    )


def linear_onecycle_schedule(
    transition_steps: Any,
    peak_value: Any,
    pct_start: Any = 0.3,
    pct_final: Any = 0.85,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
) -> Absolute:
    n, peak, start, div, final = _onecycle_args(
        transition_steps, peak_value, pct_start, div_factor, final_div_factor
    )
    stop = real(pct_final, "pct_final", 0.0, 1.0)
    # optax's dict literal: a later equal key overwrites an earlier one
    points = {int(start * n): div, int(stop * n): 1.0 / div, n: 1.0 / final}
    return piecewise_interpolate_schedule("linear", peak / div, points)


def cosine_onecycle_schedule(
    transition_steps: Any,
    peak_value: Any,
    pct_start: Any = 0.3,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
) -> Absolute:
    n, peak, start, div, final = _onecycle_args(
        transition_steps, peak_value, pct_start, div_factor, final_div_factor
    )
    points = {int(start * n): div, n: 1.0 / (div * final)}
    return piecewise_interpolate_schedule("cosine", peak / div, points)


def sgdr_schedule(cosine_kwargs: Any) -> Absolute:
    if isinstance(cosine_kwargs, (str, Mapping)) or not isinstance(cosine_kwargs, Sequence):
        raise SpecError(
            "cosine_kwargs",
            f"must be a list of warmup_cosine_decay_schedule kwargs, got {describe(cosine_kwargs)}",
        )
    parts, boundaries, step = [], [], 0
    for i, kw in enumerate(cosine_kwargs):
        parts.append(_call("warmup_cosine_decay_schedule", kw, f"cosine_kwargs[{i}]"))
        step += integer(kw.get("decay_steps"), f"cosine_kwargs[{i}].decay_steps", 1)
        boundaries.append(step)
    if not parts:
        raise SpecError("cosine_kwargs", "must not be empty")
    return _join(parts, boundaries[:-1])


def join_schedules(schedules: Any, boundaries: Any) -> Absolute:
    if isinstance(schedules, (str, Mapping)) or not isinstance(schedules, Sequence):
        raise SpecError(
            "schedules",
            f"must be a list of (builder name, kwargs) pairs, got {describe(schedules)}",
        )
    parts = []
    for i, item in enumerate(schedules):
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise SpecError(
                f"schedules[{i}]", f"must be a (builder name, kwargs) pair, got {describe(item)}"
            )
        parts.append(_call(item[0], item[1], f"schedules[{i}]"))
    if not isinstance(boundaries, (list, tuple)):
        raise SpecError("boundaries", f"must be a list of steps, got {describe(boundaries)}")
    bounds = [integer(b, f"boundaries[{i}]", -_BIG, _BIG) for i, b in enumerate(boundaries)]
    if len(bounds) != len(parts) - 1:
        raise SpecError(
            "boundaries",
            f"must have len(schedules) - 1 = {len(parts) - 1} items, got {len(bounds)}",
        )
    return _join(parts, bounds)


def _join(parts: list[Absolute], bounds: list[int]) -> Absolute:
    """optax's join: ``out = where(t < b_i, out, s_i(t - b_i))`` for i = 1, 2, ...: at step
    ``t`` the last schedule (in list order) whose boundary is ``<= t`` runs, on ``t - b_i``."""
    starts = [-_BIG, *bounds]
    pieces = []  # (first step, schedule index, offset into its clock)
    for i in range(len(parts)):
        lo = max(starts[i], 0)
        hi = min(starts[i + 1 :], default=None)
        if hi is not None and hi <= lo:
            continue  # never active
        pieces.append((lo, hi, i, lo - starts[i] if i else 0))  # s_i sees t - b_i
    pieces.sort()
    base = next((parts[i][0] for _, _, i, _ in pieces if parts[i][1] != Constant(0.0)), 1.0)
    phases = []
    for lo, hi, i, offset in pieces:
        b, node = parts[i]
        if offset:
            node = Shift(schedule=node, offset=offset)
        if b != base:
            node = Scale(schedule=node, factor=b / base)
        phases.append(Phase(node, None if hi is None else hi - lo))
    if len(phases) == 1:
        return base, phases[0].schedule
    return base, SequenceNode(phases=tuple(phases))


BUILDERS: dict[str, Callable[..., Absolute]] = {
    f.__name__: f
    for f in (
        constant_schedule,
        polynomial_schedule,
        linear_schedule,
        warmup_constant_schedule,
        piecewise_constant_schedule,
        exponential_decay,
        cosine_decay_schedule,
        warmup_cosine_decay_schedule,
        warmup_exponential_decay_schedule,
        piecewise_interpolate_schedule,
        linear_onecycle_schedule,
        cosine_onecycle_schedule,
        sgdr_schedule,
        join_schedules,
    )
}


def _call(name: Any, kwargs: Any, path: str = "") -> Absolute:
    if isinstance(name, str):
        name = name.removeprefix("optax.").removeprefix("schedules.")
    if not isinstance(name, str) or name not in BUILDERS:
        raise SpecError(
            f"{path}.builder" if path else "builder",
            f"{describe(name)} is not an optax schedule builder schedcore reads; accepted: "
            + ", ".join(BUILDERS),
        )
    if not isinstance(kwargs, Mapping):
        raise SpecError(
            path or "kwargs", f"must be a dict of keyword arguments, got {describe(kwargs)}"
        )
    fn = BUILDERS[name]
    params = inspect.signature(fn).parameters
    for key in kwargs:
        if key not in params:
            where = f"{path}.{key}" if path else str(key)
            raise SpecError(where, f"unknown argument of {name}; accepted: " + ", ".join(params))
    for key, p in params.items():
        if p.default is inspect.Parameter.empty and key not in kwargs:
            where = f"{path}.{key}" if path else key
            raise SpecError(where, f"is required by {name}")
    try:
        return fn(**kwargs)
    except SpecError as err:
        raise err.within(path) from None


def from_optax(builder: str, arithmetic: str = "jit", **kwargs: Any) -> Recipe:
    """The recipe of ``optax.<builder>(**kwargs)``: ``recipe.lr(k) == schedule(k)`` to
    float32 rounding at every step below ``2**24``.

    ``arithmetic`` says which run is reproduced: ``"jit"`` (default) what a ``jax.jit``
    train step applies, where ``count / transition_steps`` is compiled to ``count * (1 /
    transition_steps)`` in float32, so a staircase exponential_decay can change one step
    late or early (``exponential_decay(1.0, 55, 0.5, staircase=True)`` applies 1.0 at
    update 55); ``"eager"`` the schedule called outside ``jit``, with exact division.

    Builders: constant_schedule, polynomial_schedule, linear_schedule,
    warmup_constant_schedule, piecewise_constant_schedule, exponential_decay (with
    transition_begin, staircase, end_value), cosine_decay_schedule (with exponent),
    warmup_cosine_decay_schedule, warmup_exponential_decay_schedule,
    piecewise_interpolate_schedule, linear_onecycle_schedule, cosine_onecycle_schedule,
    sgdr_schedule and join_schedules, whose ``schedules`` are ``(builder, kwargs)`` pairs::

        from_optax("join_schedules", boundaries=[100],
                   schedules=[("linear_schedule", {"init_value": 0.0, "end_value": 1e-3,
                                                   "transition_steps": 100}),
                              ("cosine_decay_schedule", {"init_value": 1e-3,
                                                         "decay_steps": 900})])

    Quirks kept: each joined schedule sees a local step; piecewise_constant_schedule
    changes at the boundary step itself; warmup_cosine_decay_schedule's ``decay_steps``
    includes the warmup; exponential_decay with ``decay_rate = 0`` or ``transition_steps
    <= 0`` is a constant; the onecycle builders' ``int(pct * steps)`` boundaries (and a
    boundary that collides with another, which overwrites it). Under ``jit``,
    polynomial_schedule with a fractional ``power`` gives NaN from the end of the
    transition on when ``float32(1 / transition_steps) > 1 / transition_steps``
    (``transition_steps = 3``): the recipe runs up to that step and raises StepRangeError
    there.
    """
    how = choice(arithmetic, "arithmetic", ARITHMETIC)
    token = _ARITHMETIC.set(how)
    try:
        base, node = _call(builder, kwargs)
    finally:
        _ARITHMETIC.reset(token)
    name = builder if isinstance(builder, str) else "schedule"
    return recipe(base, compiled(node) if how == "jit" else node, f"optax {name}")


# -- export --------------------------------------------------------------------------------
Builder = tuple[str, dict[str, Any]]
"""``(optax builder name, its keyword arguments)``; ``join_schedules``' ``schedules`` are
such pairs too (what :func:`from_optax` reads)."""


def to_optax(r: Recipe) -> Builder:
    """The optax builder that gives ``r``'s lr at every step under ``jax.jit`` (to float32
    rounding): ``(name, kwargs)``, built by ``getattr(optax, name)(**kwargs)`` (for
    ``join_schedules``, build each ``(name, kwargs)`` of ``schedules`` first), and read
    back by ``from_optax(name, **kwargs)``. SpecError says why there is none.

    Exact equivalents: constant; linear, polynomial and half-cosine anneals that hold
    their end; exponential decay (shifted: ``transition_begin``; floored: ``end_value``),
    as a staircase only where jitted optax lands on the same stairs (the form
    ``from_optax`` reads, or a period whose float32 reciprocal is exact); piecewise
    constant changing at the boundary; piecewise linear or cosine interpolation; a linear
    warmup into any of these; a scale of any of these; a sequence of phases on their own
    clocks (``join_schedules``).
    """
    if r.schedules:
        raise SpecError("schedules", "named schedules (per-group curves) have no optax schedule")
    return _export(r.schedule, r.base_lr, "schedule")


def _refuse(s: Schedule, path: str, why: str = "") -> SpecError:
    return SpecError(
        path,
        f"{s.type_name!r} with these fields has no optax schedule{why} (exact equivalents: "
        "constant, linear, polynomial and half cosine held, exponential, piecewise_constant "
        "changing at the boundary, piecewise_interpolate, a linear warmup into one, scale, and "
        "a sequence of local phases)",
    )


def _export(s: Schedule, lr: float, path: str) -> Builder:
    if isinstance(s, Scale):
        return _export(s.schedule, lr * s.factor, f"{path}.schedule")
    if isinstance(s, Constant):
        return "constant_schedule", {"value": lr * s.value}
    if isinstance(s, (Linear, Polynomial)) and s.after == "hold" and getattr(s, "k_decay", 1) == 1:
        kwargs = {"init_value": lr * s.start, "end_value": lr * s.end,
                  "transition_steps": s.steps}  # fmt: skip
        if isinstance(s, Linear):
            return "linear_schedule", kwargs
        return "polynomial_schedule", {**kwargs, "power": s.power}
    if (
        isinstance(s, Cosine)
        and s.start > 0
        and s.cycles == 0.5
        and s.after == "hold"
        and not s.restarts
    ):
        return "cosine_decay_schedule", {
            "init_value": lr * s.start,
            "decay_steps": s.steps,
            "alpha": s.end / s.start,
            "exponent": s.exponent,
        }
    exported = _exponential(s, lr, path)
    if exported is not None:
        return exported
    if isinstance(s, PiecewiseConstant) and s.change == "at":
        return "piecewise_constant_schedule", {
            "init_value": lr * s.values[0],
            "boundaries_and_scales": _ratios(s.boundaries, s.values, path),
        }
    if isinstance(s, PiecewiseInterpolate) and s.after == "hold" and s.steps[0] == 0:
        return "piecewise_interpolate_schedule", {
            "interpolate_type": s.interpolation,
            "init_value": lr * s.values[0],
            "boundaries_and_scales": _ratios(s.steps[1:], s.values, path),
        }
    warm = leading_warmup(s, rising=False)
    if warm is not None and warm.shape == "linear" and warm.clock == "local":
        body = _export(warm.body, lr, f"{path}.schedule")
        if body[0] == "cosine_decay_schedule" and lr * warm.end == body[1]["init_value"]:
            cosine = body[1]
            return "warmup_cosine_decay_schedule", {
                "init_value": lr * warm.start,
                "peak_value": cosine["init_value"],
                "warmup_steps": warm.steps,
                "decay_steps": warm.steps + cosine["decay_steps"],
                "end_value": cosine["init_value"] * cosine["alpha"],
                "exponent": cosine["exponent"],
            }
        ramp = ("linear_schedule", {"init_value": lr * warm.start, "end_value": lr * warm.end,
                                    "transition_steps": warm.steps})  # fmt: skip
        return "join_schedules", {"schedules": [ramp, body], "boundaries": [warm.steps]}
    if isinstance(s, SequenceNode) and all(p.clock == "local" for p in s.phases):
        parts, bounds, at = [], [], 0
        for i, phase in enumerate(s.phases):
            parts.append(_export(phase.schedule, lr, f"{path}.phases[{i}].schedule"))
            if i < len(s.phases) - 1:
                at += phase.steps or 0
                bounds.append(at)
        return "join_schedules", {"schedules": parts, "boundaries": bounds}
    raise _refuse(s, path)


def _exponential(s: Schedule, lr: float, path: str) -> Builder | None:
    """exponential_decay for an exponential (shifted, floored or as jitted optax's
    staircase); None for another node."""
    node, begin, floor = s, 0, None
    if isinstance(node, Clamp) and node.max is None and node.min is not None:
        node, floor = node.schedule, node.min
    if isinstance(node, Shift) and node.offset < 0:
        node, begin = node.schedule, -node.offset
    jitted = False
    if isinstance(node, SequenceNode) and node.phases:  # jitted optax's stairs, as read
        first = node.phases[0].schedule
        if isinstance(first, Exponential) and first.staircase and compiled(first) == node:
            node, jitted = first, True
    if not isinstance(node, Exponential):
        return None
    if node.staircase and not jitted and compiled(node) != node:
        raise _refuse(
            node,
            path,
            f": jitted optax computes count / {node.every} as count * (1 / {node.every}) in "
            "float32 and changes some stairs a step late or early; read the jitted form with "
            "from_optax(..., arithmetic='jit')",
        )
    kwargs: dict[str, Any] = {
        "init_value": lr * node.start,
        "transition_steps": node.every,
        "decay_rate": node.rate,
        "transition_begin": begin,
        "staircase": node.staircase,
    }
    if floor is not None:
        kwargs["end_value"] = lr * floor
    return "exponential_decay", kwargs


def _ratios(bounds: Sequence[int], values: Sequence[float], path: str) -> dict[int, float]:
    """optax's ``boundaries_and_scales``: each value as a multiple of the one before."""
    out = {}
    for b, before, after in zip(bounds, values, values[1:], strict=False):
        if before == 0 and after != 0:
            raise SpecError(path, f"the value rises from 0 at step {b}: optax scales the value")
        out[int(b)] = 1.0 if before == after else after / before
    return out
