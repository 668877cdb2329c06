"""Every match item accounts for itself; framework-neutral hints; parameter tables that save
and load; layer-decay underflow; "did you mean" for unknown fields.

Expected messages and counts are written out by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from schedcore.errors import SpecError
from schedcore.examples import BERT_PARAMS, BERT_RECIPE
from schedcore.groups.policy import GroupPolicy
from schedcore.groups.resolve import resolve
from schedcore.groups.table import Param, ParamTable
from schedcore.recipes import load

BERT_TOML = BERT_RECIPE.read_text(encoding="utf-8")
TAGS = 'tags = ["bias", "norm"]'
HEAD = 'prefix = ["lstm.", "linear_layer."]'


def bind_error(toml: str) -> SpecError:
    recipe = load(toml)  # each item alone is well formed: it loads
    with pytest.raises(SpecError) as info:
        recipe.bind(BERT_PARAMS)
    return info.value


def error(groups: dict[str, Any], rows: list[Any]) -> SpecError:
    with pytest.raises(SpecError) as info:
        resolve(GroupPolicy.from_dict(groups), ParamTable.of(rows), 1e-3)
    return info.value


# -- the seed's typos on the bundled BERT + LSTM table ------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path", "start", "suggestion"),
    [
        (TAGS, 'contains = ["bais", "LayerNorm"]', "groups.rules[1].match.contains[0]",
         "'bais' matches no parameter", "did you mean 'bias' (101 parameters)?"),
        (TAGS, 'contains = ["bias", "LayerNrom"]', "groups.rules[1].match.contains[1]",
         "'LayerNrom' matches no parameter", "did you mean 'LayerNorm' (50 parameters)?"),
        (TAGS, 'tags = ["bias", "nrom"]', "groups.rules[1].match.tags[1]",
         "'nrom' matches no parameter", "did you mean 'norm' (50 parameters)?"),
        (HEAD, 'prefix = ["lstm.", "linear_layr."]', "groups.rules[0].match.prefix[1]",
         "'linear_layr.' matches no parameter", "did you mean 'linear_layer.' (2 parameters)?"),
        (HEAD, 'prefix = ["lstm.", "classifier."]', "groups.rules[0].match.prefix[1]",
         "'classifier.' matches no parameter",
         "the names start with: bert_model., linear_layer., lstm."),
        (TAGS, 'glob = ["*.bias", "*LayerNrom*"]', "groups.rules[1].match.glob[1]",
         "'*LayerNrom*' matches no parameter", "did you mean 'LayerNorm' (50 parameters)?"),
        (TAGS, 'regex = [".*bias.*", ".*LayreNorm.*"]', "groups.rules[1].match.regex[1]",
         "'.*LayreNorm.*' matches no parameter", "did you mean 'LayerNorm' (50 parameters)?"),
    ],
    ids=["bais", "LayerNrom", "tag-nrom", "prefix-typo", "dead-prefix", "glob", "regex"],
)  # fmt: skip
def test_a_dead_item_names_its_path_and_the_closest_real_names(old, new, path, start, suggestion):
    assert old in BERT_TOML
    err = bind_error(BERT_TOML.replace(old, new))
    assert err.path == path
    assert err.problem.startswith(start), err.problem
    assert suggestion in err.problem, err.problem
    assert "match.optional" in err.problem


def test_token_counts_are_parameters_whose_name_has_the_token():
    # 'bias' is a token of 101 names: 99 ending '.bias', lstm.bias_ih_l0 and lstm.bias_hh_l0
    names = ParamTable.load(BERT_PARAMS).names
    assert sum(n.endswith(".bias") for n in names) == 99
    assert sum("bias" in n.replace("_", ".").split(".") for n in names) == 101


def test_an_item_the_other_conditions_exclude_is_dead_too():
    toml = BERT_TOML.replace(TAGS, 'contains = ["bias", "LayerNorm"], tags = ["bias", "embedding"]')
    err = bind_error(toml)
    assert err.path == "groups.rules[1].match.tags[1]"
    assert err.problem.startswith(
        "'embedding' selects 3 parameters but none that the rule's other conditions allow "
        "(contains = ['bias', 'LayerNorm'])"
    ), err.problem
    err = bind_error(BERT_TOML.replace(TAGS, TAGS + ", ndim = [1, 3]"))
    assert err.path == "groups.rules[1].match.ndim[1]" and "mark the rule optional" in err.problem


def test_optional_items_and_optional_rules_may_select_nothing():
    fixed = load(BERT_TOML.replace(TAGS, 'contains = ["bias", "LayerNorm", "gamma"]'))
    with pytest.raises(SpecError, match=r"contains\[2\]: 'gamma' matches no parameter"):
        fixed.bind(BERT_PARAMS)
    toml = BERT_TOML.replace(
        TAGS, 'contains = ["bias", "LayerNorm", "gamma"], optional = ["gamma"]'
    )
    bound = load(toml).bind(BERT_PARAMS)
    assert [(g.name, len(g.params)) for g in bound.groups] == [
        ("default", 76),
        ("head", 3),
        ("head+no_decay", 3),
        ("no_decay", 123),
    ]
    whole = BERT_TOML.replace(TAGS, 'contains = ["bias", "gamma"]').replace(
        "weight_decay = 0.0\n", "weight_decay = 0.0\noptional = true\n"
    )
    assert len(load(whole).bind(BERT_PARAMS).groups) == 4
    # match.optional may only name items of the match
    with pytest.raises(SpecError) as info:
        load(BERT_TOML.replace(TAGS, 'contains = ["bias", "LayerNorm"], optional = ["LayerNrom"]'))
    assert info.value.path == "groups.rules[1].match.optional[0]"
    assert "did you mean 'LayerNorm'?" in info.value.problem
    # the round trip keeps it
    recipe = load(toml)
    assert load(recipe.to_dict()) == recipe
    assert recipe.to_dict()["groups"]["rules"][1]["match"]["optional"] == ["gamma"]


def test_the_dead_rule_error_comes_first_and_stays():
    toml = BERT_TOML.replace(TAGS, 'contains = ["bais", "LayerNrom"]')
    err = bind_error(toml)
    assert err.path == "groups.rules[1]" and "rule 'no_decay' matches no parameter" in str(err)


# -- framework-neutral intent --------------------------------------------------------------

KERAS_LIKE = [
    {"name": "encoder.dense.kernel", "shape": [4, 4]},
    {"name": "encoder.dense.bias", "shape": [4], "tags": ["bias"]},
    {"name": "encoder.layer_norm.gamma", "shape": [4], "tags": ["norm"]},
    {"name": "encoder.layer_norm.beta", "shape": [4], "tags": ["norm"]},
    {"name": "embeddings.table", "shape": [9, 4], "tags": ["embedding"]},
]


@pytest.mark.parametrize(
    ("field", "items", "tag"),
    [
        ("contains", ["bias", "LayerNorm"], "norm"),
        ("contains", ["bias", "ln_"], "norm"),
        ("glob", ["*.bias", "*.LayerNorm.*"], "norm"),
        ("contains", ["kernel", "word_embeddings"], "embedding"),
        ("regex", [r".*\.kernel", r".*\.biases"], "bias"),
    ],
)
def test_a_framework_spelling_that_matches_nothing_hints_at_the_tag(field, items, tag):
    groups = {"defaults": {}, "rules": [{"name": "nd", "match": {field: items}, "lr": 1.0}]}
    err = error(groups, KERAS_LIKE)
    assert err.path == f"groups.rules[0].match.{field}[1]"
    assert f"use tags = [{tag!r}]" in err.problem, err.problem


def test_the_bundled_example_states_no_decay_with_tags():
    recipe = load(BERT_RECIPE)
    rules = recipe.to_dict()["groups"]["rules"]
    assert rules[1] == {
        "name": "no_decay",
        "weight_decay": 0.0,
        "match": {"tags": ["bias", "norm"]},
    }
    # and means the same on a Keras-like table: every bias and norm weight undecayed
    head = [{"name": "lstm.kernel", "shape": [4, 4]}, {"name": "linear_layer.kernel"}]
    bound = recipe.bind(KERAS_LIKE + head)
    decay = {n: d.weight_decay for n, d in bound.resolution.decisions.items()}
    assert decay["encoder.layer_norm.gamma"] == decay["encoder.layer_norm.beta"] == 0.0
    assert decay["encoder.dense.bias"] == 0.0 and decay["encoder.dense.kernel"] == 0.01


# -- parameter tables ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".json", ".CSV"])
def test_a_table_saves_and_loads_back_equal(tmp_path, suffix):
    bert = ParamTable.load(BERT_PARAMS)
    odd = ParamTable.of(
        [
            Param("scalar", (), True),
            Param("a,b.weight", (0, 3), False, frozenset({"norm", "type:My,Norm"})),
            Param("emb.weight", (5, 2), True, frozenset({"embedding"}), ("head.weight", "x.w")),
        ]
    )
    for table in (bert, odd):
        path = table.save(tmp_path / "sub" / f"t{len(table)}{suffix}")
        assert path.exists()
        assert ParamTable.load(path) == table
        assert ParamTable.load(str(path)).rows == table.rows
    assert (
        load(BERT_RECIPE).bind(bert).groups
        == load(BERT_RECIPE).bind(ParamTable.load(bert.save(tmp_path / "again.json"))).groups
    )
    if suffix == ".json":
        assert json.loads(path.read_text())["params"][1]["tags"] == ["norm", "type:My,Norm"]


def test_a_table_with_separators_in_tags_refuses_csv_not_json(tmp_path):
    table = ParamTable.of([Param("a", (1,), True, frozenset({"x;y"}))])
    with pytest.raises(SpecError) as info:
        table.save(tmp_path / "t.csv")
    assert info.value.path == "params[0].tags" and ".json" in info.value.problem
    assert ParamTable.load(table.save(tmp_path / "t.json")) == table


@pytest.mark.parametrize("bad", [None, 42, 3.5, "enc.weight", b"x", {"name": "a"}])
def test_param_table_of_a_non_list_is_a_spec_error(bad):
    with pytest.raises(SpecError) as info:
        ParamTable.of(bad)
    assert info.value.path == "params" and "ParamTable" in info.value.problem


def test_bind_accepts_a_param_table_as_it_is():
    table = ParamTable.load(BERT_PARAMS)
    assert ParamTable.of(table) is table
    assert len(load(BERT_RECIPE).bind(table).groups) == 4


# -- layer decay underflow, ratios, unknown fields -----------------------------------------


def test_layer_decay_underflowing_to_zero_names_the_rule():
    groups = {
        "defaults": {},
        "layers": {"pattern": r"^l(\d+)\."},
        "rules": [
            {"name": "head", "match": {"prefix": "l0."}, "lr": 0.1},
            {"name": "llrd", "match": {"prefix": "l"}, "layer_decay": 0.5},
        ],
    }
    err = error(groups, ["l0.w", "l5000.w"])
    assert err.path == "groups.rules[1].layer_decay"
    assert "'llrd'" in err.problem and "underflows" in err.problem and "'l0.w'" in err.problem
    # a large but representable factor is fine
    res = resolve(GroupPolicy.from_dict(groups), ParamTable.of(["l0.w", "l500.w"]), 1e-3)
    assert 0 < res.decisions["l0.w"].lr < 1e-100


def test_lr_scale_has_no_float_noise():
    groups = {
        "defaults": {},
        "rules": [
            {"name": "head", "match": {"prefix": "h."}, "lr": 1e-2},
            {"name": "tenth", "match": {"prefix": "t."}, "lr_scale": 0.1},
        ],
    }
    res = resolve(GroupPolicy.from_dict(groups), ParamTable.of(["h.w", "t.w", "e.w"]), 1e-5)
    assert 1e-2 / 1e-5 == 999.9999999999999  # what it used to show
    assert [(g.name, g.lr_scale) for g in res.groups] == [
        ("default", 1.0),
        ("head", 1000.0),
        ("tenth", 0.1),
    ]
    assert res.decisions["h.w"].lr_scale == 1000.0
    assert res.groups[1].to_dict()["lr_scale"] == 1000.0
    assert res.groups[1].to_dict()["name"] == "head"
    assert "x1000 of base" in res.explain("h.w")


@pytest.mark.parametrize(
    ("groups", "path", "hint"),
    [
        ({"rulez": []}, "groups.rulez", "did you mean 'rules'?"),
        ({"defaults": {"weight_decy": 0.1}}, "groups.defaults.weight_decy", "'weight_decay'"),
        (
            {"defaults": {}, "rules": [{"name": "r", "match": {"prefx": "a"}, "lr": 1.0}]},
            "groups.rules[0].match.prefx",
            "did you mean 'prefix'?",
        ),
        (
            {"defaults": {}, "rules": [{"name": "r", "match": {"prefix": "a"}, "lr_scal": 1.0}]},
            "groups.rules[0].lr_scal",
            "did you mean 'lr_scale'?",
        ),
    ],
)
def test_unknown_fields_suggest_the_closest(groups, path, hint):
    with pytest.raises(SpecError) as info:
        load({"lr": 1e-3, "groups": groups})
    assert info.value.path == path and hint in info.value.problem, str(info.value)
