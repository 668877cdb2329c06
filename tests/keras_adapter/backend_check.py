"""Checks of the adapter on one Keras backend, run by test_backends.py in a fresh process per
backend (KERAS_BACKEND is set by the caller; Keras reads it once). Prints one JSON line for
the test to check; a failed hypothesis check exits non-zero with its falsifying example.

:func:`audit` is also imported in-process by test_ops.py (TensorFlow)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: keras_adapter, strategies

import keras
import numpy as np
from keras import ops

import schedcore as sc
import schedcore_keras as sk
from keras_adapter.probes import Recorder, fit_steps, mean_prediction, probe_model

RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 40},
    "schedule": {"warmup": 6, "decay": "cosine", "min_lr_ratio": 0.1},
    "schedules": {
        "phases": {
            "type": "sequence",
            "phases": [
                {"schedule": {"type": "cosine", "steps": 3, "start": 1.0 / (i + 1)}, "steps": 3}
                for i in range(12)
            ],
        }
    },
    "groups": {
        "defaults": {},
        "rules": [{"name": "head", "match": {"prefix": "head."}, "lr": 0.5, "schedule": "phases"}],
    },
}
STEPS = (0, 1, 5, 6, 7, 39, 40, 41, 1000, 2**24 + 1, 2**31 - 1, 2**31 + 5)


def audit() -> dict[str, str]:
    """Per op of the core's protocol: "" when KerasOps returns the 64-bit dtype and numpy's
    values (to 1e-15), else what went wrong. Every protocol op must have a case here."""
    from schedcore.schedules.ops import NUMPY, NumpyOps

    o = sk.keras_ops()
    f = np.array([2.5e6 + 0.1, 0.3, 1.7, -1.5])
    i = np.array([2**31 + 5, 7, 0, 2**40])
    p = np.array([0.25, 0.5, 0.75, 1.0])

    def pieces(x):
        return [lambda t: x.float(t) * 0.5, lambda t: x.float(t) + 0.1, lambda t: x.full(t, 2.0)]

    cases = {
        "float": lambda x: (i,), "full": lambda x: (i, 0.1),
        "searchsorted": lambda x: ([0, 7, 2**31 + 5], i, "right"),
        "take": lambda x: ([0.1, 0.2, 0.3], np.array([2, 0, 1, 1])),
        "divide": lambda x: (f, 3332), "where": lambda x: (f > 1, 0.1, f),
        "minimum": lambda x: (i, 2**35),
        "maximum": lambda x: (f, 0.1), "clip": lambda x: (f, 0.2, 1e6),
        "floor_divide": lambda x: (i, 3), "mod": lambda x: (i, 3), "power": lambda x: (0.1, p),
        "cos": lambda x: (f,), "sqrt": lambda x: (p,), "floor": lambda x: (f,),
        "ceil": lambda x: (f,), "log": lambda x: (p,), "log1p": lambda x: (p,),
        "expm1": lambda x: (p,), "to_int": lambda x: (f,),
        "piecewise": lambda x: (i, [7, 2**31 + 5], lambda k, t: pieces(x)[k](t)),
    }  # fmt: skip
    protocol = {  # the ops (NumpyOps' data attributes are flags, not ops)
        n for n, v in vars(NumpyOps).items() if not n.startswith("_") and callable(v)
    }
    out = {name: "no case in the audit" for name in protocol - set(cases)}
    for name, args in cases.items():
        expected = getattr(NUMPY, name)(*args(NUMPY))
        inputs = [
            ops.convert_to_tensor(a, dtype=str(a.dtype)) if isinstance(a, np.ndarray) else a
            for a in args(o)
        ]
        try:
            got = getattr(o, name)(*inputs)
        except Exception as err:  # reported, not raised: the test names every failing op
            out[name] = f"raised {type(err).__name__}: {err}"[:200]
            continue
        dtype = keras.backend.standardize_dtype(got.dtype)
        values = ops.convert_to_numpy(got)
        if dtype not in ("int64", "float64"):
            out[name] = f"returned {dtype}"
        elif not np.allclose(values, expected, rtol=1e-15, atol=0):
            out[name] = f"returned {values.tolist()}, numpy {np.asarray(expected).tolist()}"
        else:
            out[name] = ""
    return out


def equivalence(examples: int) -> int:
    """The shared hypothesis strategy's schedule trees, evaluated by the backend (compiled
    with jax.jit on JAX), one step at a time and as a vector, against the core."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as hs

    from strategies import key_steps, schedules, steps_arrays

    tiny = float(np.finfo(np.float32).smallest_subnormal)
    ran = []

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(schedule=schedules(max_leaves=6), data=hs.data())
    def check(schedule, data):
        extra = [k for k in key_steps(schedule) if k <= 2**32]
        steps = data.draw(steps_arrays(max_size=12, extra=extra), label="steps")
        steps = steps[steps <= 2**32]
        if not steps.shape[0]:
            return
        fn = sk.schedule(schedule)
        if keras.backend.backend() == "jax":
            import jax

            fn = jax.jit(fn)
        one = np.array([ops.convert_to_numpy(fn(np.int64(k))) for k in steps])
        vector = ops.convert_to_numpy(fn(steps))
        atol = tiny
        if keras.backend.backend() == "tensorflow":
            # TensorFlow's CPU kernels flush float32 subnormals (< 1.2e-38) to 0
            atol = float(np.finfo(np.float32).tiny)
        elif keras.backend.backend() == "jax":
            # XLA turns a division by a constant into a multiplication by its reciprocal
            # (1 ulp off): where the core's value is exactly 0, XLA's is ~1e-17 of the
            # scale; and XLA on the CPU flushes float32 subnormals (< 1.2e-38) to 0
            atol = max(float(np.finfo(np.float32).tiny), 1e-14 * schedule.peak())
        for got in (one, vector):
            np.testing.assert_allclose(got, schedule(steps), rtol=1e-6, atol=atol)
        ran.append(1)

    check()
    return len(ran)


def applied_lrs(steps: int) -> list[list[float]]:
    """model.fit (jit-compiled on TF and JAX) with the recipe-driven SGD, on probes."""
    model = probe_model(["body", "head"], dtype="float64")
    optimizer = sk.optimizer(model, RECIPE, base=keras.optimizers.SGD)
    model.compile(optimizer, loss=mean_prediction)
    recorder = Recorder()
    fit_steps(model, steps, recorder)
    return recorder.deltas().tolist()


def schedule_values() -> list[float]:
    """The LearningRateSchedule, one step at a time (as a train step calls it)."""
    schedule = sk.schedule(sc.load(RECIPE))
    if keras.backend.backend() == "jax":
        import jax

        schedule = jax.jit(schedule)
    return [float(ops.convert_to_numpy(schedule(np.int64(k)))) for k in STEPS]


def weight_decay_by_name() -> dict[str, dict[str, float]]:
    """Weight decay applied to a model with a layer named LayerNorm: Keras' own
    exclude_from_weight_decay(var_names=["LayerNorm"]) and the recipe's rule."""

    def model() -> keras.Model:
        x = keras.Input((3,), dtype="float64")
        h = keras.layers.Dense(2, name="dense", dtype="float64")(x)
        h = keras.layers.LayerNormalization(name="LayerNorm", dtype="float64")(h)
        out = keras.Model(x, h)
        for v in out.weights:
            v.assign(np.ones(v.shape))
        return out

    def decay(m, opt) -> dict[str, float]:
        variables = m.trainable_variables
        opt.build(variables)
        opt.apply([ops.zeros(v.shape, "float64") for v in variables], variables)  # decay only
        return {v.path: round(1.0 - float(ops.convert_to_numpy(v).reshape(-1)[0]), 12)
                for v in variables}  # fmt: skip

    keras_model = model()
    keras_opt = keras.optimizers.SGD(learning_rate=0.5, weight_decay=0.5)
    keras_opt.exclude_from_weight_decay(var_names=["LayerNorm"])
    ours_model = model()
    recipe = {
        "lr": 0.5,
        "groups": {
            "defaults": {"weight_decay": 0.5},
            "rules": [{"name": "nd", "match": {"contains": ["LayerNorm"]}, "weight_decay": 0.0}],
        },
    }
    ours_opt = sk.optimizer(ours_model, recipe, base=keras.optimizers.SGD)
    return {"keras": decay(keras_model, keras_opt), "ours": decay(ours_model, ours_opt)}


if __name__ == "__main__":
    fit_steps_, examples = (int(a) for a in sys.argv[1:3])
    out = {"backend": keras.backend.backend(), "float": sk.keras_ops().float_dtype}
    out["values"] = schedule_values()
    if out["float"] == "float64":
        out["audit"] = audit()
        out["applied"] = applied_lrs(fit_steps_)
        out["decay"] = weight_decay_by_name()
        out["examples"] = equivalence(examples)
    print(json.dumps(out))
