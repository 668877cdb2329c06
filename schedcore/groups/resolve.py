"""Resolve a group policy against a parameter table: decisions, merged groups, explanations.

Resolution is vectorized over the table: each rule criterion is one pass over the names,
and facets are decided with numpy arrays, so a 100,000-parameter model resolves in a
fraction of a second.
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
import re
from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import SpecError
from .policy import FACETS, GroupPolicy, How, Selector
from .table import Param, ParamTable

DEFAULT_SCHEDULE = "default"
_LOWEST = np.iinfo(np.int64).min


class Source(enum.IntEnum):
    """Who decided a facet of a row when no rule did; a rule is its index in the policy
    (>= 0), so one int64 array holds every row's source."""

    DEFAULTS = -2
    """The ``groups.defaults`` table."""
    BASE = -1
    """Nothing: the base value (base lr, optimizer weight decay, default schedule)."""


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
    """Parameters with identical resolved settings, merged."""

    params: tuple[str, ...]
    lr: float
    lr_scale: float
    weight_decay: float | None
    schedule: str
    provenance: Mapping[str, tuple[str, ...]]

    def optimizer_options(self) -> dict[str, object]:
        """The group's options for a torch-style optimizer group: its absolute ``lr``, the
        ``schedule`` it follows and its ``weight_decay`` (left out when the policy leaves it
        to the optimizer)."""
        options: dict[str, object] = {"lr": self.lr, "schedule": self.schedule}
        if self.weight_decay is not None:
            options["weight_decay"] = self.weight_decay
        return options

    def to_dict(self) -> dict[str, object]:
        return {
            "params": list(self.params),
            "lr": self.lr,
            "lr_scale": self.lr_scale,
            "weight_decay": self.weight_decay,
            "schedule": self.schedule,
            "provenance": {k: list(v) for k, v in self.provenance.items()},
        }


@dataclasses.dataclass(frozen=True)
class Resolution:
    """The resolved groups, in a fixed order: sorted by ``(schedule, lr, weight_decay)``
    (``weight_decay = None``, the optimizer default, before any number); each group lists its
    canonical names in table order. ``frozen`` lists the excluded parameters in table order,
    ``decisions`` has one entry per name (aliases included), ``aliases`` maps alias -> name."""

    groups: tuple[Group, ...]
    frozen: tuple[str, ...]
    decisions: Mapping[str, Decision]
    base_lr: float
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def group_of(self, name: str) -> int | None:
        name = self.aliases.get(name, name)
        for i, g in enumerate(self.groups):
            if name in g.params:
                return i
        return None

    def explain(self, name: str) -> str:
        """How ``name`` (a canonical name or an alias) was resolved, facet by facet."""
        if name not in self.decisions:
            close = [n for n in self.decisions if name in n][:3]
            hint = f"; similar: {', '.join(close)}" if close else ""
            raise KeyError(f"no parameter named {name!r} in the table{hint}")
        d = self.decisions[name]
        if d.frozen:
            return f"{name}: frozen (excluded from the optimizer) by {d.sources['frozen']}"
        layer = "" if d.layer_id is None else f", layer {d.layer_id}"
        decay = f", layer decay <- {d.sources['layer_decay']}" if "layer_decay" in d.sources else ""
        wd = "optimizer default" if d.weight_decay is None else f"{d.weight_decay:g}"
        return "\n".join(
            [
                f"{name}: group {self.group_of(name)}{layer}",
                f"  lr            {d.lr:.6g} (x{d.lr_scale:.6g} of base {self.base_lr:g})"
                f"  <- {d.sources['lr']}{decay}",
                f"  weight_decay  {wd}  <- {d.sources['weight_decay']}",
                f"  schedule      {d.schedule}  <- {d.sources['schedule']}",
            ]
        )

    def table(self) -> str:
        """A printable table of the groups."""
        rows = [("group", "params", "lr", "x base", "weight_decay", "schedule", "decided by")]
        for i, g in enumerate(self.groups):
            wd = "default" if g.weight_decay is None else f"{g.weight_decay:g}"
            by = "; ".join(f"{k}: {', '.join(v)}" for k, v in g.provenance.items())
            rows.append(
                (str(i), str(len(g.params)), f"{g.lr:.4g}", f"{g.lr_scale:.4g}", wd, g.schedule, by)
            )
        if self.frozen:
            rows.append(("frozen", str(len(self.frozen)), "-", "-", "-", "-", "excluded"))
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows
        )


# -- the resolver -----------------------------------------------------------------------


@dataclasses.dataclass
class _Rows:
    """The table flattened to one row per name (aliases included), as parallel arrays."""

    names: list[str]
    params: list[Param]
    owner: np.ndarray  # index of the canonical row of each row
    trainable: np.ndarray
    ndim: np.ndarray
    layer: np.ndarray  # layer id, -1 if none

    @classmethod
    def of(cls, table: ParamTable, policy: GroupPolicy) -> _Rows:
        names, params, owner = [], [], []
        for p in table:
            canonical = len(names)
            names.append(p.name)
            params.append(p)
            owner.append(canonical)
            for alias in p.aliases:
                names.append(alias)
                params.append(p)
                owner.append(canonical)
        trainable = np.fromiter((p.trainable for p in params), bool, len(params))
        ndim = np.fromiter((len(p.shape) for p in params), np.int64, len(params))
        return cls(names, params, np.asarray(owner), trainable, ndim, _layer_ids(policy, names))


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
    """Decide every parameter's settings and merge them into the minimal set of groups."""
    rows = _Rows.of(table, policy)
    masks = [_select(rule.match, rows) for rule in policy.rules]
    for i, (rule, mask) in enumerate(zip(policy.rules, masks, strict=True)):
        if not rule.optional and not mask.any():
            raise SpecError(
                f"groups.rules[{i}]",
                f"rule {rule.name!r} matches no parameter; check its match "
                f"({_describe_selector(rule.match)}) or mark it optional = true",
            )
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


def _select(sel: Selector, rows: _Rows) -> np.ndarray:
    n = len(rows.names)
    mask = np.ones(n, dtype=bool)

    def narrow(test, over: list) -> None:
        index = np.flatnonzero(mask)
        items = over if index.shape[0] == n else [over[i] for i in index]
        keep = np.fromiter(map(test, items), dtype=bool, count=index.shape[0])
        mask[index[~keep]] = False

    if sel.ndim:
        mask &= np.isin(rows.ndim, sel.ndim)
    if sel.layers is not None:
        mask &= (rows.layer >= sel.layers[0]) & (rows.layer <= sel.layers[1])
    if sel.prefix:
        prefixes = sel.prefix
        narrow(lambda name: name.startswith(prefixes), rows.names)
    if sel.contains:
        parts = sel.contains
        narrow(lambda name: any(part in name for part in parts), rows.names)
    if sel.name:
        exact = frozenset(sel.name)
        narrow(exact.__contains__, rows.names)
    if sel.glob or sel.regex:
        patterns = [fnmatch.translate(g) for g in sel.glob] + list(sel.regex)
        combined = re.compile("|".join(f"(?:{p})" for p in patterns)).fullmatch
        narrow(lambda name: combined(name) is not None, rows.names)
    if sel.tags:
        wanted = frozenset(sel.tags)
        narrow(lambda p: not p.tags.isdisjoint(wanted), rows.params)
    if sel.shape is not None:
        shape = tuple(sel.shape)
        narrow(lambda p: p.shape == shape, rows.params)
    return mask


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
            else (How.SCALE, d.lr_mult)
            if d.lr_mult is not None
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
        for i in better:
            pending.pop(int(i), None)
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
    search = re.compile(layers.pattern).search if layers.pattern else None
    offset = layers.offset
    for j, name in enumerate(names):
        m = explicit(name) if explicit is not None else None
        if m is not None:
            out[j] = ids[int(m.lastgroup[1:])]
            continue
        m = search(name) if search is not None else None
        if m is not None:
            captured = m.group(1)
            # ASCII digits only: str.isdigit() also accepts '²', which int() refuses
            if captured is not None and captured.isascii() and captured.isdigit():
                if len(captured) > 15:  # beyond 2**53: no layer id is that large
                    raise SpecError(
                        "groups.layers.pattern",
                        f"captures the layer id {captured[:20]}... from {name[:60]!r}; "
                        "layer ids must be at most 2**53",
                    )
                out[j] = int(captured) + offset
    return out


@dataclasses.dataclass
class _Values:
    lr: np.ndarray
    weight_decay: np.ndarray  # NaN: optimizer default
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
        lr[index] = lr[index] * factor
    wd_state = f["weight_decay"]
    wd = np.where(wd_state.sets(), wd_state.value, np.nan)
    scaled = np.flatnonzero(wd_state.scales() & ~frozen)
    if scaled.shape[0]:
        default = policy.defaults.weight_decay if policy.defaults is not None else None
        if default is None:
            rule = policy.rules[wd_state.source[scaled[0]]]
            raise SpecError(
                "groups.defaults.weight_decay",
                f"is needed: rule {rule.name!r} scales it (wd_mult) for {rows.names[scaled[0]]!r}",
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
        self._index = {name: i for i, name in enumerate(rows.names)}

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
            float(v.lr[i] / self._base),
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


def _distinct_pairs(group: np.ndarray, source: np.ndarray, rules: int) -> list[tuple[int, int]]:
    """The distinct ``(group, source)`` pairs of parallel arrays, sorted, in one numpy pass:
    each pair is packed into one integer, ``group * width + (source - Source.DEFAULTS)``,
    where ``width`` counts the possible sources (the rules, the defaults and the base)."""
    lowest = int(Source.DEFAULTS)
    width = rules - lowest
    packed = np.unique(group * width + (source - lowest))
    groups, offsets = np.divmod(packed, width)
    return list(zip(groups.tolist(), (offsets + lowest).tolist(), strict=True))


def _merge(policy, rows: _Rows, facets, v: _Values, base_lr: float, schedule_names) -> Resolution:
    canonical = np.flatnonzero(rows.owner == np.arange(len(rows.names)))
    frozen = canonical[v.frozen[canonical]]
    live = canonical[~v.frozen[canonical]]
    wd_key = np.where(np.isnan(v.weight_decay[live]), -1.0, v.weight_decay[live])
    # sort by (schedule, lr, weight_decay), then table order inside a group
    order = np.lexsort((live, wd_key, v.lr[live], v.schedule[live]))
    members = live[order]
    keys = np.stack([v.schedule[members].astype(np.float64), v.lr[members], wd_key[order]])
    starts = np.flatnonzero(np.r_[True, np.any(keys[:, 1:] != keys[:, :-1], axis=0)])
    starts = starts[: members.shape[0]]  # no live parameter (all frozen): no group
    group_of = np.cumsum(np.r_[True, np.any(keys[:, 1:] != keys[:, :-1], axis=0)]) - 1
    provenance: list[dict[str, tuple[str, ...]]] = [{} for _ in starts]
    for facet in ("lr", "layer_decay", "weight_decay", "schedule"):
        keep = v.decayed[members] if facet == "layer_decay" else np.ones(members.shape[0], bool)
        sources = facets[facet].source[members][keep]
        for g, source in _distinct_pairs(group_of[keep], sources, len(policy.rules)):
            provenance[g].setdefault(facet, ())
            provenance[g][facet] += (_source_name(policy, source),)
    for prov in provenance:
        for facet, names in prov.items():
            prov[facet] = tuple(sorted(names))
    groups = []
    ends = [*starts[1:], members.shape[0]][: len(starts)]
    for g, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        idx = members[lo:hi]
        first = int(idx[0])
        groups.append(
            Group(
                tuple(rows.names[i] for i in idx),
                float(v.lr[first]),
                float(v.lr[first] / base_lr),
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
        tuple(groups), tuple(rows.names[i] for i in frozen), decisions, base_lr, aliases
    )
