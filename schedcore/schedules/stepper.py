"""Step-by-step evaluation for training loops: one schedule value per update, cheaply.

A scheduler that asks for ``s(k)``, ``s(k + 1)``, ... would pay numpy's per-call overhead
at every update. :class:`Stepper` evaluates the schedule over a block of upcoming steps at
once (vectorized, the same values as ``s(k)``) and serves the following updates from it.
While the steps run on in order, each block is twice the last (up to :data:`MAX_BLOCK`),
so a long run refills rarely.
"""

from __future__ import annotations

import numpy as np

from ..errors import StepRangeError
from .node import Schedule

BLOCK = 512
"""Steps evaluated by the first refill (and by any refill that jumps elsewhere)."""

MAX_BLOCK = 8192
"""Most steps one refill evaluates (a served block is a list of this many floats)."""


class Stepper:
    """``stepper(k) == schedule(k)``, computed a block of steps at a time."""

    __slots__ = ("_next", "_start", "_stop", "_values", "block", "schedule")

    def __init__(self, schedule: Schedule, block: int = BLOCK) -> None:
        self.schedule = schedule
        self.block = block
        self._start = self._stop = -1  # the steps [_start, _stop) held in _values
        self._values: list[float] = []
        self._next = block  # size of the next in-order refill

    def __call__(self, k: int) -> float:
        if self._start <= k < self._stop:
            return self._values[k - self._start]
        return self._refill(k)

    def _refill(self, k: int) -> float:
        in_order = k == self._stop
        size = min(self._next * 2, MAX_BLOCK) if in_order else self.block
        try:
            values = self.schedule(np.arange(k, k + size, dtype=np.int64))
        except StepRangeError:  # the block runs past an after = "error" end: go step by step
            self._next = self.block
            return self.schedule(k)
        self._next = size
        self._start, self._stop, self._values = k, k + size, values.tolist()
        return self._values[0]
