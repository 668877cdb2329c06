"""Cross-backend equivalence: the lr torch actually applies equals the core's ``recipe.lr(k)``.

Recipes come from the shared strategy (``tests/strategies.py``). Each group gets float64
parameters updated by plain SGD (no momentum, no weight decay) with a known gradient of -1:
with the parameter reset to 0 before each update, ``p = 0 - lr * (-1)`` is the applied lr,
exactly. It must equal ``recipe.lr(k)`` to rtol 1e-12 for every group and step, past the
end of the schedule too.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import schedcore as sc
import schedcore_torch as st
from strategies import recipes

WINDOW = 60


def measure(recipe: sc.Recipe, first: int, count: int) -> np.ndarray:
    """Applied lr per group for updates first .. first + count - 1."""
    resolution = recipe.resolution
    tensors = {
        name: torch.zeros(1, dtype=torch.float64, requires_grad=True)
        for g in resolution.groups
        for name in g.params
    }
    groups = st.groups_from(resolution, tensors)
    for g in groups:
        g.pop("weight_decay", None)
        g["initial_lr"] = g["lr"]  # lets the scheduler start at last_epoch = first - 1
    opt = torch.optim.SGD(groups, lr=recipe.base_lr, momentum=0.0, weight_decay=0.0)
    sched = st.scheduler(opt, recipe, last_epoch=first - 1)
    probes = [g["params"][0] for g in opt.param_groups]
    out = np.empty((len(probes), count))
    for k in range(count):
        with torch.no_grad():
            for p in probes:
                p.zero_()
        for p in probes:
            p.grad = torch.full_like(p, -1.0)
        opt.step()
        out[:, k] = [float(p.detach()) for p in probes]
        sched.step()
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=recipes(), data=hs.data())
def test_applied_lr_equals_core(case, data):
    doc, rows = case
    recipe = sc.load(doc).bind(rows)
    if not recipe.groups:
        return
    end = recipe.total_steps or recipe.schedule.length or WINDOW
    # three windows: the start, around the end (past it too), and far past the end
    starts = sorted({0, max(end - WINDOW // 2, 0), data.draw(hs.integers(end, end + 10**6))})
    for first in starts:
        got = measure(recipe, first, WINDOW)
        expected = recipe.lr(np.arange(first, first + WINDOW))
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
