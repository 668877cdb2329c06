"""schedcore for OneFlow: eager param_groups and an exact scheduler; for nn.Graph, a recipe
planned as OneFlow's graph-capable schedulers (the plan is framework-free:
:mod:`schedcore.port.oneflow`; this package constructs it)."""

from __future__ import annotations

from typing import Any

import oneflow as flow
from oneflow import nn

from schedcore import Recipe
from schedcore.port.oneflow import LOWERABLE, NOT_LOWERABLE, GraphPlan, NotLowerable, plan

from .graph import (
    GraphOptimizer,
    build_scheduler,
    explain_lowering,
    graph_optimizers,
    optimizers_from,
)
from .groups import groups_from, param_groups
from .scheduler import RecipeLR, scheduler
from .table import is_norm, param_table, table_and_tensors


def build(
    model: nn.Module,
    recipe: Recipe,
    optimizer: type[flow.optim.Optimizer] = flow.optim.AdamW,
    **kwargs: Any,
) -> tuple[flow.optim.Optimizer, RecipeLR]:
    """Eager mode: ``(optimizer, scheduler)`` for ``model``, the recipe's groups and schedules.

    ``kwargs`` go to the optimizer (betas, eps, ...); each group's lr and weight decay come
    from the recipe.
    """
    opt = optimizer(param_groups(model, recipe), lr=recipe.base_lr, **kwargs)
    return opt, RecipeLR(opt, recipe)


__all__ = [
    "LOWERABLE",
    "NOT_LOWERABLE",
    "GraphOptimizer",
    "GraphPlan",
    "NotLowerable",
    "RecipeLR",
    "build",
    "build_scheduler",
    "explain_lowering",
    "graph_optimizers",
    "groups_from",
    "is_norm",
    "optimizers_from",
    "param_groups",
    "param_table",
    "plan",
    "scheduler",
    "table_and_tensors",
]
