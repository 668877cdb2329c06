"""The adapter on every Keras backend: TensorFlow, JAX (with and without 64-bit mode) and
torch, each in a fresh process (Keras reads KERAS_BACKEND once, at import).

Per backend (see backend_check.py): every op of the core's protocol keeps 64 bits and
numpy's values; schedule trees from the shared hypothesis strategy equal the core; the
recipe's schedule one step at a time up to past 2**31; per-group lrs applied in
``model.fit`` (probes with a known gradient); weight decay excluded by the recipe's rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import schedcore as sc

from .backend_check import RECIPE, STEPS

SCRIPT = Path(__file__).with_name("backend_check.py")
FIT_STEPS = 50
EXAMPLES = 25  # hypothesis examples per backend


def run(backend: str, **env: str) -> dict:
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(FIT_STEPS), str(EXAMPLES)],
        capture_output=True, text=True, env=environment, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "env"),
    [("tensorflow", {}), ("jax", {"JAX_ENABLE_X64": "1"}), ("torch", {})],
    ids=["tensorflow", "jax-x64", "torch"],
)
def test_values_applied_lrs_and_weight_decay_on_every_backend(backend, env):
    out = run(backend, **env)
    assert out["float"] == "float64"
    assert {op: why for op, why in out["audit"].items() if why} == {}  # 64-bit, numpy's values
    assert out["examples"] >= EXAMPLES // 2  # schedule trees equal to the core (hypothesis)
    recipe = sc.load(RECIPE)
    np.testing.assert_allclose(out["values"], recipe.lr(np.array(STEPS)), rtol=1e-6)
    bound = recipe.bind(["body.w", "head.w"])
    lrs = bound.lr(np.arange(FIT_STEPS))
    expected = [lrs[bound.resolution.group_of(n)] for n in ("body.w", "head.w")]
    np.testing.assert_allclose(out["applied"], expected, rtol=1e-6)
    # the recipe's rule excludes the LayerNorm weights on every backend
    assert out["decay"]["ours"] == {
        "dense/kernel": 0.25, "dense/bias": 0.25, "LayerNorm/gamma": 0.0, "LayerNorm/beta": 0.0,
    }  # fmt: skip
    # Keras' own var_names=["LayerNorm"] searches variable.name: on JAX and torch that is
    # the short name ("gamma") and nothing is excluded; TensorFlow happens to search the
    # raw tf.Variable's name, which is the full path
    keras_ln = out["decay"]["keras"]["LayerNorm/gamma"]
    assert keras_ln == (0.0 if backend == "tensorflow" else 0.25)


@pytest.mark.slow
def test_jax_without_64_bit_mode_computes_in_float32():
    out = run("jax", JAX_ENABLE_X64="0")
    assert out["float"] == "float32"
    expected = sc.load(RECIPE).lr(np.array(STEPS))
    small = np.array(STEPS) < 2**24  # a float32 step is exact only below 2**24
    np.testing.assert_allclose(np.array(out["values"])[small], expected[small], rtol=1e-5)
