"""The array operations schedule formulas are written in, so one formula serves every backend.

Every node's formula is written once, in :meth:`Schedule.dense`, against an ``ops`` object
that provides these operations. :data:`NUMPY` evaluates it with numpy in float64 (the
core, whose only evaluation path is ``dense(NUMPY, t)`` on 1-D steps); an adapter passes its
own (for example Keras lowers to ``keras.ops``), so no adapter re-derives a formula. Steps
arrive as int64 arrays; ``ops.float`` converts them.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
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
    # piecewise() hands each piece only the steps of its interval (a backend that evaluates
    # every piece at every step leaves this False, its default)
    pieces_see_own_steps = True
    # (steps, lowest, highest) of the steps array being evaluated, when the caller has
    # already computed its range (it checks it): piecewise() then does not scan it again
    known_range: tuple[Any, int, int] | None = None
    # a sequence of phases that differ only in per-step fields (Schedule.per_step_fields)
    # may run as one formula, each step taking its phase's fields (take): True where that
    # costs less than piecewise (compiled graphs); numpy runs each phase on its own slice
    gathers_phases = False

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

    def piecewise(self, t: Any, bounds: Sequence[int], piece: Callable[[int, Any], Any]) -> Any:
        """``piece(i, t)`` where ``bounds[i - 1] <= t < bounds[i]``: piece ``0`` below
        ``bounds[0]``, piece ``len(bounds)`` from ``bounds[-1]`` on (``bounds`` increasing).

        Each piece runs only on the steps in its interval: a piece never sees a step of
        another (a phase with ``after = 'error'`` does not raise for the steps after it) and
        a step costs one piece, however many there are. Non-decreasing steps (what a curve
        is evaluated on) are cut into one slice per piece; other steps are gathered per
        piece; steps that all fall in one piece (most chunks of a curve) go to it whole."""
        n = t.shape[0]
        if not bounds:
            return piece(0, t)
        if n <= 1:
            return piece(bisect.bisect_right(bounds, int(t[0])), t) if n else self.full(t, 0.0)
        known = self.known_range
        low, high = known[1:] if known is not None and known[0] is t else (t.min(), t.max())
        first = bisect.bisect_right(bounds, int(low))
        if first == bisect.bisect_right(bounds, int(high)):  # all in one piece
            return piece(first, t)
        if bool((t[1:] >= t[:-1]).all()):
            cuts = np.asarray(bounds, dtype=np.int64)
            edges = np.concatenate(([0], np.searchsorted(t, cuts, side="left"), [n]))
            live = np.flatnonzero(edges[1:] > edges[:-1]).tolist()
            ends = edges.tolist()
            out = np.empty(n, dtype=np.float64)
            for i in live:
                out[ends[i] : ends[i + 1]] = piece(i, t[ends[i] : ends[i + 1]])
            return out
        cuts = np.asarray(bounds, dtype=np.int64)
        which = np.searchsorted(cuts, t, side="right")
        out = np.empty(n, dtype=np.float64)
        for i, index in _groups(which, cuts.shape[0] + 1):
            out[index] = piece(i, t[index])
        return out


def _groups(which: np.ndarray, count: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(i, positions p with which[p] == i)`` for each ``i < count`` that occurs: a mask
    per piece for a few pieces, else one stable sort of ``which`` (a radix sort: 16 bits)."""
    if count <= 8:
        for i in range(count):
            index = np.flatnonzero(which == i)
            if index.shape[0]:
                yield i, index
        return
    sizes = np.bincount(which, minlength=count)
    live = np.flatnonzero(sizes).tolist()
    if len(live) == 1:
        yield live[0], np.arange(which.shape[0])
        return
    order = np.argsort(which.astype(np.uint16) if count <= 1 << 16 else which, kind="stable")
    ends = np.concatenate(([0], np.cumsum(sizes))).tolist()
    for i in live:
        yield i, order[ends[i] : ends[i + 1]]


NUMPY = NumpyOps()
