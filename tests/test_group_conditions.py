"""How a rule's match conditions combine: each condition kind is tested on its own and ANDed
with the others; the items of one list are alternatives (OR). Regexes compile one by one
(inline flags, named groups, backreferences work); invalid or catastrophic ones are refused
when the recipe loads.

The property test compares the resolver with a reference written here: one loop over the
parameters, each condition evaluated separately, no pattern ever joined with another.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from group_strategies import GLOBS, PREFIXES, REGEXES, SUBSTRINGS, TAGS, UNIVERSE, tables
from schedcore.errors import SpecError
from schedcore.groups.policy import GroupPolicy
from schedcore.groups.resolve import resolve
from schedcore.groups.table import Param, ParamTable
from schedcore.recipes import load

SELECTED_LR = 0.5

CONDITIONS = {
    "prefix": st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=3, unique=True),
    "contains": st.lists(st.sampled_from(SUBSTRINGS), min_size=1, max_size=3, unique=True),
    "glob": st.lists(st.sampled_from(GLOBS), min_size=1, max_size=3, unique=True),
    "regex": st.lists(st.sampled_from(REGEXES), min_size=1, max_size=3, unique=True),
    "name": st.lists(st.sampled_from(UNIVERSE), min_size=1, max_size=6, unique=True),
    "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
    "ndim": st.sampled_from(([1], [2], [1, 2])),
    "shape": st.sampled_from(([4], [4, 4])),
}


def reference_selects(match: dict[str, Any], p: Param) -> bool:
    """One parameter, each condition on its own: all conditions hold, any item of each."""
    for kind, items in match.items():
        if kind == "optional":
            continue
        if kind == "prefix":
            ok = any(p.name.startswith(x) for x in items)
        elif kind == "contains":
            ok = any(x in p.name for x in items)
        elif kind == "glob":
            ok = any(fnmatch.fnmatchcase(p.name, x) for x in items)
        elif kind == "regex":
            ok = any(re.fullmatch(x, p.name) is not None for x in items)
        elif kind == "name":
            ok = p.name in items
        elif kind == "tags":
            ok = any(x in p.tags for x in items)
        elif kind == "ndim":
            ok = len(p.shape) in items
        elif kind == "shape":
            ok = p.shape == tuple(items)
        else:
            raise AssertionError(kind)
        if not ok:
            return False
    return True


@st.composite
def multi_condition_matches(draw: Any) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(sorted(CONDITIONS)), min_size=2, max_size=4, unique=True))
    match = {k: draw(CONDITIONS[k]) for k in kinds}
    # every item optional: this test is about selection, not about dead items
    match["optional"] = [
        x for k in kinds if k not in ("ndim", "shape") for x in match[k] if isinstance(x, str)
    ]
    if not match["optional"]:
        del match["optional"]
    return match


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(aliases=False), match=multi_condition_matches())
def test_conditions_are_anded_and_items_ored_like_the_reference(table, match):
    groups = {
        "defaults": {},
        "rules": [{"name": "r", "match": match, "lr": SELECTED_LR, "optional": True}],
    }
    try:
        res = resolve(GroupPolicy.from_dict(groups), table, 1e-3)
    except SpecError as err:  # only the ndim items can still be dead
        assert ".match.ndim[" in err.path, err
        return
    got = {n for n, d in res.decisions.items() if d.lr == SELECTED_LR}
    assert got == {p.name for p in table if reference_selects(match, p)}


ROWS = [
    {"name": "enc.weight", "shape": [4, 4]},
    {"name": "enc.bias", "shape": [4], "tags": ["bias"]},
    {"name": "enc.LayerNorm.weight", "shape": [4], "tags": ["norm"]},
    {"name": "head.weight", "shape": [2, 4]},
    {"name": "head.bias", "shape": [2], "tags": ["bias"]},
    {"name": "xx.weight", "shape": [1]},
]


def selected(match: dict[str, Any], rows: list[Any] = ROWS) -> set[str]:
    groups = {"defaults": {}, "rules": [{"name": "r", "match": match, "lr": SELECTED_LR}]}
    res = resolve(GroupPolicy.from_dict(groups), ParamTable.of(rows), 1e-3)
    return {n for n, d in res.decisions.items() if d.lr == SELECTED_LR}


def test_glob_and_regex_together_must_both_hold():
    """The issue's case: a name satisfying only one of them used to be selected."""
    assert selected({"glob": "head.*", "regex": r".*\.bias"}) == {"head.bias"}
    assert selected({"glob": "*.bias", "regex": r"enc\..*"}) == {"enc.bias"}
    assert selected({"glob": ["head.*", "enc.*"], "regex": r".*bias"}) == {"enc.bias", "head.bias"}
    assert selected({"prefix": "enc.", "tags": "norm", "ndim": 1}) == {"enc.LayerNorm.weight"}


def test_each_regex_compiles_on_its_own():
    assert selected({"regex": "(?i).*layernorm.*"}) == {"enc.LayerNorm.weight"}
    assert selected({"regex": [r"(?i)ENC\.BIAS", r"head\..*"]}) == {
        "enc.bias",
        "head.weight",
        "head.bias",
    }
    # named groups of one name in two regexes, and backreferences
    assert selected({"regex": [r"(?P<m>enc)\.bias", r"(?P<m>head)\.bias"]}) == {
        "enc.bias",
        "head.bias",
    }
    assert selected({"regex": r"(x)\1\.weight"}) == {"xx.weight"}
    assert selected({"regex": [r"(x)\1\..*", r"(h)ead\.bias"]}) == {"xx.weight", "head.bias"}


def test_an_invalid_regex_is_a_spec_error_naming_the_rule():
    rules = [
        {"name": "a", "match": {"prefix": "enc."}, "lr": 1.0},
        {"name": "b", "match": {"prefix": "head."}, "lr": 1.0},
        {"name": "c", "match": {"regex": ["("]}, "lr": 1.0},
    ]
    with pytest.raises(SpecError) as info:
        load({"lr": 1e-3, "groups": {"defaults": {}, "rules": rules}})
    assert str(info.value).startswith(
        "groups.rules[2].match.regex[0]: invalid regular expression '(': "
    ), str(info.value)


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "(a*)*", "(a|a)*", "(aa|aa)*$", r"(\w+\w)+", r"(\d+|x)+", "(a{1,5})+"]
)
def test_catastrophic_regexes_are_refused_at_load(pattern):
    for where in ("rule", "layers"):
        groups: dict[str, Any] = {"defaults": {}}
        if where == "rule":
            groups["rules"] = [{"name": "r", "match": {"regex": [pattern]}, "lr": 1.0}]
        else:
            groups["layers"] = {"pattern": f"{pattern}(\\d)"}
        with pytest.raises(SpecError) as info:
            load({"lr": 1e-3, "groups": groups})
        err = info.value
        expected = "groups.rules[0].match.regex[0]" if where == "rule" else "groups.layers.pattern"
        assert err.path == expected, str(err)
        assert "exponential time" in err.problem and repr(pattern)[1:-1] in err.problem


@pytest.mark.parametrize(
    "pattern",
    [r"(?:\w+\.)*weight", r"([a-z]+\.)+bias", r"(\.\w+)*", r"(emb|enc)\..*", r"(a|ab)*c"],
)
def test_safe_repeats_are_accepted(pattern):
    load(
        {
            "lr": 1e-3,
            "groups": {
                "defaults": {},
                "rules": [{"name": "r", "match": {"regex": pattern}, "lr": 1.0, "optional": True}],
            },
        }
    )
