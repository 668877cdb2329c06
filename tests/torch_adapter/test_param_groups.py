"""schedcore_torch.param_groups and the parameter table it fills from a torch model."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_bert_layered_lr import BertTest

import schedcore as sc
import schedcore_torch as st
from schedcore.examples import BERT_RECIPE


def names_by_group(groups):
    return [(g["lr"], g.get("weight_decay"), [n for n, _ in g["params"]]) for g in groups]


def test_seed_bert_groups_from_the_bundled_recipe():
    torch.manual_seed(0)
    model = BertTest()
    recipe = sc.load(BERT_RECIPE)
    groups = st.param_groups(model, recipe)
    by_key = {(g["lr"], g["weight_decay"]): [n for n, _ in g["params"]] for g in groups}
    assert set(by_key) == {(1e-5, 0.0), (1e-5, 0.01), (1e-2, 0.0), (1e-2, 0.01)}
    assert "bert_model.encoder.layer.1.output.LayerNorm.weight" in by_key[(1e-5, 0.0)]
    assert "bert_model.encoder.layer.0.attention.self.query.weight" in by_key[(1e-5, 0.01)]
    assert set(by_key[(1e-2, 0.0)]) == {"lstm.bias_ih_l0", "lstm.bias_hh_l0", "linear_layer.bias"}
    assert set(by_key[(1e-2, 0.01)]) == {
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
        "linear_layer.weight",
    }
    # every trainable parameter exactly once, and torch accepts the groups as they are
    all_names = [n for names in by_key.values() for n in names]
    assert sorted(all_names) == sorted(n for n, _ in model.named_parameters())
    expected_names = [[n for n, _ in g["params"]] for g in groups]
    opt = torch.optim.AdamW(groups, lr=1e-5)
    assert [g["param_names"] for g in opt.param_groups] == expected_names
    # named groups in rule order, ratios without float noise (1e-2 / 1e-5 is 1000)
    assert [g["name"] for g in opt.param_groups] == [
        "default", "head", "head+no_decay", "no_decay"
    ]  # fmt: skip
    assert [g["lr_scale"] for g in opt.param_groups] == [1.0, 1000.0, 1000.0, 1.0]


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.rms = RMSNorm(4)
        self.bn = nn.BatchNorm1d(4)
        self.gn = nn.GroupNorm(2, 4)
        self.inorm = nn.InstanceNorm1d(4, affine=True)
        self.ln = nn.LayerNorm(4)
        self.torch_rms = nn.RMSNorm(4)
        self.emb = nn.Embedding(10, 4)


def test_tags_cover_torch_norms_custom_norms_bias_and_embeddings():
    table = st.param_table(Block())
    tags = {p.name: p.tags for p in table}
    for name in (
        "rms.scale",
        "bn.weight",
        "bn.bias",
        "gn.weight",
        "inorm.weight",
        "ln.weight",
        "torch_rms.weight",
    ):
        assert "norm" in tags[name], name
    assert "norm" not in tags["proj.weight"]
    assert "bias" in tags["proj.bias"] and "bias" not in tags["proj.weight"]
    assert "embedding" in tags["emb.weight"]
    assert "type:RMSNorm" in tags["rms.scale"]


TORCH_NORMS = [
    getattr(nn, name)
    for name in dir(nn)
    if "Norm" in name
    and isinstance(getattr(nn, name), type)
    and issubclass(getattr(nn, name), nn.Module)
]


def test_the_torch_norm_list_is_not_empty():
    assert len(TORCH_NORMS) >= 10


@pytest.mark.parametrize("cls", TORCH_NORMS, ids=lambda c: c.__name__)
def test_every_torch_nn_norm_class_is_a_norm(cls):
    instance = cls.__new__(cls)  # the checks look at the type only
    assert st.is_norm(instance)
    assert isinstance(instance, st.table.NORM_TYPES), "the explicit list misses a torch norm"


def test_wrapper_prefixes_are_stripped():
    model = nn.Sequential(nn.Linear(2, 2))
    compiled = torch.compile(model)  # wraps as OptimizedModule (_orig_mod.), compiles lazily
    names = [p.name for p in st.param_table(compiled)]
    assert names == ["0.weight", "0.bias"]
    assert st.canonical("module._orig_mod.encoder.weight") == "encoder.weight"
    assert st.canonical("module.module.w") == "w"


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.body = nn.Linear(4, 4)
        self.lm_head = nn.Linear(4, 10, bias=False)
        self.lm_head.weight = self.emb.weight


def test_tied_weights_become_aliases_and_appear_once():
    table, tensors = st.table_and_tensors(Tied())
    row = next(p for p in table if p.name == "emb.weight")
    assert row.aliases == ("lm_head.weight",)
    assert "lm_head.weight" not in tensors
    recipe = sc.load(
        {
            "lr": 0.1,
            "groups": {
                "defaults": {},
                "rules": [{"name": "emb", "match": {"glob": ["emb.*", "lm_head.*"]}, "lr": 0.5}],
            },
        }
    )
    groups = st.param_groups(Tied(), recipe)
    names = [n for g in groups for n, _ in g["params"]]
    assert names.count("emb.weight") == 1 and "lm_head.weight" not in names
    torch.optim.SGD(groups, lr=0.1)  # no "appears in more than one group" error


def test_tied_alias_with_different_settings_is_an_error():
    recipe = sc.load(
        {
            "lr": 0.1,
            "groups": {
                "defaults": {},
                "rules": [{"name": "head", "match": {"prefix": "lm_head."}, "lr": 0.5}],
            },
        }
    )
    with pytest.raises(sc.SpecError, match=r"'emb.weight'.*'lm_head.weight'"):
        st.param_groups(Tied(), recipe)


def test_frozen_parameters_are_left_out():
    model = Tied()
    model.body.bias.requires_grad_(False)
    recipe = sc.load(
        {
            "lr": 0.1,
            "groups": {
                "defaults": {},
                "rules": [
                    {
                        "name": "freeze_emb",
                        "match": {"glob": ["emb.*", "lm_head.*"]},
                        "frozen": True,
                    }
                ],
            },
        }
    )
    names = [n for g in st.param_groups(model, recipe) for n, _ in g["params"]]
    assert names == ["body.weight"]


def test_build_returns_optimizer_and_scheduler():
    model = BertTest()
    opt, sched = st.build(model, sc.load(BERT_RECIPE), betas=(0.9, 0.98))
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["betas"] == (0.9, 0.98)
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    assert sched.get_last_lr() == [0.0] * len(opt.param_groups)  # linear warmup from 0


def test_param_table_is_a_table_that_bind_accepts_and_save_writes(tmp_path):
    model = BertTest()
    table = st.param_table(model)
    assert isinstance(table, sc.ParamTable)
    assert table.names == [n for n, _ in model.named_parameters()]
    recipe = sc.load(BERT_RECIPE)
    groups = recipe.bind(table).groups
    torch_groups = st.param_groups(model, recipe)
    assert [g.name for g in groups] == [g["name"] for g in torch_groups]
    assert [list(g.params) for g in groups] == [[n for n, _ in g["params"]] for g in torch_groups]
    for suffix in ("csv", "json"):  # what `schedcore groups recipe.toml --params` reads
        path = tmp_path / f"params.{suffix}"
        table.save(path)
        assert sc.ParamTable.load(path) == table
        assert recipe.bind(path).groups == groups
