"""Eager-mode optimizer param_groups for a OneFlow model, from a recipe's group policy."""

from __future__ import annotations

from typing import Any

import oneflow as flow
from oneflow import nn

from schedcore import Recipe
from schedcore.groups.resolve import Resolution

from .table import table_and_tensors


def param_groups(model: nn.Module, recipe: Recipe) -> list[dict[str, Any]]:
    """The recipe's groups for ``model``, ready for any eager ``oneflow.optim`` optimizer.

    Groups come in the resolution's order (rule order, see docs/groups.md). Each group holds
    its ``name`` (from the rules that formed it: ``head``, ``head+no_decay``, ``default``),
    its tensors (``params``) and their names (``param_names``), its **absolute** ``lr``
    (OneFlow's eager optimizers ignore ``lr_scale``), its ``weight_decay`` (left out when
    the policy leaves it to the optimizer) and the name of its ``schedule``, which
    :func:`schedcore_oneflow.scheduler` follows. For ``nn.Graph`` use
    :func:`schedcore_oneflow.graph_optimizers` instead.
    """
    table, tensors = table_and_tensors(model)
    resolution = recipe.bind(table).resolution
    assert resolution is not None
    return groups_from(resolution, tensors)


def groups_from(resolution: Resolution, tensors: dict[str, flow.Tensor]) -> list[dict[str, Any]]:
    """Eager optimizer groups for resolved groups, given each canonical name's tensor."""
    return [
        {
            "name": g.name,
            "params": [tensors[name] for name in g.params],
            "param_names": list(g.params),
            **g.optimizer_options(),
        }
        for g in resolution.groups
    ]
