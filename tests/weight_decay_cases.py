"""Recipes whose weight decay must mean the same in every framework (shared by
tests/test_weight_decay_default.py and tests/oneflow/test_weight_decay_default.py; no
framework import here).

The probe model has a ``body`` dense layer with a bias and a bias-free ``head``. One AdamW
step with zero gradients changes a weight only by decoupled weight decay,
``p <- p * (1 - lr * wd)``, so ``wd = (p0 - p1) / (p0 * lr)`` is the decay the optimizer
really applied. Every framework must apply the pinned decays of :data:`CASES`, whatever its
AdamW default (torch 0.01, Keras 0.004).
"""

from __future__ import annotations

from typing import Any

import numpy as np

LR = 0.1
NO_DECAY = {"name": "no_decay", "match": {"tags": ["bias"]}, "weight_decay": 0.0}
HEAD = {"name": "head", "match": {"contains": "head"}, "weight_decay": 0.05}

# (recipe, the decay of the body's weight, its bias, the head's weight)
CASES: list[tuple[dict[str, Any], dict[str, float]]] = [
    ({"lr": LR}, {"body": 0.0, "bias": 0.0, "head": 0.0}),  # no policy: unset everywhere
    (
        {"lr": LR, "groups": {"defaults": {}, "rules": [HEAD, NO_DECAY]}},
        {"body": 0.0, "bias": 0.0, "head": 0.05},  # the body's is unset
    ),
    (
        {"lr": LR, "groups": {"defaults": {"weight_decay": 0.01}, "rules": [NO_DECAY]}},
        {"body": 0.01, "bias": 0.0, "head": 0.01},
    ),
]
IDS = ["no-policy", "unset-default", "explicit-default"]


def role(name: str) -> str:
    """``body``, ``bias`` or ``head`` for a canonical parameter name of any framework."""
    if "bias" in name:
        return "bias"
    return "head" if "head" in name else "body"


def measured(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> dict[str, float]:
    """The decay each role got in one zero-gradient AdamW step at lr :data:`LR`."""
    out: dict[str, float] = {}
    for name, p0 in before.items():
        wd = float(np.mean((p0 - after[name]) / (p0 * LR)))
        assert role(name) not in out or abs(out[role(name)] - wd) < 1e-5, name
        out[role(name)] = wd
    return out


def check(got: dict[str, float], want: dict[str, float]) -> None:
    assert got.keys() == want.keys()
    for key in want:  # float32 weights: 1 - lr * wd rounds to ~6e-8
        assert abs(got[key] - want[key]) < 1e-5, (key, got, want)
