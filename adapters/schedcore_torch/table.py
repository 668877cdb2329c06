"""Fill schedcore's parameter table from a torch module."""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn

from schedcore import ParamTable
from schedcore.groups.walk import is_norm_class, table_from_tensors

_NONE = id(None)

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
    return isinstance(module, NORM_TYPES) or is_norm_class(type(module).__name__)


def canonical(name: str) -> str:
    """``name`` without wrapper prefixes (``module.``, ``_orig_mod.``), wherever they nest."""
    if "module." not in name and "_orig_mod." not in name:
        return name  # nothing to strip (most names): no loop
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


def param_table(model: nn.Module) -> ParamTable:
    """The model's parameter table, ready for ``recipe.bind``, ``schedcore groups --params``
    (``param_table(model).save("params.csv")``) and the CLI's other table options.

    One row per tensor, in ``named_parameters`` order, named canonically (:func:`canonical`)
    and tagged from its module (``norm``, ``bias``, ``embedding``, ``type:<Class>``). A
    tensor reachable under several names (tied weights) is one row: its first name is
    canonical, the others are aliases.
    """
    return table_and_tensors(model)[0]


def table_and_tensors(model: nn.Module) -> tuple[ParamTable, dict[str, nn.Parameter]]:
    """:func:`param_table` and a map from each row's canonical name to its tensor (what
    :func:`schedcore_torch.param_groups` puts into the optimizer's groups)."""
    return table_from_tensors(_walk(model), NORM_TYPES, EMBEDDING_TYPES, canonical)


def _walk(model: nn.Module) -> Iterator[tuple[str, nn.Module, str, nn.Parameter]]:
    """``(module_name, module, local_name, tensor)`` for every module under every name it is
    reachable by, and each of its own parameters, as ``named_parameters(recurse=False)``
    yields them. A module's parameter dict is read directly when it holds distinct tensors
    (nearly always): the same pairs, without torch's per-module generator machinery, which
    costs more than the rest of the walk on a 100,000-parameter model."""
    for module_name, module in model.named_modules(remove_duplicate=False):
        own = module._parameters
        if not own:
            continue
        ids = set(map(id, own.values()))
        if len(ids) == len(own) and _NONE not in ids:  # no repeated tensor, no None slot
            for local, tensor in own.items():
                yield module_name, module, local, tensor
            continue
        for local, tensor in module.named_parameters(recurse=False):
            yield module_name, module, local, tensor
