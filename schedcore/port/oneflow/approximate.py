"""Approximating a node without an exact OneFlow equivalent by LinearLR segments.

Greedy longest segments (galloping, then bisection), every integer step of each verified
against the core's values, within a relative ``tolerance``: each segment's values are computed
as Graph-mode LinearLR computes them (:func:`linear_lr`), and :data:`FLOAT32_MARGIN` of the
tolerance is kept for the float32 rounding nn.Graph adds, so the lr it applies stays within
the tolerance.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from .kernels import FLOAT32_EXACT, SAME, Approx, Const, Leaf, NotLowerable, Ramp, plural
from .pieces import Piece, Pieces

MAX_SEGMENTS = 2_000
"""Most LinearLR segments one approximation may use."""
MAX_VERIFIED = 4_000_000
"""Most steps one approximation may span (every one of them is verified)."""
FLOAT32_MARGIN = 2.0**-21
"""Relative error nn.Graph's float32 arithmetic may add to a LinearLR segment's value (the
base lr and ``lr_scale`` rounded to float32, two float32 products: at most 4 x 2**-24), kept
out of the tolerance the segments are fitted to (see :func:`fit_tolerance`)."""


def fit_tolerance(tolerance: float) -> float:
    """The relative error segments are fitted to: ``tolerance`` less :data:`FLOAT32_MARGIN`
    (half the tolerance when that is below float32's own resolution)."""
    return tolerance - FLOAT32_MARGIN if tolerance > 2 * FLOAT32_MARGIN else tolerance / 2


def linear_lr(first: float, last: float, total: int, j: np.ndarray) -> np.ndarray:
    """Graph-mode ``LinearLR`` from ``first`` to ``last`` over ``total`` steps at local steps
    ``j < total``, in multiplier units: ``first + (last - first) * (j / total)`` in double with
    ``j`` and ``total`` converted to float32, as ``LearningRateScheduleKernel`` computes it."""
    p = j.astype(np.float32).astype(np.float64) / float(np.float32(total))
    return first + (last - first) * p


@dataclasses.dataclass(frozen=True)
class Approximation:
    """One approximated stretch: the node, why, how many segments, the largest error."""

    path: str
    node_type: str
    reason: str
    first: int
    last: int | None
    segments: int
    max_error: float


def approximate(
    piece: Piece, end: int | None, tolerance: float | None, anchor: float | None
) -> tuple[Pieces, Approximation]:
    """LinearLR segments (local clocks) for ``piece`` on ``[piece.start, end)``."""
    assert tolerance is not None
    leaf = piece.leaf
    origin = leaf.origin
    source = origin.source
    reason = leaf.reason if isinstance(leaf, Approx) else ""
    lo = piece.start - piece.offset  # first local step
    if end is None:
        settled = source.constant_from
        if settled is None:
            raise NotLowerable(
                origin.path,
                origin.node_type,
                f"{reason}; and it never becomes constant, so no finite number of "
                "LinearLR segments can follow it, whatever the tolerance",
                hint=False,
            )
        hi = max(settled, lo)
    else:
        hi = end - piece.offset
    if hi - lo > MAX_VERIFIED:
        raise NotLowerable(
            origin.path,
            origin.node_type,
            f"{reason}; approximating it spans {plural(hi - lo, 'step')}, beyond the "
            f"{MAX_VERIFIED} this adapter verifies step by step",
            hint=False,
        )
    values = source(np.arange(lo, hi + 1, dtype=np.int64))
    if anchor is not None and values.max() > anchor * (1 + SAME):
        raise NotLowerable(
            origin.path,
            origin.node_type,
            f"{reason}; it reaches {values.max():g} x the lr, above the optimizer's base "
            f"lr ({anchor:g} x the lr), and LinearLR factors must be in [0, 1]",
            hint=False,
        )
    cuts, worst = greedy_segments(values, tolerance, most=MAX_SEGMENTS)
    if len(cuts) - 1 > MAX_SEGMENTS:
        raise NotLowerable(
            origin.path,
            origin.node_type,
            f"{reason}; approximating it to tolerance {tolerance:g} needs more than "
            f"{MAX_SEGMENTS} LinearLR segments; raise the tolerance",
            hint=False,
        )
    out = []
    for a, b in itertools.pairwise(cuts):
        first, last = float(values[a]), float(values[b])
        step = piece.offset + lo + a
        if first == last:
            seg: Leaf = Const(origin, value=first)
        else:
            seg = Ramp(origin, first=first, last=last, steps=b - a)
        out.append(Piece(step, seg, step))
    if end is None:
        step = piece.offset + hi
        out.append(Piece(step, Const(origin, value=float(values[-1])), step))
    record = Approximation(
        origin.path, origin.node_type, reason, piece.start, end, len(cuts) - 1, worst
    )
    return out, record


def greedy_segments(
    values: np.ndarray,
    tolerance: float,
    longest: int = FLOAT32_EXACT,
    most: int | None = None,
) -> tuple[list[int], float]:
    """Cut points ``c`` of LinearLR segments from ``values[c[i]]`` to ``values[c[i+1]]``
    covering indices ``[0, len(values) - 1)``, each as long as possible (galloping, then
    bisection) with relative error at most ``fit_tolerance(tolerance)`` at every index it
    covers (the segment's values as :func:`linear_lr` computes them), and the largest such
    error.

    ``values[-1]`` is only an end point. For values convex or concave on each segment the
    error grows with the segment, so the greedy cuts are as few as possible; for any values
    each segment is maximal (one step longer, it would not fit: bisection ends between a
    fitting length and a failing one), so there are never more segments than steps. With
    ``most``, it stops once more than ``most`` segments are needed.
    """
    n = len(values) - 1
    cuts, worst, s = [0], 0.0, 0
    tolerance = fit_tolerance(tolerance)

    def error(s: int, e: int) -> float:
        exact = values[s:e]
        approx = linear_lr(float(values[s]), float(values[e]), e - s, np.arange(e - s))
        miss = np.abs(approx - exact)
        nonzero = exact != 0
        if np.any(miss[~nonzero] > 0):
            return math.inf
        # the relative error itself, not ``miss > tolerance * |exact|``: for subnormal
        # values (a step decay after ~300 drops) that product rounds, by up to 50%
        relative = float(np.max(miss[nonzero] / np.abs(exact[nonzero]), initial=0.0))
        return math.inf if relative > tolerance else relative

    while s < n:
        room = min(n - s, longest)
        good, good_error, bad = 1, error(s, s + 1), None
        length = 2
        while length <= room:
            e = error(s, s + length)
            if e == math.inf:
                bad = length
                break
            good, good_error = length, e
            length *= 2
        if bad is None and good < room:
            e = error(s, s + room)
            if e == math.inf:
                bad = room
            else:
                good, good_error = room, e
        while bad is not None and bad - good > 1:
            mid = (good + bad) // 2
            e = error(s, s + mid)
            if e == math.inf:
                bad = mid
            else:
                good, good_error = mid, e
        s += good
        cuts.append(s)
        worst = max(worst, good_error)
        if most is not None and len(cuts) - 1 > most:
            break
    return cuts, worst
