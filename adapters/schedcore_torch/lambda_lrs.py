"""A genuine ``torch.optim.lr_scheduler.LambdaLR`` for a recipe or a schedule.

For code and tools that require a ``LambdaLR`` (an ``isinstance`` check, a framework
that builds or inspects one). Each group's lambda is a :class:`ScheduleLambda`: a small
picklable callable that holds the schedule's dict form (plain data) and evaluates it
through :class:`schedcore.Stepper`, so a call costs what a Stepper call costs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from schedcore import Schedule, Stepper, from_dict
from schedcore.groups.resolve import DEFAULT_SCHEDULE
from schedcore.recipes.group_schedules import check_schedule_names

from .groups import scheduler_recipe


class ScheduleLambda:
    """``f(k) = schedule(k)``, the multiplier ``LambdaLR`` applies to a group's lr.

    Its ``__dict__`` is plain data, ``{"schedule": <dict form>}``: what ``LambdaLR`` saves
    in ``state_dict()["lr_lambdas"]`` (so the state loads with ``torch.load(...,
    weights_only=True)``) and restores on ``load_state_dict``. The Stepper lives outside
    ``__dict__`` and is rebuilt when the restored schedule is another one.
    """

    __slots__ = ("__dict__", "_built", "_stepper")

    def __init__(self, schedule: Schedule | dict[str, Any]) -> None:
        node = schedule if isinstance(schedule, Schedule) else from_dict(schedule, "schedule")
        self.schedule = node.to_dict()
        self._built: Any = self.schedule
        self._stepper = Stepper(node)

    def __call__(self, step: int) -> float:
        if self._built is not self.schedule:  # load_state_dict replaced the schedule
            self._stepper = Stepper(from_dict(self.schedule, "schedule"))
            self._built = self.schedule
        return self._stepper(step)

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["schedule"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"ScheduleLambda({self.schedule.get('type')!r})"


def lambda_lr(optimizer: torch.optim.Optimizer, recipe: Any, last_epoch: int = -1) -> LambdaLR:
    """A ``torch.optim.lr_scheduler.LambdaLR`` giving the lrs :class:`RecipeLR` gives.

    ``recipe`` is anything :func:`schedcore.as_recipe` reads; a bare schedule multiplies
    each group's own lr. Group ``i`` follows the recipe schedule its ``"schedule"`` key
    names (set by :func:`schedcore_torch.param_groups`; ``"default"`` otherwise), at its
    ``initial_lr``: update ``k`` applies ``initial_lr * schedule(k)``.

    Prefer :func:`schedcore_torch.scheduler` (``RecipeLR``) unless something requires a
    ``LambdaLR``: RecipeLR refuses to resume from state saved under another schedule and
    warns past the recipe's end; a ``LambdaLR`` restores whatever schedule its state holds.
    """
    recipe = scheduler_recipe(optimizer, recipe)
    names = [g.get("schedule", DEFAULT_SCHEDULE) for g in optimizer.param_groups]
    check_schedule_names(recipe, names)
    lambdas = [ScheduleLambda(recipe.schedule_named(n)) for n in names]
    return LambdaLR(optimizer, lambdas, last_epoch)  # type: ignore[arg-type]


__all__ = ["ScheduleLambda", "lambda_lr"]
