"""Piecewise schedules: constant between boundaries, or interpolated through points."""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import SpecError
from .families import MULTIPLIER, STEP
from .node import Schedule, after_param, node
from .params import Choice, ListOf, param

frozen = dataclasses.dataclass(frozen=True)


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

    def _eval(self, t, ordered):
        side = "right" if self.change == "at" else "left"
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.int64), t, side=side)
        return np.asarray(self.values, dtype=np.float64)[index]

    def peak(self) -> float:
        return max(self.values)


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

    def _eval(self, t, ordered):
        xs = np.asarray(self.steps, dtype=np.int64)
        ys = np.asarray(self.values, dtype=np.float64)
        k = self._position(t, self.after)
        right = np.clip(np.searchsorted(xs, k, side="right"), 1, max(len(xs) - 1, 1))
        if len(xs) == 1:
            return np.full(k.shape[0], ys[0])
        left = right - 1
        span = (xs[right] - xs[left]).astype(np.float64)
        p = np.clip((k - xs[left]).astype(np.float64) / span, 0.0, 1.0)
        a, b = ys[left], ys[right]
        if self.interpolation == "linear":
            return a + (b - a) * p
        return b + (a - b) * 0.5 * (1.0 + np.cos(np.pi * p))

    def peak(self) -> float:
        return max(self.values)
