"""One recipe, one weight decay, in OneFlow (eager and nn.Graph optimizers): the decay the
optimizer really applies is the recipe's, 0.0 where its policy leaves it unset, as in torch
and Keras (tests/test_weight_decay_default.py, the same cases)."""

from __future__ import annotations

import numpy as np
import oneflow as flow
import pytest
from weight_decay_cases import CASES, IDS, check, measured

import schedcore_oneflow as so


def probe() -> flow.nn.Module:
    model = flow.nn.Module()
    model.body = flow.nn.Linear(4, 3)
    model.head = flow.nn.Linear(3, 2, bias=False)
    with flow.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    return model


def step(model: flow.nn.Module, optimizers) -> dict[str, float]:
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = flow.zeros_like(p)
    for opt in optimizers:
        opt.step()
    return {n: p.numpy().copy() for n, p in model.named_parameters()}, before


@pytest.mark.parametrize("recipe, want", CASES, ids=IDS)
def test_oneflow_eager_applies_the_recipe_decay(recipe, want):
    model = probe()
    opt, _ = so.build(model, recipe)  # AdamW
    after, before = step(model, [opt])
    check(measured(before, after), want)
    with pytest.raises(TypeError, match=r"groups\.defaults\.weight_decay"):
        so.build(model, recipe, weight_decay=0.01)


@pytest.mark.parametrize("recipe, want", CASES, ids=IDS)
def test_oneflow_graph_optimizers_carry_the_recipe_decay(recipe, want):
    model = probe()
    got = {}
    for g in so.graph_optimizers(model, recipe):
        for group in g.optimizer.param_groups:
            for name in group["param_names"]:
                key = "bias" if "bias" in name else name.split(".")[0]
                got[key] = float(group["weight_decay"])
    check(got, want)
    after, before = step(model, [g.optimizer for g in so.graph_optimizers(model, recipe)])
    check(measured(before, after), want)
    assert np.all(np.isfinite(after["body.weight"]))
