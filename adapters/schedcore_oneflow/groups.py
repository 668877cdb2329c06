"""Eager-mode optimizer param_groups for a OneFlow model, from a recipe's group policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import oneflow as flow
from oneflow import nn

import schedcore as sc
from schedcore.errors import describe
from schedcore.groups.resolve import Resolution

from .table import table_and_tensors

RecipeLike = sc.Recipe | sc.Schedule | dict[str, Any] | str | Path
"""What every function here takes as ``recipe``: a :class:`schedcore.Recipe`, a schedule
(with ``lr=``), a node or recipe dict, or a TOML/JSON path (:func:`schedcore.as_recipe`)."""
OptimizerLike = type[flow.optim.Optimizer] | flow.optim.Optimizer


def make_optimizer(
    optimizer: OptimizerLike, groups: list[dict[str, Any]], lr: float, kwargs: dict[str, Any]
) -> flow.optim.Optimizer:
    """``optimizer(groups, lr=lr, **kwargs)`` for an optimizer class. An optimizer instance
    (made with ``model.parameters()`` for its options: momentum, betas, ...) keeps those
    options as its defaults and has its param_groups replaced by ``groups``; refused if it
    has already stepped (its state would be dropped) or with ``kwargs`` (they would be
    ignored). Every group holds its ``weight_decay`` (the recipe's; 0.0 where the policy
    leaves it unset): ``weight_decay`` among ``kwargs`` is refused, and an instance's own
    weight decay applies to no group."""
    if "weight_decay" in kwargs:
        raise TypeError(
            f"weight_decay={kwargs['weight_decay']!r}: the recipe decides each group's weight "
            "decay (0.0 where its policy leaves it unset), in every framework alike; set "
            "groups.defaults.weight_decay (or a rule's weight_decay) in the recipe instead"
        )
    if isinstance(optimizer, type) and issubclass(optimizer, flow.optim.Optimizer):
        if "lr" in kwargs:
            raise TypeError(
                "lr: pass it as the base lr, lr=..., not among the optimizer's options"
            )
        return optimizer(groups, lr=lr, **kwargs)
    if not isinstance(optimizer, flow.optim.Optimizer):
        raise TypeError(
            "optimizer must be a oneflow.optim.Optimizer class (e.g. flow.optim.SGD) or "
            f"instance, got {describe(optimizer)}"
        )
    if kwargs:
        raise TypeError(
            f"optimizer options {sorted(kwargs)} are for an optimizer class; the instance "
            f"{type(optimizer).__name__} keeps the options it was made with"
        )
    if optimizer.state_dict()["state"].get("step", 0):
        raise ValueError(
            f"the {type(optimizer).__name__} instance has already stepped: replacing its "
            "param_groups with the recipe's would drop its state; pass a fresh instance or "
            "the class"
        )
    optimizer.param_groups.clear()
    for group in groups:
        optimizer.add_param_group({"lr": lr, **group})
    return optimizer


def param_groups(
    model: nn.Module, recipe: RecipeLike, lr: float | None = None
) -> list[dict[str, Any]]:
    """The recipe's groups for ``model``, ready for any eager ``oneflow.optim`` optimizer.

    Groups come in the resolution's order (rule order, see docs/groups.md). Each group holds
    its ``name`` (from the rules that formed it: ``head``, ``head+no_decay``, ``default``),
    its tensors (``params``) and their names (``param_names``), its **absolute** ``lr``
    (OneFlow's eager optimizers ignore ``lr_scale``), its ``weight_decay`` (always given:
    0.0 where the policy leaves it unset, never the optimizer's default) and the name of
    its ``schedule``, which
    :func:`schedcore_oneflow.scheduler` follows. For ``nn.Graph`` use
    :func:`schedcore_oneflow.graph_optimizers` instead. ``recipe``: see :data:`RecipeLike`;
    ``lr`` sets its base lr.
    """
    recipe = sc.as_recipe(recipe, lr, what="recipe")
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
