"""A transformers ``TrainerCallback`` that checks a run against its recipe and logs every
group's lr by name.

Import it from here (``from schedcore_torch.callbacks import RecipeCallback``): it needs
``transformers``, which the rest of ``schedcore_torch`` does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

import schedcore as sc


def group_lrs(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """Each param group's current lr (the one the next update applies), keyed by the group's
    ``name`` (set by :func:`schedcore_torch.param_groups`; ``group<i>`` where a group has
    none)."""
    out: dict[str, float] = {}
    for i, group in enumerate(optimizer.param_groups):
        out[str(group.get("name", f"group{i}"))] = float(group["lr"])
    return out


class RecipeCallback(TrainerCallback):
    """Checks a ``transformers.Trainer`` run against the recipe, and logs every group's lr.

    * ``on_train_begin`` raises a ValueError when the number of optimizer updates the
      Trainer will run (``state.max_steps``: ``args.max_steps``, or ``num_train_epochs``
      times the updates per epoch) differs from the recipe's horizon
      (``recipe.total_steps``): the schedule would end early (the rest of the run at its
      past-the-end value) or never reach its end. A recipe without a horizon is not checked.
    * ``on_log`` adds ``lr/<group name>`` for every param group to the logs and to
      ``state.log_history``: the lr each group applied in the last update (read in
      ``on_optimizer_step``, before the scheduler moves on), as the Trainer's own
      ``learning_rate`` is for group 0 only.

    ``recipe``: the recipe the scheduler follows (anything :func:`schedcore.as_recipe`
    takes); None: the Trainer's ``lr_scheduler.recipe`` (a :class:`schedcore_torch.RecipeLR`).
    Reporting integrations (TensorBoard, W&B) run before callbacks passed to the Trainer;
    :meth:`attach` puts this one first, so that they log the group lrs too.
    """

    def __init__(
        self, recipe: sc.Recipe | sc.Schedule | dict[str, Any] | str | Path | None = None
    ) -> None:
        self.recipe = None if recipe is None else sc.as_recipe(recipe, what="recipe")
        self.applied: dict[str, float] = {}

    def attach(self, trainer: Any) -> RecipeCallback:
        """Add this callback to ``trainer`` ahead of its reporting integrations; returns it."""
        trainer.callback_handler.callbacks.insert(0, self)
        return self

    def _recipe(self, lr_scheduler: Any) -> sc.Recipe:
        if self.recipe is not None:
            return self.recipe
        recipe = getattr(lr_scheduler, "recipe", None)
        if not isinstance(recipe, sc.Recipe):
            raise TypeError(
                "RecipeCallback(recipe=None) reads the recipe from the Trainer's lr_scheduler, "
                f"which is {type(lr_scheduler).__name__}, not a schedcore_torch.RecipeLR: pass "
                "the recipe, RecipeCallback(recipe)"
            )
        return recipe

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        recipe = self._recipe(kwargs.get("lr_scheduler"))
        horizon = recipe.total_steps
        if horizon is None or state.max_steps == horizon:
            return
        if args.max_steps is not None and args.max_steps > 0:
            trainer = f"max_steps={args.max_steps}"
        else:
            trainer = (
                f"num_train_epochs={args.num_train_epochs:g} (with gradient_accumulation_steps="
                f"{args.gradient_accumulation_steps})"
            )
        raise ValueError(
            f"the Trainer will run {state.max_steps} optimizer updates ({trainer}), but the "
            f"recipe's horizon is {horizon} updates (recipe.total_steps): the schedule would "
            + ("end early and hold its past-the-end value" if state.max_steps > horizon else
               "never reach its end")
            + f"; set max_steps={horizon}, or the recipe's [training] total_steps / epochs to "
            "match the run"
        )

    def on_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        optimizer = kwargs.get("optimizer")
        if optimizer is not None:
            self.applied = group_lrs(optimizer)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if logs is None or not self.applied:
            return
        lrs = {f"lr/{name}": lr for name, lr in self.applied.items()}
        logs.update(lrs)
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(lrs)  # the Trainer copied logs there already
