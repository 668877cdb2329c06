"""Shared pieces of the porting tests: tolerances and reading lrs from real schedulers.

Tolerances: float64 sources (torch, transformers, OneFlow eager, fvcore, fairseq, timm's
Python formulas) agree to ``rtol = 1e-12``; float32 sources (Keras, optax) to
``rtol = 1e-6``. Each also allows an absolute slack at the scale of the peak lr for values
that cancel to near 0 (``1 + cos(x)`` near ``x = pi``, or torch's recursive LinearLR landing
on -3e-17 instead of 0): a few float64 roundings of the peak (``1e-14 * peak``), or one
float32 ulp of it (``2**-23 * peak``).
"""

from __future__ import annotations

import collections
import warnings
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings

F64 = 1e-12
F32 = 1e-6

# modest example counts: the whole porting suite runs in about two minutes
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_lr(got: Any, ref: Any, rel: float, what: str = "", scale: float = 0.0) -> None:
    """``got`` equals ``ref`` to ``rel``, with the absolute slack above taken at the larger
    of the peak of ``ref`` and ``scale`` (the base lr, when the curve itself is tiny)."""
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape, what)
    peak = max(float(np.max(np.abs(ref))) if ref.size else 0.0, scale)
    slack = (1e-14 if rel == F64 else 2.0**-23) * peak
    np.testing.assert_allclose(got, ref, rtol=rel, atol=slack, err_msg=what)


def torch_lrs(scheduler: Any, optimizer: Any, n: int) -> np.ndarray:
    """``(groups, n)``: the lr of every param group at updates 0..n-1 (after construction
    and ``k`` calls of ``scheduler.step()``)."""
    rows, _ = torch_run(scheduler, optimizer, n, errors=())
    return rows


def torch_run(scheduler: Any, optimizer: Any, n: int, errors=(Exception,)):
    """Like :func:`torch_lrs`, but a ``step()`` that raises one of ``errors`` ends the run:
    ``(lrs of the steps reached, the first step it could not reach or None)``."""
    rows = []
    stop = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(n):
            rows.append([float(g["lr"]) for g in optimizer.param_groups])
            if k < n - 1:
                optimizer.step()
                try:
                    scheduler.step()
                except errors:
                    stop = k + 1
                    break
    return np.asarray(rows, dtype=np.float64).T, stop


def recipe_rows(recipe: Any, n: int) -> np.ndarray:
    """``(groups, n)`` from a plain recipe (one group) or a per-group one."""
    return np.atleast_2d(recipe.lr(np.arange(n)))


class RefusalTally:
    """What an importer's hypothesis test refused: the draws it saw and each refusal's
    reason, printed (``report``) by a module fixture once the module's tests are done."""

    def __init__(self, importer: str) -> None:
        self.importer = importer
        self.draws = 0
        self.reasons: collections.Counter[str] = collections.Counter()

    def draw(self) -> None:
        self.draws += 1

    def refuse(self, reason: str) -> None:
        self.reasons[reason] += 1

    def report(self) -> None:
        if not self.draws:
            return
        refused = sum(self.reasons.values())
        share = refused / self.draws
        print(f"\n{self.importer}: {refused}/{self.draws} draws refused ({share:.1%})")
        for reason, n in self.reasons.most_common():
            print(f"  {n:4d}  {reason}")
