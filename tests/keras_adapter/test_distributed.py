"""tf.distribute.MirroredStrategy on two logical CPU devices: both replicas apply the same
per-group lr, equal to the core, inside model.fit (see distributed_check.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import schedcore as sc

from .distributed_check import PROBE_STEPS, RECIPE

STEPS = 36  # past the end (30)


@pytest.mark.slow
def test_mirrored_strategy_replicas_apply_the_cores_lr():
    script = Path(__file__).with_name("distributed_check.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(script), str(STEPS)], capture_output=True,
                          text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    assert out["iterations"] == list(range(1, STEPS + 1))
    bound = sc.load(RECIPE).bind(["body.w", "head.w"])
    assert out["groups"] == [["body.w"], ["head.w"]]
    # each replica evaluated the same lr per group, equal to the core's
    for k in PROBE_STEPS:
        first, second = out["per_replica_lrs"][str(k)]
        assert first == second
        np.testing.assert_allclose(first, bound.lr(np.array([k]))[:, 0], rtol=1e-6)
    # the lr applied in fit, from the weights' deltas, is the core's. Keras sums the two
    # replicas' gradients of -1 here (its own SGD with lr 1 moves a probe by the same
    # factor), so a delta is that factor times the lr
    scale = out["gradient_scale"]
    assert scale in (1.0, 2.0)
    np.testing.assert_allclose(
        np.array(out["applied"]) / scale, bound.lr(np.arange(STEPS)), rtol=1e-6
    )
    # and the mirrored copies of every weight stayed identical
    for copies in out["components"]:
        assert len(copies) == 2 and copies[0] == copies[1]
