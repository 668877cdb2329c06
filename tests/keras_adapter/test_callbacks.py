"""schedcore_keras.callbacks.RecipeCallback in model.fit: every group's applied lr in the
History and in TensorBoard, and the past-the-end warning of compiled train steps; and the
warning of RecipeSchedule itself when evaluated eagerly."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import schedcore as sc
import schedcore_keras as sk
from schedcore_keras.callbacks import RecipeCallback

from .probes import mean_prediction, probe_model

RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 8},
    "schedule": {"warmup": 2, "decay": "cosine"},
    "schedules": {"head": {"type": "linear", "steps": 8}},
    "groups": {
        "defaults": {},
        "rules": [{"name": "head", "match": {"prefix": "head."}, "lr": 0.5, "schedule": "head"}],
    },
}


def fit(model, callbacks, epochs: int, per_epoch: int = 4):
    x = -np.ones((per_epoch * 2, 1))
    return model.fit(x, np.zeros_like(x), batch_size=2, epochs=epochs, shuffle=False,
                     verbose=0, callbacks=callbacks)  # fmt: skip


def recipe_model():
    model = probe_model(["body", "head"])
    recipe = sc.load(RECIPE)
    model.compile(optimizer=sk.optimizer(model, recipe, base=keras.optimizers.SGD),
                  loss=mean_prediction)  # fmt: skip
    return model, recipe.bind(sk.param_table(model))


def test_history_holds_every_groups_applied_lr_by_name():
    model, bound = recipe_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", sc.PastEndWarning)
        history = fit(model, [RecipeCallback()], epochs=2)  # 2 x 4 = the 8 updates
    names = [g.name for g in bound.groups]
    assert sorted(names) == ["default", "head"]
    lrs = bound.lr(np.array([3, 7]))  # the last update of each epoch
    for row, name in zip(lrs, names, strict=True):
        np.testing.assert_allclose(history.history[f"lr/{name}"], row, rtol=1e-6)
    # optimizer.learning_rate follows the default schedule at the base lr: no group's curve
    assert history.history["lr/head"][0] != pytest.approx(0.1 * bound.schedule(3))


def test_tensorboard_gets_the_group_lrs(tmp_path):
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("tensorboard")  # keras.callbacks.TensorBoard writes through it
    model, bound = recipe_model()
    fit(model, [RecipeCallback(), keras.callbacks.TensorBoard(str(tmp_path))], epochs=2)
    events = sorted((tmp_path / "train").glob("events.out.tfevents.*"))
    assert events
    tags: dict[str, list[float]] = {}
    for event in tf.compat.v1.train.summary_iterator(str(events[0])):
        for value in event.summary.value:
            if not value.tag.startswith("epoch_"):
                continue  # the model's graph, its config
            has_tensor = value.HasField("tensor")
            number = tf.make_ndarray(value.tensor) if has_tensor else value.simple_value
            tags.setdefault(value.tag, []).append(float(number))
    np.testing.assert_allclose(tags["epoch_lr/head"], bound.lr(np.array([3, 7]))[1], rtol=1e-6)


def test_fit_past_the_horizon_warns_once():
    model, _ = recipe_model()
    with pytest.warns(sc.PastEndWarning, match=r"update 8 \(0-based\).*horizon of 8") as caught:
        fit(model, [RecipeCallback()], epochs=3)  # 12 updates
    assert sum(issubclass(w.category, sc.PastEndWarning) for w in caught) == 1


def test_recipe_schedule_warns_once_for_a_concrete_step_past_the_end():
    schedule = sk.schedule(sc.load(RECIPE))
    assert schedule.horizon == 8 and schedule.get_config()["horizon"] == 8
    with warnings.catch_warnings():
        warnings.simplefilter("error", sc.PastEndWarning)
        schedule(7)
        schedule(np.arange(20))  # an array of steps (a plot): not a run
    with pytest.warns(sc.PastEndWarning, match="update 8 .*horizon of 8"):
        schedule(keras.ops.convert_to_tensor(8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", sc.PastEndWarning)
        schedule(9)  # once
    rebuilt = sk.RecipeSchedule.from_config(schedule.get_config())
    assert rebuilt.horizon == 8
