"""Schedules that cycle: cyclical lr, one-cycle, and cosine with warm restarts (SGDR)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import SpecError
from .families import MULTIPLIER, POSITIVE_STEPS, UNIT
from .node import Schedule, after_param, node
from .params import Bool, Choice, Int, Optional, Real, param

frozen = dataclasses.dataclass(frozen=True)


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

    def _eval(self, t, ordered):
        up = self.up
        down = self.down if self.down is not None else up
        cycle, x = np.divmod(t, up + down)
        rising = x <= up
        scale = np.where(rising, x / up, (up + down - x) / down)
        if self.mode == "triangular2":
            scale = scale * 0.5 ** cycle.astype(np.float64)
        elif self.mode == "exp_range":
            scale = scale * self.gamma ** t.astype(np.float64)
        return self.low + (self.high - self.low) * scale

    def peak(self) -> float:
        return max(self.low, self.high)


def _anneal(start: float, end: float, p: np.ndarray, how: str) -> np.ndarray:
    if how == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * p) + 1.0)
    return (end - start) * p + start


@node("onecycle")
@frozen
class OneCycle(Schedule):
    """The 1cycle policy, as torch's OneCycleLR defines it, relative to the maximum lr.

    Starts at ``1 / div_factor``, reaches 1 at step ``pct_start * steps - 1``, and anneals
    to ``1 / (div_factor * final_div_factor)`` at step ``steps - 1`` (``anneal`` 'cos' or
    'linear'). ``three_phase`` returns to the start value at ``2 * pct_start * steps - 2``
    before the final anneal. Phase ends are real numbers, exactly as in torch.
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

    def _eval(self, t, ordered):
        k = self._position(t, self.after).astype(np.float64)
        out = np.empty(k.shape[0])
        begin = 0.0
        phases = self._phases()
        todo = np.ones(k.shape[0], dtype=bool)
        for i, (end, a, b) in enumerate(phases):
            here = todo & (k <= end) if i < len(phases) - 1 else todo
            out[here] = _anneal(a, b, (k[here] - begin) / (end - begin), self.anneal)
            todo &= ~here
            begin = end
        return out

    def peak(self) -> float:
        return max(1.0, 1.0 / self.div_factor)


@node("sgdr")
@frozen
class SGDR(Schedule):
    """Cosine annealing with warm restarts (Loshchilov & Hutter).

    Cycle ``i`` lasts ``period * t_mul**i`` steps. Within it, at position ``p`` in [0, 1),
    the value is ``end + (peak_i - end) * 0.5 * (1 + cos(pi * p ** k_decay))``. With
    ``m_mul_applies_to = 'peak'`` (timm, the SGDR paper) ``peak_i = start * m_mul**i``;
    with ``'range'`` (Keras CosineDecayRestarts) the span shrinks instead:
    ``end + (start - end) * m_mul**i * ...``. After ``cycle_limit`` cycles the value is ``end``.

    Restart steps come from exact integer arithmetic when ``t_mul`` is an integer (never
    from ``floor(log(...))``, which misplaces restarts); a fractional ``t_mul`` accumulates
    the cycle lengths in float64, exact for dyadic values such as 1.5.
    """

    period: int = param(POSITIVE_STEPS, "length of the first cycle, in steps")
    t_mul: float = param(Real(1.0), "growth factor of each cycle's length", 1.0)
    m_mul: float = param(UNIT, "decay factor of each cycle's peak, in (0, 1]", 1.0)
    start: float = param(MULTIPLIER, "multiplier at the start of the first cycle", 1.0)
    end: float = param(MULTIPLIER, "multiplier at the end of each cycle", 0.0)
    m_mul_applies_to: str = param(Choice("peak", "range"), "what m_mul shrinks", "peak")
    k_decay: float = param(Real(0.0, open_low=True), "exponent on the position (timm)", 1.0)
    cycle_limit: int | None = param(Optional(POSITIVE_STEPS), "cycles before holding `end`", None)

    def _starts(self, last_step: int) -> tuple[np.ndarray, np.ndarray]:
        """Start step (float, exact when integral) and length of each cycle up to ``last_step``."""
        starts, lengths = [], []
        begin, span, count = 0, self.period, 0
        integral = float(self.t_mul).is_integer()
        if not integral:
            begin, span = 0.0, float(self.period)
        # a cycle_limit adds one sentinel "cycle" (index cycle_limit) that holds `end`
        while begin <= last_step and (self.cycle_limit is None or count <= self.cycle_limit):
            starts.append(begin)
            lengths.append(span)
            begin = begin + span
            span = span * int(self.t_mul) if integral else span * self.t_mul
            count += 1
        return np.asarray(starts, dtype=np.float64), np.asarray(lengths, dtype=np.float64)

    def _eval(self, t, ordered):
        if self.t_mul == 1.0 and self.cycle_limit is None:
            cycle, x = np.divmod(t, self.period)
            p = x.astype(np.float64) / self.period
        else:
            starts, lengths = self._starts(int(t.max()) if t.shape[0] else 0)
            # first cycle whose (integer) first step is <= k; ceil(start) is that step
            cycle = np.searchsorted(np.ceil(starts), t, side="right") - 1
            p = (t - starts[cycle]) / lengths[cycle]
        c = cycle.astype(np.float64)
        wave = 0.5 * (1.0 + np.cos(np.pi * (p if self.k_decay == 1.0 else p**self.k_decay)))
        if self.m_mul_applies_to == "peak":
            out = self.end + (self.start * self.m_mul**c - self.end) * wave
        else:
            out = self.end + (self.start - self.end) * self.m_mul**c * wave
        if self.cycle_limit is not None:
            out = np.where(cycle >= self.cycle_limit, self.end, out)
        return out

    def peak(self) -> float:
        return max(self.start, self.end)
