"""The horizon the tools look at, the steps they evaluate, and the key points of a recipe's
curve: step 0, end of warmup, peak, quarters, last step (each step once, its labels merged).

No tool evaluates a whole horizon that may be 2**53 steps long: up to :data:`FULL_LIMIT`
steps every step is looked at; beyond, :func:`look_steps` gives every boundary and its
neighbours plus an even sample of :data:`SAMPLE` steps. A schedule with ``after = "error"``
is looked at only where it is defined (:func:`defined_end`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import SpecError, StepRangeError
from ..fields import MAX_STEP
from ..recipes import Recipe
from ..schedules.breakpoints import boundaries, leading_warmup
from ..schedules.node import Schedule

DEFAULT_HORIZON = 1000
"""Steps shown when a recipe has no length and nothing in its schedule suggests one."""
WARMUP_MULTIPLE = 10
"""An unbounded schedule with a warmup is shown over this many warmups."""
FULL_LIMIT = 1 << 20
"""Horizons up to this many steps are looked at step by step; longer ones are sampled."""
SAMPLE = 1 << 16
"""Evenly spaced steps looked at over a horizon longer than :data:`FULL_LIMIT`."""


@dataclasses.dataclass(frozen=True)
class KeyPoint:
    label: str
    step: int


@dataclasses.dataclass(frozen=True)
class Horizon:
    """How many steps the tools look at, and why when it was not given (``note``)."""

    steps: int
    note: str | None = None


def warmup_steps(schedule: Schedule) -> int | None:
    """Length of the schedule's leading warmup (:func:`leading_warmup`), when it has one."""
    warm = leading_warmup(schedule)
    return None if warm is None else warm.steps


def _warmup_field(schedule: Schedule) -> int | None:
    """A warmup length a node declares as its own field (``noam``'s ``warmup``)."""
    for node in schedule.walk():
        value = getattr(node, "warmup", None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def derived_horizon(schedule: Schedule) -> Horizon:
    """A horizon for a schedule with no end and no ``[training]``: 10x its warmup, else
    the step where it settles plus 25%, else 10x its first boundary, else 1,000 steps."""
    warm = warmup_steps(schedule) or _warmup_field(schedule)
    if warm:
        steps, why = WARMUP_MULTIPLE * warm, f"{WARMUP_MULTIPLE}x its {warm}-step warmup"
    elif schedule.constant_from:
        settle = schedule.constant_from
        steps, why = settle + max(settle // 4, 1), f"where it settles (step {settle}) + 25%"
    else:
        first = boundaries(schedule, DEFAULT_HORIZON * 1000)[:1]
        if first:
            steps, why = 10 * first[0], f"10x its first boundary (step {first[0]})"
        else:
            steps, why = DEFAULT_HORIZON, "a default"
    steps = max(1, min(steps, MAX_STEP))
    note = (
        f"no [training] and the schedule has no end: using {steps} steps ({why}); "
        "pass --steps N to choose"
    )
    return Horizon(steps, note)


def horizon_of(recipe: Recipe, steps: int | None = None) -> Horizon:
    """``steps`` when given, else the training length, else the schedule's own length,
    else :func:`derived_horizon` (with its note); cut to where the recipe is defined
    (:func:`defined_end`), with a note saying so."""
    if steps is not None:
        span = Horizon(steps)
    elif recipe.total_steps:
        span = Horizon(recipe.total_steps)
    else:
        span = derived_horizon(recipe.schedule)
    end = defined_end(recipe, span.steps - 1)
    if end < span.steps:
        note = (
            f"the schedule raises past step {end - 1} (after = 'error'): "
            f"looking at {end} steps, not {span.steps}"
        )
        return Horizon(end, note if span.note is None else f"{span.note}; {note}")
    return span


def _raises(recipe: Recipe, step: int) -> bool:
    try:
        recipe.lr(np.array([step], dtype=np.int64))
    except StepRangeError:
        return True
    return False


def defined_end(recipe: Recipe, last: int) -> int:
    """The first step in ``[0, last]`` where the recipe raises :class:`StepRangeError` (a
    node with ``after = "error"`` past its end), else ``last + 1``. Found by bisection in
    O(log last) single-step evaluations: once past its end a schedule stays past it."""
    if not _raises(recipe, last):
        return last + 1
    if _raises(recipe, 0):
        raise SpecError("schedule", "cannot be evaluated even at step 0 (after = 'error')")
    lo, hi = 0, last  # defined at lo, raises at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _raises(recipe, mid) else (mid, hi)
    return hi


def defined(recipe: Recipe, steps: np.ndarray) -> np.ndarray:
    """``steps`` (sorted) without those where the recipe raises (see :func:`defined_end`)."""
    if steps.shape[0] == 0:
        return steps
    return steps[steps < defined_end(recipe, int(steps[-1]))]


def schedules_of(recipe: Recipe) -> list[Schedule]:
    """The recipe's schedule and its named group schedules."""
    return [recipe.schedule, *recipe.schedules.values()]


def near_boundaries(recipe: Recipe, end: int) -> set[int]:
    """Every boundary of every schedule of the recipe in (0, ``end``] and its neighbours."""
    out: set[int] = set()
    for schedule in schedules_of(recipe):
        for b in boundaries(schedule, end):
            out.update((b - 1, b, b + 1))
    return {s for s in out if 0 <= s <= end}


def look_steps(recipe: Recipe, total: int) -> np.ndarray:
    """The steps in ``[0, total)`` the tools evaluate: every one up to :data:`FULL_LIMIT`
    steps, else every boundary and its neighbours plus :data:`SAMPLE` evenly spaced steps
    (a bounded set, whatever the horizon)."""
    if total <= FULL_LIMIT:
        return np.arange(total, dtype=np.int64)
    picked = near_boundaries(recipe, total - 1) | {0, total - 1}
    grid = np.linspace(0, total - 1, SAMPLE).astype(np.int64)
    return np.union1d(grid, np.fromiter(picked, dtype=np.int64))


def horizon(recipe: Recipe, steps: int | None = None) -> int:
    """Steps to show (see :func:`horizon_of`)."""
    return horizon_of(recipe, steps).steps


def key_points(recipe: Recipe, total: int | None = None) -> list[KeyPoint]:
    """The key points over ``total`` steps (default :func:`horizon`), one per step: labels
    that fall on the same step are merged (``"end of warmup, peak"``)."""
    total = horizon(recipe) if total is None else total
    steps = look_steps(recipe, total)
    curve = recipe.schedule(steps)
    found = [("start", 0)]
    warm = warmup_steps(recipe.schedule)
    if warm is not None and warm < total:
        found.append(("end of warmup", warm))
    found.append(("peak", int(steps[int(np.argmax(curve))])))
    for q, label in ((1, "25%"), (2, "50%"), (3, "75%")):
        found.append((label, total * q // 4))
    found.append(("last step", total - 1))
    labels: dict[int, list[str]] = {}
    for label, step in found:
        labels.setdefault(step, []).append(label)
    return [KeyPoint(", ".join(labels[step]), step) for step in sorted(labels)]


def group_names(recipe: Recipe) -> list[str]:
    """Each resolved group's name (``group i`` for a group without one)."""
    if recipe.resolution is None:
        return []
    return [getattr(g, "name", None) or f"group {i}" for i, g in enumerate(recipe.groups)]


def key_table(recipe: Recipe, total: int | None = None) -> str:
    """A printable table: one row per key point, one lr column per group."""
    points = key_points(recipe, total)
    steps = np.array([p.step for p in points], dtype=np.int64)
    if recipe.resolution is not None:
        lrs = recipe.lr(steps)
        names = [f"{name} lr" for name in group_names(recipe)]
    else:
        lrs = recipe.lr(steps)[None, :]
        names = ["lr"]
    multipliers = recipe.schedule(steps)
    header = ["point", "step", "multiplier", *names]
    rows = [header]
    for j, p in enumerate(points):
        rows.append(
            [
                p.label,
                str(p.step),
                f"{multipliers[j]:.6g}",
                *(f"{lrs[i, j]:.6g}" for i in range(lrs.shape[0])),
            ]
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if c else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    )
