"""Optimizer param_groups for a torch model, from a recipe's group policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from schedcore import Recipe, Schedule, as_recipe
from schedcore.groups.resolve import Resolution
from schedcore.groups.table import paused_gc

from .table import table_and_tensors


def param_groups(model: nn.Module, recipe: Any, lr: float | None = None) -> list[dict[str, Any]]:
    """The recipe's groups for ``model``, ready for any ``torch.optim`` optimizer. ``recipe``
    and ``lr`` are read by :func:`schedcore.as_recipe` (a schedule needs ``lr``).

    Groups come in the resolution's order (rule order, see docs/groups.md). Each holds its
    ``name`` (from the rules that formed it: ``head``, ``head+no_decay``, ``default``),
    ``(name, tensor)`` params (torch records ``param_names``), its absolute ``lr``, its
    ``weight_decay`` (always given: 0.0 where the policy leaves it unset, so the
    optimizer's own default, 0.01 for AdamW, never applies), ``lr_scale`` (the
    lr relative to the recipe's base lr, for tools that read it) and the name of its
    ``schedule``, which :func:`schedcore_torch.scheduler` follows.
    """
    recipe = as_recipe(recipe, lr=lr)
    with paused_gc():  # 100,000 small rows: no collector passes while they are built
        table, tensors = table_and_tensors(model)
        resolution = recipe.bind(table).resolution
        assert resolution is not None
        return groups_from(resolution, tensors)


def scheduler_recipe(optimizer: torch.optim.Optimizer, value: Any, what: str = "recipe") -> Recipe:
    """The recipe a scheduler over ``optimizer`` follows: ``value`` as
    :func:`schedcore.as_recipe` reads it, or a bare schedule (a node or its dict), which
    multiplies each group's own lr (its ``initial_lr``), as ``LambdaLR`` does: no ``lr`` to
    give, the optimizer's groups hold them."""
    if isinstance(value, Schedule) or (isinstance(value, Mapping) and "type" in value):
        return as_recipe(value, lr=1.0, what=what)  # 1.0: the groups' lrs are the peaks
    return as_recipe(value, what=what)


def refuse_weight_decay(kwargs: Mapping[str, Any]) -> None:
    """A ``weight_decay`` optimizer option would be overridden by every group's (the
    recipe's, 0.0 where unset): refused rather than ignored."""
    if "weight_decay" in kwargs:
        raise TypeError(
            f"weight_decay={kwargs['weight_decay']!r}: the recipe decides each group's weight "
            "decay (0.0 where its policy leaves it unset), in every framework alike; set "
            "groups.defaults.weight_decay (or a rule's weight_decay) in the recipe instead"
        )


def groups_from(resolution: Resolution, tensors: dict[str, nn.Parameter]) -> list[dict[str, Any]]:
    """Optimizer groups for resolved groups, given each canonical name's tensor."""
    return [
        {
            "name": g.name,
            "params": list(zip(g.params, map(tensors.__getitem__, g.params), strict=True)),
            "lr_scale": g.lr_scale,
            **g.optimizer_options(),
        }
        for g in resolution.groups
    ]
