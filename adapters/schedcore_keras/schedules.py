"""A Keras ``LearningRateSchedule`` that lowers schedcore's nodes to ``keras.ops``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

import schedcore as sc
from schedcore.recipes.document import as_recipe_argument as as_recipe
from schedcore.recipes.group_schedules import PastEnd

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

    Past the end: called with a concrete step (eagerly: the torch backend, a custom loop,
    ``optimizer.learning_rate``) at or past ``horizon`` (the recipe's ``total_steps``;
    default: the schedule's length), it warns once, :class:`schedcore.PastEndWarning`.
    Inside a compiled train step the step is symbolic and Python cannot warn:
    :class:`schedcore_keras.callbacks.RecipeCallback` checks ``iterations`` after each batch.
    """

    def __init__(
        self,
        schedule: sc.Schedule | dict[str, Any],
        lr: float = 1.0,
        horizon: int | str | None = "length",
    ) -> None:
        self.schedule = schedule if isinstance(schedule, sc.Schedule) else sc.from_dict(schedule)
        self.lr = float(lr)
        self.horizon = self.schedule.length if horizon == "length" else horizon
        self.past_end = PastEnd(self.horizon)

    def __call__(self, step: Any) -> Any:
        if self.horizon is not None and not self.past_end.warned:
            k = concrete_step(step)
            if k is not None:
                self.past_end.before_update(k, stacklevel=3)
        return ops.cast(evaluate(self.schedule, step) * self.lr, "float32")

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_dict(), "lr": self.lr, "horizon": self.horizon}

    def __repr__(self) -> str:
        return f"RecipeSchedule({self.schedule.type_name}, lr={self.lr:g})"


def concrete_step(step: Any) -> int | None:
    """``step`` as an int when it is one concrete step (a Python or numpy int, an eager
    tensor or variable); None for a symbolic one (inside ``tf.function`` or ``jax.jit``)
    or an array of steps."""
    if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        return int(step)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return None
    elif backend == "jax":
        import jax

        # a Keras variable holds the traced value inside a jitted train step
        if isinstance(getattr(step, "value", step), jax.core.Tracer):
            return None
    try:
        value = np.asarray(ops.convert_to_numpy(step))
    except Exception:  # any other symbolic value a backend cannot read without running
        return None
    return int(value) if value.ndim == 0 else None



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
    return RecipeSchedule(
        recipe.schedule, recipe.base_lr if lr is None else lr, horizon=recipe.total_steps
    )
