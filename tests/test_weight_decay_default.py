"""One recipe, one weight decay: torch and Keras apply the recipe's decay to every group,
0.0 where its policy leaves it unset, never their AdamW default (torch 0.01, Keras 0.004);
an optimizer ``weight_decay=`` option is refused. OneFlow: the same cases in
tests/oneflow/test_weight_decay_default.py."""

from __future__ import annotations

import numpy as np
import pytest
from weight_decay_cases import CASES, IDS, LR, check, measured

import schedcore as sc


@pytest.mark.parametrize("recipe, want", CASES, ids=IDS)
def test_core_groups_carry_the_applied_decay(recipe, want):
    table = sc.ParamTable.of(
        [
            {"name": "body.weight", "shape": [3, 4]},
            {"name": "body.bias", "shape": [3], "tags": ["bias"]},
            {"name": "head.weight", "shape": [2, 3]},
        ]
    )
    groups = sc.load(recipe).bind(table).resolution.groups
    got = {}
    for g in groups:
        assert g.optimizer_options()["weight_decay"] == g.applied_weight_decay
        for name in g.params:
            got["bias" if "bias" in name else name.split(".")[0]] = g.applied_weight_decay
    assert got == want


@pytest.mark.parametrize("recipe, want", CASES, ids=IDS)
def test_torch_applies_the_recipe_decay(recipe, want):
    torch = pytest.importorskip("torch")
    import schedcore_torch as st

    model = torch.nn.Module()
    model.body = torch.nn.Linear(4, 3)
    model.head = torch.nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    opt, _ = st.build(model, recipe)  # AdamW, whose own default decay is 0.01
    before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    after = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    check(measured(before, after), want)
    with pytest.raises(TypeError, match=r"groups\.defaults\.weight_decay"):
        st.build(model, recipe, weight_decay=0.01)


@pytest.mark.parametrize("recipe, want", CASES, ids=IDS)
def test_keras_applies_the_recipe_decay(recipe, want):
    keras = pytest.importorskip("keras")
    import schedcore_keras as sk

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, name="body", kernel_initializer="ones", bias_initializer="ones"),
            keras.layers.Dense(2, name="head", use_bias=False, kernel_initializer="ones"),
        ]
    )
    opt = sk.optimizer(model, recipe)  # AdamW, whose own default decay is 0.004
    variables = model.trainable_variables
    opt.build(variables)
    names = opt.plan.names
    before = {n: np.array(v.numpy()) for n, v in zip(names, variables, strict=True)}
    opt.apply_gradients([(keras.ops.zeros_like(v), v) for v in variables])
    after = {n: np.array(v.numpy()) for n, v in zip(names, variables, strict=True)}
    check(measured(before, after), want)
    assert sc.load(recipe).base_lr == LR
    with pytest.raises(TypeError, match=r"groups\.defaults\.weight_decay"):
        sk.optimizer(model, recipe, weight_decay=0.004)
