"""Schedules that cycle: cyclical lr, one-cycle, and cosine with warm restarts (SGDR)."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..errors import SpecError
from ..fields import MAX_STEP, Bool, Choice, Int, Optional, Real, frozen, param
from .families import MULTIPLIER, POSITIVE_STEPS, UNIT
from .node import BREAKPOINT_LIMIT, Schedule, after_param, node
from .ops import NUMPY


@node("cyclic")
@frozen
class Cyclic(Schedule):
    """Triangular cycles between ``low`` and ``high`` (Smith's cyclical learning rates).

    Each cycle rises for ``up`` steps and falls for ``down`` steps. Cycle ``c`` (0-based)
    and position ``x = k mod (up + down)`` come from integer arithmetic; the amplitude
    ``high - low`` is scaled by 1 (``triangular``), ``2 ** -c`` (``triangular2``) or
    ``gamma ** k`` (``exp_range``), as in torch's CyclicLR.
    """

    low: float = param(MULTIPLIER, "multiplier at the bottom of each cycle")
    high: float = param(MULTIPLIER, "multiplier at the top of the first cycle")
    up: int = param(POSITIVE_STEPS, "steps from low to high")
    down: int | None = param(Optional(POSITIVE_STEPS), "steps from high to low (default: up)", None)
    mode: str = param(
        Choice("triangular", "triangular2", "exp_range"), "amplitude policy", "triangular"
    )
    gamma: float = param(UNIT, "per-step amplitude factor for 'exp_range'", 1.0)

    def dense(self, ops, t):
        up = self.up
        down = self.down if self.down is not None else up
        cycle, x = ops.floor_divide(t, up + down), ops.float(ops.mod(t, up + down))
        scale = ops.where(x <= up, ops.divide(x, up), ops.divide(up + down - x, down))
        if self.mode == "triangular2":
            scale = scale * ops.power(0.5, ops.float(cycle))
        elif self.mode == "exp_range":
            scale = scale * ops.power(self.gamma, ops.float(t))
        return self.low + (self.high - self.low) * scale

    def peak(self) -> float:
        return max(self.low, self.high)

    def _pieces(self, horizon: int) -> list[float]:
        up, period = self.up, self.up + (self.down or self.up)
        return [b for n in range(BREAKPOINT_LIMIT) for b in (n * period + up, (n + 1) * period)]

    def cycle_span(self, step: int) -> tuple[int, int]:
        period = self.up + (self.down or self.up)
        begin = step - step % period
        return begin, begin + period

    @property
    def constant_from(self) -> int | None:
        return 0 if self.low == self.high else None


def _anneal(ops: Any, start: float, end: float, p: Any, how: str) -> Any:
    if how == "cos":
        return end + (start - end) / 2.0 * (ops.cos(np.pi * p) + 1.0)
    return (end - start) * p + start


@node("onecycle")
@frozen
class OneCycle(Schedule):
    """The 1cycle policy, as torch's OneCycleLR defines it, relative to the maximum lr.

    Starts at ``1 / div_factor``, reaches 1 at step ``pct_start * steps - 1``, and anneals
    to ``1 / (div_factor * final_div_factor)`` at step ``steps - 1`` (``anneal`` 'cos' or
    'linear'). ``three_phase`` returns to the start value at ``2 * pct_start * steps - 2``
    before the final anneal. Phase ends are real numbers, exactly as in torch. Past the
    last step: ``hold`` keeps the final value; ``periodic`` repeats every ``steps`` updates.
    """

    steps: int = param(Int(2), "total number of updates")
    pct_start: float = param(Real(0.0, 1.0, open_low=True), "fraction of steps spent rising", 0.3)
    div_factor: float = param(Real(0.0, open_low=True), "max / initial", 25.0)
    final_div_factor: float = param(Real(0.0, open_low=True), "initial / final", 1e4)
    anneal: str = param(Choice("cos", "linear"), "shape of each phase", "cos")
    three_phase: bool = param(Bool(), "return to the initial value before the final anneal", False)
    after: str = after_param()

    def _phases(self) -> list[tuple[float, float, float]]:
        initial = 1.0 / self.div_factor
        final = initial / self.final_div_factor
        rise_end = self.pct_start * self.steps - 1.0
        last = float(self.steps - 1)
        if self.three_phase:
            return [
                (rise_end, initial, 1.0),
                (2.0 * rise_end, 1.0, initial),
                (last, initial, final),
            ]
        return [(rise_end, initial, 1.0), (last, 1.0, final)]

    def _check(self) -> None:
        begin = 0.0
        for end, _, _ in self._phases():
            if not end > begin:
                raise SpecError(
                    "pct_start",
                    f"leaves an empty phase: with steps={self.steps}, pct_start={self.pct_start:g}"
                    " gives phase ends "
                    + ", ".join(f"{e:g}" for e, _, _ in self._phases())
                    + "; each must be greater than the previous (and than 0)",
                )
            begin = end

    @property
    def length(self) -> int:
        return self.steps - 1

    @property
    def constant_from(self) -> int | None:
        return self.steps - 1 if self.after == "hold" else None

    def _pieces(self, horizon: int) -> list[float]:
        return [end for end, _, _ in self._phases()]

    def dense(self, ops, t):
        # periodic: the whole cycle of `steps` updates repeats
        if self.after == "periodic":
            k = ops.float(ops.mod(t, self.steps))
        else:
            k = ops.float(self._position(ops, t, self.after))
        phases = self._phases()
        # the last phase also covers steps past its end; earlier phases take k <= their end
        begin = phases[-2][0]
        end, a, b = phases[-1]
        out = _anneal(ops, a, b, ops.divide(k - begin, end - begin), self.anneal)
        for i in range(len(phases) - 2, -1, -1):
            begin = phases[i - 1][0] if i else 0.0
            end, a, b = phases[i]
            out = ops.where(
                k <= end, _anneal(ops, a, b, ops.divide(k - begin, end - begin), self.anneal), out
            )
        return out

    def peak(self) -> float:
        # the final value exceeds the others when final_div_factor < 1
        initial = 1.0 / self.div_factor
        return max(1.0, initial, initial / self.final_div_factor)


LOG_MIN_GROWTH = 1.000001
"""Smallest ``t_mul`` above 1 that ``cycle_index = 'log'`` accepts."""

STARTS_LIMIT = 4096
"""Most cycle starts that SGDR tabulates for a fractional ``t_mul`` (see :class:`SGDR`)."""

_FIXED_BITS = 192  # fractional bits of the fixed-point sums in SGDR._fraction_starts
_FIXED_SLACK = 1 << 80  # their error bound, in units of 2**-_FIXED_BITS (see there)


@node("sgdr")
@frozen
class SGDR(Schedule):
    """Cosine annealing with warm restarts (Loshchilov & Hutter).

    Cycle ``i`` lasts ``period * t_mul**i`` steps. Within it, at position ``p`` in [0, 1),
    the value is ``end + (peak_i - end) * 0.5 * (1 + cos(pi * p ** k_decay))``. With
    ``m_mul_applies_to = 'peak'`` (timm, the SGDR paper) ``peak_i = start * m_mul**i``;
    with ``'range'`` (Keras CosineDecayRestarts) the span shrinks instead:
    ``end + (start - end) * m_mul**i * ...``. After ``cycle_limit`` cycles the value is ``end``.

    With ``cycle_index = 'exact'`` cycle ``i`` starts at the real number
    ``s_i = period * (t_mul**i - 1) / (t_mul - 1)`` and its first step is ``ceil(s_i)``. The
    core computes these first steps once, exactly (integers for a whole ``t_mul``, exact
    rationals otherwise: ``s_i = 4 + 10 + 25 = 39`` for ``period = 4, t_mul = 2.5`` is a
    restart at 39, never a float 39.000000000000007 rounded up to 40), and hands every
    backend the same table, never ``floor(log(...))`` nor ``expm1``, whose rounding moves
    restarts. The table lists the cycles starting up to 2**62, at most
    :data:`STARTS_LIMIT` of them: only a ``t_mul`` below about 1.01 has more, and past the
    last one listed the cycle comes from float64 logarithms checked against float64 starts.

    ``cycle_index = 'log'`` reproduces timm's CosineLRScheduler and OneFlow's eager
    CosineAnnealingWarmRestarts instead, rounding included: for ``t_mul != 1`` the cycle of
    step ``k`` is ``floor(log(1 - k / period * (1 - t_mul)) / log(t_mul))`` in float64,
    which puts some restarts one step late (``period = 1, t_mul = 3``: step 121 ends cycle
    4 at ``end`` instead of restarting cycle 5).

    :meth:`restarts` lists the steps where cycles start, found from the same cycle index
    the values use, so plots, lint and lowerings place every restart where it happens.
    """

    period: int = param(POSITIVE_STEPS, "length of the first cycle, in steps")
    t_mul: float = param(
        Real(1.0, float(MAX_STEP)),
        "growth factor of each cycle's length (past 2**53 no second restart could ever come)",
        1.0,
    )
    m_mul: float = param(UNIT, "decay factor of each cycle's peak, in (0, 1]", 1.0)
    start: float = param(MULTIPLIER, "multiplier at the start of the first cycle", 1.0)
    end: float = param(MULTIPLIER, "multiplier at the end of each cycle", 0.0)
    m_mul_applies_to: str = param(Choice("peak", "range"), "what m_mul shrinks", "peak")
    k_decay: float = param(Real(0.0, open_low=True), "exponent on the position (timm)", 1.0)
    cycle_limit: int | None = param(Optional(POSITIVE_STEPS), "cycles before holding `end`", None)
    cycle_index: str = param(
        Choice("exact", "log"),
        "how restarts are found: 'exact', or 'log' as timm and OneFlow round them",
        "exact",
    )

    def _check(self) -> None:
        if self.cycle_index == "log" and 1.0 < self.t_mul < LOG_MIN_GROWTH:
            raise SpecError(
                "t_mul",
                f"must be 1 or at least {LOG_MIN_GROWTH!r} with cycle_index = 'log', got "
                f"{self.t_mul!r}: so close to 1, timm's float logarithm puts steps in cycles "
                "erratically; use t_mul = 1, or cycle_index = 'exact'",
            )

    @functools.cached_property
    def _bounds(self) -> tuple[int, ...]:
        """For integral growth: every cycle's first step up to past 2**62 (at most 64):
        steps past 2**53 arise from shifts ahead, nested ones included."""
        starts, length = [0], self.period
        while starts[-1] <= 2**62:
            starts.append(min(starts[-1] + length, 2**63 - 1))  # the last one only ends
            length *= int(self.t_mul)
        return tuple(starts)

    @functools.cached_property
    def _fraction_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """For fractional growth with ``cycle_index = 'exact'``: the first step of each cycle,
        ``ceil(s_i)``, and the real start ``s_i`` rounded to float64, from cycle 0 until one
        starts past 2**62 (that one only ends the one before) or :data:`STARTS_LIMIT` are
        listed. Both are exact: ``s_i`` is summed in fixed point (``t_mul = a / 2**e`` is
        dyadic, so each cycle length is the previous one times ``a``, shifted), whose
        truncation error stays below :data:`_FIXED_SLACK` units (at most 4096 cycles of at
        most 2**63 periods); a sum that close to a whole number is redone with fractions."""
        a, b = self.t_mul.as_integer_ratio()  # b is a power of 2
        shift, one = b.bit_length() - 1, 1 << _FIXED_BITS
        import fractions  # loaded on first use (start-up time)

        growth = fractions.Fraction(a, b)
        length, total = self.period << _FIXED_BITS, 0  # cycle i's length, and s_i
        firsts, reals = [0], [0.0]
        while firsts[-1] <= 2**62 and len(firsts) <= STARTS_LIMIT:
            total += length
            length = (length * a) >> shift
            part = total & (one - 1)
            if _FIXED_SLACK < part < one - _FIXED_SLACK:
                first, real = (total >> _FIXED_BITS) + 1, total / one
            else:  # (nearly) whole: decide exactly
                cycle = len(firsts)
                exact = self.period * (growth**cycle - 1) / (growth - 1)
                first, real = math.ceil(exact), float(exact)
            firsts.append(min(first, 2**63 - 1))
            reals.append(real)
        return np.asarray(firsts, dtype=np.int64), np.asarray(reals, dtype=np.float64)

    @property
    def _starts_cut(self) -> int | None:
        """With a fractional ``t_mul`` (exact index) whose table stops before 2**62: its last
        start, from which the cycle comes from float64 logarithms; None otherwise."""
        if self.t_mul.is_integer() or self.cycle_index == "log":
            return None
        last = int(self._fraction_starts[0][-1])
        return last if last <= 2**62 else None

    @functools.cached_property
    def _log_bounds(self) -> tuple[int, ...]:
        """For integral growth with ``cycle_index = 'log'``: the first step that timm's float
        formula (:meth:`_log_index`, Python's ``math.log`` as timm calls it) puts in each
        cycle. The formula is monotone in the step, so each is found by bisection between
        the neighbouring exact bounds; a table makes every backend round alike."""
        exact, out = self._bounds, [0]
        for n in range(1, len(exact)):
            if exact[n] > MAX_STEP:
                out.append(exact[n])
                continue
            low, high = exact[n - 1] + 1, exact[n + 1] if n + 1 < len(exact) else 2 * MAX_STEP
            while low < high:  # the first step in [low, high] whose index is >= n
                mid = (low + high) // 2
                low, high = (low, mid) if self._log_index(mid) >= n else (mid + 1, high)
            out.append(low)
        return tuple(out)

    def _log_index(self, step: int) -> int:
        """timm's cycle index of one step, in its order of operations."""
        x = 1.0 - float(step) / self.period * (1.0 - self.t_mul)
        return math.floor(math.log(x) / math.log(self.t_mul))

    def _cycles(self, ops: Any, t: Any) -> tuple[Any, Any]:
        """Cycle index of each step and the position in [0, 1) within that cycle."""
        period, growth = self.period, self.t_mul
        if growth == 1.0:
            return ops.floor_divide(t, period), ops.divide(ops.float(ops.mod(t, period)), period)
        if growth.is_integer():
            bounds = self._bounds  # exact integers
            found = self._log_bounds if self.cycle_index == "log" else bounds
            # a step past the last bound (2**62) stays in the last cycle listed
            cycle = ops.minimum(ops.searchsorted(found, t, side="right") - 1, len(bounds) - 2)
            begin = ops.take(bounds, cycle)
            return cycle, (ops.float(t) - begin) / (ops.take(bounds, cycle + 1) - begin)
        if self.cycle_index == "exact":
            firsts, reals = self._fraction_starts
            cycle = ops.minimum(ops.searchsorted(firsts, t, side="right") - 1, len(firsts) - 2)
            begin = ops.take(reals, cycle)
            position = (ops.float(t) - begin) / (ops.take(reals, cycle + 1) - begin)
            cut = self._starts_cut
            if cut is None:
                return cycle, position
            # past the table (t_mul below about 1.01): float64 logarithms
            late, late_position = self._float_cycles(ops, t)
            past = t >= cut
            return ops.where(past, late, cycle), ops.where(past, late_position, position)
        return self._float_cycles(ops, t)

    def _float_cycles(self, ops: Any, t: Any) -> tuple[Any, Any]:
        """Fractional growth in float64: timm's cycle index (``'log'``), or past the table of
        exact starts an estimate from the logarithm corrected against the float starts."""
        period, growth = self.period, self.t_mul
        log_growth = math.log(growth)

        def start(i: Any) -> Any:
            return ops.divide(period * ops.expm1(i * log_growth), growth - 1.0)

        k = ops.float(t)
        if self.cycle_index == "log":
            cycle = self._log_cycle(ops, t)
        else:
            cycle = ops.floor(
                ops.divide(ops.log1p(ops.divide(k * (growth - 1.0), period)), log_growth)
            )
            cycle = ops.where(k < ops.ceil(start(cycle)), cycle - 1.0, cycle)
            cycle = ops.where(k >= ops.ceil(start(cycle + 1.0)), cycle + 1.0, cycle)
        begin = start(cycle)
        return ops.to_int(cycle), (k - begin) / (start(cycle + 1.0) - begin)

    def restarts(self, horizon: int) -> tuple[int, ...]:
        """The steps in (0, horizon] where a new cycle starts, in order (cycles 1 to at most
        :data:`~schedcore.schedules.node.BREAKPOINT_LIMIT`). Each is the first step that the
        cycle index the values use (:meth:`_cycles`) puts in its cycle, for every ``t_mul``
        and ``cycle_index``. With ``cycle_limit = n`` the last is the start of cycle ``n``,
        from which the value holds ``end``."""
        last = BREAKPOINT_LIMIT if self.cycle_limit is None else self.cycle_limit
        out: list[int] = []
        for cycle in range(1, min(last, BREAKPOINT_LIMIT) + 1):
            begin = self._start(cycle)
            if begin is None or begin > horizon:
                break
            if not out or begin > out[-1]:  # two cycles may start at one step
                out.append(begin)
        return tuple(out)

    def cycle_span(self, step: int) -> tuple[int, int] | None:
        if self.cycle_limit is not None:
            return None  # it ends: from the start of cycle `cycle_limit` it holds `end`
        cycle = int(self._index([step])[0])
        begin, end = self._start(cycle), self._start(cycle + 1)
        return None if begin is None or end is None else (begin, end)

    def _pieces(self, horizon: int) -> list[float]:
        return list(self.restarts(horizon))

    def _index(self, steps: list[int]) -> list[int]:
        """The cycle index :meth:`_cycles` gives each step (numpy, as the values use)."""
        cycle, _ = self._cycles(NUMPY, np.asarray(steps, dtype=np.int64))
        return np.asarray(cycle).tolist()

    def _start(self, cycle: int) -> int | None:
        """The first step whose cycle index is ``cycle`` or more; None for a cycle that
        never starts (past the bound tables, or past 2**62)."""
        if cycle <= 0:
            return 0
        if self.t_mul == 1.0:
            return cycle * self.period
        if self.t_mul.is_integer():
            if cycle > len(self._bounds) - 2:  # _cycles keeps later steps in the last cycle
                return None
            return (self._log_bounds if self.cycle_index == "log" else self._bounds)[cycle]
        if self.cycle_index == "exact":
            firsts = self._fraction_starts[0]
            if cycle < len(firsts) - (1 if self._starts_cut is None else 0):
                return int(firsts[cycle])
            if self._starts_cut is None:  # _cycles keeps later steps in the last cycle
                return None
        # fractional growth: the exact start, period * (g**i - 1) / (g - 1) rounded up, is
        # the candidate; float rounding in _cycles may move it, so confirm it against the
        # index itself and search around it where it moved
        import fractions  # loaded on first use (start-up time)

        growth = fractions.Fraction(self.t_mul)
        guess = math.ceil(self.period * (growth**cycle - 1) / (growth - 1))
        if guess > 2**62:
            return None
        below, at = self._index([guess - 1, guess])
        if below < cycle <= at:
            return guess
        low, high, reach = guess - 1, guess, 1  # gallop out to index(low) < cycle <= index(high)
        while low > 0 and self._index([low])[0] >= cycle:
            low, reach = max(low - reach, 0), 2 * reach
        reach = 1
        while self._index([high])[0] < cycle:
            high, reach = high + reach, 2 * reach
        while high - low > 1:  # the index never decreases along the steps
            mid = (low + high) // 2
            low, high = (low, mid) if self._index([mid])[0] >= cycle else (mid, high)
        return high

    def _log_cycle(self, ops: Any, t: Any) -> Any:
        """timm's and OneFlow's cycle index (a float), in their order of operations."""
        x = 1.0 - ops.divide(ops.float(t), self.period) * (1.0 - self.t_mul)
        return ops.floor(ops.divide(ops.log(x), math.log(self.t_mul)))

    def dense(self, ops, t):
        cycle, p = self._cycles(ops, t)
        c = ops.float(cycle)
        # the float cycle start may lie a rounding error after the step (timm's order of
        # operations gives the cycle's first value there): no negative base for the power
        position = p if self.k_decay == 1.0 else ops.power(ops.maximum(p, 0.0), self.k_decay)
        wave = 0.5 * (1.0 + ops.cos(np.pi * position))
        if self.m_mul_applies_to == "peak":
            out = self.end + (self.start * ops.power(self.m_mul, c) - self.end) * wave
        else:
            out = self.end + (self.start - self.end) * ops.power(self.m_mul, c) * wave
        if self.cycle_limit is not None:
            out = ops.where(cycle >= self.cycle_limit, self.end, out)
        return out

    def peak(self) -> float:
        return max(self.start, self.end)

    @property
    def constant_from(self) -> int | None:
        """The first step of cycle ``cycle_limit`` where it is known exactly (None otherwise)."""
        if self.cycle_limit is None:
            return None
        if not self.t_mul.is_integer():
            if self.cycle_index == "log":
                return None
            firsts = self._fraction_starts[0]
            if self.cycle_limit >= len(firsts) or firsts[self.cycle_limit] > MAX_STEP:
                return None
            return int(firsts[self.cycle_limit])
        if self.t_mul == 1.0:  # equal cycles (_bounds would list 2**53 / period of them)
            end = self.period * self.cycle_limit
            return end if end <= MAX_STEP else None
        if self.cycle_index == "log":
            return None  # the logarithm may place the last restart a step late
        bounds = self._bounds
        if self.cycle_limit >= len(bounds) or bounds[self.cycle_limit] > MAX_STEP:
            return None
        return bounds[self.cycle_limit]
