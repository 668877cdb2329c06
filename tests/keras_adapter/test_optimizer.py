"""schedcore_keras.optimizers: per-group lrs and schedules applied inside model.fit."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import schedcore as sc
import schedcore_keras as sk

from .probes import Recorder, fit_steps, mean_prediction, probe_model

RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 60},
    "schedule": {"warmup": 10, "decay": "cosine", "min_lr_ratio": 0.05},
    "schedules": {"head": {"type": "linear", "steps": 60, "start": 1.0, "end": 0.0}},
    "groups": {
        "defaults": {"weight_decay": 0.01},
        "rules": [
            {"name": "head", "match": {"prefix": "head."}, "lr": 0.5, "schedule": "head"},
            {"name": "no_decay", "match": {"contains": ["LayerNorm"]}, "weight_decay": 0.0},
        ],
    },
}
NAMES = ["body", "LayerNorm", "head"]


def expected_deltas(model, recipe, recorder) -> np.ndarray:
    """Per weight (rows) and update: the core's lr, less its weight decay, as Keras applies
    it (``w -= w * wd * lr``, then SGD's ``w += lr`` for the gradient -1)."""
    bound = sc.load(recipe).bind(sk.param_table(model))
    before = np.asarray(recorder.values[:-1]).T
    lrs = bound.lr(np.arange(before.shape[1]))
    rows = []
    for i, v in enumerate(model.weights):
        group = bound.groups[bound.resolution.group_of(sk.canonical(v.path))]
        rows.append(
            lrs[bound.groups.index(group)] * (1.0 - (group.weight_decay or 0.0) * before[i])
        )
    return np.stack(rows)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_fit_applies_every_group_its_lr_and_schedule(jit_compile):
    model = probe_model(NAMES)
    opt = sk.optimizer(model, RECIPE, base=keras.optimizers.SGD)
    model.compile(opt, loss=mean_prediction, jit_compile=jit_compile)
    recorder = Recorder()
    fit_steps(model, 75, recorder)  # 15 steps past the end
    np.testing.assert_allclose(
        recorder.deltas(), expected_deltas(model, RECIPE, recorder), rtol=1e-6
    )
    groups = opt.plan.resolution.groups
    assert [groups[g].schedule for g in opt.plan.group_of] == ["default", "default", "head"]
    assert opt.plan.decay == (0.01, 0.0, 0.01)


def test_plan_records_each_variable_group_and_weight_decay():
    model = probe_model(NAMES)
    opt = sk.optimizer(model, RECIPE, base=keras.optimizers.AdamW)
    opt.build(model.trainable_variables)
    assert opt.plan.names == ("body.w", "LayerNorm.w", "head.w")
    assert opt.plan.decay == (0.01, 0.0, 0.01)  # the policy's, not AdamW's 0.004
    assert opt.plan.variable_groups == {"body.w": "default", "LayerNorm.w": "no_decay",
                                        "head.w": "head"}  # fmt: skip
    assert sorted(str(opt.plan).splitlines()) == [
        "default: lr 0.1, weight decay 0.01, schedule default: body.w",
        "head: lr 0.5, weight decay 0.01, schedule head: head.w",
        "no_decay: lr 0.1, weight decay 0, schedule default: LayerNorm.w",
    ]
    unset = {"lr": 0.1, "groups": {"defaults": {}}}
    with_default = sk.optimizer(model, unset, base=keras.optimizers.AdamW)
    with_default.build(model.trainable_variables)
    assert with_default.plan.decay == (0.0, 0.0, 0.0)  # unset by the policy: 0.0, not 0.004
    with pytest.raises(TypeError, match=r"groups\.defaults\.weight_decay"):
        sk.optimizer(model, unset, base=keras.optimizers.SGD, weight_decay=0.5)


def test_gradient_accumulation_counts_updates_not_micro_batches():
    recipe = {"lr": 0.1, "schedule": {"type": "linear", "steps": 8, "start": 1.0, "end": 0.0}}
    model = probe_model(["w"])
    opt = sk.optimizer(model, recipe, base=keras.optimizers.SGD, gradient_accumulation_steps=2)
    model.compile(opt, loss=mean_prediction)
    recorder = Recorder()
    fit_steps(model, 20, recorder)
    deltas = recorder.deltas()[0]
    np.testing.assert_array_equal(deltas[0::2], 0.0)  # micro-batches accumulate
    np.testing.assert_allclose(deltas[1::2], sc.load(recipe).lr(np.arange(10)), rtol=1e-6)


def test_variables_frozen_by_the_policy_or_by_keras_are_not_updated():
    recipe = {
        "lr": 0.1,
        "groups": {
            "defaults": {},
            "rules": [{"name": "f", "match": {"prefix": "a."}, "frozen": True}],
        },
    }
    model = probe_model(["a", "b", "c"])
    model.get_layer("c").trainable = False
    table = sk.param_table(model)
    assert [(p.name, p.trainable) for p in table] == [("a.w", True), ("b.w", True), ("c.w", False)]
    opt = sk.optimizer(model, recipe, base=keras.optimizers.SGD)
    model.compile(opt, loss=mean_prediction)
    recorder = Recorder()
    fit_steps(model, 3, recorder)
    assert opt.plan.names == ("a.w", "b.w") and opt.plan.group_of[0] is None
    np.testing.assert_array_equal(recorder.deltas(), [[0.0] * 3, [np.float32(0.1)] * 3])


def test_learning_rate_is_the_base_lr_times_the_default_schedule():
    model = probe_model(NAMES)
    opt = sk.optimizer(model, RECIPE, base=keras.optimizers.SGD)
    core = sc.load(RECIPE)
    for k in (0, 5, 10, 59, 60, 1000):
        opt.iterations.assign(k)
        assert float(opt.learning_rate) == pytest.approx(core.lr(k), rel=1e-6, abs=1e-45)
        assert opt.learning_rate.dtype == "float32"


def test_errors_name_what_was_given_and_what_is_accepted():
    model = probe_model(NAMES)
    with pytest.raises(TypeError, match=r"learning_rate: the lr comes from the recipe.*0\.3"):
        sk.optimizer(model, RECIPE, learning_rate=0.3)
    with pytest.raises(TypeError, match=r"base must be a keras\.optimizers\.Optimizer subclass"):
        sk.optimizer(model, RECIPE, base=dict)
    with pytest.raises(TypeError, match=r"recipe must be a schedcore\.Recipe"):
        sk.optimizer(model, 0.1)
    rule = {"name": "x", "match": {"prefix": "hed."}, "lr": 1.0}
    typo = {"lr": 0.1, "groups": {"defaults": {}, "rules": [rule]}}
    with pytest.raises(sc.SpecError, match=r"groups\.rules\[0\]: rule 'x' matches no parameter"):
        sk.optimizer(model, typo)  # at construction, not at the first train step
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="has no variables yet: build it first"):
        sk.optimizer(unbuilt, RECIPE)
    opt = sk.optimizer(model, {"lr": 0.1})
    other = probe_model(["other"])
    with pytest.raises(ValueError, match=r"variable 'other/w' .* is not in the parameter table"):
        opt.build(other.trainable_variables)
    with pytest.raises(TypeError, match=r"exclude_from_weight_decay: .* add a rule instead"):
        opt.exclude_from_weight_decay(var_names=["LayerNorm"])


def test_any_keras_optimizer_can_be_the_base():
    model = probe_model(["w"])
    for base in sk.optimizer.__globals__["BUILTIN_BASES"]:
        opt = sk.optimizer(model, {"lr": 0.01}, base=base)
        assert isinstance(opt, base) and isinstance(opt, sk.RecipeOptimizerMixin)
        assert type(opt).__name__ == f"Recipe{base.__name__}"
    assert sk.optimizer_class(keras.optimizers.SGD) is sk.RecipeSGD
    assert sk.optimizer_class(sk.RecipeSGD) is sk.RecipeSGD
