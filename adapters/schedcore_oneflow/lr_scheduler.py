"""An exact eager-mode lr scheduler for a recipe: closed form, per-group schedules, plain-data
state."""

from __future__ import annotations

import functools
import weakref
from typing import Any

import oneflow as flow
from oneflow.nn.optimizer.lr_scheduler import LRScheduler

import schedcore as sc
from schedcore import GroupSchedules
from schedcore.errors import StepRangeError
from schedcore.groups.resolve import DEFAULT_SCHEDULE
from schedcore.recipes.group_schedules import PastEnd, check_schedule_names

from .groups import RecipeLike


class RecipeLR(LRScheduler):
    """Sets each group's lr to ``initial_lr * schedule(k)`` before update ``k`` (eager mode).

    ``schedule`` is the recipe schedule the group names (``group["schedule"]``, set by
    :func:`schedcore_oneflow.param_groups`; ``"default"`` otherwise). Values come from the
    closed form at ``last_step`` (:class:`schedcore.GroupSchedules`), never from the
    previous lr, so they do not drift and a resumed run continues exactly.

    OneFlow's eager update kernels take the lr as a float32 attribute: the group's lr is the
    float64 ``recipe.lr(k)``, the update applies it rounded to float32.

    Eager only: an ``nn.Graph`` compiles its schedule into the job, see
    :func:`schedcore_oneflow.graph_optimizers`.

    Past the end: before each ``optimizer.step()`` the scheduler warns once,
    :class:`schedcore.PastEndWarning`, when the update's step is at or past the recipe's
    horizon (``recipe.total_steps``). An ``after = "error"`` schedule does not raise on the
    run's last ``step()``, whose lrs no update uses: the groups keep their lrs and the next
    ``optimizer.step()`` raises the StepRangeError. (OneFlow optimizers have no step hooks:
    the scheduler wraps the optimizer instance's ``step``, as torch's schedulers do.)
    ``recipe``: anything :func:`schedcore.as_recipe` takes (a Recipe, a dict, a path).
    """

    def __init__(self, optimizer: flow.optim.Optimizer, recipe: RecipeLike, last_step: int = -1):
        recipe = sc.as_recipe(recipe, what="recipe")
        self.recipe = recipe
        self._names = [g.options.get("schedule", DEFAULT_SCHEDULE) for g in optimizer.param_groups]
        check_schedule_names(recipe, self._names)
        self.schedules: GroupSchedules  # set with base_lrs, before the first step()
        self.past_end = PastEnd(recipe.total_steps)
        self._pending: StepRangeError | None = None
        super().__init__(optimizer, last_step)  # sets base_lrs from initial_lr, then step()
        _check_before_updates(optimizer, self)

    def _init_base_lrs(self) -> None:
        super()._init_base_lrs()
        # the groups' schedules at their peak lrs (their initial_lr)
        self.schedules = GroupSchedules(self.recipe, self._names, self.base_lrs)

    @property
    def fingerprint(self) -> str:
        return self.schedules.fingerprint

    def lrs_at(self, k: int) -> list[float]:
        """Each group's lr for update ``k``."""
        return self.schedules.lrs(k)

    def step(self) -> None:
        self.last_step += 1
        self._set_lrs()

    def _set_lrs(self) -> None:
        lrs = self.schedules.lrs_or_error(self.last_step)
        if isinstance(lrs, StepRangeError):  # raised by the next optimizer.step(), if any
            self._pending = lrs
            return
        self._pending = None
        self.update_lrs(lrs)

    def _before_update(self) -> None:
        self.past_end.before_update(self.last_step, self._pending, stacklevel=4)

    def get_lr(self, base_lr: float, step: int) -> float:
        raise TypeError(
            "RecipeLR sets every group's lr from its own schedule (use step() or lrs_at(k)); "
            "it cannot serve as one scheduler inside SequentialLR / WarmupLR"
        )

    def _generate_conf_for_graph(self, lr_conf: Any) -> None:
        raise TypeError(
            "RecipeLR is an eager-mode scheduler; an nn.Graph compiles its schedule into the "
            "job: build the optimizers and schedulers with schedcore_oneflow.graph_optimizers"
        )

    def state_dict(self) -> dict[str, Any]:
        """Plain data only (ints, floats, strings and lists of them)."""
        return {
            "last_step": int(self.last_step),
            "_last_lr": [float(lr) for lr in self._last_lr],
            **self.schedules.state(),
        }

    def load_state_dict(
        self, state_dict: dict[str, Any], allow_schedule_change: bool = False
    ) -> None:
        """Resume at the saved step; the groups' lrs are set for the next update (whether or
        not the optimizer's state is loaded too). Malformed state (a key missing,
        ``last_step`` not an integer, ``_last_lr`` of another length) is refused with a
        ValueError naming the key, never coerced. State saved under a different schedule (or
        group lrs), or by another scheduler such as ``LambdaLR``, is refused unless
        ``allow_schedule_change``: the run would silently follow another curve."""
        steps = self.schedules.check_state(
            state_dict, allow_schedule_change, counters=("last_step",), lrs_key="_last_lr"
        )
        self.last_step = steps["last_step"]
        self._set_lrs()


def _check_before_updates(optimizer: flow.optim.Optimizer, scheduler: RecipeLR) -> None:
    """Make ``optimizer.step()`` run ``scheduler``'s past-the-end check first (a newer
    RecipeLR on the same optimizer replaces an older one's)."""
    inner = optimizer.step
    inner = getattr(inner, "_schedcore_inner", inner)
    ref = weakref.ref(scheduler)

    @functools.wraps(inner)
    def step(*args: Any, **kwargs: Any) -> Any:
        current = ref()
        if current is not None:
            current._before_update()
        return inner(*args, **kwargs)

    step._schedcore_inner = inner  # type: ignore[attr-defined]
    optimizer.step = step  # type: ignore[method-assign]


def scheduler(
    optimizer: flow.optim.Optimizer, recipe: RecipeLike, last_step: int = -1
) -> RecipeLR:
    """The recipe's eager scheduler for ``optimizer`` (built with :func:`param_groups`)."""
    return RecipeLR(optimizer, recipe, last_step)
