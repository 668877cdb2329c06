"""The BERT-like model of tests/test_cross_framework_groups.py in OneFlow: the same named
groups as the core gives (and so as torch and Keras, which the main venv checks), in eager
param_groups, in the nn.Graph optimizers and in the Graph explanation."""

from __future__ import annotations

import oneflow as flow
import pytest
import test_cross_framework_groups as shared

import schedcore as sc
import schedcore_oneflow as so


def test_eager_param_groups_are_the_cores_named_groups():
    recipe = sc.load(shared.RECIPE)
    model = shared.torch_like_bert(flow)
    assert so.param_table(model).names == shared.neutral_table().names
    groups = so.param_groups(model, recipe)
    summary = shared.torch_like_summary(groups)
    assert summary == shared.core_summary(recipe.bind(shared.neutral_table()))
    assert set(summary) == shared.EXPECTED
    optimizer = flow.optim.AdamW(groups, lr=recipe.base_lr)
    assert [g["name"] for g in optimizer.param_groups] == [name for name, *_ in summary]


def test_graph_optimizers_and_the_explanation_show_the_group_names():
    recipe = sc.load(shared.RECIPE)
    model = shared.torch_like_bert(flow)
    (pair,) = so.graph_optimizers(model, recipe)  # one schedule: one optimizer
    named = {g["name"]: (len(g.parameters), g["lr_scale"]) for g in pair.optimizer.param_groups}
    assert named == pytest.approx({
        "default": (10, 0.1), "embeddings": (2, 0.05), "no_decay": (16, 0.1),
        "head": (1, 1.0), "head+no_decay": (1, 1.0),
    }, rel=1e-15)  # fmt: skip
    text = so.explain_lowering(model, recipe)
    order = [name for name, *_ in shared.core_summary(recipe.bind(shared.neutral_table()))]
    assert f"schedule 'default' (exact, groups {', '.join(order)}):" in text
    for name in named:
        assert f"\n  {name}: lr " in text, name
    assert "  head+no_decay: lr 0.001 x lr_scale 1: head.bias" in text
