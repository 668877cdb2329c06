"""Combinators: build schedules from schedules.

``sequence`` runs phases one after another; ``warmup`` and ``wsd`` are derived from it.
``product``, ``scale`` and ``clamp`` act on values; ``shift``, ``repeat`` and ``per_epoch``
act on the step.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

from ..errors import SpecError, StepRangeError
from ..fields import (
    MAX_STEP,
    Bool,
    Choice,
    Declared,
    Int,
    ListOf,
    Optional,
    Real,
    Record,
    frozen,
    param,
)
from .families import (
    MULTIPLIER,
    POSITIVE_STEPS,
    STEP,
    Constant,
    Cosine,
    Geometric,
    Linear,
    OneMinusSqrt,
)
from .node import BREAKPOINT_LIMIT, LISTED_LIMIT, NodeKind, Schedule, node

SCHEDULE = NodeKind()


@frozen
class Phase(Declared):
    """One phase of a :class:`Sequence`: a schedule run for ``steps`` steps.

    ``clock = 'local'`` gives the phase its own step, counted from 0 at its start (optax's
    ``join_schedules``, torch's SequentialLR); ``'global'`` gives it the training step
    (OneFlow's SequentialLR default, fvcore's ``'fixed'``). ``steps`` defaults to the
    schedule's own length; the last phase may leave it out and runs on past the end.
    """

    call_name = "Phase"  # errors from Python: Phase(steps=...): ...
    schedule: Schedule = param(SCHEDULE, "the phase's schedule")
    steps: int | None = param(Optional(POSITIVE_STEPS), "duration of the phase", None)
    clock: str = param(Choice("local", "global"), "which step the phase sees", "local")

    def _check(self) -> None:
        if self.steps is None and self.schedule.length:
            object.__setattr__(self, "steps", self.schedule.length)


@node("sequence")
@frozen
class Sequence(Schedule):
    """Phases one after another. Past the last boundary, the last phase runs on."""

    phases: tuple[Phase, ...] = param(
        ListOf(Record(Phase, "a phase table with 'schedule'"), min_len=1, max_len=1000),
        "the phases, in order",
    )

    def _check(self) -> None:
        for i, phase in enumerate(self.phases[:-1]):
            if phase.steps is None:
                raise SpecError(
                    f"phases[{i}].steps",
                    "is required: every phase but the last needs a duration "
                    "(its schedule has no length of its own)",
                )
        if self.starts[-1] > MAX_STEP:
            raise SpecError("phases", f"total length {self.starts[-1]} exceeds 2**53 steps")

    @functools.cached_property
    def starts(self) -> list[int]:
        """Start step of each phase (and, last, the end of the final bounded phase)."""
        out = [0]
        for phase in self.phases:
            out.append(out[-1] + (phase.steps or 0))
        return out

    @property
    def length(self) -> int | None:
        last = self.phases[-1]
        return self.starts[-1] if last.steps is not None else None

    @property
    def constant_from(self) -> int | None:
        # past its start, the last phase runs on: its own settling step, on its clock
        last, start = self.phases[-1], self.starts[len(self.phases) - 1]
        inner = last.schedule.constant_from
        if inner is None:
            return None
        return start + inner if last.clock == "local" else max(start, inner)

    def dense(self, ops, t):
        bounds = self.starts[1 : len(self.phases)]
        if bounds and getattr(ops, "gathers_phases", False) and self._alike is not None:
            return self._dense_alike(ops, t, bounds)
        return ops.piecewise(t, bounds, functools.partial(self._local, ops))

    @functools.cached_property
    def _alike(self) -> tuple[Schedule, dict[str, list[Any]]] | None:
        """When every phase runs a primitive node of one type, and the nodes differ only in
        their ``per_step_fields``: the first phase's node, and the phases' values of each
        field that differs. None otherwise."""
        first = self.phases[0].schedule
        kind = type(first)
        if kind.dense is Schedule.dense or any(type(p.schedule) is not kind for p in self.phases):
            return None
        differ = {}
        for field in dataclasses.fields(first):
            values = [getattr(p.schedule, field.name) for p in self.phases]
            if any(repr(v) != repr(values[0]) for v in values):  # repr: 0.0 is not -0.0
                if field.name not in kind.per_step_fields:
                    return None
                differ[field.name] = values
        return first, differ

    def _dense_alike(self, ops: Any, t: Any, bounds: list[int]) -> Any:
        """Alike phases (:attr:`_alike`) as one formula: each step takes its own phase's
        fields and start (``ops.take`` at its phase index). The values of ``piecewise``,
        in a fixed number of operations however many phases there are."""
        first, differ = self._alike  # type: ignore[misc]
        index = ops.searchsorted(bounds, t, side="right")
        node = first.with_per_step_fields(**{n: ops.take(v, index) for n, v in differ.items()})
        offsets = [
            start if i and phase.clock == "local" else 0
            for i, (phase, start) in enumerate(zip(self.phases, self.starts, strict=False))
        ]
        if any(offsets):  # whole numbers below 2**53: exact through float64
            t = t - ops.to_int(ops.take(offsets, index))
        return node.dense(ops, t)

    def _local(self, ops: Any, i: int, t: Any) -> Any:
        """Phase ``i`` at steps ``t`` (``max`` keeps a local step >= 0 where a backend
        evaluates every phase at every step)."""
        phase = self.phases[i]
        if phase.clock == "global" or i == 0:
            return phase.schedule.dense(ops, t)
        if getattr(ops, "pieces_see_own_steps", False):  # t >= this phase's start already
            return phase.schedule.dense(ops, t - self.starts[i])
        return phase.schedule.dense(ops, ops.maximum(t - self.starts[i], 0))

    def peak(self) -> float:
        return max(p.schedule.peak() for p in self.phases)

    def breakpoints(self, horizon: int) -> list[int]:
        """Every phase start, and each phase's breakpoints while it runs (from its start to
        the next phase's; the last runs on), placed by its clock."""
        found = set(self.starts[1 : len(self.phases)])
        for i, phase in enumerate(self.phases):
            if len(found) >= LISTED_LIMIT + len(self.phases):
                break  # enough listed (LISTED_LIMIT): later phases give their starts only
            begin = self.starts[i]
            stop = min(self.starts[i + 1] if i + 1 < len(self.phases) else horizon, horizon)
            if phase.clock == "local":
                found.update(begin + b for b in phase.schedule.breakpoints(stop - begin))
            else:
                found.update(b for b in phase.schedule.breakpoints(stop) if b > begin)
        return sorted(b for b in found if 0 < b <= horizon)


WARMUP_SHAPES = ("linear", "cosine", "exponential", "constant")


def ramp(shape: str, steps: int, start: float, end: float) -> Schedule:
    """The node that rises from ``start`` to ``end`` over ``steps`` with the given shape."""
    if shape == "linear":
        return Linear(steps=steps, start=start, end=end)
    if shape == "cosine":
        return Cosine(steps=steps, start=start, end=end)
    if shape == "exponential":
        return Geometric(steps=steps, start=start, end=end)
    return Constant(value=start)


@node("warmup")
@frozen
class Warmup(Schedule):
    """Ramps up to the value ``v`` the schedule takes when the warmup ends, then runs it.

    Over ``k < steps`` the value rises from ``start_factor * v`` towards ``v`` with the
    given shape (linear: ``v * (f + (1 - f) * k / steps)``, so ``v`` itself is first
    reached at ``k = steps``). With ``prefix = true`` the schedule starts after the warmup
    and sees a local step (``v = schedule(0)``); with ``false`` it runs on the global step
    and the warmup overlays its beginning (``v = schedule(steps)``).
    """

    schedule: Schedule = param(SCHEDULE, "the schedule after warmup")
    steps: int = param(POSITIVE_STEPS, "warmup length, in steps")
    shape: str = param(Choice(*WARMUP_SHAPES), "shape of the ramp", "linear")
    start_factor: float = param(Real(0.0, 1.0), "fraction of the target at step 0", 0.0)
    prefix: bool = param(Bool(), "run the schedule after the warmup on a local step", True)

    def _check(self) -> None:
        if self.shape == "exponential" and self.start_factor == 0:
            raise SpecError("start_factor", "must be > 0 for an exponential warmup, got 0.0")
        # the ramp's target is the schedule's value where the warmup hands over to it
        at = 0 if self.prefix else self.steps
        try:
            self.schedule(at)
        except StepRangeError as err:
            raise SpecError(
                "schedule" if self.prefix else "steps",
                f"the schedule must be defined at step {at}, where the warmup hands over to it, "
                f"but it raises: {err}; use after = 'hold' or 'periodic', or a shorter warmup",
            ) from None

    def expand(self) -> Schedule:
        target = self.schedule(0 if self.prefix else self.steps)  # defined: see _check
        if self.shape == "exponential" and target == 0:
            rise: Schedule = Constant(value=0.0)
        else:
            rise = ramp(self.shape, self.steps, self.start_factor * target, target)
        clock = "local" if self.prefix else "global"
        return Sequence(phases=(Phase(rise, self.steps), Phase(self.schedule, None, clock)))

    @property
    def length(self) -> int | None:
        inner = self.schedule.length
        if inner is None:
            return None
        return inner + self.steps if self.prefix else max(inner, self.steps)


COOLDOWN_SHAPES = ("linear", "cosine", "1-sqrt")


@node("wsd")
@frozen
class WarmupStableDecay(Schedule):
    """Warmup-stable-decay: rise to 1, hold 1, cool down to ``end``, then hold ``end``.

    The warmup rises linearly from ``end`` to 1 over ``warmup`` steps (as transformers'
    WSD does); the cooldown over ``decay`` steps is ``linear``, ``cosine`` (``cycles``
    half-waves, 0.5 by default) or ``1-sqrt``: ``end + (1 - end) * (1 - sqrt(p))``.
    """

    stable: int = param(STEP, "steps at the peak")
    decay: int = param(POSITIVE_STEPS, "steps of cooldown")
    warmup: int = param(STEP, "steps of warmup", 0)
    warmup_shape: str = param(Choice("linear", "cosine"), "shape of the warmup", "linear")
    decay_shape: str = param(Choice(*COOLDOWN_SHAPES), "shape of the cooldown", "linear")
    end: float = param(MULTIPLIER, "value after the cooldown (min lr ratio)", 0.0)
    cycles: float = param(Real(0.0, 1e100, open_low=True), "cosine cooldown periods", 0.5)

    def expand(self) -> Schedule:
        phases = []
        if self.warmup:
            phases.append(Phase(ramp(self.warmup_shape, self.warmup, self.end, 1.0), self.warmup))
        if self.stable:
            phases.append(Phase(Constant(1.0), self.stable))
        if self.decay_shape == "linear":
            cool: Schedule = Linear(steps=self.decay, start=1.0, end=self.end)
        elif self.decay_shape == "cosine":
            cool = Cosine(steps=self.decay, start=1.0, end=self.end, cycles=self.cycles)
        else:
            cool = OneMinusSqrt(steps=self.decay, start=1.0, end=self.end)
        phases.append(Phase(cool, self.decay))
        phases.append(Phase(Constant(self.end)))
        return Sequence(phases=tuple(phases))

    @property
    def length(self) -> int:
        return self.warmup + self.stable + self.decay


@node("product")
@frozen
class Product(Schedule):
    """The product of the schedules' values at each step."""

    schedules: tuple[Schedule, ...] = param(ListOf(SCHEDULE, min_len=1, max_len=64), "the factors")

    def dense(self, ops, t):
        out = self.schedules[0].dense(ops, t)
        for s in self.schedules[1:]:
            out = out * s.dense(ops, t)
        return out

    def peak(self) -> float:
        return math.prod(s.peak() for s in self.schedules)

    @property
    def constant_from(self) -> int | None:
        steps = [s.constant_from for s in self.schedules]
        if any(c == 0 and s(0) == 0.0 for s, c in zip(self.schedules, steps, strict=True)):
            return 0  # a factor that is 0 at every step makes the product 0 (values are finite)
        return None if None in steps else max(steps)  # type: ignore[type-var]


@node("scale")
@frozen
class Scale(Schedule):
    """``factor * schedule(k)``."""

    schedule: Schedule = param(SCHEDULE, "the schedule")
    factor: float = param(MULTIPLIER, "the factor")

    def dense(self, ops, t):
        return self.factor * self.schedule.dense(ops, t)

    def peak(self) -> float:
        return self.factor * self.schedule.peak()

    @property
    def length(self) -> int | None:
        return self.schedule.length

    @property
    def constant_from(self) -> int | None:
        return 0 if self.factor == 0.0 else self.schedule.constant_from


@node("clamp")
@frozen
class Clamp(Schedule):
    """``min(max(schedule(k), min), max)``; either bound may be left out."""

    schedule: Schedule = param(SCHEDULE, "the schedule")
    min: float | None = param(Optional(MULTIPLIER), "lower bound", None)
    max: float | None = param(Optional(MULTIPLIER), "upper bound", None)

    def _check(self) -> None:
        if self.min is None and self.max is None:
            raise SpecError("min", "clamp needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise SpecError("max", f"must be >= min ({self.min:g}), got {self.max:g}")

    def dense(self, ops, t):
        return self._clamp(ops, self.schedule.dense(ops, t))

    def _clamp(self, ops: Any, values: Any) -> Any:
        if self.min is not None:
            values = ops.maximum(values, self.min)
        return values if self.max is None else ops.minimum(values, self.max)

    def peak(self) -> float:
        inner = max(self.schedule.peak(), self.min or 0.0)
        return inner if self.max is None else min(inner, self.max)

    @property
    def length(self) -> int | None:
        return self.schedule.length

    @property
    def constant_from(self) -> int | None:
        return 0 if self.min is not None and self.min == self.max else self.schedule.constant_from


@node("shift")
@frozen
class Shift(Schedule):
    """``schedule(max(k + offset, 0))``: ``offset = 1`` starts one step ahead (1-based
    libraries such as keras-bert); ``offset = -n`` delays by ``n`` steps, holding
    ``schedule(0)`` meanwhile."""

    schedule: Schedule = param(SCHEDULE, "the schedule")
    offset: int = param(Int(-MAX_STEP, MAX_STEP), "steps added to k")

    def dense(self, ops, t):
        return self.schedule.dense(ops, ops.maximum(t + self.offset, 0))

    def peak(self) -> float:
        return self.schedule.peak()

    @property
    def length(self) -> int | None:
        inner = self.schedule.length
        return None if inner is None else max(inner - self.offset, 0)

    @property
    def constant_from(self) -> int | None:
        inner = self.schedule.constant_from
        return None if inner is None else max(inner - self.offset, 0)

    def breakpoints(self, horizon: int) -> list[int]:
        inner = self.schedule.breakpoints(horizon + self.offset)
        return [b - self.offset for b in inner if b - self.offset > 0]


@node("repeat")
@frozen
class Repeat(Schedule):
    """``schedule(k mod period)``: the first ``period`` steps, over and over."""

    schedule: Schedule = param(SCHEDULE, "the schedule")
    period: int = param(POSITIVE_STEPS, "steps per repetition")

    def dense(self, ops, t):
        return self.schedule.dense(ops, ops.mod(t, self.period))

    def peak(self) -> float:
        return self.schedule.peak()

    @property
    def constant_from(self) -> int | None:
        return 0 if self.schedule.constant_from == 0 else None

    def breakpoints(self, horizon: int) -> list[int]:
        """Each repetition's start and the child's breakpoints within it: at most
        BREAKPOINT_LIMIT repetitions, and fewer where the child lists many (at least one
        repetition; about LISTED_LIMIT in all), so nested repeats stay bounded."""
        inner = self.schedule.breakpoints(min(self.period, horizon))
        found: set[int] = set()
        for n in range(max(1, min(BREAKPOINT_LIMIT, LISTED_LIMIT // (len(inner) + 1)))):
            begin = n * self.period
            if begin > horizon:
                break
            found.update(begin + b for b in (0, *inner))
        return sorted(b for b in found if 0 < b <= horizon)


@node("per_epoch")
@frozen
class PerEpoch(Schedule):
    """``schedule(k // steps_per_epoch)``: a schedule written in epochs, as a staircase."""

    schedule: Schedule = param(SCHEDULE, "the schedule, in epochs")
    steps_per_epoch: int = param(POSITIVE_STEPS, "optimizer updates per epoch")

    def dense(self, ops, t):
        return self.schedule.dense(ops, ops.floor_divide(t, self.steps_per_epoch))

    def peak(self) -> float:
        return self.schedule.peak()

    @property
    def length(self) -> int | None:
        inner = self.schedule.length
        return None if inner is None else inner * self.steps_per_epoch

    @property
    def constant_from(self) -> int | None:
        inner = self.schedule.constant_from
        return None if inner is None else inner * self.steps_per_epoch

    def breakpoints(self, horizon: int) -> list[int]:
        inner = self.schedule.breakpoints(horizon // self.steps_per_epoch)
        return [b * self.steps_per_epoch for b in inner]

    def epoch_steps(self) -> int:
        return self.steps_per_epoch
