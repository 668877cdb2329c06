"""Where a schedule changes character: the global steps of its boundaries.

Phase starts, warmup ends, milestones, restarts and the ends of finite nodes, placed on
the training step axis (through ``sequence`` offsets, ``shift``, ``per_epoch`` and
``repeat``). Golden files sample there, plots shade there, lint checks there.
"""

from __future__ import annotations

import math

from ..fields import MAX_STEP
from .combinators import PerEpoch, Repeat, Sequence, Shift
from .cyclic import SGDR, Cyclic, OneCycle
from .families import MultiStep, Step
from .node import Schedule
from .piecewise import PiecewiseConstant, PiecewiseInterpolate

LIMIT = 64
"""Boundaries listed per periodic node (restarts, cycles, steps) before stopping."""


def boundaries(schedule: Schedule, horizon: int = MAX_STEP) -> list[int]:
    """Sorted global steps in (0, horizon] where ``schedule`` starts a new piece."""
    found: set[int] = set()
    _collect(schedule, 0, 1, horizon, found)
    return sorted(b for b in found if 0 < b <= horizon)


def _collect(node: Schedule, offset: int, scale: int, horizon: int, out: set[int]) -> None:
    """Add ``node``'s boundaries, mapping a local step b to ``offset + b * scale``."""

    def add(local: float) -> None:
        step = offset + math.ceil(local) * scale
        if 0 < step <= horizon:
            out.add(step)

    if node.is_derived:
        _collect(node.expansion, offset, scale, horizon, out)
        return
    if isinstance(node, Sequence):
        for i, phase in enumerate(node.phases):
            start = node.starts[i]
            if i:
                add(start)
            child_offset = offset + start * scale if phase.clock == "local" else offset
            _collect(phase.schedule, child_offset, scale, horizon, out)
        return
    if isinstance(node, Shift):
        _collect(node.schedule, offset - node.offset * scale, scale, horizon, out)
        return
    if isinstance(node, PerEpoch):
        _collect(node.schedule, offset, scale * node.steps_per_epoch, horizon, out)
        return
    if isinstance(node, Repeat):
        for n in range(LIMIT):
            begin = offset + n * node.period * scale
            if begin > horizon:
                break
            add(n * node.period)
            _collect(node.schedule, begin, scale, min(horizon, begin + node.period * scale), out)
        return
    for child in node.children():
        _collect(child, offset, scale, horizon, out)
    if node.length is not None:
        add(node.length)
    if isinstance(node, (MultiStep,)):
        for m in node.milestones:
            add(m)
    elif isinstance(node, PiecewiseConstant):
        for b in node.boundaries:
            add(b if node.change == "at" else b + 1)
    elif isinstance(node, PiecewiseInterpolate):
        for s in node.steps:
            add(s)
    elif isinstance(node, OneCycle):
        for end, _, _ in node._phases():
            add(end)
    elif isinstance(node, Step):
        for n in range(1, LIMIT):
            add(n * node.every)
    elif isinstance(node, Cyclic):
        up, down = node.up, node.down or node.up
        for n in range(LIMIT):
            add(n * (up + down) + up)
            add((n + 1) * (up + down))
    elif isinstance(node, SGDR):
        for start in restarts(node, horizon)[1:]:
            add(start)


def restarts(node: SGDR, horizon: int) -> list[int]:
    """First step of each SGDR cycle up to ``horizon`` (at most LIMIT)."""
    starts, begin, length = [0], 0.0, float(node.period)
    while len(starts) < LIMIT:
        begin, length = begin + length, length * node.t_mul
        first = math.ceil(begin)
        if first > min(horizon, MAX_STEP):
            break
        starts.append(first)
    return starts
