"""Run by test_distributed.py in a fresh process: tf.distribute.MirroredStrategy over two
logical CPU devices (they must be configured before TensorFlow initialises its devices,
hence the process). Prints one JSON line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import schedcore_keras as sk  # noqa: E402
from keras_adapter.probes import Recorder, fit_steps, mean_prediction, probe_model  # noqa: E402

RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 30},
    "schedule": {"warmup": 5, "decay": "cosine"},
    "schedules": {"head": {"type": "linear", "steps": 30, "start": 1.0, "end": 0.1}},
    "groups": {
        "defaults": {},
        "rules": [{"name": "head", "match": {"prefix": "head."}, "lr": 0.4, "schedule": "head"}],
    },
}
PROBE_STEPS = (0, 3, 5, 29, 30, 1000, 2**31 + 5)


def gradient_scale(strategy) -> float:
    """The weight delta of Keras' own SGD with lr 1 under the strategy: the summed
    gradient Keras applies for the probes' per-replica gradient of -1."""
    with strategy.scope():
        model = probe_model(["w"])
        model.compile(keras.optimizers.SGD(learning_rate=1.0), loss=mean_prediction)
    recorder = Recorder()
    fit_steps(model, 1, recorder, batch=4)
    return float(recorder.deltas()[0, 0])


def main(steps: int) -> dict:
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    scale = gradient_scale(strategy)
    with strategy.scope():
        model = probe_model(["body", "head"])
        optimizer = sk.optimizer(model, RECIPE, base=keras.optimizers.SGD)
        model.compile(optimizer, loss=mean_prediction)
    recorder = Recorder()
    fit_steps(model, steps, recorder, batch=4)  # 2 examples per replica

    @tf.function
    def replica_lrs(step):
        return strategy.run(optimizer.group_learning_rates, args=(step,))

    per_replica = {}
    for k in PROBE_STEPS:
        values = strategy.experimental_local_results(replica_lrs(tf.constant(k, tf.int64)))
        per_replica[k] = [np.asarray(v).tolist() for v in values]
    components = [[np.asarray(c).tolist() for c in v.value.values] for v in model.weights]
    return {
        "replicas": strategy.num_replicas_in_sync,
        "gradient_scale": scale,
        "applied": recorder.deltas().tolist(),
        "iterations": recorder.iterations,
        "per_replica_lrs": {str(k): v for k, v in per_replica.items()},
        "components": components,
        "groups": [g.params for g in optimizer.plan.resolution.groups],
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
