"""Importers: recipes that reproduce other libraries' schedules exactly, built from core nodes.

Framework-free (numpy and the standard library only), like the rest of :mod:`schedcore`.
"""

from __future__ import annotations

from .common import group_recipe
from .detectron2 import from_detectron2
from .fairseq import from_fairseq
from .keras import from_keras, to_keras_config
from .keras_bert import calc_train_steps, from_keras_bert
from .oneflow import from_oneflow
from .optax import from_optax
from .timm import from_timm
from .torch import from_torch, to_torch_native
from .transformers import from_training_args, from_transformers, to_transformers

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
