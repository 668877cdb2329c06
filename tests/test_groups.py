"""Group policies, case by case: layer-wise decay, tied and frozen parameters, precedence,
coverage, pattern lints, the seed's BERT fine-tune, recipes, parameter tables and the CLI.

Expected values are computed by hand (or from the seed's own list comprehensions), never
by calling the resolver a second way.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schedcore.errors import SpecError
from schedcore.examples import BERT_PARAMS, BERT_RECIPE
from schedcore.groups.policy import GroupPolicy, lint_pattern
from schedcore.groups.resolve import Resolution, resolve
from schedcore.groups.table import Param, ParamTable
from schedcore.groups.walk import ModuleParam, module_tags, table_from_modules
from schedcore.recipes import Recipe, load
from schedcore.tools.cli import main

BERT_TOML = BERT_RECIPE.read_text(encoding="utf-8")


def resolved(groups: dict[str, Any], rows: list[Any], base_lr: float = 1e-3) -> Resolution:
    return resolve(GroupPolicy.from_dict(groups), ParamTable.of(rows), base_lr)


def spec_error(groups: dict[str, Any], rows: list[Any], base_lr: float = 1e-3) -> SpecError:
    with pytest.raises(SpecError) as info:
        resolved(groups, rows, base_lr)
    return info.value


def members(res: Resolution) -> list[set[str]]:
    return [set(g.params) for g in res.groups]


# -- layer-wise lr decay ------------------------------------------------------------------


def bert_like() -> list[dict[str, Any]]:
    """A 12-layer BERT-like encoder: embeddings, encoder.layer.0..11, pooler, classifier."""
    rows = [
        {"name": "bert.embeddings.word_embeddings.weight", "shape": [30522, 768]},
        {"name": "bert.embeddings.LayerNorm.weight", "shape": [768], "tags": ["norm"]},
        {"name": "bert.embeddings.LayerNorm.bias", "shape": [768], "tags": ["norm", "bias"]},
    ]
    for i in range(12):
        base = f"bert.encoder.layer.{i}"
        rows += [
            {"name": f"{base}.attention.self.query.weight", "shape": [768, 768]},
            {"name": f"{base}.attention.self.query.bias", "shape": [768], "tags": ["bias"]},
            {"name": f"{base}.output.LayerNorm.weight", "shape": [768], "tags": ["norm"]},
        ]
    rows += [
        {"name": "bert.pooler.dense.weight", "shape": [768, 768]},
        {"name": "classifier.weight", "shape": [2, 768]},
        {"name": "classifier.bias", "shape": [2], "tags": ["bias"]},
    ]
    return rows


LLRD = {
    "defaults": {"weight_decay": 0.01},
    "layers": {
        "pattern": r"\.layer\.(\d+)\.",
        "offset": 1,
        "ids": {"bert.embeddings.*": 0, "bert.pooler.*": 13, "classifier.*": 13},
    },
    "rules": [
        {"name": "llrd", "match": {"prefix": ["bert.", "classifier."]}, "layer_decay": 0.8},
        {"name": "no_decay", "match": {"tags": ["bias", "norm"]}, "weight_decay": 0.0},
    ],
}


def test_llrd_hand_computed_lrs():
    res = resolved(LLRD, bert_like(), base_lr=2e-5)
    lr = {name: d.lr for name, d in res.decisions.items()}
    # lr = 2e-5 * 0.8 ** (13 - id); embeddings id 0, layer i id i + 1, pooler/head id 13
    hand = {
        "classifier.weight": 2e-5,  # 0.8 ** 0
        "bert.pooler.dense.weight": 2e-5,
        "bert.encoder.layer.11.attention.self.query.weight": 1.6e-5,  # 0.8 ** 1
        "bert.encoder.layer.10.output.LayerNorm.weight": 1.28e-5,  # 0.8 ** 2
        "bert.encoder.layer.5.attention.self.query.bias": 4.194304e-6,  # 0.8 ** 7
        "bert.encoder.layer.0.attention.self.query.weight": 1.37438953472e-6,  # 0.8 ** 12
        "bert.embeddings.word_embeddings.weight": 1.099511627776e-6,  # 0.8 ** 13
        "bert.embeddings.LayerNorm.bias": 1.099511627776e-6,
    }
    for name, want in hand.items():
        assert lr[name] == pytest.approx(want, rel=1e-12, abs=0), name
    ids = {name: d.layer_id for name, d in res.decisions.items()}
    assert ids["bert.embeddings.LayerNorm.weight"] == 0
    assert ids["bert.encoder.layer.0.output.LayerNorm.weight"] == 1
    assert ids["bert.encoder.layer.11.attention.self.query.bias"] == 12
    assert ids["classifier.bias"] == ids["bert.pooler.dense.weight"] == 13
    assert res.decisions["classifier.bias"].weight_decay == 0.0
    assert res.decisions["classifier.weight"].weight_decay == 0.01
    # 14 layer ids x {decay, no decay}: 28 groups, named by layer, in rule order: the llrd
    # rule (by layer id) first, then no_decay
    assert len(res.groups) == 28
    assert [g.name for g in res.groups[:4]] == [
        "layer_0",
        "layer_0+no_decay",
        "layer_1",
        "layer_1+no_decay",
    ]
    assert res.groups[0].params == ("bert.embeddings.word_embeddings.weight",)
    assert res.groups[1].params == (
        "bert.embeddings.LayerNorm.weight",
        "bert.embeddings.LayerNorm.bias",
    )
    assert res.groups[-2].name == "layer_13"
    assert res.groups[-2].params == ("bert.pooler.dense.weight", "classifier.weight")
    assert res.groups[-1].name == "layer_13+no_decay"
    assert [g.lr for g in res.groups] == sorted(g.lr for g in res.groups)
    assert res.groups[5].lr_scale == pytest.approx(0.8**11, rel=1e-12)
    text = res.explain("bert.encoder.layer.0.attention.self.query.weight")
    assert text.splitlines()[0].endswith("group 2 'layer_1', layer 1")
    assert "1.37439e-06" in text and "layer decay <- rule 'llrd'" in text


def test_llrd_explicit_max_id_and_missing_layer_id():
    groups = {**LLRD, "layers": {**LLRD["layers"], "max_id": 14}}
    res = resolved(groups, bert_like(), base_lr=2e-5)
    assert res.decisions["classifier.weight"].lr == pytest.approx(1.6e-5, rel=1e-12)
    assert res.decisions["bert.embeddings.word_embeddings.weight"].lr == pytest.approx(
        2e-5 * 0.8**14, rel=1e-12
    )
    # a decayed parameter without a layer id is an error naming it, not a silent 1.0
    layers = {**LLRD["layers"], "ids": {"bert.embeddings.*": 0}}
    err = spec_error({**LLRD, "layers": layers}, bert_like())
    assert err.path == "groups.layers"
    assert "'bert.pooler.dense.weight'" in str(err) and "no layer id" in str(err)


def test_layer_range_selector():
    groups = {
        "defaults": {},
        "layers": LLRD["layers"],
        "rules": [{"name": "freeze_low", "match": {"layers": [0, 4]}, "frozen": True}],
    }
    res = resolved(groups, bert_like())
    assert "bert.embeddings.word_embeddings.weight" in res.frozen
    assert "bert.encoder.layer.3.output.LayerNorm.weight" in res.frozen  # id 4
    assert "bert.encoder.layer.4.output.LayerNorm.weight" not in res.frozen  # id 5
    assert len(res.frozen) == 3 + 4 * 3


# -- tied weights -------------------------------------------------------------------------

TIED = [
    {"name": "emb.weight", "shape": [100, 8], "aliases": ["lm_head.weight"]},
    {"name": "lm_head.bias", "shape": [100], "tags": ["bias"]},
    {"name": "enc.weight", "shape": [8, 8]},
]


def test_tied_weights_same_settings_one_group_no_duplicate():
    groups = {
        "defaults": {"weight_decay": 0.01},
        "rules": [
            {"name": "head", "match": {"prefix": ["lm_head.", "emb."]}, "lr": 1e-2},
        ],
    }
    res = resolved(groups, TIED)
    placed = [n for g in res.groups for n in g.params]
    assert sorted(placed) == ["emb.weight", "enc.weight", "lm_head.bias"]
    assert res.group_of("lm_head.weight") == res.group_of("emb.weight") == 1
    assert res.groups[1].params == ("emb.weight", "lm_head.bias")
    assert res.decisions["lm_head.weight"].lr == 1e-2
    assert res.groups[1].name == "head"
    assert res.explain("lm_head.weight").startswith("lm_head.weight: group 1 'head'\n")


def test_tied_weights_different_settings_name_both():
    groups = {
        "defaults": {"weight_decay": 0.01},
        "rules": [{"name": "head", "match": {"prefix": "lm_head."}, "lr": 1e-2}],
    }
    err = spec_error(groups, TIED)
    assert "'emb.weight'" in str(err) and "'lm_head.weight'" in str(err)
    assert "resolve differently" in str(err)
    # frozen under one name only is a difference too
    groups = {
        "defaults": {},
        "rules": [{"name": "f", "match": {"name": "emb.weight"}, "frozen": True}],
    }
    err = spec_error(groups, TIED)
    assert "'emb.weight'" in str(err) and "'lm_head.weight'" in str(err)


def test_alias_cannot_reuse_a_name():
    with pytest.raises(SpecError) as info:
        ParamTable.of([{"name": "a.weight", "aliases": ["b.weight"]}, "b.weight"])
    assert info.value.path == "params[1]" and "'b.weight'" in str(info.value)


# -- frozen parameters --------------------------------------------------------------------


def test_frozen_by_rule_and_by_table_are_excluded():
    rows = [
        {"name": "enc.weight", "shape": [4, 4]},
        {"name": "enc.bias", "shape": [4]},
        {"name": "stats.running_mean", "shape": [4], "trainable": False},
        {"name": "head.weight", "shape": [2, 4]},
    ]
    groups = {
        "rules": [
            {"name": "freeze", "match": {"prefix": "enc."}, "frozen": True},
            {"name": "head", "match": {"prefix": "head."}, "lr": 0.1},
        ],
    }
    # no defaults: frozen rows need no rule (stats.running_mean matches none and is fine)
    res = resolved(groups, rows)
    assert res.frozen == ("enc.weight", "enc.bias", "stats.running_mean")
    assert members(res) == [{"head.weight"}]
    assert res.group_of("enc.weight") is None
    assert res.explain("enc.bias") == (
        "enc.bias: frozen (excluded from the optimizer) by rule 'freeze'"
    )
    assert "trainable = false in the table" in res.explain("stats.running_mean")
    assert "frozen" in res.table().splitlines()[-1]


def test_unfreeze_by_priority_and_everything_frozen():
    rows = ["enc.weight", "enc.bias", "head.weight"]
    groups = {
        "defaults": {},
        "rules": [
            {"name": "freeze", "match": {"prefix": "enc."}, "frozen": True},
            {"name": "thaw", "match": {"contains": "bias"}, "frozen": False, "priority": 1},
        ],
    }
    res = resolved(groups, rows)
    assert res.frozen == ("enc.weight",)
    assert members(res) == [{"enc.bias", "head.weight"}]
    # every parameter frozen: no group at all (and no crash), lr() keeps its shape
    everything = {"rules": [{"name": "all", "match": {"glob": "*"}, "frozen": True}]}
    res = resolved(everything, rows)
    assert res.groups == () and res.frozen == tuple(rows)
    recipe = load({"lr": 1e-3, "groups": everything}).bind(rows)
    assert recipe.lr(np.arange(5)).shape == (0, 5)


# -- precedence ---------------------------------------------------------------------------

ROWS = ["enc.weight", "enc.bias", "head.weight", "head.bias"]


def test_equal_priority_conflict_names_both_rules_and_the_parameter():
    groups = {
        "defaults": {},
        "rules": [
            {"name": "head_lr", "match": {"prefix": "head."}, "lr": 1e-2},
            {"name": "bias_lr", "match": {"contains": "bias"}, "lr": 1e-4},
        ],
    }
    err = spec_error(groups, ROWS)
    assert err.path == "groups.rules"
    message = str(err)
    assert "'head_lr'" in message and "'bias_lr'" in message and "'head.bias'" in message
    assert "lr" in message and "priority" in message


def test_higher_priority_wins_silently():
    groups = {
        "defaults": {},
        "rules": [
            {"name": "head_lr", "match": {"prefix": "head."}, "lr": 1e-2},
            {"name": "bias_lr", "match": {"contains": "bias"}, "lr": 1e-4, "priority": 1},
        ],
    }
    res = resolved(groups, ROWS)
    assert res.decisions["head.bias"].lr == 1e-4
    assert res.decisions["head.bias"].sources["lr"] == "rule 'bias_lr'"
    assert res.decisions["head.weight"].lr == 1e-2
    assert res.decisions["enc.weight"].lr == 1e-3  # base
    assert res.decisions["enc.weight"].sources["lr"] == "(base)"


def test_equal_values_or_different_facets_at_equal_priority_are_fine():
    groups = {
        "defaults": {},
        "rules": [
            {"name": "head_lr", "match": {"prefix": "head."}, "lr": 1e-2},
            {"name": "bias_lr", "match": {"contains": "bias"}, "lr": 1e-2},
            {"name": "bias_wd", "match": {"contains": "bias"}, "weight_decay": 0.0},
        ],
    }
    res = resolved(groups, ROWS)
    assert res.decisions["head.bias"].lr == 1e-2
    assert res.decisions["head.bias"].weight_decay == 0.0
    assert res.decisions["head.bias"].sources["lr"] == "rule 'head_lr'"  # the first, at a tie


def test_overridden_conflict_is_not_an_error_in_any_rule_order():
    """Two priority-0 rules disagree on head.bias, but a priority-5 rule decides it: whatever
    the order of the three rules, the result is the same (it used to fail only when the
    disagreeing pair came before the deciding rule)."""
    rules = [
        {"name": "a", "match": {"prefix": "head."}, "lr": 1e-2},
        {"name": "b", "match": {"contains": "bias"}, "lr": 1e-4},
        {"name": "c", "match": {"name": "head.bias"}, "lr": 5e-3, "priority": 5},
    ]
    for order in itertools.permutations(rules):
        res = resolved({"defaults": {}, "rules": list(order)}, ROWS)
        lrs = {n: d.lr for n, d in res.decisions.items()}
        assert lrs == {
            "enc.weight": 1e-3,
            "enc.bias": 1e-4,
            "head.weight": 1e-2,
            "head.bias": 5e-3,
        }, [r["name"] for r in order]


def test_multipliers_scale_the_base_lr_and_the_default_decay():
    groups = {
        "defaults": {"weight_decay": 0.01, "lr_scale": 2.0},
        "rules": [
            {"name": "head", "match": {"prefix": "head."}, "lr_scale": 10.0, "wd_scale": 0.5},
        ],
    }
    res = resolved(groups, ROWS, base_lr=1e-3)
    head, enc = res.decisions["head.weight"], res.decisions["enc.weight"]
    assert (head.lr, head.lr_scale, head.weight_decay) == (1e-2, 10.0, 0.005)
    assert (enc.lr, enc.lr_scale, enc.weight_decay) == (2e-3, 2.0, 0.01)
    assert enc.sources == {
        "lr": "defaults",
        "weight_decay": "defaults",
        "frozen": "(base)",
        "schedule": "(base)",
    }
    # wd_scale needs a default to scale
    err = spec_error({"defaults": {}, "rules": groups["rules"]}, ROWS)
    assert err.path == "groups.defaults.weight_decay" and "'head'" in str(err)


# -- coverage -----------------------------------------------------------------------------


def test_uncovered_trainable_parameter_without_defaults_is_an_error():
    groups = {"rules": [{"name": "enc", "match": {"prefix": "enc."}, "lr": 1e-3}]}
    err = spec_error(groups, [*ROWS[:2], "stray.weight"])
    assert err.path == "groups"
    assert "'stray.weight'" in str(err) and "defaults" in str(err)
    # with a defaults table it gets the base settings
    res = resolved({**groups, "defaults": {}}, [*ROWS[:2], "stray.weight"], base_lr=3e-4)
    assert res.decisions["stray.weight"].lr == 3e-4
    assert res.decisions["stray.weight"].weight_decay is None


def test_dead_rule_is_an_error_and_optional_is_not():
    groups = {
        "defaults": {},
        "rules": [{"name": "norms", "match": {"contains": "LayerNorm"}, "weight_decay": 0.0}],
    }
    err = spec_error(groups, ROWS)
    assert err.path == "groups.rules[0]"
    assert "'norms'" in str(err) and "optional = true" in str(err)
    optional = {"defaults": {}, "rules": [{**groups["rules"][0], "optional": True}]}
    assert members(resolved(optional, ROWS)) == [set(ROWS)]


# -- pattern lints ------------------------------------------------------------------------

# (field, bad pattern, what the message must suggest, the fixed match table)
LINTS = [
    ("contains", "bias,", "did you mean 'bias'?", {"contains": "bias"}),
    ("contains", ",bias", "did you mean 'bias'?", {"contains": "bias"}),
    ("contains", "bias;", "did you mean 'bias'?", {"contains": "bias"}),
    ("prefix", ";head.", "did you mean 'head.'?", {"prefix": "head."}),
    ("contains", "bias ", "did you mean 'bias'?", {"contains": "bias"}),
    ("name", " head.bias", "did you mean 'head.bias'?", {"name": "head.bias"}),
    ("contains", "'bias'", "did you mean 'bias'?", {"contains": "bias"}),
    ("contains", '"bias', "did you mean 'bias'?", {"contains": "bias"}),
    ("contains", "bias LayerNorm", "['bias', 'LayerNorm']", {"contains": ["bias", "LayerNorm"]}),
    ("contains", "bias, LayerNorm", "['bias', 'LayerNorm']", {"contains": ["bias", "LayerNorm"]}),
    ("contains", "bias,LayerNorm", "['bias', 'LayerNorm']", {"contains": ["bias", "LayerNorm"]}),
    ("glob", r"head\..*", "'head.*'", {"glob": "head.*"}),
    ("glob", "^head.*$", "'head*'", {"glob": "head*"}),
    ("glob", "(enc|head).*", "write it as a regex", {"regex": "(enc|head).*"}),
    ("prefix", "head.*", "use glob = 'head.*'", {"glob": "head.*"}),
    ("name", "head.?ias", "use glob = 'head.?ias'", {"glob": "head.?ias"}),
    ("contains", "*bias", "use glob = '*bias'", {"glob": "*bias"}),
    ("tags", "bia[s]", "use glob = 'bia[s]'", {"tags": "bias"}),
    ("regex", "(enc|head", "invalid regular expression", {"regex": "(enc|head).*"}),
    ("regex", "head.bias,", "did you mean 'head.bias'?", {"regex": "head.bias"}),
]


@pytest.mark.parametrize(("field", "bad", "fix", "fixed"), LINTS, ids=[c[1] for c in LINTS])
def test_pattern_lint_at_load_time_and_its_fix_works(field, bad, fix, fixed):
    doc = {
        "lr": 1e-3,
        "groups": {"defaults": {}, "rules": [{"name": "r", "match": {field: [bad]}, "lr": 0.1}]},
    }
    with pytest.raises(SpecError) as info:
        load(doc)  # no parameter table needed: the lint runs when the recipe loads
    err = info.value
    assert err.path == f"groups.rules[0].match.{field}[0]"
    assert repr(bad) in err.problem, err.problem
    assert fix in err.problem, err.problem
    assert lint_pattern(bad, {"contains": "substring", "tags": "tag"}.get(field, field))
    # the suggested fix loads, and selects something in a BERT-like table
    doc["groups"]["rules"][0]["match"] = fixed
    recipe = load(doc)
    rows = [
        "enc.weight",
        "enc.LayerNorm.weight",
        "head.weight",
        {"name": "head.bias", "tags": ["bias"]},
    ]
    assert recipe.bind(rows).resolution.decisions["head.bias"].lr == 0.1


def test_more_lints_and_where_they_point():
    def error(doc: dict[str, Any]) -> SpecError:
        with pytest.raises(SpecError) as info:
            load({"lr": 1e-3, "groups": doc})
        return info.value

    err = error({"defaults": {}, "rules": [{"name": "r", "match": {"contains": ""}, "lr": 1.0}]})
    assert err.path == "groups.rules[0].match.contains" and "empty" in err.problem
    err = error(
        {"defaults": {}, "rules": [{"name": "r", "match": {"prefix": "lstm.,"}, "lr": 1.0}]}
    )
    assert err.path == "groups.rules[0].match.prefix" and "did you mean 'lstm.'" in err.problem
    err = error({"defaults": {}, "layers": {"pattern": r"layer\.(\d+"}})
    assert err.path == "groups.layers.pattern" and "invalid regular expression" in err.problem
    err = error({"defaults": {}, "layers": {"ids": {"emb.*,": 0}}})
    assert err.path == "groups.layers.ids.emb.*," and "did you mean 'emb.*'" in err.problem
    err = error({"defaults": {"schedule": "head,"}})
    assert err.path == "groups.defaults.schedule" and "did you mean 'head'" in err.problem
    err = error({"rules": [{"name": "no_decay,", "match": {"tags": "bias"}, "lr": 1.0}]})
    assert err.path == "groups.rules[0].name" and "did you mean 'no_decay'" in err.problem


def test_glob_over_dotted_names_is_not_mistaken_for_a_regex():
    for glob in ("lstm.*", "bert_model.encoder.*", "*.bias", "encoder.layer.*.weight"):
        assert lint_pattern(glob, "glob") is None, glob


# -- the seed: BERT encoder + LSTM/linear head --------------------------------------------


def seed_groups(names: list[str], no_decay: list[str]) -> list[tuple[set[str], float, float]]:
    """The seed's get_group_parameters, as it was written (with its list comprehensions)."""
    other = ["lstm", "linear_layer"]
    no_main = no_decay + other
    return [
        ({n for n in names if not any(nd in n for nd in no_main)}, 1e-5, 1e-2),
        (
            {
                n
                for n in names
                if not any(nd in n for nd in other) and any(nd in n for nd in no_decay)
            },
            1e-5,
            0.0,
        ),
        (
            {n for n in names if any(nd in n for nd in other) and any(nd in n for nd in no_decay)},
            1e-2,
            0.0,
        ),
        (
            {
                n
                for n in names
                if any(nd in n for nd in other) and not any(nd in n for nd in no_decay)
            },
            1e-2,
            1e-2,
        ),
    ]


def test_bundled_bert_example_gives_the_four_seed_groups():
    recipe = load(BERT_RECIPE).bind(BERT_PARAMS)
    res = recipe.resolution
    table = ParamTable.load(BERT_PARAMS)
    assert len(table) == 205
    got = [(g.name, len(g.params), g.lr, g.weight_decay, g.schedule) for g in recipe.groups]
    assert got == [
        ("default", 76, 1e-5, 0.01, "default"),  # encoder, decay
        ("head", 3, 1e-2, 0.01, "default"),  # head, decay
        ("head+no_decay", 3, 1e-2, 0.0, "default"),  # head, no decay
        ("no_decay", 123, 1e-5, 0.0, "default"),  # encoder, no decay
    ]
    assert [g.lr_scale for g in recipe.groups] == [1, 1000, 1000, 1]  # no float noise
    assert res.frozen == ()
    # the same sets as the seed's corrected code (no_decay = ['bias', 'LayerNorm'])
    expected = seed_groups(table.names, ["bias", "LayerNorm"])
    by_settings = {(g.lr, g.weight_decay): set(g.params) for g in recipe.groups}
    for names, lr, wd in expected:
        assert by_settings[(lr, wd)] == names
    where = {n: (g.lr, g.weight_decay) for g in recipe.groups for n in g.params}
    assert where["bert_model.encoder.layer.0.attention.output.LayerNorm.weight"] == (1e-5, 0.0)
    assert where["bert_model.embeddings.word_embeddings.weight"] == (1e-5, 0.01)
    assert where["bert_model.pooler.dense.bias"] == (1e-5, 0.0)
    assert where["lstm.bias_ih_l0"] == (1e-2, 0.0)
    assert where["lstm.weight_hh_l0"] == (1e-2, 0.01)
    assert where["linear_layer.weight"] == (1e-2, 0.01)
    assert set(res.groups[2].params) == {"lstm.bias_ih_l0", "lstm.bias_hh_l0", "linear_layer.bias"}


def test_seed_typo_bias_comma_is_caught_at_load():
    """The seed's no_decay = ['bias,', 'LayerNorm'] silently matched no bias at all."""
    names = ParamTable.load(BERT_PARAMS).names
    silently = seed_groups(names, ["bias,", "LayerNorm"])
    assert "lstm.bias_ih_l0" in silently[3][0]  # the seed decayed the LSTM biases
    typo = BERT_TOML.replace('tags = ["bias", "norm"]', 'contains = ["bias,", "LayerNorm"]')
    assert typo != BERT_TOML
    with pytest.raises(SpecError) as info:
        load(typo)
    err = info.value
    assert err.path == "groups.rules[1].match.contains[0]"
    assert "'bias,'" in str(err) and "did you mean 'bias'?" in str(err)


def test_seed_implicit_concatenation_is_a_dead_rule_at_bind():
    """['bias' 'LayerNorm'] is one string, 'biasLayerNorm': it lints clean but matches
    nothing, so binding names the rule."""
    glued = BERT_TOML.replace('tags = ["bias", "norm"]', 'contains = ["biasLayerNorm"]')
    assert glued != BERT_TOML
    recipe = load(glued)
    with pytest.raises(SpecError) as info:
        recipe.bind(BERT_PARAMS)
    assert info.value.path == "groups.rules[1]" and "'no_decay'" in str(info.value)


# -- recipes ------------------------------------------------------------------------------


def test_recipe_lr_shape_and_values_per_group():
    recipe = load(BERT_RECIPE)
    steps = np.arange(0, 1950, 7)
    unbound = recipe.lr(steps)
    assert unbound.shape == steps.shape
    bound = recipe.bind(BERT_PARAMS)
    lr = bound.lr(steps)
    assert lr.shape == (4, steps.shape[0])
    factor = recipe.schedule(steps)
    for g, group in enumerate(bound.groups):
        np.testing.assert_array_equal(lr[g], group.lr * factor)
    np.testing.assert_array_equal(lr[0], unbound)  # the encoder runs at the base lr
    # the peak, after 100 warmup steps; a scalar step gives one lr per group
    assert bound.lr(100).tolist() == [1e-5, 1e-2, 1e-2, 1e-5]
    with pytest.raises(RuntimeError, match="bind"):
        _ = recipe.groups


def test_rule_with_a_named_schedule():
    doc = BERT_TOML.replace("lr = 1e-2\n", 'lr = 1e-2\nschedule = "head"\n') + (
        '\n[schedules.head]\ndecay = "linear"\n'
    )
    recipe = load(doc).bind(BERT_PARAMS)
    # groups follow rule order: default, head, head+no_decay, no_decay
    assert [(g.name, g.schedule, g.lr, g.weight_decay) for g in recipe.groups] == [
        ("default", "default", 1e-5, 0.01),
        ("head", "head", 1e-2, 0.01),
        ("head+no_decay", "head", 1e-2, 0.0),
        ("no_decay", "default", 1e-5, 0.0),
    ]
    steps = np.array([0, 100, 975, 1949])
    lr = recipe.lr(steps)
    head = recipe.schedules["head"](steps)
    np.testing.assert_array_equal(lr[1], 1e-2 * head)
    np.testing.assert_array_equal(lr[2], 1e-2 * head)
    np.testing.assert_array_equal(lr[0], 1e-5 * recipe.schedule(steps))
    # linear over the 1,950-step horizon, no warmup: the head starts at its peak
    assert lr[1, 0] == 1e-2 and lr[0, 0] == 0.0
    assert 0 < lr[1, 3] < lr[1, 2] < lr[1, 1] < 1e-2
    assert recipe.resolution.explain("linear_layer.bias").splitlines()[3].split()[:2] == [
        "schedule",
        "head",
    ]


def test_unknown_schedule_name_is_an_error_with_its_path():
    doc = BERT_TOML.replace("lr = 1e-2\n", 'lr = 1e-2\nschedule = "haed"\n')
    with pytest.raises(SpecError) as info:
        load(doc)
    assert info.value.path == "groups.rules[0].schedule"
    assert "'haed'" in str(info.value) and "[schedules.haed]" in str(info.value)
    doc = BERT_TOML.replace("weight_decay = 0.01\n", 'weight_decay = 0.01\nschedule = "x"\n', 1)
    with pytest.raises(SpecError) as info:
        load(doc)
    assert info.value.path == "groups.defaults.schedule" and "'x'" in str(info.value)
    policy = GroupPolicy.from_dict({"defaults": {"schedule": "x"}})
    with pytest.raises(SpecError) as info:
        resolve(policy, ParamTable.of(["a"]), 1e-3)
    assert info.value.path == "groups.defaults.schedule"


def test_group_names_and_order_follow_the_rules():
    doc = " ".join(Resolution.__doc__.split())
    assert "Order follows rule order" in doc and "``default`` < ``head`` < ``head+no_decay``" in doc
    groups = {
        "defaults": {"weight_decay": 0.01},
        "rules": [
            {"name": "z", "match": {"prefix": "z."}, "lr": 0.5, "schedule": "aaa"},
            {"name": "hi", "match": {"prefix": "hi."}, "lr": 0.5},
            {"name": "lo", "match": {"prefix": "lo."}, "lr": 1e-4},
            {"name": "nd", "match": {"contains": "bias"}, "weight_decay": 0.0},
            {"name": "dflt", "match": {"contains": "gamma"}, "weight_decay": 0.1},
        ],
    }
    rows = [
        "hi.weight",
        "z.weight",
        "lo.bias",
        "mid.weight",
        "lo.weight",
        "hi.bias",
        "mid.gamma",
        "z.bias",
    ]
    policy = GroupPolicy.from_dict(groups)
    res = resolve(policy, ParamTable.of(rows), 1e-3, {"default", "aaa"})
    # by the positions of the rules that formed each group: () < (0,) < (0, 3) < (1,) ...
    assert [(g.name, g.schedule, g.lr, g.weight_decay, g.params) for g in res.groups] == [
        ("default", "default", 1e-3, 0.01, ("mid.weight",)),
        ("z", "aaa", 0.5, 0.01, ("z.weight",)),
        ("z+nd", "aaa", 0.5, 0.0, ("z.bias",)),
        ("hi", "default", 0.5, 0.01, ("hi.weight",)),
        ("hi+nd", "default", 0.5, 0.0, ("hi.bias",)),
        ("lo", "default", 1e-4, 0.01, ("lo.weight",)),
        ("lo+nd", "default", 1e-4, 0.0, ("lo.bias",)),
        ("dflt", "default", 1e-3, 0.1, ("mid.gamma",)),
    ]
    assert res.groups[5].to_dict()["name"] == "lo"
    assert res.groups[5].lr_scale == 0.1  # 1e-4 / 1e-3 is 0.09999999999999999 unrounded
    # independent of the table's order
    again = resolve(policy, ParamTable.of(rows[::-1]), 1e-3, {"default", "aaa"})
    assert [(g.name, set(g.params)) for g in again.groups] == [
        (g.name, set(g.params)) for g in res.groups
    ]
    # moving a rule moves its groups, and the order of the names inside one
    moved = GroupPolicy.from_dict({**groups, "rules": groups["rules"][3:] + groups["rules"][:3]})
    res = resolve(moved, ParamTable.of(rows), 1e-3, {"default", "aaa"})
    assert [g.name for g in res.groups] == [
        "default", "nd+z", "nd+hi", "nd+lo", "dflt", "z", "hi", "lo",
    ]  # fmt: skip
    # several groups of one name (two layer-decay rules on one layer): #2, #3 in order
    res = resolved(
        {
            "defaults": {},
            "layers": {"pattern": r"^l(\d+)\."},
            "rules": [
                {"name": "a", "match": {"contains": ".a"}, "layer_decay": 0.5},
                {"name": "b", "match": {"contains": ".b"}, "layer_decay": 0.25},
            ],
        },
        ["l1.a", "l1.b", "l2.a", "l2.b"],
    )
    assert [(g.name, g.params) for g in res.groups] == [
        ("layer_1", ("l1.a",)),
        ("layer_2", ("l2.a", "l2.b")),  # the top layer: x1 under both rules, one group
        ("layer_1#2", ("l1.b",)),
    ]
    # a group merging parameters no rule decides with parameters a rule decides alike
    res = resolved(
        {"defaults": {}, "rules": [{"name": "same", "match": {"prefix": "x."}, "lr_scale": 1.0}]},
        ["x.w", "y.w"],
    )
    assert [(g.name, g.params) for g in res.groups] == [("default+same", ("x.w", "y.w"))]


# -- parameter tables ---------------------------------------------------------------------

ROW_DICTS = [
    {"name": "enc.weight", "shape": [768, 768]},
    {"name": "enc.LayerNorm.bias", "shape": [768], "tags": ["bias", "norm"]},
    {"name": "emb.weight", "shape": [100, 768], "aliases": ["lm_head.weight"]},
    {"name": "stats.mean", "shape": [768], "trainable": False},
]
EXPECTED_ROWS = (
    Param("enc.weight", (768, 768)),
    Param("enc.LayerNorm.bias", (768,), True, frozenset({"bias", "norm"})),
    Param("emb.weight", (100, 768), True, frozenset(), ("lm_head.weight",)),
    Param("stats.mean", (768,), False),
)


def test_table_from_json_list_and_object(tmp_path):
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(ROW_DICTS))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"params": ROW_DICTS}))
    for path in (listed, wrapped, str(listed)):
        table = ParamTable.load(path)
        assert table.rows == EXPECTED_ROWS
    assert ParamTable.load(listed).to_data()[1]["tags"] == ["bias", "norm"]
    assert ParamTable.of(ParamTable.load(listed).to_data()).rows == EXPECTED_ROWS


def test_table_from_csv(tmp_path):
    path = tmp_path / "params.csv"
    path.write_text(
        "name,shape,trainable,tags,aliases\n"
        "enc.weight,768x768,true,,\n"
        "enc.LayerNorm.bias,768,true,bias;norm,\n"
        'emb.weight,"[100, 768]",TRUE,, lm_head.weight \n'
        "stats.mean,768,false,,\n"
    )
    assert ParamTable.load(path).rows == EXPECTED_ROWS
    bert = ParamTable.load(BERT_PARAMS)
    assert bert.rows[4] == Param(
        "bert_model.embeddings.LayerNorm.bias", (768,), True, frozenset({"bias", "norm"})
    )


def test_table_from_python_tuples():
    table = ParamTable.of([("enc.weight", (768, 768)), ("enc.bias", [768]), ("step",)])
    assert table.rows == (Param("enc.weight", (768, 768)), Param("enc.bias", (768,)), Param("step"))
    assert table.names == ["enc.weight", "enc.bias", "step"]
    assert ParamTable.of(EXPECTED_ROWS).rows == EXPECTED_ROWS


@pytest.mark.parametrize(
    ("row", "path"),
    [
        ({"name": "d", "shape": "768x768"}, "params[3].shape"),
        ({"name": "d", "shape": [768, -1]}, "params[3].shape"),
        ({"name": "d", "shape": [True]}, "params[3].shape"),
        ({"name": "d", "shape": 768}, "params[3].shape"),
        ({"name": "d", "trainable": "yes"}, "params[3].trainable"),
        ({"name": "d", "tags": "bias"}, "params[3].tags"),
        ({"name": "d", "tags": 5}, "params[3].tags"),
        ({"name": "d", "aliases": [1]}, "params[3].aliases"),
        ({"name": "d", "dtype": "float32"}, "params[3].dtype"),
        ({"shape": [1]}, "params[3].name"),
        ({"name": "a b"}, "params[3].name"),
        ({"name": "a"}, "params[3]"),
        (("d", (1,), True), "params[3]"),
        (7, "params[3]"),
    ],
)
def test_malformed_rows_name_their_path(tmp_path, row, path):
    rows = ["a", "b", "c", row]
    with pytest.raises(SpecError) as info:
        ParamTable.of(rows)
    assert info.value.path == path, str(info.value)
    if not isinstance(row, tuple):
        file = tmp_path / "t.json"
        file.write_text(json.dumps({"params": rows}))
        with pytest.raises(SpecError) as info:
            ParamTable.load(file)
        assert info.value.path == path


def test_malformed_files(tmp_path):
    def error(name: str, text: str) -> SpecError:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(SpecError) as info:
            ParamTable.load(path)
        return info.value

    assert error("a.csv", "name,shape\na,768\nb,768xabc\n").path == "params[1].shape"
    assert error("b.csv", "name,trainable\na,maybe\n").path == "params[0].trainable"
    assert "'name' column" in str(error("c.csv", "shape,tags\n768,bias\n"))
    err = error("d.json", '[{"name": "a",}]')
    assert err.path == "params" and "d.json" in err.problem and "not valid JSON" in err.problem
    assert error("e.json", '{"rows": []}').path == "params"
    with pytest.raises(SpecError) as info:
        ParamTable.load(tmp_path / "missing.csv")
    assert "missing.csv" in str(info.value) and "does not exist" in str(info.value)


# -- walking a model ----------------------------------------------------------------------


def test_walk_names_tags_and_ties_alike_for_every_framework():
    """The one walk every adapter uses: dotted names, the tag rules, tied weights."""
    entries = [
        ModuleParam("enc", "Linear", "weight", 1, (4, 4), True),
        ModuleParam("enc", "Linear", "bias", 2, (4,), True),
        ModuleParam("enc", "Linear", "biased", 3, (4,), True),
        ModuleParam("lstm", "LSTM", "bias_ih_l0", 4, (8,), True),
        ModuleParam("ln", "LlamaRMSNorm", "weight", 5, (4,), True),
        ModuleParam("bn", "Custom", "weight", 6, (4,), False, is_norm=True),
        ModuleParam("emb", "Embedding", "weight", 7, (10, 4), True, is_embedding=True),
        ModuleParam("module.head", "Linear", "weight", 7, (10, 4), True),  # tied to emb
        ModuleParam("emb", "Embedding", "weight", 7, (10, 4), True),  # reached twice
        ModuleParam("", "", "scale", 8, (), True),  # a bare variable: no module known
    ]
    table, ids = table_from_modules(entries, canonical=lambda n: n.removeprefix("module."))
    rows = {p.name: p for p in table}
    assert list(rows) == [
        "enc.weight", "enc.bias", "enc.biased", "lstm.bias_ih_l0", "ln.weight", "bn.weight",
        "emb.weight", "scale",
    ]  # fmt: skip
    assert rows["enc.weight"].tags == {"type:Linear"}
    assert rows["enc.bias"].tags == {"type:Linear", "bias"}
    assert rows["enc.biased"].tags == {"type:Linear"}
    assert rows["lstm.bias_ih_l0"].tags == {"type:LSTM", "bias"}
    assert rows["ln.weight"].tags == {"type:LlamaRMSNorm", "norm"}
    assert rows["bn.weight"].tags == {"type:Custom", "norm"} and not rows["bn.weight"].trainable
    assert rows["emb.weight"].tags == {"type:Embedding", "embedding"}
    assert rows["emb.weight"].aliases == ("head.weight",)
    assert rows["scale"].tags == frozenset() and rows["scale"].shape == ()
    assert ids == dict(zip(rows, range(1, 9), strict=True))  # each name's tensor id
    assert module_tags(entries[3]) == rows["lstm.bias_ih_l0"].tags


# -- the command line ---------------------------------------------------------------------


def test_cli_groups_explain(capsys):
    assert main(["groups", "--explain", "lstm.bias_ih_l0"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["group", "params", "lr", "x"]
    assert [line.split()[:5] for line in lines[1:5]] == [
        ["default", "76", "1e-05", "1", "0.01"],
        ["head", "3", "0.01", "1000", "0.01"],
        ["head+no_decay", "3", "0.01", "1000", "0"],
        ["no_decay", "123", "1e-05", "1", "0"],
    ]
    explain = out[out.index("lstm.bias_ih_l0: group 2 'head+no_decay'") :]
    assert re.search(r"lr\s+0\.01 \(x1000 of base 1e-05\)\s+<- rule 'head'", explain)
    assert re.search(r"weight_decay\s+0\s+<- rule 'no_decay'", explain)


def test_cli_bad_recipe_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        BERT_TOML.replace('tags = ["bias", "norm"]', 'contains = ["bias,", "LayerNorm"]')
    )
    assert main(["groups", str(bad), "--params", str(BERT_PARAMS)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("schedcore: error: groups.rules[1].match.contains[0]: 'bias,'")
    assert "did you mean 'bias'?" in err and "Traceback" not in err
    # a name not in the table, and a recipe without --params
    assert main(["groups", "--explain", "lstm.bias"]) == 2
    assert "no parameter named 'lstm.bias'" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text(BERT_TOML)
    assert main(["groups", str(good)]) == 2
    assert "--params" in capsys.readouterr().err


def test_cli_entry_point_subprocess():
    script = Path(sys.executable).with_name("schedcore")
    assert script.exists(), script
    proc = subprocess.run(
        [
            str(script),
            "groups",
            str(BERT_RECIPE),
            "--params",
            str(BERT_PARAMS),
            "--explain",
            "linear_layer.weight",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "linear_layer.weight: group 1 'head'" in proc.stdout
    assert re.search(r"weight_decay\s+0\.01\s+<- defaults", proc.stdout)


def test_recipe_round_trip_keeps_the_policy():
    recipe = load(BERT_RECIPE)
    again = load(recipe.to_dict())
    assert again == recipe
    assert isinstance(again, Recipe)
    assert again.bind(BERT_PARAMS).groups == recipe.bind(BERT_PARAMS).groups
