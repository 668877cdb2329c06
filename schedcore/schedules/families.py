"""Closed-form schedule families.

Every family is a multiplier of the base lr. Finite families (``length`` steps) take an
``after`` mode: ``hold`` (default) keeps the value reached at the end, ``periodic`` repeats
the curve (for ``cosine``: the wave continues, period ``steps / cycles``), ``error`` raises
:class:`~schedcore.errors.StepRangeError` for a step past the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SpecError
from ..fields import MAX_STEP, Bool, Choice, Int, ListOf, Real, frozen, param
from .node import AFTER_MODES, BREAKPOINT_LIMIT, Schedule, after_param, node

POSITIVE_STEPS = Int(1)
STEP = Int(0)
MULTIPLIER = Real(0.0)
UNIT = Real(0.0, 1.0, open_low=True)


@node("constant")
@frozen
class Constant(Schedule):
    """``value`` at every step."""

    value: float = param(MULTIPLIER, "the multiplier", 1.0)

    def dense(self, ops, t):
        return ops.full(t, self.value)

    def peak(self) -> float:
        return self.value

    @property
    def constant_from(self) -> int:
        return 0

    def varies(self) -> bool:
        return False


@frozen
class _Anneal(Schedule):
    """Shared shape of the start -> end families over ``steps``."""

    per_step_fields = ("start", "end")  # each formula: arithmetic in start and end only

    steps: int = param(POSITIVE_STEPS, "length of the anneal, in steps")
    start: float = param(MULTIPLIER, "multiplier at step 0", 1.0)
    end: float = param(MULTIPLIER, "multiplier at step `steps` and after", 0.0)

    @property
    def length(self) -> int:
        return self.steps

    @property
    def constant_from(self) -> int | None:
        return self.steps if getattr(self, "after", "hold") == "hold" else None

    def peak(self) -> float:
        return max(self.start, self.end)

    def _progress(self, ops, t, after: str) -> Any:
        return ops.divide(ops.float(self._position(ops, t, after)), self.steps)


@node("linear")
@frozen
class Linear(_Anneal):
    """``start + (end - start) * p`` with ``p = k / steps``."""

    after: str = after_param()

    def dense(self, ops, t):
        p = self._progress(ops, t, self.after)
        return self.start + (self.end - self.start) * p


@node("cosine")
@frozen
class Cosine(_Anneal):
    """``end + (start - end) * (0.5 * (1 + cos(2*pi*cycles*p))) ** exponent``, ``p = k/steps``.

    ``cycles = 0.5`` is one half wave from ``start`` down to ``end``. With
    ``after = 'periodic'`` the wave continues past ``steps`` (as torch's CosineAnnealingLR
    and transformers' cosine do); its period is ``steps / cycles``.

    ``restarts = true`` makes every half wave a descent (hard restarts, as transformers'
    ``cosine_with_restarts``): with ``x = (2 * cycles) * p``, the factor is
    ``0.5 * (1 + cos(pi * (x mod 1)))``, so ``2 * cycles`` descents from ``start`` to
    ``end``, each restarting at ``start``; from ``k = steps`` on the value is ``end``
    (``after = 'periodic'`` repeats the ``steps`` updates instead).
    """

    # bounded so that 2 * pi * cycles * p stays finite (an infinite phase times p = 0 is NaN)
    cycles: float = param(
        Real(0.0, 1e100, open_low=True), "number of cosine periods over `steps`", 0.5
    )
    exponent: float = param(Real(0.0, open_low=True), "power applied to the cosine factor", 1.0)
    after: str = after_param()
    restarts: bool = param(Bool(), "restart at `start` after every descent (hard restarts)", False)

    def dense(self, ops, t):
        if self.restarts:
            return self._restarts(ops, t)
        if self.after == "periodic":
            # the wave repeats every steps * q steps (q: denominator of `cycles`); wrapping
            # there keeps huge steps exact, where cos of the rounded huge argument is not
            import fractions  # loaded on first use (start-up time)

            span = self.steps * fractions.Fraction(self.cycles).denominator
            p = ops.divide(ops.float(ops.mod(t, span) if span <= MAX_STEP else t), self.steps)
        else:
            p = self._progress(ops, t, self.after)
        factor = 0.5 * (1.0 + ops.cos(np.pi * (2.0 * self.cycles) * p))
        if self.exponent != 1.0:
            factor = ops.power(factor, self.exponent)
        return self.end + (self.start - self.end) * factor

    def _restarts(self, ops, t):
        k = self._position(ops, t, self.after)
        x = (2.0 * self.cycles) * ops.divide(ops.float(k), self.steps)  # transformers' order
        factor = 0.5 * (1.0 + ops.cos(np.pi * ops.mod(x, 1.0)))
        if self.exponent != 1.0:
            factor = ops.power(factor, self.exponent)
        return ops.where(k >= self.steps, self.end, self.end + (self.start - self.end) * factor)


@node("polynomial")
@frozen
class Polynomial(_Anneal):
    """``(start - end) * (1 - p ** k_decay) ** power + end`` with ``p = k / steps``.

    ``power = 0`` keeps ``start`` at every step (``0 ** 0 == 1``), as torch and optax do.

    Besides ``hold``, ``periodic`` and ``error``, ``after = 'stretch'`` continues as Keras'
    PolynomialDecay and OneFlow's PolynomialLR with ``cycle=True``: past ``steps`` the decay
    is stretched to the next multiple of ``steps``, ``p = k / (steps * ceil(k / steps))``,
    so the value returns to ``end`` at every multiple and jumps up after it, but never back
    to ``start``. ``after = 'stretch_early'`` stretches at the multiple itself,
    ``p = k / (steps * (floor(k / steps) + 1))``, never reaching ``end``: what Keras'
    ``cycle=True`` applies in ``model.fit`` at the multiples whose float32
    ``k * fl(1 / steps)`` rounds above a whole number.
    """

    power: float = param(Real(0.0), "exponent of the decay (1 is linear)", 1.0)
    after: str = param(
        Choice(*AFTER_MODES, "stretch", "stretch_early"),
        "past the end: 'hold', 'periodic', 'error', or 'stretch' the decay (Keras cycle; "
        "'stretch_early': from each multiple on)",
        "hold",
    )
    k_decay: float = param(
        Real(0.0, open_low=True), "exponent on the position: (1 - p ** k_decay) (timm)", 1.0
    )

    def dense(self, ops, t):
        if self.after == "stretch_early":
            n = ops.floor_divide(t, self.steps) + 1
            p = ops.float(t) / (ops.float(n) * self.steps)
        elif self.after == "stretch":
            n = ops.maximum(ops.floor_divide(t + (self.steps - 1), self.steps), 1)
            p = ops.float(t) / (ops.float(n) * self.steps)
        else:
            p = self._progress(ops, t, self.after)
        if self.k_decay != 1.0:
            p = ops.power(p, self.k_decay)
        return (self.start - self.end) * ops.power(1.0 - p, self.power) + self.end


@node("geometric")
@frozen
class Geometric(_Anneal):
    """``start * (end / start) ** p``: exponential interpolation; both ends must be > 0."""

    start: float = param(Real(0.0, open_low=True), "multiplier at step 0", 1.0)
    end: float = param(Real(0.0, open_low=True), "multiplier at step `steps` and after", 1.0)
    after: str = after_param()
    per_step_fields = ()  # the formula branches on end / start in Python

    def dense(self, ops, t):
        p = self._progress(ops, t, self.after)
        ratio = self.end / self.start
        if not 1e-300 < ratio < 1e300:  # the ratio over- or underflows: split the power
            return ops.power(self.start, 1.0 - p) * ops.power(self.end, p)
        return self.start * ops.power(ratio, p)


@node("one_minus_sqrt")
@frozen
class OneMinusSqrt(_Anneal):
    """``end + (start - end) * (1 - sqrt(p))``: the 1-sqrt cooldown of warmup-stable-decay."""

    after: str = after_param()

    def dense(self, ops, t):
        p = self._progress(ops, t, self.after)
        return self.end + (self.start - self.end) * (1.0 - ops.sqrt(p))


@node("exponential")
@frozen
class Exponential(Schedule):
    """``start * rate ** (k / every)``; with ``staircase`` the exponent is ``floor(k / every)``."""

    rate: float = param(UNIT, "decay factor per `every` steps, in (0, 1]")
    every: int = param(POSITIVE_STEPS, "steps per application of `rate`", 1)
    staircase: bool = param(Bool(), "decay in whole steps of `every`", False)
    start: float = param(MULTIPLIER, "multiplier at step 0", 1.0)

    def dense(self, ops, t):
        if self.staircase:
            exponent = ops.float(ops.floor_divide(t, self.every))
        else:
            exponent = ops.divide(ops.float(t), self.every)
        return self.start * ops.power(self.rate, exponent)

    def peak(self) -> float:
        return self.start

    @property
    def constant_from(self) -> int | None:
        return 0 if self.rate == 1.0 or self.start == 0.0 else None


@node("step")
@frozen
class Step(Schedule):
    """``gamma ** floor(k / every)``: drops by ``gamma`` at every multiple of ``every``."""

    every: int = param(POSITIVE_STEPS, "steps between drops")
    gamma: float = param(UNIT, "factor applied at each drop, in (0, 1]", 0.1)

    def dense(self, ops, t):
        return ops.power(self.gamma, ops.float(ops.floor_divide(t, self.every)))

    def _pieces(self, horizon: int) -> list[float]:
        return [n * self.every for n in range(1, BREAKPOINT_LIMIT)]

    def peak(self) -> float:
        return 1.0

    @property
    def constant_from(self) -> int | None:
        return 0 if self.gamma == 1.0 else None


@node("multistep")
@frozen
class MultiStep(Schedule):
    """``gamma ** (number of milestones <= k)``: drops at each milestone (repeats multiply)."""

    milestones: tuple[int, ...] = param(
        ListOf(STEP, min_len=1, order="non-decreasing"), "steps at which the value drops"
    )
    gamma: float = param(Real(0.0, open_low=True), "factor applied at each milestone", 0.1)

    def dense(self, ops, t):
        passed = ops.searchsorted(self.milestones, t, side="right")
        return ops.power(self.gamma, ops.float(passed))

    def _pieces(self, horizon: int) -> list[float]:
        return list(self.milestones)

    def peak(self) -> float:
        try:
            return max(1.0, self.gamma ** len(self.milestones))
        except OverflowError:
            return float("inf")  # rejected as unbounded

    @property
    def constant_from(self) -> int:
        return self.milestones[-1]


@node("inverse_sqrt")
@frozen
class InverseSqrt(Schedule):
    """``1 / sqrt((k + timescale) / timescale)``: 1 at step 0, then decays as ``k ** -0.5``."""

    timescale: int = param(POSITIVE_STEPS, "steps over which the decay is measured")

    def dense(self, ops, t):
        return 1.0 / ops.sqrt(ops.divide(ops.float(t) + self.timescale, self.timescale))

    def peak(self) -> float:
        return 1.0


@node("inverse_time")
@frozen
class InverseTime(Schedule):
    """``1 / (1 + rate * k / every)``; with ``staircase`` ``k / every`` is floored."""

    # bounded so that rate * k / every stays finite for every k <= 2**53
    rate: float = param(Real(0.0, 1e100), "decay rate per `every` steps")
    every: int = param(POSITIVE_STEPS, "steps per unit of decay", 1)
    staircase: bool = param(Bool(), "decay in whole steps of `every`", False)

    def dense(self, ops, t):
        if self.staircase:
            ratio = ops.float(ops.floor_divide(t, self.every))
        else:
            ratio = ops.divide(ops.float(t), self.every)
        return 1.0 / (1.0 + self.rate * ratio)

    def peak(self) -> float:
        return 1.0

    @property
    def constant_from(self) -> int | None:
        return 0 if self.rate == 0.0 else None


@node("noam")
@frozen
class Noam(Schedule):
    """``factor * d_model**-0.5 * min(s**-0.5, s * warmup**-1.5)`` with ``s = max(k, 1)``.

    The Transformer schedule (Attention Is All You Need, 5.3) as LambdaLR ports write it:
    step 0 is treated as step 1. Its peak, at ``k = warmup``, is
    ``factor * (d_model * warmup) ** -0.5``.
    """

    d_model: int = param(POSITIVE_STEPS, "model width")
    warmup: int = param(POSITIVE_STEPS, "steps of linear warmup")
    factor: float = param(MULTIPLIER, "overall scale", 1.0)

    def dense(self, ops, t):
        s = ops.float(ops.maximum(t, 1))
        rise = s * self.warmup**-1.5
        return self.factor * self.d_model**-0.5 * ops.minimum(ops.power(s, -0.5), rise)

    def peak(self) -> float:
        return self.factor * (self.d_model * self.warmup) ** -0.5

    @property
    def constant_from(self) -> int | None:
        return 0 if self.factor == 0.0 else None


@node("tanh")
@frozen
class Tanh(_Anneal):
    """``end + (start - end) * 0.5 * (1 - tanh(lb * (1 - p) + ub * p))``, ``p = k / steps``.

    timm's TanhLRScheduler over one cycle (Hsueh et al. 2019, arXiv:1806.01593): the
    factor falls from ``0.5 * (1 - tanh(lb))`` (about 1 for the default ``lb = -7``) to
    ``0.5 * (1 - tanh(ub))`` (about 0.0025 for ``ub = 3``) as ``p`` nears 1. From
    ``k = steps`` on the value is ``end``, as timm's after its last cycle;
    ``after = 'periodic'`` repeats the ``steps`` updates (timm's restarts with cycle_mul
    and cycle_decay 1). The factor is computed as ``1 / (1 + exp(2 * y))``, which equals
    ``0.5 * (1 - tanh(y))``.
    """

    # bounded so that exp(2 * y) stays finite (tanh is 1 to float64 precision from |y| = 19)
    lb: float = param(Real(-100.0, 100.0), "tanh argument at step 0 (timm's lb)", -7.0)
    ub: float = param(
        Real(-100.0, 100.0), "tanh argument as k reaches `steps` (timm's ub); above `lb`", 3.0
    )
    after: str = after_param()

    def _check(self) -> None:
        if not self.lb < self.ub:
            raise SpecError("ub", f"must be greater than lb = {self.lb:g}, got {self.ub:g}")

    def dense(self, ops, t):
        k = self._position(ops, t, self.after)
        p = ops.divide(ops.float(k), self.steps)
        y = self.lb * (1.0 - p) + self.ub * p
        factor = 1.0 / (2.0 + ops.expm1(2.0 * y))
        return ops.where(k >= self.steps, self.end, self.end + (self.start - self.end) * factor)
