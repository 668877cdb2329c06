"""schedcore for OneFlow: eager param_groups and an exact scheduler; for nn.Graph, a recipe
planned as OneFlow's graph-capable schedulers (the plan is framework-free:
:mod:`schedcore.port.oneflow`; this package constructs it)."""

from __future__ import annotations

from typing import Any

try:
    import oneflow as flow
except ImportError as err:
    raise ImportError(
        "schedcore_oneflow needs OneFlow: pip install 'schedcore-lr[oneflow]'"
    ) from err
from oneflow import nn

import schedcore as sc
from schedcore.port.oneflow import LOWERABLE, NOT_LOWERABLE, GraphPlan, NotLowerable, plan

from .graph import (
    GraphOptimizer,
    build_scheduler,
    explain_lowering,
    graph_optimizers,
    optimizers_from,
)
from .groups import OptimizerLike, RecipeLike, groups_from, make_optimizer, param_groups
from .lr_scheduler import RecipeLR, scheduler
from .table import is_norm, param_table, table_and_tensors


def build(
    model: nn.Module,
    recipe: RecipeLike,
    optimizer: OptimizerLike = flow.optim.AdamW,
    lr: float | None = None,
    **kwargs: Any,
) -> tuple[flow.optim.Optimizer, RecipeLR]:
    """Eager mode: ``(optimizer, scheduler)`` for ``model``, the recipe's groups and schedules.

    ``recipe``: a :class:`schedcore.Recipe`, a schedule, a dict or a TOML/JSON path
    (:func:`schedcore.as_recipe`); ``lr`` is the base lr (it overrides the recipe's; a bare
    schedule needs it). ``optimizer``: a class (AdamW by default; ``kwargs`` go to it:
    betas, eps, ...) or an unstepped instance, whose options are kept and whose
    param_groups become the recipe's. Each group's lr and weight decay come from the recipe.
    """
    recipe = sc.as_recipe(recipe, lr, what="recipe")
    opt = make_optimizer(optimizer, param_groups(model, recipe), recipe.base_lr, kwargs)
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
