"""Walking a model into a parameter table: the one place that names and tags its rows.

An adapter walks its framework's model and hands over one :class:`ModuleParam` per
(module, parameter) pair, answering only the framework's own questions (is this module one
of its norm or embedding classes, which tensor is this). Everything else is decided here,
alike for every framework: the dotted name, the tags (:func:`module_tags`) and tied
weights (one row, the other names as aliases).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .table import ParamTable, paused_gc


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


@functools.lru_cache(maxsize=4096)
def _tags(module_class: str, is_norm: bool, is_embedding: bool, is_bias: bool) -> frozenset[str]:
    """The tag set of one kind of parameter: one shared frozenset per kind, so a 100,000-row
    table holds a few dozen sets, not 100,000."""
    tags = {f"type:{module_class}"} if module_class else set()
    if is_norm or is_norm_class(module_class):
        tags.add("norm")
    if is_embedding:
        tags.add("embedding")
    if is_bias:
        tags.add("bias")
    return frozenset(tags)


def module_tags(entry: ModuleParam) -> frozenset[str]:
    """Tags of a parameter from its module: ``type:<Class>`` (when the class is known);
    ``norm`` for the framework's norm classes and any class named ``*Norm*``;
    ``embedding``; ``bias`` for a parameter named ``bias`` or ``bias_*``."""
    return _tags(
        entry.module_class,
        bool(entry.is_norm),
        bool(entry.is_embedding),
        is_bias_name(entry.local_name),
    )


class _Columns:
    """The table being built, one list per column, and the tensor id of each row. A tensor
    reached under several names (tied weights) is one row: its first name is canonical,
    the others are aliases."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.shapes: list[tuple[int, ...]] = []
        self.trainable: list[bool] = []
        self.tags: list[frozenset[str]] = []
        self.aliases: list[tuple[str, ...]] = []
        self.keys: list[int] = []
        self.row_of: dict[int, int] = {}  # tensor id -> row

    def add(
        self, name: str, key: int, shape: tuple[int, ...], trainable: bool, tags: frozenset[str]
    ) -> None:
        row = self.row_of.setdefault(key, len(self.names))
        if row == len(self.names):
            self.names.append(name)
            self.shapes.append(shape)
            self.trainable.append(trainable)
            self.tags.append(tags)
            self.aliases.append(())
            self.keys.append(key)
            return
        if name != self.names[row] and name not in self.aliases[row]:
            self.aliases[row] = (*self.aliases[row], name)

    def table(self) -> ParamTable:
        return ParamTable.from_columns(
            self.names, self.shapes, self.trainable, self.tags, self.aliases
        )


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
    cols = _Columns()
    with paused_gc():
        for e in entries:
            full = e.full_name if canonical is None else canonical(e.full_name)
            cols.add(full, e.tensor_id, tuple(e.shape), bool(e.requires_grad), module_tags(e))
        return cols.table(), dict(zip(cols.names, cols.keys, strict=True))


def table_from_tensors(
    walk: Iterable[tuple[str, Any, str, Any]],
    norm_types: tuple[type, ...],
    embedding_types: tuple[type, ...],
    canonical: Callable[[str], str] | None = None,
) -> tuple[ParamTable, dict[str, Any]]:
    """:func:`table_from_modules` for a torch-like model walked as ``(module_name, module,
    local_name, tensor)`` (duck-typed: a tensor has ``shape`` and ``requires_grad``), with
    the framework's norm and embedding classes; returns the table and each canonical
    name's tensor.

    The same rows as :func:`table_from_modules` over the equivalent :class:`ModuleParam`
    entries, built without them: the module's class and type checks are read once per
    module, the tags once per kind of parameter."""
    cols = _Columns()
    row_of, names, aliases = cols.row_of, cols.names, cols.aliases
    tensors: list[Any] = []
    by_local: dict[str, frozenset[str]] = {}  # tags by local name, in the current module
    kinds: dict[tuple[str, bool, bool], dict[str, frozenset[str]]] = {}
    last: Any = None
    kind: tuple[str, bool, bool] = ("", False, False)
    with paused_gc():
        for module_name, module, local, tensor in walk:
            if module is not last:  # the walk yields each module's parameters together
                last = module
                kind = (
                    type(module).__name__,
                    isinstance(module, norm_types),
                    isinstance(module, embedding_types),
                )
                by_local = kinds.setdefault(kind, {})
            full = f"{module_name}.{local}" if module_name else local
            if canonical is not None:
                full = canonical(full)
            key = id(tensor)
            row = row_of.get(key)
            if row is None:  # the tensor's first name: a new row
                tags = by_local.get(local)
                if tags is None:
                    tags = by_local[local] = _tags(*kind, is_bias_name(local))
                row_of[key] = len(names)
                names.append(full)
                cols.shapes.append(tuple(tensor.shape))
                cols.trainable.append(bool(tensor.requires_grad))
                cols.tags.append(tags)
                aliases.append(())
                tensors.append(tensor)
            elif full != names[row] and full not in aliases[row]:  # a tied weight's alias
                aliases[row] = (*aliases[row], full)
        return cols.table(), dict(zip(names, tensors, strict=True))
