"""A Keras callback that logs every group's lr and checks the run against the recipe's end.

``optimizer.learning_rate`` of a recipe optimizer is the base lr times the *default*
schedule: a curve that no group need follow (groups scale it, and may follow other named
schedules). This callback logs the lr each group actually applied.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from schedcore.recipes.group_schedules import PastEnd

from .optimizers import RecipeOptimizerMixin
from .schedules import RecipeSchedule


class RecipeCallback(keras.callbacks.Callback):
    """Per-group lrs into the logs, and the past-the-end warning of compiled train steps.

    * ``on_epoch_end`` adds ``lr/<group name>`` to the epoch's logs, for every group of a
      recipe optimizer (:func:`schedcore_keras.optimizer`): the lr it applied in the
      epoch's last update. The logs go on to ``History`` (``history.history["lr/head"]``)
      and to a ``keras.callbacks.TensorBoard`` listed *after* this callback (scalars
      ``epoch_lr/<group name>``). A plain optimizer with a :class:`RecipeSchedule` logs
      ``lr/default``.
    * ``on_train_batch_end`` warns once, :class:`schedcore.PastEndWarning`, when an update
      used a step at or past the recipe's horizon (``recipe.total_steps``): inside a
      compiled train step the schedule itself cannot warn.
    """

    def __init__(self) -> None:
        super().__init__()
        self.past_end: PastEnd | None = None

    def _optimizer(self) -> Any:
        return self.model.optimizer

    def _horizon(self) -> int | None:
        opt = self._optimizer()
        if isinstance(opt, RecipeOptimizerMixin):
            return opt.recipe.total_steps
        schedule = getattr(opt, "_learning_rate", None)
        return schedule.horizon if isinstance(schedule, RecipeSchedule) else None

    def group_lrs(self, step: int) -> dict[str, float]:
        """Each group's lr in update ``step`` (0-based), by group name."""
        opt = self._optimizer()
        if isinstance(opt, RecipeOptimizerMixin):
            values = np.asarray(keras.ops.convert_to_numpy(opt.group_learning_rates(step)))
            return {
                name: float(v) for name, v in zip(opt.plan.group_names, values, strict=True)
            }
        schedule = getattr(opt, "_learning_rate", None)
        if isinstance(schedule, RecipeSchedule):
            return {"default": float(keras.ops.convert_to_numpy(schedule(step)))}
        return {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.past_end = PastEnd(self._horizon())

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.past_end is None or self.past_end.horizon is None or self.past_end.warned:
            return
        done = int(keras.ops.convert_to_numpy(self._optimizer().iterations))
        if done > 0:
            self.past_end.before_update(done - 1, stacklevel=2)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        done = int(keras.ops.convert_to_numpy(self._optimizer().iterations))
        if logs is None or done == 0:
            return
        for name, lr in self.group_lrs(done - 1).items():
            logs[f"lr/{name}"] = lr
