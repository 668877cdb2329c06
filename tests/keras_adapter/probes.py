"""Known-gradient probes: models whose every weight gets the gradient -1 in ``model.fit``.

A :class:`Probe` layer holds one float64 weight ``w`` and outputs ``x * w``; the model sums
its probes, the loss is ``mean(y_pred)`` and every input is -1, so the gradient of the loss
with respect to every weight is exactly -1 (under ``tf.distribute`` too: Keras scales the
loss by 1 / replicas and sums the replicas' gradients). Plain SGD then moves each weight by
exactly the lr it applies: the per-step deltas are the applied lrs.

Used in-process by the TensorFlow tests and, by import, in the subprocess scripts that run
other backends and MirroredStrategy (set ``KERAS_BACKEND`` before importing it).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="schedcore_tests")
class Probe(keras.layers.Layer):
    def __init__(self, size: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.size = size

    def build(self, input_shape) -> None:
        self.w = self.add_weight(shape=(self.size,), initializer="zeros", name="w")

    def call(self, x):
        return x * self.w

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="schedcore_tests")
def mean_prediction(y_true, y_pred):
    return ops.mean(y_pred)


def probe_model(names: list[str], dtype: str = "float64") -> keras.Model:
    """Probes named ``names`` (each weight's path is ``<name>/w``), built, not compiled;
    compile it with ``loss=mean_prediction``."""
    x = keras.Input((1,), dtype=dtype)
    outputs = [Probe(name=n, dtype=dtype)(x) for n in names]
    y = outputs[0] if len(outputs) == 1 else keras.layers.Add(dtype=dtype)(outputs)
    return keras.Model(x, y)


class Recorder(keras.callbacks.Callback):
    """The trainable weights (first element) after every batch, and the iterations."""

    def on_train_begin(self, logs=None) -> None:
        if not hasattr(self, "values"):
            self.values = [self._read()]
            self.iterations = []

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.values.append(self._read())
        self.iterations.append(int(ops.convert_to_numpy(self.model.optimizer.iterations)))

    def _read(self) -> list[float]:
        return [float(ops.convert_to_numpy(v).reshape(-1)[0]) for v in self.model.trainable_weights]

    def deltas(self) -> np.ndarray:
        """Per weight (rows) and update (columns): value after minus value before."""
        return np.diff(np.asarray(self.values), axis=0).T


def fit_steps(model: keras.Model, steps: int, recorder: Recorder, batch: int = 2, **fit) -> None:
    """``steps`` updates of ``model.fit`` on inputs of -1 (data in order)."""
    dtype = model.inputs[0].dtype
    x = -np.ones((steps * batch, 1), dtype=keras.backend.standardize_dtype(dtype))
    model.fit(x, np.zeros_like(x), batch_size=batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[recorder], **fit)  # fmt: skip
