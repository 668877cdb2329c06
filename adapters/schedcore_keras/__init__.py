"""schedcore for Keras 3: a LearningRateSchedule, recipe-driven optimizers, AdamWarmup.

Every schedule node lowers to ``keras.ops`` through the core's own formula
(:mod:`schedcore_keras.ops`); nothing here re-derives one.
"""

from __future__ import annotations

from schedcore.port.keras_bert import calc_train_steps, from_keras_bert

from .adam_warmup import AdamWarmup
from .ops import KerasOps, keras_ops
from .optimizer import (
    Plan,
    RecipeAdamW,
    RecipeOptimizerMixin,
    RecipeSGD,
    optimizer,
    optimizer_class,
)
from .schedule import RecipeSchedule, evaluate, schedule
from .table import canonical, is_norm, param_table, table_and_variables, tags_for

__all__ = [
    "AdamWarmup",
    "KerasOps",
    "Plan",
    "RecipeAdamW",
    "RecipeOptimizerMixin",
    "RecipeSGD",
    "RecipeSchedule",
    "calc_train_steps",
    "canonical",
    "evaluate",
    "from_keras_bert",
    "is_norm",
    "keras_ops",
    "optimizer",
    "optimizer_class",
    "param_table",
    "schedule",
    "table_and_variables",
    "tags_for",
]
