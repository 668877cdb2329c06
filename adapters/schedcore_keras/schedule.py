"""A Keras ``LearningRateSchedule`` that lowers schedcore's nodes to ``keras.ops``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
from keras import ops

import schedcore as sc
from schedcore.errors import describe

from .ops import keras_ops


def evaluate(node: sc.Schedule, step: Any) -> Any:
    """``node``'s multiplier at ``step`` (one step, or an array of steps: update counts,
    >= 0), as a float64 tensor of the same shape (float32 on JAX without 64-bit mode): the
    core's formula, evaluated with :class:`~schedcore_keras.ops.KerasOps` (a tensor, so it
    runs inside compiled train steps)."""
    o = keras_ops()
    return node.dense(o, o.steps(step))


@keras.saving.register_keras_serializable(package="schedcore")
class RecipeSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``lr * schedule(step)``: update ``k`` (the optimizer's ``iterations``) uses step ``k``.

    Works inside compiled train steps (``tf.function``, XLA, ``jax.jit``) with no Python
    per step: every node lowers to ``keras.ops`` through the core's own formula. Values
    are computed in float64 from an int64 step and returned as float32, within float32
    rounding of the core for steps up to 2**31 and beyond. ``after = "error"`` cannot raise
    inside a graph: past its end such a node holds its last value. ``get_config`` is plain
    data (the schedule's dict form), so ``model.save`` / ``keras.models.load_model`` keep
    the schedule.
    """

    def __init__(self, schedule: sc.Schedule | dict[str, Any], lr: float = 1.0) -> None:
        self.schedule = schedule if isinstance(schedule, sc.Schedule) else sc.from_dict(schedule)
        self.lr = float(lr)

    def __call__(self, step: Any) -> Any:
        return ops.cast(evaluate(self.schedule, step) * self.lr, "float32")

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_dict(), "lr": self.lr}

    def __repr__(self) -> str:
        return f"RecipeSchedule({self.schedule.type_name}, lr={self.lr:g})"


def as_recipe(recipe: sc.Recipe | dict[str, Any] | str | Path, what: str = "recipe") -> sc.Recipe:
    """A :class:`schedcore.Recipe` from a recipe, its dict form, or a TOML/JSON path or text."""
    if isinstance(recipe, sc.Recipe):
        return recipe
    if isinstance(recipe, (dict, str, Path)):
        return sc.load(recipe)
    raise TypeError(
        f"{what} must be a schedcore.Recipe, a recipe dict or a TOML/JSON path, "
        f"got {describe(recipe)}"
    )


def schedule(
    recipe_or_schedule: sc.Recipe | sc.Schedule | dict[str, Any] | str | Path,
    lr: float | None = None,
) -> RecipeSchedule:
    """The Keras schedule of a recipe (``recipe.base_lr * recipe.schedule``; its group
    policy is the optimizer's business, see :func:`schedcore_keras.optimizer`) or of a bare
    schedule (a multiplier: ``lr`` defaults to 1.0). ``lr`` overrides the base lr."""
    if isinstance(recipe_or_schedule, sc.Schedule):
        return RecipeSchedule(recipe_or_schedule, 1.0 if lr is None else lr)
    if isinstance(recipe_or_schedule, dict) and "type" in recipe_or_schedule:
        return RecipeSchedule(sc.from_dict(recipe_or_schedule), 1.0 if lr is None else lr)
    recipe = as_recipe(recipe_or_schedule, "recipe_or_schedule")
    return RecipeSchedule(recipe.schedule, recipe.base_lr if lr is None else lr)
