"""model.save / keras.models.load_model keep the schedule and the optimizer's recipe: the lr
sequence after loading continues exactly, in this process and in a new one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import schedcore as sc
import schedcore_keras as sk

from .probes import Recorder, mean_prediction, probe_model

RECIPE = {
    "lr": 0.05,
    "training": {"total_steps": 30},
    "schedule": {"warmup": 5, "decay": "cosine", "min_lr_ratio": 0.1},
    "schedules": {"head": {"type": "onecycle", "steps": 30}},
    "groups": {
        "defaults": {"weight_decay": 0.01},
        "rules": [{"name": "head", "match": {"prefix": "head."}, "lr": 0.2, "schedule": "head"}],
    },
}
FIRST, REST = 12, 24  # the second part runs past the end (30)


class LearningRates(keras.callbacks.Callback):
    """The lr of every group (schedcore optimizers) or the optimizer's lr, at each update."""

    def on_train_begin(self, logs=None):
        self.seen = getattr(self, "seen", [])

    def on_train_batch_end(self, batch, logs=None):
        opt = self.model.optimizer
        k = int(opt.iterations) - 1  # the update that just ran
        if isinstance(opt, sk.RecipeOptimizerMixin):
            lrs = opt.group_learning_rates(k)
        else:
            lrs = opt._learning_rate(k)
        self.seen.append(np.atleast_1d(keras.ops.convert_to_numpy(lrs)).tolist())


def make(kind: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = probe_model(["body", "head"])
    if kind == "schedule":
        optimizer = keras.optimizers.AdamW(sk.schedule(sc.load(RECIPE)), weight_decay=0.01)
    elif kind == "recipe":
        optimizer = sk.optimizer(model, RECIPE)
    else:
        optimizer = sk.AdamWarmup(30, 5, min_lr=1e-3, learning_rate=0.05, weight_decay=0.01,
                                  weight_decay_pattern=["head"])  # fmt: skip
    model.compile(optimizer, loss=mean_prediction)
    return model


def run(model: keras.Model, steps: int, start: int = 0) -> tuple[list, list]:
    recorder, lrs = Recorder(), LearningRates()
    dtype = "float64"
    x = -np.ones(((start + steps) * 2, 1), dtype=dtype)[start * 2 :]
    model.fit(x, np.zeros_like(x), batch_size=2, epochs=1, shuffle=False, verbose=0,
              callbacks=[recorder, lrs])  # fmt: skip
    return recorder.values[1:], lrs.seen


@pytest.mark.parametrize("kind", ["schedule", "recipe", "adam_warmup"])
def test_save_and_load_model_continues_the_lr_sequence_exactly(kind, tmp_path):
    whole_values, whole_lrs = run(make(kind), FIRST + REST)
    model = make(kind)
    first_values, first_lrs = run(model, FIRST)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects: registered on import
    assert type(loaded.optimizer) is type(model.optimizer)
    assert int(loaded.optimizer.iterations) == FIRST
    rest_values, rest_lrs = run(loaded, REST, start=FIRST)
    assert first_lrs + rest_lrs == whole_lrs  # exactly, past the end too
    assert first_values + rest_values == whole_values  # and the weights themselves


def test_schedule_config_is_plain_data_and_round_trips():
    schedule = sk.schedule(sc.load(RECIPE))
    config = keras.optimizers.schedules.serialize(schedule)
    assert config["registered_name"] == "schedcore>RecipeSchedule"
    text = json.dumps(config)  # plain data
    again = keras.optimizers.schedules.deserialize(json.loads(text))
    assert isinstance(again, sk.RecipeSchedule) and again.schedule == schedule.schedule
    steps = np.array([0, 4, 5, 29, 30, 2**31 + 1])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(again(steps)), keras.ops.convert_to_numpy(schedule(steps))
    )


LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[2])
    import keras
    import schedcore_keras  # registers the schedcore classes
    import keras_adapter.probes  # registers the test model's layer and loss
    from keras_adapter.test_saving import run

    model = keras.models.load_model(sys.argv[1])
    print(json.dumps(run(model, int(sys.argv[3]), start=int(sys.argv[4]))))
    """
)


@pytest.mark.slow
def test_load_model_in_a_new_process_continues_exactly(tmp_path):
    whole_values, whole_lrs = run(make("recipe"), FIRST + REST)
    model = make("recipe")
    first_values, first_lrs = run(model, FIRST)
    model.save(tmp_path / "model.keras")
    script = tmp_path / "load.py"
    script.write_text(LOAD_SCRIPT)
    tests = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "model.keras"), tests, str(REST), str(FIRST)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rest_values, rest_lrs = json.loads(done.stdout.strip().splitlines()[-1])
    assert first_lrs + rest_lrs == whole_lrs
    assert first_values + rest_values == whole_values
