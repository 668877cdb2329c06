"""Lint a recipe: things that load fine but are probably not what was meant.

Each finding has a code, a message saying what was found, and why it matters.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from ..recipe import Recipe
from ..schedules.breakpoints import boundaries
from ..schedules.node import Schedule
from .keypoints import horizon, warmup_steps

SUSPICIOUS_RATIO = 1000.0


@dataclasses.dataclass(frozen=True)
class Finding:
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.message}"


CODES = {
    "W001": "warmup covers the whole run",
    "W002": "the lr reaches 0 before the end",
    "W003": "training length inconsistent",
    "W004": "the minimum lr is not below the peak",
    "W005": "restart cycles do not fit the run",
    "W006": "a phase is shorter than one epoch in a per-epoch schedule",
    "W007": "a group lr is a suspicious multiple of another",
    "W008": "the schedule ends higher than it starts",
}


def lint(recipe: Recipe) -> list[Finding]:
    """Every finding for ``recipe`` (bound to a parameter table, group checks run too)."""
    total = horizon(recipe)
    found: list[Finding] = []
    add = lambda code, msg: found.append(Finding(code, msg))  # noqa: E731
    schedule = recipe.schedule
    steps = np.arange(total, dtype=np.int64)
    curve = schedule(steps)
    warm = warmup_steps(schedule)

    if warm is not None and warm >= total:
        add(
            "W001",
            f"warmup lasts {warm} steps but training runs {total}: the lr never "
            "leaves warmup, so the decay is never used",
        )
    peak = float(curve.max()) if total else 0.0
    if peak > 0:
        positive = np.flatnonzero(curve > 0)
        last_positive = int(positive[-1]) if positive.shape[0] else -1
        if last_positive < total - 1 and last_positive >= int(np.argmax(curve)):
            wasted = total - 1 - last_positive
            add(
                "W002",
                f"the lr is 0 from step {last_positive + 1} to the last step {total - 1} "
                f"({wasted} updates, {wasted / total:.0%} of the run, do nothing)",
            )
    found += _training(recipe, total)
    start = warm if warm is not None and warm < total else 0
    after_warmup = curve[start:]
    if (
        after_warmup.shape[0] > 1
        and schedule.varies()
        and float(after_warmup.min()) >= float(after_warmup.max())
    ):
        add(
            "W004",
            f"after warmup the lr stays at {after_warmup.max() * recipe.base_lr:g}: "
            "the minimum (end) lr is not below the peak, so nothing decays",
        )
    found += _cycles(schedule, total)
    found += _per_epoch(schedule, total)
    if not any(f.code in ("W001", "W002") for f in found):  # those already explain it
        found += _length(recipe, total)
    covered = warm is not None and warm >= total
    if (
        not covered
        and after_warmup.shape[0] > 1
        and after_warmup[-1] > after_warmup[0] * (1 + 1e-12)
    ):
        add(
            "W008",
            f"the lr ends at {after_warmup[-1] * recipe.base_lr:g} (step {total - 1}), "
            f"higher than where it starts after warmup ({after_warmup[0] * recipe.base_lr:g}"
            f", step {start}): is the schedule inverted?",
        )
    found += _groups(recipe)
    return found


def _training(recipe: Recipe, total: int) -> list[Finding]:
    out = []
    t = recipe.training
    if t is not None and t.total_steps is not None and t.epochs is not None:
        per_epoch = t.updates_per_epoch
        if per_epoch is not None and t.epochs * per_epoch != t.total_steps:
            how = (
                f"steps_per_epoch = {t.steps_per_epoch}"
                if t.steps_per_epoch is not None
                else f"ceil(ceil({t.dataset_size} / {t.batch_size}) / grad_accum {t.grad_accum}) "
                f"= {per_epoch} updates per epoch"
            )
            out.append(
                Finding(
                    "W003",
                    f"total_steps = {t.total_steps} but epochs x updates per "
                    f"epoch = {t.epochs} x {per_epoch} = {t.epochs * per_epoch} "
                    f"({how}); with gradient accumulation, count optimizer "
                    "updates, not batches",
                )
            )
    return out


def _length(recipe: Recipe, total: int) -> list[Finding]:
    length = recipe.schedule.length
    if recipe.training is None or length is None or length == total:
        return []
    tail = "holds its last value" if length < total else "is cut off"
    message = (
        f"the schedule's own length is {length} steps but training runs {total}: "
        f"the schedule {tail} for the last {abs(total - length)} steps"
    )
    return [Finding("W003", message)]


def _walk(schedule: Schedule):
    stack = [schedule]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children())


def _cycles(schedule: Schedule, total: int) -> list[Finding]:
    """W005 for every node that cycles without end and whose cycle holding step ``total``
    (on the node's own clock) starts before it."""
    out = []
    for node in _walk(schedule):
        span = node.cycle_span(total)
        if span is not None and span[0] != total:
            out.append(
                Finding(
                    "W005",
                    f"{node.type_name} cycle starting at step {span[0]} is cut off: it would "
                    f"end at step {span[1]}, training ends at {total}",
                )
            )
    return out


def _per_epoch(schedule: Schedule, total: int) -> list[Finding]:
    epochs = [e for e in (n.epoch_steps() for n in _walk(schedule)) if e is not None]
    if not epochs:
        return []
    epoch = min(epochs)
    points = [0, *boundaries(schedule, total), total]
    for a, b in itertools.pairwise(points):
        if 0 < b - a < epoch:
            return [
                Finding(
                    "W006",
                    f"the phase from step {a} to {b} ({b - a} steps) is shorter "
                    f"than one epoch ({epoch} steps) while the schedule is "
                    "stepped per epoch: it is skipped or truncated",
                )
            ]
    return []


def _groups(recipe: Recipe) -> list[Finding]:
    if recipe.resolution is None or len(recipe.resolution.groups) < 2:
        return []
    lrs = sorted({g.lr for g in recipe.resolution.groups})
    low, high = lrs[0], lrs[-1]
    ratio = high / low
    if ratio >= SUSPICIOUS_RATIO * (1 - 1e-9):
        return [
            Finding(
                "W007",
                f"group lrs range from {low:g} to {high:g} ({ratio:.4g}x, about "
                f"10^{round(math.log10(ratio))}): check for a unit slip (an absolute "
                "lr where a multiplier was meant, or the reverse)",
            )
        ]
    return []
