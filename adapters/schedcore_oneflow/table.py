"""Fill schedcore's parameter table from a OneFlow module."""

from __future__ import annotations

from collections.abc import Iterator

import oneflow as flow
from oneflow import nn

from schedcore import ParamTable
from schedcore.groups.walk import is_norm_class, table_from_tensors

NORM_TYPES: tuple[type[nn.Module], ...] = tuple(
    getattr(nn, name)
    for name in (
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "FusedBatchNorm1d",
        "FusedBatchNorm2d",
        "FusedBatchNorm3d",
        "SyncBatchNorm",
        "GroupNorm",
        "LayerNorm",
        "RMSLayerNorm",
        "RMSNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
    )
    if hasattr(nn, name)
)
EMBEDDING_TYPES: tuple[type[nn.Module], ...] = (nn.Embedding,)


def is_norm(module: nn.Module) -> bool:
    """Every ``oneflow.nn`` norm class, and any class whose name contains ``Norm``."""
    return isinstance(module, NORM_TYPES) or is_norm_class(type(module).__name__)


def named_modules(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Every module under every name it is reachable by (OneFlow's ``named_modules``
    yields a shared module once, which would hide a tied weight's other names)."""
    stack: list[tuple[str, nn.Module, tuple[int, ...]]] = [("", model, ())]
    while stack:
        name, module, ancestors = stack.pop()
        yield name, module
        lineage = (*ancestors, id(module))
        children = [(k, m) for k, m in module._modules.items() if m is not None]
        for key, child in reversed(children):
            if id(child) not in lineage:  # a module containing itself: walk it once
                stack.append((f"{name}.{key}" if name else key, child, lineage))


def param_table(model: nn.Module) -> ParamTable:
    """The model's parameter table, ready for ``recipe.bind``, ``schedcore groups --params``
    (``param_table(model).save("params.csv")``) and the CLI's other table options.

    One row per tensor, tagged from its module (``norm``, ``bias``, ``embedding``,
    ``type:<Class>``). A tensor reachable under several names (tied weights) is one row: its
    first name is canonical, the others are aliases.
    """
    return table_and_tensors(model)[0]


def table_and_tensors(model: nn.Module) -> tuple[ParamTable, dict[str, flow.Tensor]]:
    """:func:`param_table` and a map from each row's canonical name to its tensor (what
    :func:`schedcore_oneflow.param_groups` and the Graph optimizers are built from)."""
    walk = (
        (module_name, module, local, tensor)
        for module_name, module in named_modules(model)
        for local, tensor in module._parameters.items()
        if tensor is not None
    )
    return table_from_tensors(walk, NORM_TYPES, EMBEDDING_TYPES)
