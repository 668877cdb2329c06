"""The Keras one-liners from a Python schedule (sk.schedule, sk.optimizer)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import schedcore as sc
import schedcore_keras as sk


def test_schedule_and_optimizer_from_a_python_schedule():
    s = sc.warmup(sc.cosine(steps=40, end=0.1), steps=10)
    steps = np.arange(60)
    got = np.asarray(sk.schedule(s, lr=3e-3)(steps))
    np.testing.assert_allclose(got, 3e-3 * s(steps), rtol=2e-7, atol=1e-12)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    opt = sk.optimizer(model, s, lr=3e-3, base=keras.optimizers.SGD)
    assert opt.recipe.base_lr == 3e-3 and opt.recipe.schedule is s
    model.compile(optimizer=opt, loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), batch_size=4, epochs=2, verbose=0)
    assert int(opt.iterations) == 4
    np.testing.assert_allclose(
        np.asarray(opt.group_learning_rates(4)).ravel()[0], 3e-3 * s(4), rtol=2e-7
    )
    with pytest.raises(sc.SpecError, match="lr: is required with a bare schedule"):
        sk.optimizer(model, s)
