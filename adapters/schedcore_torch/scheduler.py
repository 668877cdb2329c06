"""An exact LRScheduler for a recipe: closed form, per-group schedules, plain-data state."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from schedcore import Recipe, Stepper, fingerprint
from schedcore.resolve import DEFAULT_SCHEDULE


class RecipeLR(LRScheduler):
    """Sets each group's lr to ``initial_lr * schedule(k)`` before update ``k``.

    ``schedule`` is the recipe schedule the group names (``group["schedule"]``, set by
    :func:`schedcore_torch.param_groups`; ``"default"`` otherwise). Values come from the
    closed form at ``last_epoch``, never from the previous lr, so they do not drift and a
    resumed run continues bit-identically. Each distinct schedule is evaluated once per
    step, however many groups follow it. A ``Tensor`` lr is updated in place (``fill_``),
    so a compiled optimizer step is not recompiled.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, recipe: Recipe, last_epoch: int = -1):
        self.recipe = recipe
        self.group_schedules = [g.get("schedule", DEFAULT_SCHEDULE) for g in optimizer.param_groups]
        known = {DEFAULT_SCHEDULE, *recipe.schedules}
        for i, name in enumerate(self.group_schedules):
            if name not in known:
                raise ValueError(
                    f"optimizer.param_groups[{i}]['schedule'] is {name!r}, which the recipe "
                    f"does not define; known: {', '.join(sorted(known))}"
                )
        self._steppers = {n: Stepper(recipe.schedule_named(n)) for n in set(self.group_schedules)}
        super().__init__(optimizer, last_epoch)
        self.peaks = [float(lr) for lr in self.base_lrs]
        self.fingerprint = fingerprint(
            {
                "schedules": {n: recipe.schedule_named(n).to_dict() for n in self._steppers},
                "groups": list(zip(self.group_schedules, self.peaks, strict=True)),
            }
        )

    def get_lr(self) -> list[float]:  # type: ignore[override]
        k = self.last_epoch
        value = {name: stepper(k) for name, stepper in self._steppers.items()}
        peaks = getattr(self, "peaks", None) or [float(lr) for lr in self.base_lrs]
        return [peak * value[name] for peak, name in zip(peaks, self.group_schedules, strict=True)]

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        """Plain data only (loads with ``torch.load(weights_only=True)``)."""
        return {
            "last_epoch": int(self.last_epoch),
            "_step_count": int(self._step_count),
            "_last_lr": [float(lr) for lr in self._last_lr],
            "peaks": list(self.peaks),
            "group_schedules": list(self.group_schedules),
            "fingerprint": self.fingerprint,
        }

    def load_state_dict(
        self, state_dict: dict[str, Any], allow_schedule_change: bool = False
    ) -> None:
        """Resume. State saved under a different schedule (or group lrs) is refused unless
        ``allow_schedule_change``: the run would silently follow another curve."""
        saved = state_dict.get("fingerprint")
        if saved != self.fingerprint and not allow_schedule_change:
            then = list(zip(state_dict.get("group_schedules", []), state_dict.get("peaks", [])))  # noqa: B905
            now = list(zip(self.group_schedules, self.peaks, strict=True))
            raise ValueError(
                f"scheduler state was saved under a different schedule (fingerprint {saved}, "
                f"this recipe has {self.fingerprint}; saved (schedule, lr) per group {then}, "
                f"now {now}); pass allow_schedule_change=True to continue on the new schedule"
            )
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self._last_lr = list(state_dict["_last_lr"])


def scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe, last_epoch: int = -1) -> RecipeLR:
    """The recipe's scheduler for ``optimizer`` (built with :func:`param_groups`)."""
    return RecipeLR(optimizer, recipe, last_epoch)
