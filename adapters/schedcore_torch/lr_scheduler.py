"""An exact LRScheduler for a recipe: closed form, per-group schedules, plain-data state."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from schedcore import GroupSchedules, Recipe
from schedcore.errors import StepRangeError
from schedcore.groups.resolve import DEFAULT_SCHEDULE
from schedcore.recipes.group_schedules import PastEnd, check_schedule_names


class RecipeLR(LRScheduler):
    """Sets each group's lr to ``initial_lr * schedule(k)`` before update ``k``.

    ``schedule`` is the recipe schedule the group names (``group["schedule"]``, set by
    :func:`schedcore_torch.param_groups`; ``"default"`` otherwise). Values come from the
    closed form at ``last_epoch`` (:class:`schedcore.GroupSchedules`), never from the
    previous lr, so they do not drift and a resumed run continues bit-identically. A
    ``Tensor`` lr is updated in place (``fill_``), so a compiled optimizer step is not
    recompiled.

    Past the end: before each ``optimizer.step()`` (a step pre-hook) the scheduler warns
    once, :class:`schedcore.PastEndWarning`, when the update's step is at or past the
    recipe's horizon (``recipe.total_steps``). An ``after = "error"`` schedule does not
    raise on the run's last ``scheduler.step()``, whose lrs no update uses: the groups keep
    their lrs and the next ``optimizer.step()`` raises the StepRangeError.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, recipe: Recipe, last_epoch: int = -1):
        self.recipe = recipe
        self._names = [g.get("schedule", DEFAULT_SCHEDULE) for g in optimizer.param_groups]
        check_schedule_names(recipe, self._names)
        self.past_end = PastEnd(recipe.total_steps)
        self._pending: StepRangeError | None = None
        super().__init__(optimizer, last_epoch)
        # one check per optimizer: a newer RecipeLR on the same optimizer replaces it
        previous = getattr(optimizer, "_schedcore_past_end_hook", None)
        if previous is not None:
            previous.remove()
        optimizer._schedcore_past_end_hook = optimizer.register_step_pre_hook(  # type: ignore[attr-defined]
            self._before_update
        )

    @torch.compiler.disable  # plain Python state: outside a compiled optimizer step's graph
    def _before_update(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.past_end.before_update(self.last_epoch, self._pending, stacklevel=4)

    @functools.cached_property
    def schedules(self) -> GroupSchedules:
        """The groups' schedules at their peak lrs (``base_lrs``, once torch has set them)."""
        return GroupSchedules(self.recipe, self._names, self.base_lrs)

    @property
    def fingerprint(self) -> str:
        return self.schedules.fingerprint

    def step(self, epoch: int | None = None) -> None:
        """Advance to the next update and set every group's lr for it.

        The same effect as torch's ``LRScheduler.step()`` (``last_epoch``, ``_step_count``,
        the groups' lrs, ``get_last_lr()``), without its per-step bookkeeping: the lrs come
        from the closed form (what :meth:`get_lr` returns) and are written once. torch's
        own ``step()`` still runs where its checks matter: the deprecated ``epoch``
        argument, the initial step inside ``__init__`` and the first ``step()`` after it
        (``_step_count`` 1), where torch warns when ``optimizer.step()`` was not called
        first or was replaced."""
        if epoch is not None or self._step_count < 2:
            super().step(epoch)
            return
        self._step_count += 1
        self.last_epoch += 1
        try:
            lrs = self.schedules.lrs(self.last_epoch)
            self._pending = None
        except StepRangeError:
            lrs = self.get_lr()  # keeps the error for the next optimizer.step()
        plain = True
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            current = group["lr"]
            if isinstance(current, torch.Tensor):
                current.fill_(lr)  # in place: a compiled step is not recompiled
                plain = False
            else:
                group["lr"] = lr
        # as torch keeps it: the groups' lrs, a Tensor lr as a copy (``lrs`` is a new list)
        self._last_lr = lrs if plain else _group_lrs(self.optimizer)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The groups' lrs at ``last_epoch``, from the closed form (no warning outside
        ``step()``: the value does not depend on when it is asked for)."""
        try:
            lrs = self.schedules.lrs(self.last_epoch)
        except StepRangeError as err:  # raised by the next optimizer.step(), if any
            self._pending = err
            return [float(group["lr"]) for group in self.optimizer.param_groups]
        self._pending = None
        return lrs

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        """Plain data only (loads with ``torch.load(weights_only=True)``)."""
        return {
            "last_epoch": int(self.last_epoch),
            "_step_count": int(self._step_count),
            "_last_lr": [float(lr) for lr in self._last_lr],
            **self.schedules.state(),
        }

    def load_state_dict(
        self, state_dict: dict[str, Any], allow_schedule_change: bool = False
    ) -> None:
        """Resume at the saved step, and set every group's lr for the next update.

        The groups' lrs are set here, from the closed form at the saved step, so the next
        ``optimizer.step()`` applies the right lr whether or not the optimizer's own state
        was loaded too (in either order: both hold the same lrs). Malformed state (a key
        missing, ``last_epoch`` not an integer, ``_last_lr`` of another length) is refused
        with a ValueError naming the key, never coerced. State saved under a different
        schedule (or group lrs), or by another scheduler such as ``LambdaLR``, is refused
        unless ``allow_schedule_change``: the run would silently follow another curve."""
        steps = self.schedules.check_state(
            state_dict,
            allow_schedule_change,
            counters=("last_epoch", "_step_count"),
            lrs_key="_last_lr",
        )
        self.last_epoch = steps["last_epoch"]
        self._step_count = steps["_step_count"]
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)  # in place: a compiled step is not recompiled
            else:
                group["lr"] = lr
        self._last_lr = lrs


def _group_lrs(optimizer: torch.optim.Optimizer) -> list[Any]:
    return [
        g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"]
        for g in optimizer.param_groups
    ]


def scheduler(optimizer: torch.optim.Optimizer, recipe: Any, last_epoch: int = -1) -> RecipeLR:
    """The recipe's scheduler for ``optimizer`` (built with :func:`param_groups`). ``recipe``
    is anything :func:`schedcore.as_recipe` reads; a bare schedule multiplies each group's
    own lr (see :func:`schedcore_torch.groups.scheduler_recipe`)."""
    from .groups import scheduler_recipe

    return RecipeLR(optimizer, scheduler_recipe(optimizer, recipe), last_epoch)
