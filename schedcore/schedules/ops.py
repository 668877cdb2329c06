"""The array operations schedule formulas are written in, so one formula serves every backend.

Every node's formula is written once, in :meth:`Schedule.dense`, against an ``ops`` object
that provides these operations. :data:`NUMPY` evaluates it with numpy in float64 (the
core); an adapter passes its own (for example Keras lowers to ``keras.ops``), so no
adapter re-derives a formula. Steps arrive as int64 arrays; ``ops.float`` converts them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class NumpyOps:
    """float64 numpy: the core's own evaluation. ``after = 'error'`` raises here.

    Formulas write a division by a constant as ``ops.divide(x, c)``, not ``x / c``:
    compilers (TensorFlow's grappler, XLA) turn ``x / c`` into ``x * (1 / c)``, which is
    1 ulp off and moves the boundaries of ``floor``, ``mod`` and fractional powers (a
    restart one step late, a decay to 0 that ends at 1e-4). An adapter can keep it exact.
    """

    name = "numpy"
    can_raise = True

    def float(self, t: Any) -> Any:
        return t.astype(np.float64)

    def full(self, t: Any, value: float) -> Any:
        return np.full(np.shape(t), value, dtype=np.float64)

    def searchsorted(self, sorted_values: Sequence[float], t: Any, side: str) -> Any:
        return np.searchsorted(np.asarray(sorted_values), t, side=side)

    def take(self, values: Sequence[float], index: Any) -> Any:
        return np.asarray(values, dtype=np.float64)[index]

    divide = staticmethod(np.divide)
    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    clip = staticmethod(np.clip)
    floor_divide = staticmethod(np.floor_divide)
    mod = staticmethod(np.mod)
    power = staticmethod(np.power)
    cos = staticmethod(np.cos)
    sqrt = staticmethod(np.sqrt)
    floor = staticmethod(np.floor)
    ceil = staticmethod(np.ceil)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    expm1 = staticmethod(np.expm1)

    def to_int(self, x: Any) -> Any:
        return x.astype(np.int64)

    def piecewise(
        self, t: Any, bounds: Sequence[int], pieces: Sequence[Callable[[Any], Any]]
    ) -> Any:
        """``pieces[i](t)`` where ``bounds[i - 1] <= t < bounds[i]``: ``pieces[0]`` below
        ``bounds[0]``, the last piece from ``bounds[-1]`` on (``bounds`` increasing, one
        fewer than ``pieces``). Here every piece is evaluated and selected with ``where``;
        a backend may evaluate only the piece a step needs (Keras does, for one step)."""
        out = pieces[0](t)
        for bound, piece in zip(bounds, pieces[1:], strict=True):
            out = np.where(t >= bound, piece(t), out)
        return out


NUMPY = NumpyOps()
