"""Walking a model into a parameter table: the one place that names and tags its rows.

An adapter walks its framework's model and hands over one :class:`ModuleParam` per
(module, parameter) pair, answering only the framework's own questions (is this module one
of its norm or embedding classes, which tensor is this). Everything else is decided here,
alike for every framework: the dotted name, the tags (:func:`module_tags`) and tied
weights (one row, the other names as aliases).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .table import Param, ParamTable


class ModuleParam(NamedTuple):
    """One (module, parameter) pair as an adapter sees it while walking a model.

    The row's name is ``module_name.local_name`` (``local_name`` alone at the top level).
    ``module_class`` is the module's class name (``""``: not known, e.g. a bare variable).
    ``tensor_id`` identifies the tensor (``id(tensor)``): a tensor reached under several
    names is a tied weight. ``is_norm`` / ``is_embedding`` are the framework's own type
    checks (``isinstance`` against its norm and embedding classes).
    """

    module_name: str
    module_class: str
    local_name: str
    tensor_id: int
    shape: tuple[int, ...]
    requires_grad: bool
    is_norm: bool = False
    is_embedding: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.module_name}.{self.local_name}" if self.module_name else self.local_name


def is_norm_class(class_name: str) -> bool:
    """Whether a module class counts as a norm by its name alone: any class whose name
    contains ``Norm`` (``RMSNorm``, ``LlamaRMSNorm``, ``T5LayerNorm``, a user's ``MyNorm``)."""
    return "Norm" in class_name


def is_bias_name(local_name: str) -> bool:
    """Whether a parameter is a bias by its own name: ``bias`` or ``bias_*`` (LSTM's
    ``bias_ih_l0``)."""
    return local_name == "bias" or local_name.startswith("bias_")


def module_tags(entry: ModuleParam) -> frozenset[str]:
    """Tags of a parameter from its module: ``type:<Class>`` (when the class is known);
    ``norm`` for the framework's norm classes and any class named ``*Norm*``;
    ``embedding``; ``bias`` for a parameter named ``bias`` or ``bias_*``."""
    tags = {f"type:{entry.module_class}"} if entry.module_class else set()
    if entry.is_norm or is_norm_class(entry.module_class):
        tags.add("norm")
    if entry.is_embedding:
        tags.add("embedding")
    if is_bias_name(entry.local_name):
        tags.add("bias")
    return frozenset(tags)


def table_from_modules(
    entries: Iterable[ModuleParam], canonical: Callable[[str], str] | None = None
) -> tuple[ParamTable, dict[str, int]]:
    """The parameter table of a model walked as ``(module, parameter)`` entries, and the
    ``tensor_id`` of each canonical name.

    Entries come in the model's order, every module under every name it is reachable by.
    A tensor reached under several names (tied weights) is one row: its first name is
    canonical, the others are aliases. ``canonical`` rewrites each full dotted name (for
    example to strip wrapper prefixes such as ``module.``).
    """
    rows: dict[int, dict[str, Any]] = {}
    for e in entries:
        full = e.full_name if canonical is None else canonical(e.full_name)
        row = rows.get(e.tensor_id)
        if row is None:
            rows[e.tensor_id] = {
                "name": full,
                "shape": tuple(e.shape),
                "trainable": bool(e.requires_grad),
                "tags": module_tags(e),
                "aliases": [],
            }
        elif full != row["name"] and full not in row["aliases"]:
            row["aliases"].append(full)
    table = ParamTable(
        tuple(
            Param(r["name"], r["shape"], r["trainable"], r["tags"], tuple(r["aliases"]))
            for r in rows.values()
        )
    )
    return table, {r["name"]: key for key, r in rows.items()}


def table_from_tensors(
    walk: Iterable[tuple[str, Any, str, Any]],
    norm_types: tuple[type, ...],
    embedding_types: tuple[type, ...],
    canonical: Callable[[str], str] | None = None,
) -> tuple[ParamTable, dict[str, Any]]:
    """:func:`table_from_modules` for a torch-like model walked as ``(module_name, module,
    local_name, tensor)`` (duck-typed: a tensor has ``shape`` and ``requires_grad``), with
    the framework's norm and embedding classes; returns the table and each canonical
    name's tensor."""
    by_id: dict[int, Any] = {}
    entries = []
    for module_name, module, local, tensor in walk:
        by_id.setdefault(id(tensor), tensor)
        entries.append(
            ModuleParam(
                module_name,
                type(module).__name__,
                local,
                id(tensor),
                tuple(tensor.shape),
                bool(tensor.requires_grad),
                isinstance(module, norm_types),
                isinstance(module, embedding_types),
            )
        )
    table, ids = table_from_modules(entries, canonical)
    return table, {name: by_id[key] for name, key in ids.items()}
