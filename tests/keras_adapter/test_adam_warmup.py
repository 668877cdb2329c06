"""AdamWarmup (keras-bert compatible) and per-variable weight decay, measured on Keras.

Every weight gets the gradient +1 at every update of a compiled train step, with
``epsilon = 0`` and betas that float32 represents exactly (Keras turns a Python beta into a
float32 tensor before casting it to the weight's dtype; 0.999 would be off by 1.3e-8):
Adam's bias-corrected step ``m_hat / sqrt(v_hat)`` is then 1 to float64 rounding, so a
weight moves by exactly ``lr + wd * lr * w`` (Keras' weight decay, ``w -= w * wd * lr``,
then Adam). All weights start at 1 and the model is float64, so the lr and the weight decay
each weight actually got can be read back from its deltas.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import schedcore as sc
import schedcore_keras as sk

D, W, LR, MIN_LR = 40, 8, 1e-3, 1e-5
EXACT = {"beta_1": 0.875, "beta_2": 1 - 2**-10, "epsilon": 0.0}


def keras_bert_lr(k: np.ndarray, decay: int, warmup: int, lr: float, min_lr: float) -> np.ndarray:
    """keras-bert's curve, as anchors/schedules.md §4 records it from its source."""
    t = np.asarray(k, dtype=np.float64) + 1.0  # 1-based
    return np.where(t <= warmup, lr * t / max(warmup, 1),
                    min_lr + (lr - min_lr) * (1.0 - np.minimum(t, decay) / decay))  # fmt: skip


def bert_like() -> keras.Model:
    x = keras.Input((3,), dtype="float64")
    h = keras.layers.Dense(2, name="dense", dtype="float64")(x)
    h = keras.layers.LayerNormalization(name="LayerNorm", dtype="float64")(h)
    y = keras.layers.Dense(1, name="head", dtype="float64")(h)
    model = keras.Model(x, y)
    for v in model.weights:
        v.assign(np.ones(v.shape))
    return model


def measure(model: keras.Model, optimizer, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(weights before each update, deltas), per weight (rows) and update (columns)."""
    variables = model.trainable_variables
    ones = [tf.ones(v.shape, tf.float64) for v in variables]
    optimizer.build(variables)

    @tf.function
    def step():
        optimizer.apply(ones, variables)

    values = []
    for _ in range(steps + 1):
        values.append([float(np.asarray(v.numpy()).reshape(-1)[0]) for v in variables])
        step()
    values = np.asarray(values).T
    return values[:, :-1], values[:, :-1] - values[:, 1:]


def weight_decay_applied(model, optimizer, steps: int, lrs: np.ndarray) -> dict[str, float]:
    """Per weight: checks that the lr it got is ``lrs`` (to rtol 1e-6: it is float32) and
    returns the weight decay it got (read against the float32 lr, which is exact)."""
    before, deltas = measure(model, optimizer, steps)
    lr32 = lrs.astype(np.float32).astype(np.float64)
    live = lrs > 0
    out = {}
    for i, v in enumerate(model.trainable_variables):
        wd = (deltas[i][live] / lr32[live] - 1.0) / before[i][live]
        # one decay for every step, and the rest of each delta is the lr
        np.testing.assert_allclose(wd, wd[0], rtol=1e-6, atol=1e-12, err_msg=v.path)
        expected = lrs * (1.0 + wd[0] * before[i])
        np.testing.assert_allclose(deltas[i], expected, rtol=1e-6, err_msg=v.path)
        out[sk.canonical(v.path)] = round(float(wd[0]), 9)
    return out


STEPS = D + 5  # past the end of the decay
CURVE = keras_bert_lr(np.arange(STEPS), D, W, LR, MIN_LR)


def test_lr_curve_is_keras_berts_exactly():
    opt = sk.AdamWarmup(D, W, min_lr=MIN_LR, learning_rate=LR)
    got = []
    for k in range(STEPS):
        opt.iterations.assign(k)
        got.append(float(opt.learning_rate))
    np.testing.assert_allclose(got, CURVE, rtol=1e-6)
    assert got[W - 1] == np.float32(LR) and got[-1] == np.float32(MIN_LR)
    core = sc.port.from_keras_bert(D, W, MIN_LR, LR)  # the same curve, from the core
    np.testing.assert_allclose(core.lr(np.arange(STEPS)), CURVE, rtol=1e-12)


def test_weight_decay_pattern_decays_only_matching_variables():
    model = bert_like()
    opt = sk.AdamWarmup(D, W, MIN_LR, LR, weight_decay=0.01, weight_decay_pattern=["kernel"],
                        **EXACT)  # fmt: skip
    assert weight_decay_applied(model, opt, STEPS, CURVE) == {
        "dense.kernel": 0.01,
        "dense.bias": 0.0,
        "LayerNorm.gamma": 0.0,
        "LayerNorm.beta": 0.0,
        "head.kernel": 0.01,
        "head.bias": 0.0,
    }


def test_no_pattern_decays_every_variable_and_lr_alias_works():
    model = bert_like()
    opt = sk.AdamWarmup(D, W, min_lr=MIN_LR, lr=LR, weight_decay=0.02, **EXACT)
    assert set(weight_decay_applied(model, opt, STEPS, CURVE).values()) == {0.02}


def test_recipe_policy_excludes_layers_named_layernorm():
    """Rules match full dotted names (``LayerNorm.gamma``). Keras' own
    ``exclude_from_weight_decay(var_names=["LayerNorm"])`` searches ``variable.name``, the
    short name ``gamma``, on JAX and torch, and excludes nothing there (test_backends.py
    shows it on every backend)."""
    recipe = {
        "lr": LR,
        "schedule": sc.port.from_keras_bert(D, W, MIN_LR, LR).schedule.to_dict(),
        "groups": {
            "defaults": {"weight_decay": 0.01},
            "rules": [{"name": "no_decay", "match": {"contains": ["LayerNorm", "bias"]},
                       "weight_decay": 0.0}],
        },
    }  # fmt: skip
    model = bert_like()
    opt = sk.optimizer(model, recipe, **EXACT)
    assert isinstance(opt, keras.optimizers.AdamW)
    applied = weight_decay_applied(model, opt, STEPS, CURVE)
    assert applied["LayerNorm.gamma"] == applied["LayerNorm.beta"] == 0.0
    assert applied["dense.kernel"] == applied["head.kernel"] == 0.01
    assert applied["dense.bias"] == applied["head.bias"] == 0.0


def test_a_pattern_that_matches_nothing_is_an_error_at_build():
    opt = sk.AdamWarmup(D, W, weight_decay=0.01, weight_decay_pattern=["Kernel"])
    with pytest.raises(sc.SpecError, match="rule 'weight_decay_pattern' matches no parameter"):
        opt.build(bert_like().trainable_variables)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"weight_decay_pattern": "kernel"}, TypeError, "must be None or a list of non-empty"),
        ({"weight_decay_pattern": []}, ValueError, "empty list, which would decay nothing"),
        ({"learning_rate": 0.1, "lr": 0.2}, TypeError, "not both"),
        ({"min_lr": -1.0}, sc.SpecError, r"min_lr: must be a number in \[0"),
    ],
)
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        sk.AdamWarmup(D, W, **kwargs)
    with pytest.raises(sc.SpecError, match="decay_steps: must be a positive integer, got 0"):
        sk.AdamWarmup(0, W)


def test_config_is_keras_berts_arguments_and_round_trips():
    opt = sk.AdamWarmup(D, W, min_lr=MIN_LR, lr=LR, weight_decay=0.01,
                        weight_decay_pattern=["kernel", "encoder/W"], beta_2=0.98)  # fmt: skip
    config = opt.get_config()
    assert {k: config[k] for k in ("decay_steps", "warmup_steps", "min_lr", "learning_rate")} == {
        "decay_steps": D, "warmup_steps": W, "min_lr": MIN_LR, "learning_rate": LR,
    }  # fmt: skip
    assert config["weight_decay_pattern"] == ["kernel", "encoder/W"] and config["beta_2"] == 0.98
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is sk.AdamWarmup and again.get_config() == config
    rule = again.recipe.policy.rules[0]
    assert rule.match.contains == ("kernel", "encoder.W")  # paths are dotted names


def test_calc_train_steps_is_keras_berts():
    assert sk.calc_train_steps(1024, 32, 10) == (320, 32)
    assert sk.calc_train_steps(1000, 32, 3, warmup_proportion=0.2) == (96, 19)  # ceil(1000/32)=32
