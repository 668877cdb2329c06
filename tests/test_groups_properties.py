"""Property tests for group policies: random parameter tables against random rule sets.

Each resolution is compared with the naive reference resolver in ``group_strategies``, and
the structural promises are checked on every success: a partition of the trainable,
non-frozen parameters; groups that never mix settings, named by the rules that formed them
and in the documented order (rule order); independence from the order of the table, and of
the settings from the order of the rules; ``explain`` that agrees with the groups.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from group_strategies import SCHEDULES, ExpectedErrors, cases, expected
from schedcore.errors import SpecError
from schedcore.groups.policy import GroupPolicy
from schedcore.groups.resolve import Resolution, resolve
from schedcore.groups.table import ParamTable

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
base_lrs = st.sampled_from((1e-4, 1e-3, 0.1))

# Dead selectors: each matches no name the strategies can produce (there is no layer 7, no
# gamma; the last two are dead only because both of their criteria must hold).
DEAD_MATCHES = (
    {"prefix": "nowhere."},
    {"name": "enc.layer.7.attn.weight"},
    {"glob": "*.gamma"},
    {"regex": r"enc\.layer\.7\..*"},
    {"prefix": "head.", "tags": "embedding"},
    {"contains": "LayerNorm", "ndim": 2},
)


def run(groups: dict[str, Any], table: ParamTable, base_lr: float) -> Resolution:
    policy = GroupPolicy.from_dict(groups)  # the strategies only build loadable policies
    return resolve(policy, table, base_lr, SCHEDULES)


def outcome(groups: dict[str, Any], table: ParamTable, base_lr: float) -> Resolution | SpecError:
    try:
        return run(groups, table, base_lr)
    except SpecError as err:
        return err


def shape_of(res: Resolution) -> list[tuple[str, frozenset[str], float, float | None, str]]:
    """The groups as their names, sets of members and settings, in order."""
    return [(g.name, frozenset(g.params), g.lr, g.weight_decay, g.schedule) for g in res.groups]


def settings_of(res: Resolution) -> dict[frozenset[str], tuple[float, float | None, str]]:
    """The groups as sets of members with their settings, in no order."""
    return {frozenset(g.params): (g.lr, g.weight_decay, g.schedule) for g in res.groups}


NAMING_FACETS = ("lr", "layer_decay", "weight_decay", "schedule")


def check_names_and_order(res: Resolution, groups: dict[str, Any]) -> None:
    """Each name joins, in rule order, the rules that decide a naming facet of a member (a
    layer-decay rule written as its layer), with ``default`` for members no rule decides;
    groups are sorted by their rules' positions; names are unique."""
    position = {r["name"]: i for i, r in enumerate(groups.get("rules", []))}
    assert len({g.name for g in res.groups}) == len(res.groups), "two groups of one name"
    keys = []
    for g in res.groups:
        deciders: set[str] = set()
        layer_rules: set[str] = set()
        bare = False
        for member in g.params:
            sources = res.decisions[member].sources
            rules = {sources[f] for f in NAMING_FACETS if sources.get(f, "").startswith("rule ")}
            bare |= not rules
            deciders |= rules
            if "layer_decay" in sources:
                layer_rules.add(sources["layer_decay"])
        names = {s[len("rule '") : -1] for s in deciders - layer_rules}
        parts = g.name.split("#")[0].split("+")
        key = []
        for part in parts:
            if part == "default":
                key.append((-1, -1))
            elif re.fullmatch(r"layers?_\d+(-\d+)?", part) and layer_rules:
                low = int(re.findall(r"\d+", part)[0])
                first = min(position[s[len("rule '") : -1]] for s in layer_rules)
                key.append((first, low))
            else:
                assert part in names, (g.name, names)
                key.append((position[part], -1))
        assert {p for p in parts if p in position} == names, (g.name, names)
        assert ("default" in parts) == (bare or not deciders), g.name
        assert key == sorted(key), g.name
        keys.append(tuple(key))
    assert keys == sorted(keys), [g.name for g in res.groups]


def check_invariants(res: Resolution, table: ParamTable) -> None:
    owner = {a: p.name for p in table for a in p.aliases}
    # a partition of the trainable, non-frozen canonical names; frozen ones in none
    placed = [name for g in res.groups for name in g.params]
    assert len(placed) == len(set(placed)), "a parameter is in two groups"
    live = [p.name for p in table if not res.decisions[p.name].frozen]
    assert sorted(placed) == sorted(live)
    assert set(res.frozen) == {p.name for p in table if res.decisions[p.name].frozen}
    assert {p.name for p in table if not p.trainable} <= set(res.frozen)
    assert not set(owner) & set(placed), "an alias was placed as a parameter of its own"
    assert all(g.params for g in res.groups), "an empty group"
    # merging never mixes settings, and is minimal
    for g in res.groups:
        for name in g.params:
            d = res.decisions[name]
            assert (d.lr, d.weight_decay, d.schedule) == (g.lr, g.weight_decay, g.schedule)
            assert d.lr_scale == g.lr_scale
            assert math.isclose(g.lr_scale * res.base_lr, g.lr, rel_tol=1e-12)
    keys = [
        (g.schedule, g.lr, -1.0 if g.weight_decay is None else g.weight_decay) for g in res.groups
    ]
    assert len(set(keys)) == len(keys), "two groups with identical settings"
    assert all(g.lr_scale == float(f"{g.lr / res.base_lr:.15g}") for g in res.groups)
    # tied names resolve alike and share the group of their canonical name
    for alias, name in owner.items():
        assert res.group_of(alias) == res.group_of(name)


@SETTINGS
@given(case=cases(), base_lr=base_lrs)
def test_resolution_matches_the_reference(case, base_lr):
    table, groups = case
    try:
        want = expected(groups, table, base_lr)
    except ExpectedErrors as exp:
        event(f"error: {exp.errors[0].kind}")
        with pytest.raises(SpecError) as info:
            run(groups, table, base_lr)
        assert exp.matches(str(info.value)), (str(info.value), exp.errors)
        return
    event("resolved")
    res = run(groups, table, base_lr)
    assert set(res.decisions) == set(want)
    for name, w in want.items():
        d = res.decisions[name]
        assert d.frozen == w.frozen, name
        assert d.layer_id == w.layer_id, name
        if w.frozen:
            continue
        assert math.isclose(d.lr, w.lr, rel_tol=1e-12), (name, d.lr, w.lr)
        assert d.weight_decay == w.weight_decay, name
        assert d.schedule == w.schedule, name
    check_invariants(res, table)
    check_names_and_order(res, groups)


@SETTINGS
@given(case=cases(), base_lr=base_lrs, data=st.data())
def test_independent_of_table_order(case, base_lr, data):
    table, groups = case
    shuffled = ParamTable(tuple(data.draw(st.permutations(table.rows))))
    first, second = outcome(groups, table, base_lr), outcome(groups, shuffled, base_lr)
    assert isinstance(first, SpecError) == isinstance(second, SpecError), (first, second)
    if isinstance(first, SpecError):
        return
    assert shape_of(first) == shape_of(second)
    assert set(first.frozen) == set(second.frozen)
    assert first.decisions == second.decisions


@SETTINGS
@given(case=cases(), base_lr=base_lrs, data=st.data())
def test_independent_of_rule_order(case, base_lr, data):
    """Precedence is by priority, never by position: reordering the rules changes neither
    whether a policy is accepted nor what it resolves to (only the groups' order and the
    order of the rule names inside a group's name, which follow the rules)."""
    table, groups = case
    reordered = {**groups, "rules": data.draw(st.permutations(groups["rules"]))}
    first, second = outcome(groups, table, base_lr), outcome(reordered, table, base_lr)
    assert isinstance(first, SpecError) == isinstance(second, SpecError), (first, second)
    if isinstance(first, SpecError):
        return
    assert settings_of(first) == settings_of(second)
    assert first.frozen == second.frozen
    settings = lambda d: (d.lr, d.weight_decay, d.schedule, d.frozen, d.layer_id)  # noqa: E731
    # (not the sources: at a tie of equal values the first rule is named, so may the names)
    assert {n: settings(d) for n, d in first.decisions.items()} == {
        n: settings(d) for n, d in second.decisions.items()
    }
    check_names_and_order(second, reordered)


@SETTINGS
@given(case=cases(), base_lr=base_lrs)
def test_explain_agrees_with_the_groups(case, base_lr):
    table, groups = case
    res = outcome(groups, table, base_lr)
    if isinstance(res, SpecError):
        return
    owner = {a: p.name for p in table for a in p.aliases}
    for name, d in res.decisions.items():
        text = res.explain(name)
        assert text.startswith(f"{name}: ")
        if d.frozen:
            assert "frozen" in text.splitlines()[0]
            assert owner.get(name, name) in res.frozen
            continue
        head = re.match(
            rf"{re.escape(name)}: group (\d+) '([^']+)'(?:, layer (\d+))?$", text.splitlines()[0]
        )
        assert head, text
        index = int(head.group(1))
        group = res.groups[index]
        assert head.group(2) == group.name
        assert owner.get(name, name) in group.params
        assert (int(head.group(3)) if head.group(3) else None) == d.layer_id
        lr = re.search(r"^  lr\s+(\S+) ", text, re.M)
        assert lr and lr.group(1) == f"{group.lr:.6g}", text
        schedule = re.search(r"^  schedule\s+(\S+) ", text, re.M)
        assert schedule and schedule.group(1) == group.schedule
    with pytest.raises(KeyError):
        res.explain("no.such.parameter")


@SETTINGS
@given(
    case=cases(max_rules=4),
    base_lr=base_lrs,
    dead=st.sampled_from(DEAD_MATCHES),
    data=st.data(),
)
def test_dead_rule_is_an_error_naming_the_rule(case, base_lr, dead, data):
    table, groups = case
    rules = list(groups["rules"])
    at = data.draw(st.integers(0, len(rules)))
    rules.insert(at, {"name": "dead", "match": dead, "weight_decay": 0.0})
    groups = {**groups, "rules": rules}
    with pytest.raises(SpecError) as info:
        run(groups, table, base_lr)
    err = info.value
    # the first dead, non-optional rule is the one reported; "dead" unless an earlier one is
    index = int(re.fullmatch(r"groups\.rules\[(\d+)\]", err.path).group(1))
    assert index <= at
    assert f"rule {rules[index]['name']!r} matches no parameter" in str(err)
    assert "optional = true" in str(err)
    if index == at:
        event("the injected rule reported")


@SETTINGS
@given(
    case=cases(max_rules=4),
    base_lr=base_lrs,
    dead=st.sampled_from(DEAD_MATCHES),
    data=st.data(),
)
def test_optional_dead_rule_is_inert(case, base_lr, dead, data):
    table, groups = case
    rules = list(groups["rules"])
    at = data.draw(st.integers(0, len(rules)))
    extra = {"name": "dead", "match": dead, "optional": True, "lr": 1.0, "priority": 3}
    with_dead = {**groups, "rules": [*rules[:at], extra, *rules[at:]]}
    first, second = outcome(groups, table, base_lr), outcome(with_dead, table, base_lr)
    assert isinstance(first, SpecError) == isinstance(second, SpecError), (first, second)
    if isinstance(first, SpecError):
        assert first.problem == second.problem
        return
    assert shape_of(first) == shape_of(second)
    assert first.frozen == second.frozen
