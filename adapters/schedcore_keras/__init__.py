"""schedcore for Keras 3: a LearningRateSchedule, recipe-driven optimizers, AdamWarmup.

Every schedule node lowers to ``keras.ops`` through the core's own formula
(:mod:`schedcore_keras.ops`); nothing here re-derives one.
"""

from __future__ import annotations

try:
    import keras  # noqa: F401  (the adapter's modules need it)
except ImportError as err:
    raise ImportError(
        "schedcore_keras needs Keras 3: pip install 'schedcore-lr[keras]'"
    ) from err

from schedcore.port.keras_bert import calc_train_steps, from_keras_bert

from .adam_warmup import AdamWarmup
from .callbacks import RecipeCallback
from .ops import KerasOps, keras_ops
from .optimizers import (
    Plan,
    RecipeAdamW,
    RecipeOptimizerMixin,
    RecipeSGD,
    optimizer,
    optimizer_class,
)
from .schedules import RecipeSchedule, evaluate, schedule
from .table import canonical, is_norm, param_table, table_and_variables, tags_for

__all__ = [
    "AdamWarmup",
    "KerasOps",
    "Plan",
    "RecipeAdamW",
    "RecipeCallback",
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
