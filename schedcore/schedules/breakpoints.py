"""Where a schedule changes character: its boundaries, and its leading warmup.

Phase starts, warmup ends, milestones, restarts and the ends of finite nodes, placed on
the training step axis (through ``sequence`` offsets, ``shift``, ``per_epoch`` and
``repeat``). Each node reports its own through :meth:`Schedule.breakpoints`; golden files
sample there, plots shade there, lint checks there. :func:`leading_warmup` is the one
place that recognises a warmup at the start of a schedule, for the tools and exporters.
"""

from __future__ import annotations

import dataclasses

from ..errors import StepRangeError
from ..fields import MAX_STEP
from .combinators import Phase, Sequence, Shift, Warmup, WarmupStableDecay
from .families import Cosine, Geometric, Linear
from .node import BREAKPOINT_LIMIT, Schedule

LIMIT = BREAKPOINT_LIMIT
"""Boundaries listed per periodic node (restarts, cycles, steps) before stopping."""


def boundaries(schedule: Schedule, horizon: int = MAX_STEP) -> list[int]:
    """Sorted global steps in (0, horizon] where ``schedule`` starts a new piece."""
    return schedule.breakpoints(horizon)


@dataclasses.dataclass(frozen=True)
class LeadingWarmup:
    """A warmup at the start of a schedule: over steps ``k < steps`` the value goes from
    ``start`` towards ``end`` (up, unless found with ``rising=False``); from ``k = steps``
    on ``body`` runs, on a ``'local'`` clock (it sees ``k - steps``) or the ``'global'`` one.

    ``shape`` is ``'linear'``, ``'cosine'`` or ``'exponential'`` when the ramp is that
    node over exactly the warmup (``start + (end - start) * k / steps`` for linear),
    ``'constant'`` for a ``warmup`` node that holds ``start``, and None for another rising
    curve. ``start_factor`` is ``start / end`` (a ``warmup`` node's own field).
    """

    steps: int
    shape: str | None
    start: float
    end: float
    start_factor: float
    body: Schedule
    clock: str


def leading_warmup(schedule: Schedule, rising: bool = True) -> LeadingWarmup | None:
    """The warmup ``schedule`` starts with, if any: a ``warmup`` node, a ``wsd`` with warmup
    steps, or a ``sequence`` of two or more phases whose first phase rises (a ramp node to
    an ``end`` above its ``start``, another curve to a value above its first within the
    phase). ``rising=False`` also takes a first phase that falls or stays flat (Keras'
    CosineDecay warmup ramps either way). Importers and exporters add their own library's
    conditions (shape, start value) on top."""
    if isinstance(schedule, Warmup):
        end = schedule.schedule(0 if schedule.prefix else schedule.steps)
        return LeadingWarmup(
            steps=schedule.steps,
            shape=schedule.shape,
            start=schedule.start_factor * end,
            end=end,
            start_factor=schedule.start_factor,
            body=schedule.schedule,
            clock="local" if schedule.prefix else "global",
        )
    if isinstance(schedule, WarmupStableDecay) and schedule.warmup:
        return LeadingWarmup(
            steps=schedule.warmup,
            shape=schedule.warmup_shape,
            start=schedule.end,
            end=1.0,
            start_factor=schedule.end,
            body=dataclasses.replace(schedule, warmup=0),
            clock="local",
        )
    if isinstance(schedule, Sequence) and len(schedule.phases) > 1:
        first, rest = schedule.phases[0], schedule.phases[1:]
        steps = first.steps or 0
        shape, start, end = _ramp(first.schedule, steps)
        # a ramp node rises to its end; another curve must rise within the phase
        last = end if shape is not None else first.schedule(max(steps - 1, 0))
        if rising and not last > start:
            return None
        if len(rest) == 1:
            body, clock = rest[0].schedule, rest[0].clock
        else:  # the later phases as one sequence on the clock of the warmup's end
            body, clock = Sequence(phases=tuple(_from(p, steps) for p in rest)), "local"
        return LeadingWarmup(steps, shape, start, end, start / end if end else 0.0, body, clock)
    return None


def _ramp(ramp: Schedule, steps: int) -> tuple[str | None, float, float]:
    """``(shape, start, end)`` of a first phase of ``steps`` updates: the shape of a ramp
    node over exactly those steps (its past-the-end rule never applies inside them), or
    None with the values at step 0 and at ``steps`` (``steps - 1`` where undefined)."""
    if isinstance(ramp, (Linear, Geometric)) and ramp.steps == steps:
        return ("linear" if isinstance(ramp, Linear) else "exponential"), ramp.start, ramp.end
    if (
        isinstance(ramp, Cosine)
        and ramp.steps == steps
        and (ramp.cycles, ramp.exponent, ramp.restarts) == (0.5, 1.0, False)
    ):
        return "cosine", ramp.start, ramp.end
    try:
        end = ramp(steps)
    except StepRangeError:
        end = ramp(max(steps - 1, 0))
    return None, ramp(0), end


def _from(phase: Phase, steps: int) -> Phase:
    """``phase`` in a sequence that starts ``steps`` later: a global-clock phase keeps
    seeing the training step."""
    if phase.clock == "local":
        return phase
    return Phase(Shift(schedule=phase.schedule, offset=steps), phase.steps, "global")
