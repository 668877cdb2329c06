"""Resolve a group policy against a parameter table: decisions, merged groups, explanations.

Resolution is vectorized over the table: each rule criterion is one pass over the names,
and facets are decided with numpy arrays, so a 100,000-parameter model resolves in a
fraction of a second.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import fnmatch
import functools
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import SpecError, describe
from .policy import FACETS, NAME_CONDITIONS, GroupPolicy, How, Rule, Selector
from .table import ParamTable, paused_gc

DEFAULT_SCHEDULE = "default"
UNSET_WEIGHT_DECAY = 0.0
"""The weight decay of a group whose policy leaves it unset (no rule and no
``groups.defaults.weight_decay`` decides it). Every adapter applies it, whatever its
optimizer's own default (torch AdamW 0.01, Keras AdamW 0.004, SGD 0): one recipe, one
decay in every framework."""
_LOWEST = np.iinfo(np.int64).min


class Source(enum.IntEnum):
    """Who decided a facet of a row when no rule did; a rule is its index in the policy
    (>= 0), so one int64 array holds every row's source."""

    DEFAULTS = -2
    """The ``groups.defaults`` table."""
    BASE = -1
    """Nothing: the base value (base lr, unset weight decay, default schedule)."""


def _decided_by_rule(source: np.ndarray) -> np.ndarray:
    return source >= 0


@dataclasses.dataclass(frozen=True)
class Decision:
    """What one parameter (or alias) resolved to, and who decided each facet."""

    name: str
    lr: float
    lr_scale: float
    weight_decay: float | None
    schedule: str
    frozen: bool
    layer_id: int | None
    sources: Mapping[str, str]

    @property
    def settings(self) -> tuple[str, float, float | None]:
        return (self.schedule, self.lr, self.weight_decay)


@dataclasses.dataclass(frozen=True)
class Group:
    """Parameters with identical resolved settings, merged. ``name`` says which rules formed
    the group (see :class:`Resolution`); ``lr_scale`` is ``lr / base_lr``, rounded to 15
    significant digits (``1000``, not ``999.9999999999999``)."""

    name: str
    params: tuple[str, ...]
    lr: float
    lr_scale: float
    weight_decay: float | None
    schedule: str
    provenance: Mapping[str, tuple[str, ...]]

    @property
    def applied_weight_decay(self) -> float:
        """The weight decay every adapter applies to the group: the policy's, or
        :data:`UNSET_WEIGHT_DECAY` (0.0) where it leaves it unset (``weight_decay`` is
        None), never the optimizer's own default."""
        return UNSET_WEIGHT_DECAY if self.weight_decay is None else self.weight_decay

    def optimizer_options(self) -> dict[str, object]:
        """The group's options for a torch-style optimizer group: its absolute ``lr``, the
        ``schedule`` it follows and its ``weight_decay`` (:attr:`applied_weight_decay`:
        always given, so the optimizer's own default never applies)."""
        return {
            "lr": self.lr,
            "schedule": self.schedule,
            "weight_decay": self.applied_weight_decay,
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "params": list(self.params),
            "lr": self.lr,
            "lr_scale": self.lr_scale,
            "weight_decay": self.weight_decay,
            "schedule": self.schedule,
            "provenance": {k: list(v) for k, v in self.provenance.items()},
        }


@dataclasses.dataclass(frozen=True)
class Resolution:
    """The resolved groups, named and ordered by the rules that formed them.

    Parameters with identical settings (schedule, lr, weight decay) merge into one group.
    A group's *rules* are those that decide its lr, layer decay, weight decay or schedule for
    any of its parameters. Its ``name`` joins their names with ``+`` in rule order; a
    layer-decay rule is written as the layer, ``layer_3`` (``layers_3-5`` for a group
    spanning several ids); a group with parameters that no rule decides is ``default``
    (``default+emb`` when it also holds parameters a rule decided). A name that would repeat
    gets ``#2``, ``#3``, ... in group order.

    Order follows rule order: each group's key is the list of its rules' positions in the
    policy, ascending (a layer-decay rule as ``(position, first layer id)``, ``default``
    as position -1), and groups are sorted by that key compared lexicographically, so
    ``default`` < ``head`` < ``head+no_decay`` < ``no_decay`` for rules ``[head, no_decay]``;
    equal keys fall back to ``(schedule, lr, weight_decay)``. The order depends on the
    policy, never on the order of the table. Each group lists its canonical names in table
    order. ``frozen`` lists the excluded parameters in table order, ``decisions`` has one
    entry per name (aliases included), ``aliases`` maps alias -> name."""

    groups: tuple[Group, ...]
    frozen: tuple[str, ...]
    decisions: Mapping[str, Decision]
    base_lr: float
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def group_of(self, name: str) -> int | None:
        """The index of the group holding ``name`` (or its canonical name); None if frozen."""
        name = self.aliases.get(name, name)
        for i, g in enumerate(self.groups):
            if name in g.params:
                return i
        return None

    def group_named(self, name: str) -> Group:
        """The group called ``name`` (KeyError, with the close names, if none is)."""
        for g in self.groups:
            if g.name == name:
                return g
        names = [g.name for g in self.groups]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no group named {name!r} (groups: {', '.join(names)}){hint}")

    def explain(self, name: str) -> str:
        """How ``name`` (a canonical name or an alias) was resolved, facet by facet."""
        if name not in self.decisions:
            close = difflib.get_close_matches(name, list(self.decisions), n=3, cutoff=0.6)
            hint = f"; similar: {', '.join(close)}" if close else ""
            raise KeyError(f"no parameter named {name!r} in the table{hint}")
        d = self.decisions[name]
        if d.frozen:
            return f"{name}: frozen (excluded from the optimizer) by {d.sources['frozen']}"
        layer = "" if d.layer_id is None else f", layer {d.layer_id}"
        decay = f", layer decay <- {d.sources['layer_decay']}" if "layer_decay" in d.sources else ""
        wd = f"{d.weight_decay:g}" if d.weight_decay is not None else "0 (unset)"
        index = self.group_of(name)
        assert index is not None
        return "\n".join(
            [
                f"{name}: group {index} {self.groups[index].name!r}{layer}",
                f"  lr            {d.lr:.6g} (x{d.lr_scale:.6g} of base {self.base_lr:g})"
                f"  <- {d.sources['lr']}{decay}",
                f"  weight_decay  {wd}  <- {d.sources['weight_decay']}",
                f"  schedule      {d.schedule}  <- {d.sources['schedule']}",
            ]
        )

    def table(self) -> str:
        """A printable table of the groups."""
        rows = [("group", "params", "lr", "x base", "weight_decay", "schedule", "decided by")]
        for g in self.groups:
            wd = "0 (unset)" if g.weight_decay is None else f"{g.weight_decay:g}"
            by = "; ".join(f"{k}: {', '.join(v)}" for k, v in g.provenance.items())
            rows.append(
                (g.name, str(len(g.params)), f"{g.lr:.4g}", f"{g.lr_scale:.6g}", wd, g.schedule, by)
            )
        if self.frozen:
            rows.append(("frozen", str(len(self.frozen)), "-", "-", "-", "-", "excluded"))
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows
        )


# -- the resolver -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Assignment:
    """What an adapter decided for the members it updates (a framework's variables or
    leaves, in its order): each one's canonical name, its group (an index into
    ``resolution.groups``; None: frozen by the policy) and its weight decay."""

    resolution: Resolution
    names: tuple[str, ...]
    group_of: tuple[int | None, ...]
    decay: tuple[float, ...]

    @property
    def group_names(self) -> tuple[str, ...]:
        """The name of each group of ``resolution.groups`` (``head``, ``head+no_decay``,
        ``default``, ...)."""
        return tuple(g.name for g in self.resolution.groups)

    def member_groups(self) -> dict[str, str | None]:
        """Each member's group name (None: frozen by the policy)."""
        names = self.group_names
        return {
            n: None if g is None else names[g]
            for n, g in zip(self.names, self.group_of, strict=True)
        }

    def __str__(self) -> str:
        """One line per group, in order: name, lr, weight decay as applied, schedule, and
        its members; then the frozen ones."""
        members: dict[int, list[int]] = {}
        for i, g in enumerate(self.group_of):
            if g is not None:
                members.setdefault(g, []).append(i)
        lines = []
        for g, group in enumerate(self.resolution.groups):
            idx = members.get(g, [])
            wd = ", ".join(f"{d:g}" for d in sorted({self.decay[i] for i in idx})) or "-"
            lines.append(
                f"{group.name}: lr {group.lr:g}, weight decay {wd}, schedule {group.schedule}: "
                + ", ".join(self.names[i] for i in idx)
            )
        frozen = [n for n, g in zip(self.names, self.group_of, strict=True) if g is None]
        if frozen:
            lines.append(f"frozen: {', '.join(frozen)}")
        return "\n".join(lines)


@dataclasses.dataclass
class _Rows:
    """The table flattened to one row per name (aliases included), as parallel columns."""

    names: list[str]
    shapes: list[tuple[int, ...]]
    tags: list[frozenset[str]]
    owner: np.ndarray  # index of the canonical row of each row
    trainable: np.ndarray
    ndim: np.ndarray
    layer: np.ndarray  # layer id, -1 if none

    def column(self, kind: str) -> list[Any]:
        """What a match condition of ``kind`` tests: the names, the tag sets or the shapes."""
        if kind in NAME_CONDITIONS:
            return self.names
        return self.tags if kind == "tags" else self.shapes

    @classmethod
    def of(cls, table: ParamTable, policy: GroupPolicy) -> _Rows:
        columns = table._columns
        n = len(columns.names)
        if not any(columns.aliases):  # the common case: no tied names, the table's columns
            names, shapes, tags = list(columns.names), list(columns.shapes), list(columns.tags)
            owner = np.arange(n)
            trainable = np.fromiter(columns.trainable, bool, n)
        else:
            names, shapes, tags, owned, live = [], [], [], [], []
            for p in table:
                canonical = len(names)
                for name in (p.name, *p.aliases):
                    names.append(name)
                    shapes.append(p.shape)
                    tags.append(p.tags)
                    owned.append(canonical)
                    live.append(p.trainable)
            owner = np.asarray(owned)
            trainable = np.fromiter(live, bool, len(live))
        ndim = np.fromiter(map(len, shapes), np.int64, len(shapes))
        layer = _layer_ids(policy, names)
        return cls(names, shapes, tags, owner, trainable, ndim, layer)


@dataclasses.dataclass
class _Facet:
    """Per-row winner of one facet: its priority, its :class:`Source` (or rule index),
    how it decides (a :class:`~schedcore.groups.policy.How`) and its numeric value."""

    priority: np.ndarray
    source: np.ndarray
    how: np.ndarray
    value: np.ndarray

    @classmethod
    def unset(cls, n: int) -> _Facet:
        return cls(
            np.full(n, _LOWEST, np.int64),
            np.full(n, Source.BASE.value, np.int64),
            np.full(n, How.UNSET.value, np.int8),
            np.zeros(n),
        )

    def sets(self) -> np.ndarray:
        return self.how == How.SET.value

    def scales(self) -> np.ndarray:
        return self.how == How.SCALE.value


def resolve(
    policy: GroupPolicy,
    table: ParamTable,
    base_lr: float,
    schedules: set[str] | frozenset[str] = frozenset({DEFAULT_SCHEDULE}),
) -> Resolution:
    """Decide every parameter's settings and merge them into the minimal set of groups.

    Raises SpecError for the first problem found, in this order: a rule that selects no
    parameter; a match item that selects none the rule's other conditions allow (in rule,
    condition and item order); an unknown schedule; an uncovered parameter; a conflict; a
    layer-decay or weight-decay problem; tied names that resolve differently.
    """
    with paused_gc():
        return _resolve(policy, table, base_lr, schedules)


def _resolve(
    policy: GroupPolicy, table: ParamTable, base_lr: float, schedules: set[str] | frozenset[str]
) -> Resolution:
    rows = _Rows.of(table, policy)
    masks = [_select(rule.match, rows) for rule in policy.rules]
    for i, (rule, mask) in enumerate(zip(policy.rules, masks, strict=True)):
        if not rule.optional and not mask.any():
            raise SpecError(
                f"groups.rules[{i}]",
                f"rule {rule.name!r} matches no parameter; check its match "
                f"({_describe_selector(rule.match)}) or mark it optional = true",
            )
    for i, (rule, mask) in enumerate(zip(policy.rules, masks, strict=True)):
        if not rule.optional:
            _check_items(rule, f"groups.rules[{i}].match", mask, rows)
    policy.check_schedules(schedules | {DEFAULT_SCHEDULE})
    if policy.defaults is None:
        covered = np.logical_or.reduce(masks) if masks else np.zeros(len(rows.names), bool)
        missing = np.flatnonzero(rows.trainable & ~covered)
        if missing.shape[0]:
            raise SpecError(
                "groups",
                f"parameter {rows.names[missing[0]]!r} matches no rule and groups.defaults is "
                f"not set ({missing.shape[0]} such parameters); add a rule for it or a "
                "defaults table",
            )
    schedule_names = sorted(schedules | {DEFAULT_SCHEDULE})
    facets = {f: _decide_facet(f, policy, masks, rows, schedule_names) for f in FACETS}
    values = _values(policy, facets, rows, base_lr, schedule_names)
    _check_aliases(rows, values)
    return _merge(policy, rows, facets, values, base_lr, schedule_names)


# -- selection: each condition on its own, ANDed; within one, its items ORed ---------------


def _item_test(kind: str, item: Any) -> Callable[[Any], bool]:
    """The test of one match item, over what :meth:`_Rows.column` gives for ``kind`` (a
    name, a tag set or a shape): true (a truthy value: a match object) where it matches.
    Tests are C-level callables, so a pass over 100,000 names makes no Python call."""
    if kind == "prefix":
        return operator.methodcaller("startswith", item)
    if kind == "contains":
        return operator.methodcaller("__contains__", item)
    if kind == "name":
        return item.__eq__
    if kind in ("glob", "regex"):
        full = re.compile(fnmatch.translate(item) if kind == "glob" else item).fullmatch
        return full
    if kind == "tags":
        return operator.methodcaller("__contains__", item)
    if kind == "shape":
        return tuple(item).__eq__
    raise AssertionError(kind)


def _condition_test(kind: str, items: tuple[Any, ...]) -> Callable[[Any], Any]:
    """The test of a whole condition, true where any of its items matches (in one pass
    where that is exact; a C-level callable where one is)."""
    if len(items) == 1:
        return _item_test(kind, items[0])
    if kind == "prefix":
        return operator.methodcaller("startswith", items)
    if kind == "contains":  # a substring search for any of them
        return re.compile("|".join(map(re.escape, items))).search
    if kind == "name":
        return frozenset(items).__contains__
    if kind == "tags":  # the wanted tags the row has: empty (false) when none
        return frozenset(items).intersection
    if kind == "glob":  # globs are plain patterns: one alternation is exact
        return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in items)).fullmatch
    tests = [_item_test(kind, item) for item in items]  # each regex on its own
    return lambda x: any(t(x) for t in tests)


def _mask(test: Callable[[Any], Any], values: list[Any]) -> np.ndarray:
    """Where ``test`` is true over ``values``."""
    return np.fromiter(map(bool, map(test, values)), bool, len(values))


def _select(sel: Selector, rows: _Rows) -> np.ndarray:
    """The rows that every condition of ``sel`` allows."""
    n = len(rows.names)
    mask = np.ones(n, dtype=bool)
    if sel.ndim:
        mask &= np.isin(rows.ndim, sel.ndim)
    if sel.layers is not None:
        mask &= (rows.layer >= sel.layers[0]) & (rows.layer <= sel.layers[1])
    for kind, items in sel.conditions():
        if kind in ("ndim", "layers"):
            continue
        index = np.flatnonzero(mask)
        if not index.shape[0]:
            break
        over = rows.column(kind)
        if index.shape[0] == n:
            mask &= _mask(_condition_test(kind, items), over)
        else:
            keep = _mask(_condition_test(kind, items), list(map(over.__getitem__, index.tolist())))
            mask[index[~keep]] = False
    return mask


def _item_mask(kind: str, item: Any, rows: _Rows) -> np.ndarray:
    """The rows one item selects on its own (the other conditions ignored)."""
    if kind == "ndim":
        return rows.ndim == item
    if kind == "layers":
        return (rows.layer >= item[0]) & (rows.layer <= item[1])
    return _mask(_item_test(kind, item), rows.column(kind))


def _check_items(rule: Rule, path: str, mask: np.ndarray, rows: _Rows) -> None:
    """Every item of every condition of ``rule`` must select a row the rule selects (that
    is, one that the rule's other conditions allow), unless listed in match.optional."""
    selected = np.flatnonzero(mask)
    for kind, items in rule.match.conditions():
        if len(items) < 2:
            continue  # the condition is its one item: the rule selects something
        for j, item in enumerate(items):
            if item in rule.match.optional:
                continue
            if kind == "ndim":
                found = bool(np.any(rows.ndim[selected] == item))
            else:
                over = rows.column(kind)
                test = _item_test(kind, item)  # lazily: stops at the first hit
                found = any(map(test, map(over.__getitem__, selected.tolist())))
            if not found:
                raise SpecError(f"{path}.{kind}[{j}]", _dead_item(rule, kind, item, rows))


def _count(mask: np.ndarray, rows: _Rows) -> int:
    """How many parameters (tied names counted once) a row mask holds."""
    return int(_unique(rows.owner[mask]).shape[0])


def _plural(n: int) -> str:
    return f"{n} parameter{'s' if n != 1 else ''}"


_TOKEN_SPLIT = re.compile(r"[._\-/:\[\]]+")
_NEUTRAL_TAGS = (  # (does a lower-case word of a name item mean it, the tag)
    (lambda w: "norm" in w or w in ("ln", "bn", "gamma", "beta"), "norm"),
    (lambda w: w.startswith("bias"), "bias"),
    (lambda w: "embed" in w or w in ("wte", "wpe"), "embedding"),
)


def _dead_item(rule: Rule, kind: str, item: Any, rows: _Rows) -> str:
    """Why an item selects nothing, with the closest real names and a hint."""
    alone = _item_mask(kind, item, rows)
    shown = describe(item)
    if alone.any():
        others = ", ".join(
            f"{k} = {list(v) if k in ('ndim', 'tags') or len(v) > 1 else v[0]!r}"
            for k, v in rule.match.conditions()
            if k != kind
        )
        return (
            f"{shown} selects {_plural(_count(alone, rows))} but none that the rule's other "
            f"conditions allow ({others}); remove it, or list it in match.optional"
        )
    text = f"{shown} matches no parameter"
    suggestions = _suggest(kind, item, rows)
    if suggestions:
        text += (
            "; did you mean " + " or ".join(f"{s!r} ({_plural(n)})" for s, n in suggestions) + "?"
        )
    if kind in NAME_CONDITIONS:
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", str(item))]
        tags = [tag for means, tag in _NEUTRAL_TAGS if any(means(w) for w in words)]
        if tags:
            text += (
                f"; names differ between frameworks (Keras calls LayerNorm weights gamma "
                f"and beta): to mean the kind of parameter anywhere, use tags = {tags!r}"
            )
    if kind == "prefix" and not suggestions:
        tops = sorted({n.split(".", 1)[0] + "." for n in rows.names if "." in n})
        shown_tops = ", ".join(tops[:8]) + (", ..." if len(tops) > 8 else "")
        text += f"; the names start with: {shown_tops}"
    if not isinstance(item, str):
        return text + " (if that is intended, mark the rule optional = true)"
    return text + f" (if that is intended, list it in match.optional = [{describe(item)}])"


def _suggest(kind: str, item: Any, rows: _Rows) -> list[tuple[str, int]]:
    """Up to three real names close to ``item`` (``difflib``) with their parameter counts:
    tags, exact names, dotted prefixes, or name tokens (the names split at ``.``, ``_``,
    ``-``, ``/``, ``:``; a token's count is the parameters whose name has it)."""
    if kind == "ndim":
        present = sorted(set(rows.ndim.tolist()))
        return [(str(d), _count(rows.ndim == d, rows)) for d in present][:3]
    if kind == "tags":
        tags = sorted(frozenset().union(*set(rows.tags)))
        close = difflib.get_close_matches(item, tags, n=3, cutoff=0.6)
        return [(t, _count(_item_mask("tags", t, rows), rows)) for t in close]
    if kind == "name":
        close = difflib.get_close_matches(item, rows.names, n=3, cutoff=0.6)
        return [(c, 1) for c in close]
    if kind == "prefix":
        prefixes = {
            ".".join(parts[:k]) + "."
            for parts in (n.split(".") for n in rows.names)
            for k in range(1, min(len(parts), 4))
        }
        close = difflib.get_close_matches(item, sorted(prefixes), n=3, cutoff=0.6)
        return [(c, _count(_item_mask("prefix", c, rows), rows)) for c in close]
    per_name = [frozenset(t for t in _TOKEN_SPLIT.split(n) if t) for n in rows.names]
    tokens = sorted(frozenset().union(*per_name))
    if kind == "contains":
        words = [item]
    else:  # glob, regex: the words of the pattern that are not real name tokens
        known = set(tokens)
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", item) if w not in known]
    out: list[tuple[str, int]] = []
    for word in words:
        for close in difflib.get_close_matches(word, tokens, n=3, cutoff=0.6):
            if close not in (c for c, _ in out):
                having = np.fromiter((close in t for t in per_name), bool, len(per_name))
                out.append((close, _count(having, rows)))
    return out[:3]


def _describe_selector(sel: Selector) -> str:
    parts = []
    for f in dataclasses.fields(sel):
        value = getattr(sel, f.name)
        if value not in ((), None):
            parts.append(f"{f.name} = {list(value)!r}")
    return ", ".join(parts)


def _encode(facet: str, effect: object, schedule_names: list[str]) -> tuple[int, float]:
    """A facet effect as numbers for the arrays: ``(How, value)``; a schedule is the index
    of its name."""
    if facet in ("lr", "weight_decay"):
        how, value = effect  # type: ignore[misc]
        return int(how), float(value)
    if facet == "schedule":
        return How.SET.value, float(schedule_names.index(str(effect)))
    return How.SET.value, float(effect)  # frozen (bool) and layer_decay (rate)


def _default_effect(facet: str, policy: GroupPolicy) -> object:
    d = policy.defaults
    if d is None:
        return None
    if facet == "lr":
        return (
            (How.SET, d.lr)
            if d.lr is not None
            else (How.SCALE, d.lr_scale)
            if d.lr_scale is not None
            else None
        )
    if facet == "weight_decay":
        return None if d.weight_decay is None else (How.SET, d.weight_decay)
    if facet == "schedule":
        return d.schedule
    return None


def _decide_facet(facet, policy, masks, rows, schedule_names) -> _Facet:
    state = _Facet.unset(len(rows.names))
    default = _default_effect(facet, policy)
    if default is not None:
        state.how[:], state.value[:] = _encode(facet, default, schedule_names)
        state.source[:] = Source.DEFAULTS.value
    # A tie only matters at the priority that decides: a conflict stays pending until a
    # higher-priority rule overrides that row, so the outcome does not depend on rule order.
    pending: dict[int, SpecError] = {}
    for r, (rule, mask) in enumerate(zip(policy.rules, masks, strict=True)):
        effect = rule.effects().get(facet)
        if effect is None:
            continue
        how, value = _encode(facet, effect, schedule_names)
        clash = mask & (state.priority == rule.priority) & _decided_by_rule(state.source)
        clash &= (state.how != how) | (state.value != value)
        for i in np.flatnonzero(clash):
            if int(i) not in pending:
                other = policy.rules[state.source[i]]
                pending[int(i)] = SpecError(
                    "groups.rules",
                    f"rules {other.name!r} and {rule.name!r} (both priority {rule.priority}) "
                    f"set {facet} of {rows.names[i]!r} differently: "
                    f"{_show(facet, other.effects()[facet])} vs {_show(facet, effect)}; "
                    "give one a higher priority",
                )
        better = np.flatnonzero(mask & (state.priority < rule.priority))
        state.priority[better] = rule.priority
        state.source[better] = r
        state.how[better] = how
        state.value[better] = value
        if pending:
            for i in better.tolist():
                pending.pop(i, None)
    if pending:
        raise pending[min(pending)]
    return state


def _show(facet: str, effect: object) -> str:
    if facet in ("lr", "weight_decay"):
        how, value = effect  # type: ignore[misc]
        return f"{'x' if how == How.SCALE else ''}{value:g}"
    return repr(effect)


def _layer_ids(policy: GroupPolicy, names: list[str]) -> np.ndarray:
    """Each name's layer id (-1: none): an explicit ``ids`` glob first, else the pattern."""
    out = np.full(len(names), -1, dtype=np.int64)
    layers = policy.layers
    if layers is None:
        return out
    explicit = None
    if layers.ids:
        alternatives = "|".join(
            f"(?P<g{i}>{fnmatch.translate(glob)})" for i, (glob, _) in enumerate(layers.ids)
        )
        explicit = re.compile(alternatives).fullmatch
    ids = [layer for _, layer in layers.ids]
    given = np.zeros(len(names), bool)  # an explicit id wins over the pattern
    if explicit is not None:
        found = list(map(explicit, names))
        for j in _hits(found).tolist():
            out[j] = ids[int(found[j].lastgroup[1:])]
            given[j] = True
    if layers.pattern:
        found = list(map(re.compile(layers.pattern).search, names))
        index = _hits(found)
        index = index[~given[index]].tolist()
        captured = list(map(operator.methodcaller("group", 1), map(found.__getitem__, index)))
        joined = "".join(captured) if captured and None not in captured else ""
        if (
            joined
            and min(map(len, captured)) > 0
            and max(map(len, captured)) <= 15
            and joined.isascii()
            and joined.isdigit()
        ):  # the common case, every capture an id: one C-level pass
            out[index] = np.fromiter(map(int, captured), np.int64, len(index)) + layers.offset
        else:
            for j, text in zip(index, captured, strict=True):
                _read_layer_id(out, j, text, names[j], layers.offset)
    return out


def _hits(found: list[Any]) -> np.ndarray:
    """The positions of the matches (not None) in a list of ``re`` results."""
    return np.flatnonzero(np.fromiter(map(bool, found), bool, len(found)))


def _read_layer_id(out: np.ndarray, j: int, captured: str | None, name: str, offset: int) -> None:
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses
    if captured is not None and captured.isascii() and captured.isdigit():
        if len(captured) > 15:  # beyond 2**53: no layer id is that large
            raise SpecError(
                "groups.layers.pattern",
                f"captures the layer id {captured[:20]}... from {name[:60]!r}; "
                "layer ids must be at most 2**53",
            )
        out[j] = int(captured) + offset


@dataclasses.dataclass
class _Values:
    lr: np.ndarray
    weight_decay: np.ndarray  # NaN: unset (UNSET_WEIGHT_DECAY applies)
    schedule: np.ndarray  # index into schedule names
    frozen: np.ndarray
    decayed: np.ndarray  # layer decay applied


def _values(policy, facets, rows: _Rows, base_lr: float, schedule_names) -> _Values:
    f = facets
    frozen = (f["frozen"].sets() & (f["frozen"].value == 1.0)) | ~rows.trainable
    lr = np.where(f["lr"].sets(), f["lr"].value, base_lr)
    lr = np.where(f["lr"].scales(), base_lr * f["lr"].value, lr)
    decayed = f["layer_decay"].sets() & ~frozen
    if decayed.any():
        missing = np.flatnonzero(decayed & (rows.layer < 0))
        if missing.shape[0]:
            i = missing[0]
            rule = policy.rules[f["layer_decay"].source[i]]
            raise SpecError(
                "groups.layers",
                f"parameter {rows.names[i]!r} gets layer decay from rule {rule.name!r} but has "
                "no layer id; extend groups.layers.pattern or add it to groups.layers.ids",
            )
        top = policy.layers.max_id
        if top is None:
            top = int(rows.layer[(rows.layer >= 0) & rows.trainable].max())
        index = np.flatnonzero(decayed)
        with np.errstate(over="ignore"):  # checked just below
            factor = f["layer_decay"].value[index] ** (top - rows.layer[index])
        huge = np.flatnonzero(~(factor <= 1e100))  # a layer above max_id: negative power
        if huge.shape[0]:
            i = int(index[huge[0]])
            rule = policy.rules[f["layer_decay"].source[i]]
            raise SpecError(
                f"groups.rules[{f['layer_decay'].source[i]}].layer_decay",
                f"rate {rule.layer_decay:g} ** {top - rows.layer[i]} (top layer {top} minus "
                f"layer {rows.layer[i]} of {rows.names[i]!r}) scales the lr by "
                f"{factor[huge[0]]:g}; raise groups.layers.max_id to the largest layer id",
            )
        decayed_lr = lr[index] * factor
        zero = np.flatnonzero((decayed_lr == 0) & (lr[index] > 0))
        if zero.shape[0]:
            i = int(index[zero[0]])
            r = int(f["layer_decay"].source[i])
            rule = policy.rules[r]
            raise SpecError(
                f"groups.rules[{r}].layer_decay",
                f"rule {rule.name!r}: rate {rule.layer_decay:g} ** {top - rows.layer[i]} (top "
                f"layer {top} minus layer {rows.layer[i]} of {rows.names[i]!r}) underflows the "
                f"lr {lr[i]:g} to 0; lower groups.layers.max_id or the layer ids, or raise "
                "the rate",
            )
        lr[index] = decayed_lr
    wd_state = f["weight_decay"]
    wd = np.where(wd_state.sets(), wd_state.value, np.nan)
    scaled = np.flatnonzero(wd_state.scales() & ~frozen)
    if scaled.shape[0]:
        default = policy.defaults.weight_decay if policy.defaults is not None else None
        if default is None:
            rule = policy.rules[wd_state.source[scaled[0]]]
            raise SpecError(
                "groups.defaults.weight_decay",
                f"is needed: rule {rule.name!r} scales it (wd_scale) for {rows.names[scaled[0]]!r}",
            )
        wd[scaled] = default * wd_state.value[scaled]
    schedule = np.where(
        f["schedule"].sets(), f["schedule"].value, schedule_names.index(DEFAULT_SCHEDULE)
    ).astype(np.int64)
    return _Values(lr, wd, schedule, frozen, decayed)


def _check_aliases(rows: _Rows, v: _Values) -> None:
    alias = np.flatnonzero(rows.owner != np.arange(len(rows.names)))
    if not alias.shape[0]:
        return
    main = rows.owner[alias]
    same = (v.lr[alias] == v.lr[main]) & (v.schedule[alias] == v.schedule[main])
    same &= (v.frozen[alias] == v.frozen[main]) | (v.frozen[alias] & v.frozen[main])
    wa, wm = v.weight_decay[alias], v.weight_decay[main]
    same &= (wa == wm) | (np.isnan(wa) & np.isnan(wm))
    bad = np.flatnonzero(~same)
    if bad.shape[0]:
        a, m = int(alias[bad[0]]), int(main[bad[0]])
        raise SpecError(
            "groups",
            f"tied parameter {rows.names[m]!r} and its alias {rows.names[a]!r} resolve "
            f"differently (lr {v.lr[m]:g} vs {v.lr[a]:g}, weight_decay {_wd(v, m)} vs "
            f"{_wd(v, a)}, frozen {bool(v.frozen[m])} vs {bool(v.frozen[a])}); make the "
            "rules select both names alike",
        )


def _wd(v: _Values, i: int) -> float | None:
    x = v.weight_decay[i]
    return None if np.isnan(x) else float(x)


class _Decisions(Mapping[str, Decision]):
    """Per-name decisions, built on access from the resolver's arrays."""

    def __init__(self, policy, rows, facets, values, base_lr, schedule_names) -> None:
        self._policy, self._rows, self._facets = policy, rows, facets
        self._values, self._base, self._schedules = values, base_lr, schedule_names

    @functools.cached_property
    def _index(self) -> dict[str, int]:  # built on first use: most callers never look
        return {name: i for i, name in enumerate(self._rows.names)}

    def __getitem__(self, name: str) -> Decision:
        i = self._index[name]
        v = self._values
        sources = {}
        for facet in FACETS:
            source = _source_name(self._policy, int(self._facets[facet].source[i]))
            if facet == "layer_decay" and not v.decayed[i]:
                continue
            sources[facet] = source
        if not self._rows.trainable[i]:
            sources["frozen"] = "trainable = false in the table"
        layer = int(self._rows.layer[i])
        return Decision(
            name,
            float(v.lr[i]),
            _ratio(float(v.lr[i]), self._base),
            _wd(v, i),
            self._schedules[v.schedule[i]],
            bool(v.frozen[i]),
            None if layer < 0 else layer,
            sources,
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _source_name(policy: GroupPolicy, source: int) -> str:
    if source >= 0:
        return f"rule {policy.rules[source].name!r}"
    return "defaults" if source == Source.DEFAULTS else "(base)"


def _unique(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-d array: ``np.unique``, which would import
    ``numpy.ma`` (40 ms, most of a CLI command's start-up) on its first call."""
    out = np.sort(values)
    if out.shape[0] < 2:
        return out
    return out[np.concatenate(([True], out[1:] != out[:-1]))]


def _distinct_pairs(group: np.ndarray, source: np.ndarray, rules: int) -> list[tuple[int, int]]:
    """The distinct ``(group, source)`` pairs of parallel arrays, sorted, in one numpy pass:
    each pair is packed into one integer, ``group * width + (source - Source.DEFAULTS)``,
    where ``width`` counts the possible sources (the rules, the defaults and the base)."""
    lowest = int(Source.DEFAULTS)
    width = rules - lowest
    packed = _unique(group * width + (source - lowest))
    groups, offsets = np.divmod(packed, width)
    return list(zip(groups.tolist(), (offsets + lowest).tolist(), strict=True))


def _ratio(lr: float, base: float) -> float:
    """``lr / base`` rounded to 15 significant digits: no float noise in a stored ratio."""
    return float(f"{lr / base:.15g}")


def _merge(policy, rows: _Rows, facets, v: _Values, base_lr: float, schedule_names) -> Resolution:
    canonical = np.flatnonzero(rows.owner == np.arange(len(rows.names)))
    frozen = canonical[v.frozen[canonical]]
    live = canonical[~v.frozen[canonical]]
    wd_key = np.where(np.isnan(v.weight_decay[live]), -1.0, v.weight_decay[live])
    # merge by (schedule, lr, weight_decay), table order inside a group
    order = np.lexsort((live, wd_key, v.lr[live], v.schedule[live]))
    members = live[order]
    keys = np.stack([v.schedule[members].astype(np.float64), v.lr[members], wd_key[order]])
    starts = np.flatnonzero(np.r_[True, np.any(keys[:, 1:] != keys[:, :-1], axis=0)])
    starts = starts[: members.shape[0]]  # no live parameter (all frozen): no group
    group_of = np.cumsum(np.r_[True, np.any(keys[:, 1:] != keys[:, :-1], axis=0)]) - 1
    count = len(starts)
    provenance: list[dict[str, tuple[str, ...]]] = [{} for _ in starts]
    formed: list[set[int]] = [set() for _ in starts]  # the rules that decide something
    layer_rules: list[set[int]] = [set() for _ in starts]
    decided = np.zeros(members.shape[0], bool)  # some rule decides a facet of the member
    for facet in ("lr", "layer_decay", "weight_decay", "schedule"):
        keep = v.decayed[members] if facet == "layer_decay" else np.ones(members.shape[0], bool)
        sources = facets[facet].source[members][keep]
        decided[keep] |= sources >= 0
        for g, source in _distinct_pairs(group_of[keep], sources, len(policy.rules)):
            provenance[g].setdefault(facet, ())
            provenance[g][facet] += (_source_name(policy, source),)
            if source >= 0:
                formed[g].add(source)
                if facet == "layer_decay":
                    layer_rules[g].add(source)
    for prov in provenance:
        for facet, names in prov.items():
            prov[facet] = tuple(sorted(names))
    bare = np.bincount(group_of[~decided], minlength=count) > 0 if count else []
    low = np.full(count, np.iinfo(np.int64).max, np.int64)
    high = np.full(count, -1, np.int64)
    layered = v.decayed[members]
    np.minimum.at(low, group_of[layered], rows.layer[members[layered]])
    np.maximum.at(high, group_of[layered], rows.layer[members[layered]])
    names, sort_keys = [], []
    for g in range(count):
        parts: list[tuple[tuple[int, int], str]] = []
        if bare[g] or not formed[g]:
            parts.append(((-1, -1), "default"))
        for r in sorted(formed[g]):
            if r in layer_rules[g]:
                lo, hi = int(low[g]), int(high[g])
                label = f"layer_{lo}" if lo == hi else f"layers_{lo}-{hi}"
                if label not in (text for _, text in parts):
                    parts.append(((r, lo), label))
            else:
                parts.append(((r, -1), policy.rules[r].name))
        names.append("+".join(text for _, text in parts))
        sort_keys.append(tuple(key for key, _ in parts))
    ranking = sorted(range(count), key=lambda g: (sort_keys[g], g))
    bounds = [*starts.tolist(), members.shape[0]]
    # members are sorted by their settings, then by table position (the last lexsort key):
    # each group's slice is already in table order
    member_names = list(map(rows.names.__getitem__, members.tolist()))
    seen: dict[str, int] = {}
    groups = []
    for g in ranking:
        first = int(members[bounds[g]])
        seen[names[g]] = seen.get(names[g], 0) + 1
        name = names[g] if seen[names[g]] == 1 else f"{names[g]}#{seen[names[g]]}"
        lr = float(v.lr[first])
        groups.append(
            Group(
                name,
                tuple(member_names[bounds[g] : bounds[g + 1]]),
                lr,
                _ratio(lr, base_lr),
                _wd(v, first),
                schedule_names[v.schedule[first]],
                provenance[g],
            )
        )
    aliases = {
        rows.names[i]: rows.names[rows.owner[i]]
        for i in np.flatnonzero(rows.owner != np.arange(len(rows.names)))
    }
    decisions = _Decisions(policy, rows, facets, v, base_lr, schedule_names)
    return Resolution(
        tuple(groups),
        tuple(map(rows.names.__getitem__, frozen.tolist())),
        decisions,
        base_lr,
        aliases,
    )
