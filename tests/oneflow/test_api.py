"""schedcore_oneflow's API: one argument order ``(model, recipe, ...)``, recipes as paths or
Python schedules, ``lr=``, optimizer classes and instances, each group's applied lr in
nn.Graph, and the past-the-end warning and ``after = "error"`` in eager mode."""

from __future__ import annotations

import warnings

import numpy as np
import oneflow as flow
import pytest

import schedcore as sc
import schedcore_oneflow as so

RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 6},
    "schedule": {"warmup": 2, "decay": "cosine"},
    "groups": {"defaults": {}, "rules": [{"name": "bias", "match": {"tags": ["bias"]}, "lr": 1.0}]},
}
X = np.array([[1.0, 2.0], [3.0, -1.0]], dtype=np.float32)


def linear() -> flow.nn.Linear:
    flow.manual_seed(0)
    return flow.nn.Linear(2, 1)


def train(model, opt, sched, updates: int) -> None:
    for _ in range(updates):
        opt.zero_grad()
        model(flow.tensor(X)).sum().backward()
        opt.step()
        sched.step()


def applied(model, opt, sched, updates: int) -> np.ndarray:
    out = []
    for _ in range(updates):
        out.append([float(g["lr"]) for g in opt.param_groups])
        train(model, opt, sched, 1)
    return np.array(out).T


def test_one_liner_from_a_python_schedule_with_lr():
    schedule = sc.warmup(sc.cosine(steps=6), steps=2)
    model = linear()
    opt, sched = so.build(model, schedule, optimizer=flow.optim.SGD, lr=0.5, momentum=0.9)
    assert isinstance(opt, flow.optim.SGD) and opt.param_groups[0]["momentum"] == 0.9
    np.testing.assert_array_equal(applied(model, opt, sched, 8), [0.5 * schedule(np.arange(8))])


def test_lr_overrides_the_recipes_base_lr():
    model = linear()
    opt, sched = so.build(model, sc.load(RECIPE), optimizer=flow.optim.SGD, lr=0.2)
    expected = sc.load(RECIPE).bind(so.param_table(model)).lr(np.arange(6)) * 2  # default x2
    got = applied(model, opt, sched, 6)
    names = [g["name"] for g in opt.param_groups]
    np.testing.assert_allclose(got[names.index("default")], expected[names.index("default")])


def test_paths_are_accepted_everywhere(tmp_path):
    path = tmp_path / "recipe.toml"
    path.write_text(
        'lr = 0.1\n[training]\ntotal_steps = 6\n[schedule]\nwarmup = 2\ndecay = "cosine"\n'
    )
    model = linear()
    _, sched = so.build(model, path)
    assert [g["name"] for g in so.param_groups(model, str(path))] == ["default"]
    assert len(so.graph_optimizers(model, str(path))) == 1
    assert "cosine" in so.explain_lowering(model, path)
    assert sched.recipe == sc.load(path)


def test_an_optimizer_instance_gets_the_recipes_groups():
    model = linear()
    instance = flow.optim.SGD(model.parameters(), lr=123.0, momentum=0.8)
    opt, sched = so.build(model, sc.load(RECIPE), optimizer=instance)
    assert opt is instance
    assert [g["name"] for g in opt.param_groups] == ["default", "bias"]
    assert all(g["momentum"] == 0.8 for g in opt.param_groups)  # its options are kept
    expected = sc.load(RECIPE).bind(so.param_table(model)).lr(np.arange(6))
    np.testing.assert_allclose(applied(model, opt, sched, 6), expected, rtol=1e-15)


def test_an_optimizer_instance_that_stepped_or_with_options_is_refused():
    model = linear()
    stepped = flow.optim.SGD(model.parameters(), lr=0.1)
    model(flow.tensor(X)).sum().backward()
    stepped.step()
    with pytest.raises(ValueError, match="has already stepped"):
        so.build(model, sc.load(RECIPE), optimizer=stepped)
    fresh = flow.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"\['momentum'\] are for an optimizer class"):
        so.build(model, sc.load(RECIPE), optimizer=fresh, momentum=0.9)
    with pytest.raises(TypeError, match=r"optimizer must be a oneflow\.optim\.Optimizer"):
        so.build(model, sc.load(RECIPE), optimizer="sgd")


def test_explain_lowering_takes_model_then_recipe():
    model = linear()
    recipe = sc.load(RECIPE)
    text = so.explain_lowering(model, recipe)
    assert "optimizer 0" in text and "bias: lr" in text
    assert "optimizer 0" not in so.explain_lowering(None, recipe)
    with pytest.raises(TypeError, match=r"explain_lowering\(model, recipe, tolerance=None\)"):
        so.explain_lowering(recipe, model)


class Step(flow.nn.Graph):
    def __init__(self, model, opt, sch) -> None:
        super().__init__()
        self.model = model
        self.add_optimizer(opt, lr_sch=sch)

    def build(self, x):
        loss = self.model(x).sum()
        loss.backward()
        return loss


def test_graph_group_lrs_are_the_lrs_each_group_applies():
    # loss = sum(W x + b): constant gradients, so each update moves a tensor by -lr * grad
    model = linear()
    (pair,) = so.graph_optimizers(model, sc.load(RECIPE), optimizer=flow.optim.SGD)
    assert pair.lr_scheduler.get_last_lr() == [pytest.approx(0.0)] * 2  # the shared base
    graph = Step(model, pair.optimizer, pair.lr_scheduler)
    grads = {"default": X.sum(axis=0), "bias": np.array([len(X)], dtype=np.float32)}
    tensors = {"default": model.weight, "bias": model.bias}
    for k in range(8):  # past the end too
        before = {n: t.numpy().copy() for n, t in tensors.items()}
        graph(flow.tensor(X))
        lrs = pair.group_lrs(k)
        for name, tensor in tensors.items():
            moved = (before[name] - tensor.numpy()).ravel()
            np.testing.assert_allclose(moved, lrs[name] * grads[name].ravel(), rtol=1e-5,
                                       atol=1e-7)  # fmt: skip
    expected = sc.load(RECIPE).bind(so.param_table(model)).lr(np.arange(3))
    assert [pair.group_lrs(k)["bias"] for k in range(3)] == pytest.approx(expected[1])


def test_graph_refuses_an_instance_when_schedules_need_several_optimizers():
    model = linear()
    doc = {**RECIPE, "schedules": {"flat": {"type": "constant"}}}
    rule = {**RECIPE["groups"]["rules"][0], "schedule": "flat"}
    doc["groups"] = {"defaults": {}, "rules": [rule]}
    with pytest.raises(ValueError, match=r"need 2 optimizers in nn\.Graph"):
        so.graph_optimizers(model, sc.load(doc), optimizer=flow.optim.SGD(model.parameters()))


def test_eager_past_the_horizon_warns_once():
    model = linear()
    opt, sched = so.build(model, sc.load(RECIPE), optimizer=flow.optim.SGD)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sc.PastEndWarning)
        train(model, opt, sched, 6)
    with pytest.warns(sc.PastEndWarning, match=r"update 6 \(0-based\).*horizon of 6 updates"):
        train(model, opt, sched, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sc.PastEndWarning)
        train(model, opt, sched, 2)


def test_eager_after_error_raises_on_the_update_not_the_last_scheduler_step():
    n = 5
    schedule = sc.linear(steps=n, after="error")
    doc = {"lr": 0.1, "training": {"total_steps": n + 1}, "schedule": schedule.to_dict()}
    model = linear()
    opt, sched = so.build(model, sc.load(doc), optimizer=flow.optim.SGD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(model, opt, sched, n + 1)  # the last sched.step() is at n + 1, past the end
    assert sched.get_last_lr() == [0.0]  # s(n), the last applied lr, held
    before = model.weight.numpy().copy()
    with pytest.raises(sc.StepRangeError, match=f"update {n + 1}"):
        train(model, opt, sched, 1)
    np.testing.assert_array_equal(model.weight.numpy(), before)
