"""Hypothesis strategies for parameter tables and group policies, plus a reference resolver.

The reference (``expected``) is an independent, deliberately naive reading of the rules in
``schedcore/groups/policy.py``: per parameter, the matching rules; per facet, the highest priority
decides and two different values at that priority are a conflict. It collects *every*
problem, so a test can demand that resolve() raises exactly when there is one and that its
message names one of them:

- a non-optional rule that matches nothing, or an unknown schedule;
- an item of a match list (not in ``match.optional``) that selects no parameter the rule's
  other conditions allow;
- a facet of a name whose deciding rules disagree (naming both rules and the name);
- a trainable parameter no rule matches (without defaults); a layer-decayed parameter
  without a layer id; ``wd_scale`` without a default weight decay (trainable ones only);
- an alias that resolves differently from its canonical name.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from typing import Any

from hypothesis import strategies as st

from schedcore.groups.policy import FACETS
from schedcore.groups.table import Param, ParamTable

MODULES = ("emb", "enc.layer.0", "enc.layer.1", "enc.layer.2", "enc.layer.11", "head", "pool")
SUBS = ("attn", "ffn", "LayerNorm", "")
LEAVES = ("weight", "bias")
UNIVERSE = tuple(
    ".".join(p for p in (m, s, leaf) if p) for m in MODULES for s in SUBS for leaf in LEAVES
)
SCHEDULES = frozenset({"default", "slow"})
# BERT-style ids: embeddings 0, layer i -> i + 1, pooler and head 13 (tied.* aliases: none)
LAYERS = {
    "pattern": r"layer\.(\d+)\.",
    "offset": 1,
    "ids": {"emb.*": 0, "pool.*": 13, "head.*": 13},
}

# Selector vocabulary: every item passes the pattern lints and most of them match something.
PREFIXES = ("emb.", "enc.", "enc.layer.1", "head.", "pool.", "tied.")
SUBSTRINGS = ("bias", "LayerNorm", "attn", "weight", "ffn")
GLOBS = ("*.bias", "enc.layer.*.ffn.*", "head.*", "*LayerNorm*", "emb.*")
# each regex compiles on its own: inline flags, named groups and backreferences work
REGEXES = (
    r"enc\.layer\.\d+\.attn\..*",
    r".*\.bias",
    r"(emb|pool)\..*",
    r"enc\.layer\.1\d?\..*",
    r"(?i).*layernorm.*",
    r"(?P<m>[a-z]+)\.(?P=m)?.*weight",
    r"enc\.layer\.(\d)\1?\..*",
)
TAGS = ("bias", "norm", "embedding")

BASE_LRS = (1e-4, 1e-3, 0.1)
LRS = (1e-5, 1e-3, 1e-2)
LR_SCALES = (0.1, 0.5, 1.0, 2.0)
WDS = (0.0, 0.01, 0.05)
WD_SCALES = (0.0, 0.5, 1.0)
RATES = (0.5, 0.9)


def _row(name: str, trainable: bool, alias: str | None) -> Param:
    leaf_is_vector = name.endswith("bias") or "LayerNorm" in name
    tags = set()
    if name.endswith("bias"):
        tags.add("bias")
    if "LayerNorm" in name:
        tags.add("norm")
    if name.startswith("emb."):
        tags.add("embedding")
    shape = (4,) if leaf_is_vector else (4, 4)
    return Param(name, shape, trainable, frozenset(tags), (alias,) if alias else ())


@st.composite
def tables(draw: Any, min_size: int = 1, max_size: int = 24, aliases: bool = True) -> ParamTable:
    """A BERT-like table: names from ``UNIVERSE`` in random order, some frozen, a few tied."""
    names = draw(
        st.lists(st.sampled_from(UNIVERSE), min_size=min_size, max_size=max_size, unique=True)
    )
    rows = []
    for i, name in enumerate(names):
        trainable = draw(st.sampled_from((True, True, True, True, False)))
        alias = None
        if aliases and name.endswith("weight") and draw(st.integers(0, 9)) == 0:
            alias = f"tied.{i}.weight"
        rows.append(_row(name, trainable, alias))
    return ParamTable(tuple(rows))


@st.composite
def selectors(draw: Any, with_layers: bool, names: tuple[str, ...] = UNIVERSE) -> dict[str, Any]:
    criteria = {
        "prefix": st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=2, unique=True),
        "contains": st.lists(st.sampled_from(SUBSTRINGS), min_size=1, max_size=2, unique=True),
        "glob": st.lists(st.sampled_from(GLOBS), min_size=1, max_size=2, unique=True),
        "regex": st.lists(st.sampled_from(REGEXES), min_size=1, max_size=2, unique=True),
        "name": st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True),
        "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
        "ndim": st.sampled_from(([1], [2], [1, 2])),
        "shape": st.sampled_from(([4], [4, 4])),
    }
    if with_layers:
        criteria["layers"] = st.sampled_from(([0, 1], [2, 12], [1, 3]))
    # mostly one criterion: two of them (both must hold) often select nothing
    size = draw(st.sampled_from((1, 1, 2)))
    keys = draw(
        st.lists(st.sampled_from(sorted(criteria)), min_size=size, max_size=size, unique=True)
    )
    out = {k: draw(criteria[k]) for k in keys}
    items = [i for k in keys if k in ITEM_KEYS for i in out[k]]
    if items and draw(st.integers(0, 2)) == 0:  # some items may select nothing
        out["optional"] = draw(st.lists(st.sampled_from(items), min_size=1, unique=True))
    return out


ITEM_KEYS = ("glob", "regex", "prefix", "contains", "name", "tags")
"""The match lists whose items ``optional`` may name."""


@st.composite
def rule_effects(draw: Any, with_layers: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lr = draw(st.sampled_from((None, None, "lr", "lr_scale")))
    if lr == "lr":
        out["lr"] = draw(st.sampled_from(LRS))
    elif lr == "lr_scale":
        out["lr_scale"] = draw(st.sampled_from(LR_SCALES))
    wd = draw(st.sampled_from((None, None, "weight_decay", "weight_decay", "wd_scale")))
    if wd == "weight_decay":
        out["weight_decay"] = draw(st.sampled_from(WDS))
    elif wd == "wd_scale":
        out["wd_scale"] = draw(st.sampled_from(WD_SCALES))
    frozen = draw(st.sampled_from((None, None, None, None, True, False)))
    if frozen is not None:
        out["frozen"] = frozen
    schedule = draw(st.sampled_from((None, None, "default", "slow")))
    if schedule is not None:
        out["schedule"] = schedule
    if with_layers and draw(st.integers(0, 3)) == 0:
        out["layer_decay"] = draw(st.sampled_from(RATES))
    if not out:
        out["lr_scale"] = draw(st.sampled_from(LR_SCALES))
    return out


@st.composite
def policies(draw: Any, max_rules: int = 5, names: tuple[str, ...] = UNIVERSE) -> dict[str, Any]:
    """A ``groups`` table: rules named r0, r1, ..., optional defaults and layers. ``name``
    selectors pick from ``names`` (give the table's names to make them match)."""
    with_layers = draw(st.booleans())
    n = draw(st.integers(0, max_rules))
    rules = []
    for i in range(n):
        rule: dict[str, Any] = {"name": f"r{i}", "match": draw(selectors(with_layers, names))}
        rule.update(draw(rule_effects(with_layers)))
        priority = draw(st.sampled_from((0, 0, 1, 2, -1)))
        if priority:
            rule["priority"] = priority
        if draw(st.integers(0, 3)) == 0:
            rule["optional"] = True
        rules.append(rule)
    if draw(st.integers(0, 3)) == 0:
        # a deciding rule above the rest, anywhere in the list: it settles every lower
        # disagreement about the facet it sets, whatever its position
        boss: dict[str, Any] = {"name": f"r{n}", "match": {"glob": "*"}, "priority": 3}
        boss.update(draw(st.sampled_from(({"lr": 1e-2}, {"weight_decay": 0.0}, {"lr_scale": 0.5}))))
        rules.insert(draw(st.integers(0, len(rules))), boss)
    data: dict[str, Any] = {"rules": rules}
    if not rules or draw(st.integers(0, 3)) > 0:
        defaults: dict[str, Any] = {}
        lr = draw(st.sampled_from((None, "lr", "lr_scale")))
        if lr == "lr":
            defaults["lr"] = draw(st.sampled_from(LRS))
        elif lr == "lr_scale":
            defaults["lr_scale"] = draw(st.sampled_from(LR_SCALES))
        if draw(st.integers(0, 3)) > 0:
            defaults["weight_decay"] = draw(st.sampled_from(WDS))
        if draw(st.integers(0, 3)) == 0:
            defaults["schedule"] = "slow"
        data["defaults"] = defaults
    if with_layers:
        data["layers"] = LAYERS
    return data


# -- the reference resolver ---------------------------------------------------------------


def _items(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def layer_id(name: str, layers: dict[str, Any] | None) -> int | None:
    if layers is None:
        return None
    for glob, ident in layers.get("ids", {}).items():
        if fnmatch.fnmatchcase(name, glob):
            return ident
    m = re.search(layers["pattern"], name) if layers.get("pattern") else None
    return int(m.group(1)) + layers.get("offset", 0) if m else None


def item_holds(key: str, item: Any, name: str, param: Param, lid: int | None) -> bool:
    """One item of one condition, on its own (no pattern is ever joined with another)."""
    if key == "prefix":
        return name.startswith(item)
    if key == "contains":
        return item in name
    if key == "name":
        return name == item
    if key == "glob":
        return fnmatch.fnmatchcase(name, item)
    if key == "regex":
        return re.fullmatch(item, name) is not None
    if key == "tags":
        return item in param.tags
    if key == "ndim":
        return len(param.shape) == item
    if key == "shape":
        return tuple(param.shape) == tuple(item)
    if key == "layers":
        return lid is not None and item[0] <= lid <= item[1]
    raise AssertionError(key)


def condition_items(match: dict[str, Any]) -> dict[str, list[Any]]:
    """Each condition of a match table with its items (``shape``, ``layers``: one item)."""
    out = {}
    for key, value in match.items():
        if key == "optional":
            continue
        if key in ("shape", "layers"):
            out[key] = [value]
        elif key == "ndim":
            out[key] = [value] if isinstance(value, int) else list(value)
        else:
            out[key] = _items(value)
    return out


def matches(match: dict[str, Any], name: str, param: Param, lid: int | None) -> bool:
    """Every condition holds (AND); within one, any of its items (OR)."""
    return all(
        any(item_holds(key, item, name, param, lid) for item in items)
        for key, items in condition_items(match).items()
    )


def dead_items(
    match: dict[str, Any], rows: list[tuple[str, Param]], ids: list[int | None]
) -> list[tuple[str, int]]:
    """``(condition, index)`` of each item (not optional) that selects no row the other
    conditions allow."""
    conditions = condition_items(match)
    optional = _items(match.get("optional", ()))
    out = []
    for key, items in conditions.items():
        for j, item in enumerate(items):
            if item in optional and key in ITEM_KEYS:
                continue
            alive = False
            for (name, param), lid in zip(rows, ids, strict=True):
                if not item_holds(key, item, name, param, lid):
                    continue
                others = all(
                    any(item_holds(k, x, name, param, lid) for x in xs)
                    for k, xs in conditions.items()
                    if k != key
                )
                if others:
                    alive = True
                    break
            if not alive:
                out.append((key, j))
    return out


def effects(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "lr" in rule:
        out["lr"] = ("abs", float(rule["lr"]))
    elif "lr_scale" in rule:
        out["lr"] = ("mult", float(rule["lr_scale"]))
    if "weight_decay" in rule:
        out["weight_decay"] = ("abs", float(rule["weight_decay"]))
    elif "wd_scale" in rule:
        out["weight_decay"] = ("mult", float(rule["wd_scale"]))
    for facet in ("frozen", "schedule", "layer_decay"):
        if facet in rule:
            out[facet] = rule[facet]
    return out


@dataclasses.dataclass(frozen=True)
class Expected:
    lr: float
    weight_decay: float | None
    schedule: str
    frozen: bool
    layer_id: int | None


class ExpectedError(Exception):
    """One error resolve() may raise: its kind and the words its message must hold."""

    def __init__(self, kind: str, *words: str) -> None:
        super().__init__(kind, words)
        self.kind, self.words = kind, words


class ExpectedErrors(Exception):
    """Every problem the reference found; resolve() must raise one of them (which one comes
    first is the resolver's business)."""

    def __init__(self, errors: list[ExpectedError]) -> None:
        super().__init__(errors)
        self.errors = errors

    def matches(self, message: str) -> bool:
        return any(all(w in message for w in e.words) for e in self.errors)


def expected(
    groups: dict[str, Any],
    table: ParamTable,
    base_lr: float,
    schedules: frozenset[str] = SCHEDULES,
) -> dict[str, Expected]:
    """Every name's (and alias's) expected settings, or raise every problem found."""
    rules = groups.get("rules", [])
    defaults = groups.get("defaults")
    layers = groups.get("layers")
    rows = [(n, p) for p in table for n in (p.name, *p.aliases)]
    ids = [layer_id(n, layers) for n, _ in rows]
    hits = [
        [matches(r["match"], n, p, lid) for (n, p), lid in zip(rows, ids, strict=True)]
        for r in rules
    ]
    errors: list[ExpectedError] = []
    # dead rules and unknown schedules
    for i, (rule, hit) in enumerate(zip(rules, hits, strict=True)):
        if not rule.get("optional", False) and not any(hit):
            errors.append(ExpectedError("dead", rule["name"], "matches no parameter"))
        elif not rule.get("optional", False):
            for key, j in dead_items(rule["match"], rows, ids):
                path = f"groups.rules[{i}].match.{key}[{j}]: "
                errors.append(ExpectedError("item", path))
        if "schedule" in rule and rule["schedule"] not in schedules:
            errors.append(ExpectedError("schedule", rule["schedule"]))
    # per facet, the deciding rules (highest priority among matching rules that set it)
    winner: dict[tuple[str, int], dict[str, Any]] = {}
    for facet in FACETS:
        for i, (name, _) in enumerate(rows):
            setters = [
                r for r, hit in zip(rules, hits, strict=True) if hit[i] and facet in effects(r)
            ]
            if not setters:
                continue
            top = max(r.get("priority", 0) for r in setters)
            deciding = [r for r in setters if r.get("priority", 0) == top]
            first = deciding[0]
            for other in deciding[1:]:
                if effects(other)[facet] != effects(first)[facet]:
                    errors.append(
                        ExpectedError("conflict", first["name"], other["name"], name, facet)
                    )
                    break
            winner[(facet, i)] = first
    # per row
    trainable_ids = [
        lid for (_, p), lid in zip(rows, ids, strict=True) if p.trainable and lid is not None
    ]
    if layers is not None and layers.get("max_id") is not None:
        max_id = layers["max_id"]
    else:
        max_id = max(trainable_ids) if trainable_ids else None
    out: dict[str, Expected] = {}
    for i, (name, param) in enumerate(rows):
        if param.trainable and not any(hit[i] for hit in hits) and defaults is None:
            errors.append(ExpectedError("coverage", name, "matches no rule"))

        def value(facet: str, i: int = i) -> Any:
            rule = winner.get((facet, i))
            return None if rule is None else effects(rule)[facet]

        frozen = bool(value("frozen")) or not param.trainable
        lr_effect = value("lr")
        if lr_effect is None and defaults is not None:
            if "lr" in defaults:
                lr_effect = ("abs", defaults["lr"])
            elif "lr_scale" in defaults:
                lr_effect = ("mult", defaults["lr_scale"])
        if lr_effect is None:
            lr = base_lr
        else:
            lr = lr_effect[1] if lr_effect[0] == "abs" else base_lr * lr_effect[1]
        rate = value("layer_decay")
        if rate is not None and not frozen:
            if ids[i] is None or max_id is None:
                errors.append(ExpectedError("layer", name, "no layer id"))
            else:
                lr = lr * rate ** (max_id - ids[i])
        default_wd = None if defaults is None else defaults.get("weight_decay")
        wd_effect = value("weight_decay")
        if wd_effect is None:
            wd = default_wd
        elif wd_effect[0] == "abs":
            wd = wd_effect[1]
        elif default_wd is None:
            wd = None
            if not frozen:  # a frozen parameter has no weight decay to scale
                errors.append(ExpectedError("wd_scale", name, "wd_scale"))
        else:
            wd = default_wd * wd_effect[1]
        schedule = value("schedule") or (defaults or {}).get("schedule") or "default"
        out[name] = Expected(lr, wd, schedule, frozen, ids[i])
    # tied parameters: the alias must resolve like its canonical name
    for p in table:
        for alias in p.aliases:
            if out[alias] != dataclasses.replace(out[p.name], layer_id=out[alias].layer_id):
                errors.append(ExpectedError("alias", p.name, alias))
    if errors:
        raise ExpectedErrors(errors)
    return out


@st.composite
def cases(draw: Any, max_rules: int = 5) -> tuple[ParamTable, dict[str, Any]]:
    """A table and a policy whose ``name`` selectors mostly pick the table's own names."""
    table = draw(tables())
    names = tuple(n for p in table for n in (p.name, *p.aliases))
    pool = names + UNIVERSE[:4] if draw(st.integers(0, 3)) else UNIVERSE
    return table, draw(policies(max_rules=max_rules, names=pool))
