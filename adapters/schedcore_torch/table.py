"""Fill schedcore's parameter table from a torch module."""

from __future__ import annotations

import torch
from torch import nn

from schedcore import Param, ParamTable

WRAPPER_PREFIXES = ("module.", "_orig_mod.")
"""Prefixes added by DistributedDataParallel / DataParallel and by torch.compile."""

NORM_TYPES: tuple[type[nn.Module], ...] = tuple(
    getattr(nn, name)
    for name in (
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "LazyBatchNorm1d",
        "LazyBatchNorm2d",
        "LazyBatchNorm3d",
        "SyncBatchNorm",
        "GroupNorm",
        "LayerNorm",
        "RMSNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "LazyInstanceNorm1d",
        "LazyInstanceNorm2d",
        "LazyInstanceNorm3d",
        "LocalResponseNorm",
        "CrossMapLRN2d",
    )
    if hasattr(nn, name)
)
EMBEDDING_TYPES: tuple[type[nn.Module], ...] = (nn.Embedding, nn.EmbeddingBag)


def is_norm(module: nn.Module) -> bool:
    """Every ``torch.nn`` norm class, and any class whose name contains ``Norm``
    (``RMSNorm``, ``LlamaRMSNorm``, ``T5LayerNorm``, a user's ``MyNorm``)."""
    return isinstance(module, NORM_TYPES) or "Norm" in type(module).__name__


def canonical(name: str) -> str:
    """``name`` without wrapper prefixes (``module.``, ``_orig_mod.``), wherever they nest."""
    changed = True
    while changed:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name, changed = name[len(prefix) :], True
        name = (
            name.replace("._orig_mod.", ".").replace(".module.", ".")
            if "._orig_mod." in name
            else name
        )
    return name


def tags_for(module: nn.Module, local_name: str) -> frozenset[str]:
    tags = {f"type:{type(module).__name__}"}
    if is_norm(module):
        tags.add("norm")
    if isinstance(module, EMBEDDING_TYPES):
        tags.add("embedding")
    if local_name == "bias" or local_name.startswith("bias_"):
        tags.add("bias")
    return frozenset(tags)


def param_table(model: nn.Module) -> tuple[ParamTable, dict[str, torch.nn.Parameter]]:
    """The model's parameter table and a map from canonical name to tensor.

    A tensor reachable under several names (tied weights) is one row: its first name is
    canonical, the others are aliases.
    """
    rows: dict[int, dict] = {}
    tensors: dict[str, torch.nn.Parameter] = {}
    for module_name, module in model.named_modules(remove_duplicate=False):
        for local, tensor in module.named_parameters(recurse=False):
            full = canonical(f"{module_name}.{local}" if module_name else local)
            key = id(tensor)
            if key not in rows:
                rows[key] = {
                    "name": full,
                    "shape": tuple(tensor.shape),
                    "trainable": bool(tensor.requires_grad),
                    "tags": tags_for(module, local),
                    "aliases": [],
                }
                tensors[full] = tensor
            elif full != rows[key]["name"] and full not in rows[key]["aliases"]:
                rows[key]["aliases"].append(full)
    return (
        ParamTable(
            tuple(
                Param(r["name"], r["shape"], r["trainable"], r["tags"], tuple(r["aliases"]))
                for r in rows.values()
            )
        ),
        tensors,
    )
