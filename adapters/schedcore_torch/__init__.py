"""schedcore for PyTorch: param_groups, an exact LRScheduler, and a one-call build."""

from __future__ import annotations

from typing import Any

try:
    import torch
except ImportError as err:
    raise ImportError(
        "schedcore_torch needs PyTorch: pip install 'schedcore-lr[torch]'"
    ) from err
from torch import nn

from schedcore import as_recipe

from .groups import groups_from, param_groups, refuse_weight_decay, scheduler_recipe
from .lambda_lrs import ScheduleLambda, lambda_lr
from .lr_scheduler import RecipeLR, scheduler
from .table import canonical, is_norm, param_table, table_and_tensors


def build(
    model: nn.Module,
    recipe: Any,
    optimizer: type[torch.optim.Optimizer] = torch.optim.AdamW,
    lr: float | None = None,
    **kwargs: Any,
) -> tuple[torch.optim.Optimizer, RecipeLR]:
    """``(optimizer, scheduler)`` for ``model``: the recipe's groups and schedule.

    ``recipe`` is a :class:`schedcore.Recipe`, a schedule (``st.build(model,
    sc.warmup(sc.cosine(steps=900), steps=100), lr=3e-4)``), a recipe dict or a TOML/JSON
    path (see :func:`schedcore.as_recipe`). ``lr`` is the base lr: required with a bare
    schedule, and it overrides a recipe's. ``kwargs`` go to the optimizer (betas, eps,
    fused, ...); the lr and weight decay of each group come from the recipe (an unset
    weight decay is 0.0, not the optimizer's default; ``weight_decay=`` is refused).
    """
    refuse_weight_decay(kwargs)
    recipe = as_recipe(recipe, lr=lr)
    opt = optimizer(param_groups(model, recipe), lr=recipe.base_lr, **kwargs)
    return opt, RecipeLR(opt, recipe)


__all__ = [
    "RecipeLR",
    "ScheduleLambda",
    "build",
    "canonical",
    "groups_from",
    "is_norm",
    "lambda_lr",
    "param_groups",
    "param_table",
    "scheduler",
    "scheduler_recipe",
    "table_and_tensors",
]
