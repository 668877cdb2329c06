"""Importers: recipes that reproduce other libraries' schedules exactly, built from core nodes.

Framework-free (numpy and the standard library only), like the rest of :mod:`schedcore`.
"""

from __future__ import annotations

from ._common import group_recipe
from ._detectron2 import from_detectron2
from ._fairseq import from_fairseq
from ._keras import from_keras, to_keras_config
from ._oneflow import from_oneflow
from ._optax import from_optax
from ._timm import from_timm
from ._torch import from_torch, to_torch_native
from ._transformers import from_training_args, from_transformers, to_transformers
from .keras_bert import calc_train_steps, from_keras_bert

__all__ = [
    "calc_train_steps",
    "from_detectron2",
    "from_fairseq",
    "from_keras",
    "from_keras_bert",
    "from_oneflow",
    "from_optax",
    "from_timm",
    "from_torch",
    "from_training_args",
    "from_transformers",
    "group_recipe",
    "to_keras_config",
    "to_torch_native",
    "to_transformers",
]
