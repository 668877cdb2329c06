"""The key points of a recipe's curve: step 0, end of warmup, peak, quarters, end."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..recipe import Recipe
from ..schedules.breakpoints import leading_warmup
from ..schedules.node import Schedule

DEFAULT_HORIZON = 1000


@dataclasses.dataclass(frozen=True)
class KeyPoint:
    label: str
    step: int


def warmup_steps(schedule: Schedule) -> int | None:
    """Length of the schedule's leading warmup (:func:`leading_warmup`), when it has one."""
    warm = leading_warmup(schedule)
    return None if warm is None else warm.steps


def horizon(recipe: Recipe) -> int:
    """Steps to show: the training length, else the schedule's own length."""
    return recipe.total_steps or DEFAULT_HORIZON


def key_points(recipe: Recipe) -> list[KeyPoint]:
    total = horizon(recipe)
    curve = recipe.schedule(np.arange(total, dtype=np.int64))
    points = [KeyPoint("start", 0)]
    warm = warmup_steps(recipe.schedule)
    if warm is not None and warm < total:
        points.append(KeyPoint("end of warmup", warm))
    points.append(KeyPoint("peak", int(np.argmax(curve))))
    for q, label in ((1, "25%"), (2, "50%"), (3, "75%")):
        points.append(KeyPoint(label, total * q // 4))
    points.append(KeyPoint("last step", total - 1))
    points.sort(key=lambda p: p.step)
    return points


def key_table(recipe: Recipe) -> str:
    """A printable table: one row per key point, one lr column per group."""
    points = key_points(recipe)
    steps = np.array([p.step for p in points], dtype=np.int64)
    if recipe.resolution is not None:
        lrs = recipe.lr(steps)
        names = [f"group {i} lr" for i in range(lrs.shape[0])]
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
