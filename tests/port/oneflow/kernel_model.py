"""A model of OneFlow 0.9.0's Graph-mode lr kernel, to check plans without oneflow.

nn.Graph compiles a scheduler to a ``LearningRateDecayConf`` (``_generate_conf_for_graph``)
and evaluates it at each train step in ``LearningRateScheduleKernel``
(``oneflow/core/kernel/learning_rate_schedule_kernel.cpp``). :func:`graph_conf` gives, as
nested dicts, the conf OneFlow compiles a plan's native scheduler to (each scheduler's
``_generate_conf_for_graph``, field for field; ``tests/oneflow/test_graph_plan.py`` checks it
against OneFlow's own conf in the OneFlow venv), and :func:`decayed` evaluates a conf with the
kernel's formulas, in its order of operations, its CHECKs as assertions. The kernel also
rounds the base lr to float32, which the model leaves out: it agrees with the core far closer
than the Graph's rtol 1e-6, so a plan that reads an option wrongly (or not at all) stands
out. The Graph tests run the same plans in nn.Graph.

Framework-free (the main venv runs it); the OneFlow venv imports it as ``port.oneflow``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

import schedcore as sc
from schedcore.port.oneflow import GraphPlan, Native
from strategies import key_steps

Conf = dict[str, Any]
"""``{oneof field: {field: value}}``, as ``LearningRateDecayConf`` holds it."""


def graph_conf(native: Native) -> Conf:
    """The conf OneFlow's ``_generate_conf_for_graph`` writes for ``native`` (constructed)."""
    a = native.arguments
    kind = native.kind
    if kind == "SequentialLR":
        return {
            "sequential_scheduler_conf": {
                "schedulers": [graph_conf(c) for c in native.children],
                "milestones": list(a["milestones"]),
                "interval_rescaling": list(a["interval_rescaling"]),
            }
        }
    if kind == "ConstantLR":
        return {"constant_lr_conf": {"factor": a["factor"], "total_iters": a["total_iters"]}}
    if kind == "LinearLR":
        fields = ("start_factor", "end_factor", "total_iters")
        return {"linear_lr_conf": {f: a[f] for f in fields}}
    if kind == "CosineDecayLR":
        return {"cosine_conf": {"decay_batches": a["decay_steps"], "alpha": a["alpha"]}}
    if kind == "CosineAnnealingLR":
        return {"cosine_annealing_conf": {"t_max": a["T_max"], "eta_min": a["eta_min"]}}
    if kind == "PolynomialLR":
        return {
            "polynomial_conf": {
                "decay_batches": a["decay_batch"],
                "end_learning_rate": a["end_learning_rate"],
                "power": a["power"],
                "cycle": a["cycle"],
            }
        }
    if kind == "ExponentialLR":  # OneFlow compiles it as StepLR(1, gamma)
        return {"step_conf": {"step_size": 1, "gamma": a["gamma"]}}
    if kind == "StepLR":
        return {"step_conf": {"step_size": a["step_size"], "gamma": a["gamma"]}}
    if kind == "MultiStepLR":
        return {"multi_step_conf": {"milestones": list(a["milestones"]), "gamma": a["gamma"]}}
    if kind == "CosineAnnealingWarmRestarts":
        return {
            "cosine_annealing_warm_restarts_conf": {
                "t_initial": a["T_0"],
                "t_mult": a["T_mult"],
                "eta_min": a["eta_min"],
                "decay_rate": a["decay_rate"],
                "restart_limit": a["restart_limit"],
            }
        }
    raise AssertionError(f"no model of {kind}'s Graph conf")


def applied(plan: GraphPlan, steps: Iterable[int]) -> np.ndarray:
    """The lr nn.Graph applies at each train step, in multiples of the recipe's lr."""
    conf = graph_conf(plan.native(plan.anchor))
    return np.asarray([decayed(conf, plan.anchor, int(k)) for k in steps])


MODEL_RTOL = 1e-9
MODEL_ATOL = 1e-12  # times the schedule's peak: both sides' rounding, at values far below it
MODEL_FAR = 10**7  # the kernel's cos(pi * j / T) of a periodic cosine loses digits far out
FLOAT32_ATOL = 2 * float(np.finfo(np.float32).tiny)


def check_model(schedule: sc.Schedule, plan: GraphPlan, extra: Iterable[int] = ()) -> None:
    """The lr the kernel model applies equals the core's at the first steps, around every
    boundary of the tree and of the plan, and at ``extra``: to ``MODEL_RTOL`` (plus the
    tolerance of an approximation), or ``MODEL_ATOL`` of the peak where values are far below
    it (there both formulas round off: ``end + (start - end) * 1`` is not quite ``end``)."""
    length = schedule.length or 0
    steps = set(range(min(2 * length + 16, 2_000))) | set(key_steps(schedule)) | set(extra)
    for s in plan.schedulers:
        steps |= {s.start - 1, s.start, s.start + 1}
    steps = np.array(sorted(k for k in steps if 0 <= k <= MODEL_FAR), dtype=np.int64)
    np.testing.assert_allclose(
        applied(plan, steps),
        schedule(steps),
        rtol=plan.max_error + MODEL_RTOL,
        atol=max(MODEL_ATOL * schedule.peak(), FLOAT32_ATOL),
        err_msg=plan.explain(),
    )


def decayed(conf: Conf, lr: float, step: int) -> float:
    """``GetDecayedLearningRate(conf, lr, step)``."""
    ((which, c),) = conf.items()
    if which == "sequential_scheduler_conf":
        cur, index = step, 0
        for milestone, rescale in zip(c["milestones"], c["interval_rescaling"], strict=True):
            if step < milestone:
                break
            if rescale:
                cur = step - milestone
            index += 1
        return decayed(c["schedulers"][index], lr, cur)
    if which == "constant_lr_conf":
        assert c["total_iters"] >= 0 and 0.0 <= c["factor"] <= 1.0, c
        return lr * c["factor"] if step < c["total_iters"] else lr
    if which == "linear_lr_conf":
        start, end, total = c["start_factor"], c["end_factor"], c["total_iters"]
        assert total >= 0 and 0.0 <= start <= 1.0 and 0.0 <= end <= 1.0, c
        if step < total:  # the steps as float32
            p = float(np.float32(step)) / float(np.float32(total))
            return lr * (start + (end - start) * p)
        return lr * end
    if which == "cosine_conf":
        n = c["decay_batches"]
        assert n > 0, c
        now = min(float(step), float(n))
        wave = 0.5 * (1.0 + math.cos(math.pi * now / n))
        return lr * ((1.0 - c["alpha"]) * wave + c["alpha"])
    if which == "cosine_annealing_conf":
        assert c["t_max"] > 0, c
        if step == 0:
            return lr
        eta = c["eta_min"]
        assert eta < lr, c
        wave = 1 + math.cos(math.pi * (step / c["t_max"]))
        return eta + ((lr - eta) * wave) / 2
    if which == "polynomial_conf":
        assert c["decay_batches"] > 0, c
        now, span, end = float(step), float(c["decay_batches"]), c["end_learning_rate"]
        if c["cycle"]:
            now = 1.0 if step == 0 else now
            span = span * math.ceil(now / span)
        else:
            now = min(now, span)
        return (lr - end) * (1.0 - now / span) ** c["power"] + end
    if which == "step_conf":  # StepLR, and ExponentialLR as StepLR(1, gamma)
        assert c["step_size"] >= 1, c
        return lr * c["gamma"] ** math.floor(step / c["step_size"])
    if which == "multi_step_conf":
        milestones = c["milestones"]
        assert len(milestones) >= 1, c
        passed = next((i for i, m in enumerate(milestones) if step < m), len(milestones))
        return lr * c["gamma"] ** passed
    if which == "cosine_annealing_warm_restarts_conf":
        return _warm_restarts(c, lr, step)
    raise AssertionError(f"no model of {which}")


def _warm_restarts(c: Conf, base_lr: float, step: int) -> float:
    t_initial, t_mult, limit = c["t_initial"], c["t_mult"], c["restart_limit"]
    epoch_steps = t_initial
    epoch = step // epoch_steps
    step_in_epoch = step - epoch_steps * epoch
    if t_mult > 1:  # step / t_initial: int64 division
        m = 1 - step // t_initial * (1 - t_mult)
        assert m < 2**63, c
        epoch = math.floor(math.log(m) / math.log(t_mult))
        interval = int(math.pow(t_mult, epoch))
        epoch_steps = interval * t_initial
        step_in_epoch = step - math.floor(float(1 - interval) / (1 - t_mult) * t_initial)
    lr = c["eta_min"]
    if limit == 0 or (limit > 0 and epoch < limit):
        gamma = math.pow(c["decay_rate"], epoch)
        wave = 1 + math.cos(math.pi * step_in_epoch / epoch_steps)
        lr = lr + 0.5 * (base_lr * gamma - lr) * wave
    return lr
