"""schedcore for PyTorch: param_groups, an exact LRScheduler, and a one-call build."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from schedcore import Recipe

from .groups import groups_from, param_groups
from .scheduler import RecipeLR, scheduler
from .table import canonical, is_norm, param_table, table_and_tensors


def build(
    model: nn.Module,
    recipe: Recipe,
    optimizer: type[torch.optim.Optimizer] = torch.optim.AdamW,
    **kwargs: Any,
) -> tuple[torch.optim.Optimizer, RecipeLR]:
    """``(optimizer, scheduler)`` for ``model``: the recipe's groups and schedule.

    ``kwargs`` go to the optimizer (betas, eps, fused, ...); the lr and weight decay of each
    group come from the recipe.
    """
    opt = optimizer(param_groups(model, recipe), lr=recipe.base_lr, **kwargs)
    return opt, RecipeLR(opt, recipe)


__all__ = [
    "RecipeLR",
    "build",
    "canonical",
    "groups_from",
    "is_norm",
    "param_groups",
    "param_table",
    "scheduler",
    "table_and_tensors",
]
