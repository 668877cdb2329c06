"""Per-group schedules of an optimizer: the framework-neutral part of an exact lr scheduler.

A framework scheduler (``schedcore_torch.RecipeLR``, ``schedcore_oneflow.RecipeLR``) keeps
its framework's conventions (how a step is counted, where the lr is written) and leaves the
rest here: which recipe schedule each optimizer group follows, the lr of every group at a
step, and the plain-data state that a resumed run checks against.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import PastEndWarning, StepRangeError, describe, past_end_message
from ..fields import MAX_STEP
from ..groups.resolve import DEFAULT_SCHEDULE
from ..schedules.stepper import Stepper
from .fingerprint import fingerprint
from .recipe import Recipe


def check_schedule_names(recipe: Recipe, names: Sequence[str]) -> None:
    """Raise ValueError, naming the group, for a schedule name the recipe does not define
    (``names[i]``: the schedule optimizer group ``i`` follows)."""
    known = {DEFAULT_SCHEDULE, *recipe.schedules}
    for i, name in enumerate(names):
        if name not in known:
            raise ValueError(
                f"optimizer.param_groups[{i}]['schedule'] is {name!r}, which the recipe "
                f"does not define; known: {', '.join(sorted(known))}"
            )


class GroupSchedules:
    """Group ``i`` follows the recipe schedule ``names[i]`` (``"default"``: the recipe's own
    schedule) at the peak lr ``peaks[i]``: its lr for update ``k`` is
    ``peaks[i] * schedule(k)``, from the closed form (never from the previous lr).

    Each distinct schedule is evaluated once per step (through :class:`Stepper`), however
    many groups follow it. ``fingerprint`` identifies the schedules and the peaks: state
    saved under others is refused on resume (:meth:`check_state`).
    """

    def __init__(self, recipe: Recipe, names: Sequence[str], peaks: Sequence[float]) -> None:
        check_schedule_names(recipe, names)
        if len(peaks) != len(names):
            raise ValueError(f"{len(names)} schedule names but {len(peaks)} peak lrs")
        self.names = tuple(names)
        self.peaks = tuple(float(p) for p in peaks)
        self.steppers = {n: Stepper(recipe.schedule_named(n)) for n in dict.fromkeys(names)}
        self.fingerprint = fingerprint(
            {
                "schedules": {n: recipe.schedule_named(n).to_dict() for n in self.steppers},
                "groups": list(zip(self.names, self.peaks, strict=True)),
            }
        )

    def lrs(self, step: int) -> list[float]:
        """Each group's lr for update ``step``."""
        if len(self.steppers) == 1:  # every group on one schedule (the common case): no dict
            (stepper,) = self.steppers.values()
            value = stepper(step)
            return [p * value for p in self.peaks]
        value = {name: stepper(step) for name, stepper in self.steppers.items()}
        return [p * value[n] for p, n in zip(self.peaks, self.names, strict=True)]

    def lrs_or_error(self, step: int) -> list[float] | StepRangeError:
        """:meth:`lrs`, or the StepRangeError of an ``after = "error"`` schedule evaluated
        past its end: a scheduler computes the lrs for the next update after each update,
        and must raise only if an update does use them (see :class:`PastEnd`)."""
        try:
            return self.lrs(step)
        except StepRangeError as err:
            return err

    def state(self) -> dict[str, Any]:
        """Plain data (strings, floats and lists of them) for a scheduler's ``state_dict``."""
        return {
            "peaks": list(self.peaks),
            "group_schedules": list(self.names),
            "fingerprint": self.fingerprint,
        }

    def check_state(
        self,
        saved: Any,
        allow_schedule_change: bool = False,
        counters: Sequence[str] = (),
        lrs_key: str | None = None,
    ) -> dict[str, int]:
        """Check a scheduler's saved state before resuming from it; return its step
        ``counters`` (e.g. ``("last_epoch", "_step_count")``), each an int in [0, 2**53].

        Refused with a ValueError naming the key, never coerced: state that is not a dict,
        a counter missing or not an integer (``1.9`` is not rounded), and, when ``lrs_key``
        names one (``"_last_lr"``), a list of lrs that is missing or not one finite lr >= 0
        per group. State saved under other schedules or
        peak lrs (another fingerprint), or by another scheduler (no fingerprint: a
        ``LambdaLR``, say), is refused unless ``allow_schedule_change``: the resumed run
        would silently follow another curve. With it, ``_last_lr`` may list another number
        of groups (the lrs are recomputed from the new recipe anyway)."""
        if not isinstance(saved, Mapping):
            raise ValueError(
                f"scheduler state must be a dict (from state_dict()), got {describe(saved)}"
            )
        then = saved.get("fingerprint")
        foreign = "fingerprint" not in saved
        if foreign and not allow_schedule_change:
            raise ValueError(
                "scheduler state has no 'fingerprint': it was not saved by a schedcore "
                f"RecipeLR{_looks_like(saved)}, so which schedule it followed is unknown; "
                "pass allow_schedule_change=True to continue this recipe at its saved step"
            )
        steps = {key: _counter(saved, key) for key in counters}
        changed = then != self.fingerprint
        if lrs_key is not None:
            groups = None if changed and allow_schedule_change else len(self.names)
            _check_lrs(saved, lrs_key, groups)
        if changed and not allow_schedule_change:
            before = _saved_groups(saved)
            now = list(zip(self.names, self.peaks, strict=True))
            raise ValueError(
                f"scheduler state was saved under a different schedule (fingerprint "
                f"{describe(then)}, this recipe has {self.fingerprint}; saved (schedule, lr) "
                f"per group {before}, now {now}); pass allow_schedule_change=True to continue "
                "on the new schedule"
            )
        return steps


# keys that other schedulers' state dicts hold (torch's and OneFlow's lr_scheduler classes)
_FOREIGN_KEYS = (
    ("lr_lambdas", "LambdaLR or MultiplicativeLR"),
    ("_schedulers", "SequentialLR or ChainedScheduler"),
    ("T_0", "CosineAnnealingWarmRestarts"),
    ("T_max", "CosineAnnealingLR"),
    ("milestones", "MultiStepLR"),
    ("step_size", "StepLR"),
    ("total_iters", "ConstantLR, LinearLR or PolynomialLR"),
    ("patience", "ReduceLROnPlateau"),
)


def _looks_like(saved: Mapping[Any, Any]) -> str:
    for key, what in _FOREIGN_KEYS:
        if key in saved:
            return f"; it is the state of a {what} (it has {key!r})"
    return ""


def _counter(saved: Mapping[Any, Any], key: str) -> int:
    if key not in saved:
        raise ValueError(f"scheduler state has no {key!r}: not a complete state_dict()")
    value = saved[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 0 <= value <= MAX_STEP
    ):
        raise ValueError(
            f"scheduler state {key!r} must be an integer in [0, 2**53], got {describe(value)}"
        )
    return int(value)


def _check_lrs(saved: Mapping[Any, Any], key: str, groups: int | None) -> None:
    """``saved[key]``: a list of finite lrs >= 0, one per group (``groups``; None: any)."""
    if key not in saved:
        raise ValueError(f"scheduler state has no {key!r}: not a complete state_dict()")
    value = saved[key]
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        for v in value
    ):
        raise ValueError(
            f"scheduler state {key!r} must be a list of finite lrs >= 0, got {describe(value)}"
        )
    if groups is not None and len(value) != groups:
        raise ValueError(
            f"scheduler state {key!r} lists {len(value)} lrs, but the optimizer has "
            f"{groups} param groups"
        )


def _saved_groups(saved: Mapping[Any, Any]) -> str:
    names, peaks = saved.get("group_schedules"), saved.get("peaks")
    if isinstance(names, list) and isinstance(peaks, list) and len(names) == len(peaks):
        text = repr(list(zip(names, peaks, strict=True)))
        return text if len(text) <= 500 else text[:497] + "..."
    return f"unknown (group_schedules {describe(names)}, peaks {describe(peaks)})"


class PastEnd:
    """The past-the-end check of a framework scheduler, run before each update.

    ``horizon`` is the recipe's ``total_steps`` (None: no horizon, nothing to check).
    :meth:`before_update` warns once (:class:`~schedcore.errors.PastEndWarning`, naming the
    step and the horizon) when update ``step`` is at or past the horizon, and raises the
    pending StepRangeError of an ``after = "error"`` schedule, so the last
    ``scheduler.step()`` of a run (whose lrs no update uses) never raises.
    """

    def __init__(self, horizon: int | None) -> None:
        self.horizon = horizon
        self.warned = False

    def before_update(
        self, step: int, pending: StepRangeError | None = None, stacklevel: int = 3
    ) -> None:
        if pending is not None:
            raise StepRangeError(f"update {step}: {pending}") from pending
        if self.horizon is not None and step >= self.horizon and not self.warned:
            self.warned = True
            warnings.warn(
                past_end_message(step, self.horizon), PastEndWarning, stacklevel=stacklevel
            )
