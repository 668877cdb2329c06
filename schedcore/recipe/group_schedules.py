"""Per-group schedules of an optimizer: the framework-neutral part of an exact lr scheduler.

A framework scheduler (``schedcore_torch.RecipeLR``, ``schedcore_oneflow.RecipeLR``) keeps
its framework's conventions (how a step is counted, where the lr is written) and leaves the
rest here: which recipe schedule each optimizer group follows, the lr of every group at a
step, and the plain-data state that a resumed run checks against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
        value = {name: stepper(step) for name, stepper in self.steppers.items()}
        return [p * value[n] for p, n in zip(self.peaks, self.names, strict=True)]

    def state(self) -> dict[str, Any]:
        """Plain data (strings, floats and lists of them) for a scheduler's ``state_dict``."""
        return {
            "peaks": list(self.peaks),
            "group_schedules": list(self.names),
            "fingerprint": self.fingerprint,
        }

    def check_state(self, saved: Mapping[str, Any], allow_schedule_change: bool = False) -> None:
        """Refuse ``saved`` (a scheduler's state with :meth:`state` in it) if it was saved
        under other schedules or peak lrs, unless ``allow_schedule_change``: the resumed run
        would silently follow another curve."""
        then = saved.get("fingerprint")
        if then == self.fingerprint or allow_schedule_change:
            return
        before = list(zip(saved.get("group_schedules", []), saved.get("peaks", [])))  # noqa: B905
        now = list(zip(self.names, self.peaks, strict=True))
        raise ValueError(
            f"scheduler state was saved under a different schedule (fingerprint {then}, "
            f"this recipe has {self.fingerprint}; saved (schedule, lr) per group {before}, "
            f"now {now}); pass allow_schedule_change=True to continue on the new schedule"
        )
