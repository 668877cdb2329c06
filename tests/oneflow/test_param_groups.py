"""schedcore_oneflow.param_groups and the parameter table it fills from a OneFlow model."""

from __future__ import annotations

import re

import numpy as np
import oneflow as flow
import pytest
from oneflow import nn

import schedcore as sc
import schedcore_oneflow as so
from schedcore_oneflow.table import NORM_TYPES


class RMSish(nn.Module):  # a user's norm: no oneflow base class, "Norm" only in a name
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(flow.ones(dim))


class MyNormalizer(RMSish):
    pass


class LSTMish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight_ih_l0 = nn.Parameter(flow.zeros(4, 4))
        self.bias_ih_l0 = nn.Parameter(flow.zeros(4))


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.custom = MyNormalizer(4)
        self.plain = RMSish(4)
        self.bn = nn.BatchNorm1d(4)
        self.gn = nn.GroupNorm(2, 4)
        self.inorm = nn.InstanceNorm1d(4, affine=True)
        self.ln = nn.LayerNorm(4)
        self.rms = nn.RMSNorm(4)
        self.emb = nn.Embedding(10, 4)
        self.lstm = LSTMish()


def test_tags_cover_oneflow_norms_named_norms_bias_and_embeddings():
    model = Block()
    table, tensors = so.table_and_tensors(model)
    tags = {p.name: p.tags for p in table}
    for name in ("custom.scale", "bn.weight", "bn.bias", "gn.weight", "inorm.weight",
                 "ln.weight", "rms.weight"):  # fmt: skip
        assert "norm" in tags[name], name
    assert "norm" not in tags["plain.scale"] and "norm" not in tags["proj.weight"]
    assert "bias" in tags["proj.bias"] and "bias" not in tags["proj.weight"]
    assert "bias" in tags["lstm.bias_ih_l0"] and "bias" not in tags["lstm.weight_ih_l0"]
    assert "embedding" in tags["emb.weight"]
    assert "type:MyNormalizer" in tags["custom.scale"] and "type:Linear" in tags["proj.weight"]
    assert [p.name for p in table] == [n for n, _ in model.named_parameters()]
    assert all(tensors[n] is t for n, t in model.named_parameters())


def test_every_oneflow_norm_class_is_in_the_explicit_list():
    norm_classes = [getattr(nn, n) for n in dir(nn) if re.search(r"Norm(\dd)?$", n)]
    assert len(norm_classes) >= 10
    assert [c for c in norm_classes if not issubclass(c, NORM_TYPES)] == []


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(8, 4)
        self.body = nn.Linear(4, 4)
        self.out = nn.Linear(4, 8, bias=False)
        self.out.weight = self.embed.weight  # tied
        self.shared = self.body  # one module under two names
        self.frozen = nn.Linear(4, 4)
        self.frozen.weight.requires_grad = False


def test_tied_weights_and_shared_modules_are_one_row_with_aliases():
    table, tensors = so.table_and_tensors(Tied())
    rows = {p.name: p for p in table}
    assert rows["embed.weight"].aliases == ("out.weight",)
    assert rows["body.weight"].aliases == ("shared.weight",)
    assert "embedding" in rows["embed.weight"].tags
    assert rows["frozen.weight"].trainable is False
    assert len(tensors) == len(table) == 5


RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 30},
    "schedule": {"warmup": 5, "decay": "cosine"},
    "schedules": {"head": {"type": "linear", "steps": 30}},
    "groups": {
        "defaults": {"weight_decay": 0.01},
        "rules": [
            {
                "name": "head",
                "match": {"prefix": ["out.", "embed."]},
                "lr": 0.5,
                "schedule": "head",
            },
            {"name": "no_decay", "match": {"tags": ["bias"]}, "weight_decay": 0.0},
            {"name": "freeze", "match": {"prefix": "frozen."}, "frozen": True},
        ],
    },
}


def test_param_groups_carry_absolute_lrs_and_no_lr_scale():
    model = Tied()
    groups = so.param_groups(model, sc.load(RECIPE))
    summary = sorted((g["name"], g["lr"], g.get("weight_decay"), g["schedule"],
                      g["param_names"]) for g in groups)  # fmt: skip
    assert summary == [
        ("default", 0.1, 0.01, "default", ["body.weight"]),
        ("head", 0.5, 0.01, "head", ["embed.weight"]),  # the tied weight, by its alias out.weight
        ("no_decay", 0.1, 0.0, "default", ["body.bias"]),
    ]
    assert all("lr_scale" not in g for g in groups)  # eager OneFlow ignores lr_scale
    opt = flow.optim.AdamW(groups, lr=0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert [[names[id(p)] for p in g.parameters] for g in opt.param_groups] == [
        g["param_names"] for g in groups
    ]
    assert [g["schedule"] for g in opt.param_groups] == [g["schedule"] for g in groups]
    assert [g["name"] for g in opt.param_groups] == [g["name"] for g in groups]


def test_param_table_is_a_table_that_bind_accepts():
    model = Tied()
    table = so.param_table(model)
    assert isinstance(table, sc.ParamTable)
    groups = sc.load(RECIPE).bind(table).groups
    assert [list(g.params) for g in groups] == [
        g["param_names"] for g in so.param_groups(model, sc.load(RECIPE))
    ]


def test_a_rule_that_matches_nothing_is_an_error_naming_it():
    rules = [{"name": "typo", "match": {"prefix": "heda."}, "lr": 0.2}]
    recipe = sc.load({**RECIPE, "groups": {"defaults": {}, "rules": rules}})
    with pytest.raises(sc.SpecError, match="typo"):
        so.param_groups(Tied(), recipe)


def test_build_gives_an_optimizer_whose_groups_follow_the_recipe():
    model = Tied()
    opt, sched = so.build(model, sc.load(RECIPE), optimizer=flow.optim.SGD, momentum=0.9)
    assert isinstance(opt, flow.optim.SGD) and opt.param_groups[0]["momentum"] == 0.9
    expected = sc.load(RECIPE).bind(so.param_table(model)).lr(np.arange(1))[:, 0]
    assert [g["lr"] for g in opt.param_groups] == list(expected)
    assert isinstance(sched, so.RecipeLR)
