"""Shared by the framework schedulers' tests (torch, OneFlow): a recipe with a named schedule
for one group, and the lrs a scheduler gives its optimizer's groups update by update."""

from __future__ import annotations

from typing import Any

import numpy as np

RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 60},
    "schedule": {"warmup": 10, "decay": "cosine", "min_lr_ratio": 0.05},
    "schedules": {"head": {"type": "linear", "steps": 60, "start": 1.0, "end": 0.0}},
    "groups": {
        "defaults": {"weight_decay": 0.01},
        "rules": [
            {"name": "head", "match": {"prefix": "head."}, "lr": 0.5, "schedule": "head"},
            {"name": "no_decay", "match": {"tags": ["bias"]}, "weight_decay": 0.0},
        ],
    },
}
"""Groups body (default schedule), head (schedule 'head', lr 0.5) and biases (no decay)."""


def applied_lrs(opt: Any, sched: Any, steps: int) -> np.ndarray:
    """The lr each group holds when update k runs, for k in range(steps)."""
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.array(out).T
