"""Importers: recipes that reproduce other libraries' schedules exactly, built from core nodes.

Framework-free (numpy and the standard library only), like the rest of :mod:`schedcore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_attributes

# Each importer is loaded on first use (``from schedcore.port import from_torch``): a command
# that ports from one library does not pay for the others. To add a name, add it here
# (name -> module) and to ``__all__``.
_LAZY = {
    "group_recipe": ".common",
    "from_detectron2": ".detectron2",
    "from_fairseq": ".fairseq",
    "from_fvcore": ".fvcore",
    "from_keras": ".keras",
    "to_keras_config": ".keras",
    "calc_train_steps": ".keras_bert",
    "from_keras_bert": ".keras_bert",
    "from_oneflow": ".oneflow",
    "from_optax": ".optax",
    "to_optax": ".optax",
    "from_timm": ".timm",
    "from_torch": ".torch",
    "to_torch_native": ".torch",
    "from_training_args": ".transformers",
    "from_transformers": ".transformers",
    "to_transformers": ".transformers",
}

if TYPE_CHECKING:  # the lazy names, for type checkers and editors
    from .common import group_recipe
    from .detectron2 import from_detectron2
    from .fairseq import from_fairseq
    from .fvcore import from_fvcore
    from .keras import from_keras, to_keras_config
    from .keras_bert import calc_train_steps, from_keras_bert
    from .oneflow import from_oneflow
    from .optax import from_optax, to_optax
    from .timm import from_timm
    from .torch import from_torch, to_torch_native
    from .transformers import from_training_args, from_transformers, to_transformers


# a submodule (``schedcore.port.compiled``) loads on first access too
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY, lambda name: not name.startswith("_"))

__all__ = [
    "calc_train_steps",
    "from_detectron2",
    "from_fairseq",
    "from_fvcore",
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
    "to_optax",
    "to_torch_native",
    "to_transformers",
]
