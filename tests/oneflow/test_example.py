"""examples/oneflow_mobilenet.py runs, and each group applies the recipe's lr in both modes.

The example runs as a script in its own process (it builds an nn.Graph; see graph_worker.py
for why graphs stay out of the test process); a run that dies of a signal, OneFlow 0.9.0's
known crash, is run again, up to three times in all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import oneflow_mobilenet as example

import schedcore as sc

SCRIPT = Path(example.__file__)


def run(*args: str) -> subprocess.CompletedProcess:
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
        )
        if done.returncode >= 0:
            break
    return done


def test_oneflow_mobilenet_applies_the_layered_lrs_in_eager_and_graph_mode():
    done = run("--steps", "10", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    recipe = sc.load(example.RECIPE)
    peaks = np.array([1e-3, 1e-4, 1e-5])  # features, pool, classifier
    expected = peaks[None, :] * recipe.schedule(np.arange(10))[:, None]  # 2 steps past the end
    # eager: OneFlow's update applies the group's lr rounded to float32, exactly
    np.testing.assert_array_equal(np.array(out["eager"]), expected.astype(np.float32))
    # graph: planned exactly; the kernel computes in double and outputs float32
    np.testing.assert_allclose(np.array(out["graph"]), expected, rtol=1e-6, atol=0)
    assert "OneFlow: SequentialLR(milestones=[2], interval_rescaling=[True])" in done.stdout
    assert "graph group: lr 0.001 x lr_scale 0.01" in done.stdout
