"""Step-by-step evaluation for training loops: one schedule value per update, cheaply.

A scheduler that asks for ``s(k)``, ``s(k + 1)``, ... would pay numpy's per-call overhead
at every update. :class:`Stepper` evaluates the schedule over a block of upcoming steps at
once (vectorized, the same values as ``s(k)``) and serves the following updates from it.
"""

from __future__ import annotations

import numpy as np

from ..errors import StepRangeError
from .node import Schedule

BLOCK = 512


class Stepper:
    """``stepper(k) == schedule(k)``, computed a block of steps at a time."""

    def __init__(self, schedule: Schedule, block: int = BLOCK) -> None:
        self.schedule = schedule
        self.block = block
        self._start = -1
        self._values: list[float] = []

    def __call__(self, k: int) -> float:
        offset = k - self._start
        if 0 <= offset < len(self._values):
            return self._values[offset]
        try:
            values = self.schedule(np.arange(k, k + self.block, dtype=np.int64))
        except StepRangeError:  # the block runs past an after = "error" end: go step by step
            return self.schedule(k)
        self._start, self._values = k, values.tolist()
        return self._values[0]
