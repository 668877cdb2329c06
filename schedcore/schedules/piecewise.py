"""Piecewise schedules: constant between boundaries, or interpolated through points."""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..fields import Choice, ListOf, frozen, param
from .families import MULTIPLIER, STEP
from .node import Schedule, after_param, node


@node("piecewise_constant")
@frozen
class PiecewiseConstant(Schedule):
    """``values[i]`` on the i-th interval between ``boundaries``.

    ``change = 'at'``: the value changes at step ``k = boundary`` (torch MultiStepLR, optax).
    ``change = 'after'``: the old value still applies at ``k = boundary`` and the new one
    from ``boundary + 1`` (Keras PiecewiseConstantDecay).
    """

    boundaries: tuple[int, ...] = param(
        ListOf(STEP, min_len=1, order="increasing"), "steps where the value changes"
    )
    values: tuple[float, ...] = param(
        ListOf(MULTIPLIER, min_len=2), "one more value than boundaries"
    )
    change: str = param(
        Choice("at", "after"), "whether a boundary step takes the new value ('at') or the old", "at"
    )

    def _check(self) -> None:
        if len(self.values) != len(self.boundaries) + 1:
            raise SpecError(
                "values",
                f"must have len(boundaries) + 1 = {len(self.boundaries) + 1} items, "
                f"got {len(self.values)}",
            )

    def dense(self, ops, t):
        side = "right" if self.change == "at" else "left"
        return ops.take(self.values, ops.searchsorted(self.boundaries, t, side=side))

    def _pieces(self, horizon: int) -> list[float]:
        shift = 1 if self.change == "after" else 0  # the step that first takes the new value
        return [b + shift for b in self.boundaries]

    def peak(self) -> float:
        return max(self.values)

    @property
    def constant_from(self) -> int:
        return self.boundaries[-1] + (1 if self.change == "after" else 0)


@node("piecewise_interpolate")
@frozen
class PiecewiseInterpolate(Schedule):
    """Interpolates ``values`` through ``steps``, linearly or along a half cosine.

    Before the first point the first value holds; ``after`` decides past the last point.
    Cosine interpolation from ``a`` to ``b``: ``b + (a - b) * 0.5 * (1 + cos(pi * p))``.
    """

    steps: tuple[int, ...] = param(ListOf(STEP, min_len=1, order="increasing"), "the points' steps")
    values: tuple[float, ...] = param(ListOf(MULTIPLIER, min_len=1), "the points' values")
    interpolation: str = param(Choice("linear", "cosine"), "curve between points", "linear")
    after: str = after_param()

    def _check(self) -> None:
        if len(self.values) != len(self.steps):
            raise SpecError(
                "values",
                f"must have as many items as steps ({len(self.steps)}), got {len(self.values)}",
            )
        if self.after == "periodic" and self.steps[-1] == 0:
            raise SpecError("after", "'periodic' needs a last point after step 0")

    @property
    def length(self) -> int:
        return self.steps[-1]

    @property
    def constant_from(self) -> int | None:
        return self.steps[-1] if self.after == "hold" else None

    def _pieces(self, horizon: int) -> list[float]:
        return list(self.steps)

    def dense(self, ops, t):
        k = self._position(ops, t, self.after)
        if len(self.steps) == 1:
            return ops.full(k, self.values[0])
        right = ops.clip(ops.searchsorted(self.steps, k, side="right"), 1, len(self.steps) - 1)
        left = right - 1
        x0 = ops.take(self.steps, left)
        span = ops.take(self.steps, right) - x0
        p = ops.clip((ops.float(k) - x0) / span, 0.0, 1.0)
        a, b = ops.take(self.values, left), ops.take(self.values, right)
        if self.interpolation == "linear":
            return a + (b - a) * p
        return b + (a - b) * 0.5 * (1.0 + ops.cos(np.pi * p))

    def peak(self) -> float:
        return max(self.values)
