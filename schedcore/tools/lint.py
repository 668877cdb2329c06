"""Lint a recipe: things that load fine but are probably not what was meant.

Each finding has a code, a level (:data:`LEVELS`: ``error`` for what is certainly wrong,
``warning`` for what is probably wrong, ``info`` for what is worth a look) and a message
saying what was found and why it matters. ``schedcore lint`` exits 1 on errors, and on
warnings with ``--strict``, so it can gate CI.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from ..errors import SpecError
from ..recipes import Recipe
from ..schedules.breakpoints import boundaries, leading_warmup
from ..schedules.node import Schedule
from .compare import curves
from .keypoints import group_names, horizon_of, look_steps, warmup_steps

SUSPICIOUS_RATIO = 1000.0


LEVELS = ("error", "warning", "info")
"""Finding levels, most severe first."""

CODES = {
    "E001": ("error", "an lr is NaN, infinite or negative"),
    "E002": ("error", "the group policy does not fit the parameter table"),
    "W001": ("warning", "warmup covers the whole run"),
    "W002": ("warning", "the lr reaches 0 before the end"),
    "W003": ("warning", "training length inconsistent"),
    "W004": ("warning", "a decay that does not decay"),
    "W005": ("warning", "restart cycles do not fit the run"),
    "W006": ("warning", "a phase is shorter than one epoch in a per-epoch schedule"),
    "W007": ("info", "group lrs span 1000x or more"),
    "W008": ("warning", "the lr rises to the very end"),
}
"""Each code's level and what it is about."""


@dataclasses.dataclass(frozen=True)
class Finding:
    code: str
    message: str

    @property
    def level(self) -> str:
        return CODES[self.code][0]

    def __str__(self) -> str:
        return f"{self.code} {self.level}: {self.message}"


def policy_finding(error: SpecError) -> Finding:
    """The finding for a group policy that fails to bind to a parameter table (a dead rule
    or pattern item, a conflict, an uncovered parameter)."""
    return Finding("E002", str(error))


def lint(recipe: Recipe, total: int | None = None) -> list[Finding]:
    """Every finding for ``recipe`` over ``total`` steps (default: its horizon, see
    :func:`~schedcore.tools.keypoints.horizon`); bound to a parameter table, the group
    checks run too."""
    span = horizon_of(recipe, total)
    total = span.steps
    # a derived horizon (no [training], no --steps) is no run length: the checks that
    # compare the schedule with the run (W001, W002, W003, W005) have nothing to compare
    run_known = span.note is None
    found: list[Finding] = []
    add = lambda code, msg: found.append(Finding(code, msg))  # noqa: E731
    schedule = recipe.schedule
    steps = look_steps(recipe, total)  # every step, or boundaries and a bounded sample
    found += _unsafe(recipe, steps)
    curve = schedule(steps)
    warm = warmup_steps(schedule)

    rising = total < 2 or bool(np.all(np.diff(curve) >= 0))
    if run_known and warm is not None and warm >= total and rising:
        add(
            "W001",
            f"warmup lasts {warm} steps but training runs {total}: the lr never "
            "leaves warmup, so the decay is never used",
        )
    peak = float(curve.max()) if total else 0.0
    if peak > 0:
        positive = np.flatnonzero(curve > 0)
        last_positive = int(steps[positive[-1]]) if positive.shape[0] else -1
        # one update at 0 at the very end is a decay to 0 that lands on the last update
        # (1-based ports, keras-bert's): nothing is wasted that the recipe did not mean
        peak_step = int(steps[int(np.argmax(curve))])
        if run_known and last_positive < total - 2 and last_positive >= peak_step:
            wasted = total - 1 - last_positive
            add(
                "W002",
                f"the lr is 0 from step {last_positive + 1} to the last step {total - 1} "
                f"({wasted} updates, {wasted / total:.0%} of the run, do nothing)",
            )
    found += _training(recipe, total) if run_known else []
    start = warm if warm is not None and warm < total else 0
    after_warmup = curve[steps >= start]
    if (
        after_warmup.shape[0] > 1
        and _decays(schedule)
        and float(after_warmup.min()) >= float(after_warmup.max())
    ):
        add(
            "W004",
            f"after warmup the lr stays at {after_warmup.max() * recipe.base_lr:g}: "
            "the minimum (end) lr is not below the peak, so nothing decays",
        )
    found += _cycles(schedule, total) if run_known else []
    found += _per_epoch(schedule, total)
    if run_known and not any(f.code in ("W001", "W002") for f in found):  # they explain it
        found += _length(recipe, total)
    covered = warm is not None and warm >= total
    # inverted: the lr still rises at the last step, above every earlier value (a warmup
    # that peaks and then decays, like noam's, never ends at its highest)
    if (
        not covered
        and after_warmup.shape[0] > 1
        and int(np.argmax(after_warmup)) == after_warmup.shape[0] - 1
        and after_warmup[-1] > after_warmup[0] * (1 + 1e-12)
    ):
        add(
            "W008",
            f"the lr ends at {after_warmup[-1] * recipe.base_lr:g} (step {total - 1}), "
            f"its highest, above where it starts after warmup ({after_warmup[0] * recipe.base_lr:g}"
            f", step {start}): is the schedule inverted?",
        )
    found += _groups(recipe)
    return sorted(found, key=lambda f: LEVELS.index(f.level))  # stable: errors first


def _unsafe(recipe: Recipe, steps: np.ndarray) -> list[Finding]:
    """E001, a safety net: any NaN, infinite or negative lr of any group."""
    rows = curves(recipe, steps)
    bad = ~np.isfinite(rows) | (rows < 0)
    if not bad.any():
        return []
    g, j = (int(i) for i in np.argwhere(bad)[0])
    names = group_names(recipe) or ["the lr"]
    return [
        Finding(
            "E001",
            f"{names[g]} is {rows[g, j]!r} at step {int(steps[j])} "
            f"({int(bad.sum())} bad values): an lr must be finite and not negative",
        )
    ]


def _decays(schedule: Schedule) -> bool:
    """Whether the schedule after its warmup asks for a change (holds any node other than
    ``constant``): a constant after a warmup is not a decay that failed to decay."""
    warm = leading_warmup(schedule)
    body = schedule if warm is None else warm.body
    return body.varies() and any(n.type_name != "constant" for n in body.walk())


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
    # reaching the end value at the last update (length total - 1) is the end of the run
    if recipe.training is None or length is None or length in (total - 1, total):
        return []
    # a piece that ends exactly where training does (a global-clock phase, whose steps
    # count from 0, can make the summed length overshoot): the schedule fits the run
    if set(boundaries(recipe.schedule, total + 1)) & {total - 1, total}:
        return []
    tail = "holds its last value" if length < total else "is cut off"
    message = (
        f"the schedule's own length is {length} steps but training runs {total}: "
        f"the schedule {tail} for the last {abs(total - length)} steps"
    )
    return [Finding("W003", message)]


def _cycles(schedule: Schedule, total: int) -> list[Finding]:
    """W005 for every node that cycles without end and whose cycle holding step ``total``
    (on the node's own clock) starts before it."""
    out = []
    for node in schedule.walk():
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
    epochs = [e for e in (n.epoch_steps() for n in schedule.walk()) if e is not None]
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
                f"10^{round(math.log10(ratio))}): as layered lrs are meant to; if not, "
                "check for a unit slip (an absolute lr where a multiplier was meant)",
            )
        ]
    return []
