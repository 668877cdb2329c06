"""A model of OneFlow 0.9.0's Graph-mode lr kernel, to check lowerings without a graph.

nn.Graph compiles a scheduler to a ``LearningRateDecayConf`` (``_generate_conf_for_graph``)
and evaluates it at each train step in ``LearningRateScheduleKernel``
(``oneflow/core/kernel/learning_rate_schedule_kernel.cpp``). :func:`applied` builds the
scheduler of a lowering (``build_scheduler``, as ``graph_optimizers`` does), takes its conf
and evaluates it with the kernel's formulas, in its order of operations, its CHECKs as
assertions. The kernel also rounds the base lr to float32, which the model leaves out: it
agrees with the core far closer than the Graph's rtol 1e-6, so a lowering that reads an
option wrongly (or not at all) stands out. The Graph tests run the same lowerings in nn.Graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import oneflow as flow
from oneflow.core.job.learning_rate_schedule_conf_pb2 import LearningRateDecayConf

import schedcore_oneflow as so


def graph_conf(lowering: so.Lowering, base: float) -> LearningRateDecayConf:
    """The conf nn.Graph compiles the lowering's scheduler to, for the base lr ``base``."""
    opt = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=base)
    conf = LearningRateDecayConf()
    so.build_scheduler(lowering, opt, base)._generate_conf_for_graph(conf)
    return conf


def applied(lowering: so.Lowering, steps: Iterable[int]) -> np.ndarray:
    """The lr nn.Graph applies at each train step, in multiples of the recipe's lr."""
    conf = graph_conf(lowering, lowering.anchor)
    return np.asarray([decayed(conf, lowering.anchor, int(k)) for k in steps])


def decayed(conf: Any, lr: float, step: int) -> float:
    """``GetDecayedLearningRate(conf, lr, step)``."""
    which = conf.WhichOneof("type")
    c = getattr(conf, which)
    if which == "sequential_scheduler_conf":
        cur, index = step, 0
        for milestone, rescale in zip(c.milestones, c.interval_rescaling, strict=True):
            if step < milestone:
                break
            if rescale:
                cur = step - milestone
            index += 1
        return decayed(c.schedulers[index], lr, cur)
    if which == "constant_lr_conf":
        assert c.total_iters >= 0 and 0.0 <= c.factor <= 1.0, c
        return lr * c.factor if step < c.total_iters else lr
    if which == "linear_lr_conf":
        assert c.total_iters >= 0 and 0.0 <= c.start_factor <= 1.0, c
        assert 0.0 <= c.end_factor <= 1.0, c
        if step < c.total_iters:  # the steps as float32
            p = float(np.float32(step)) / float(np.float32(c.total_iters))
            return lr * (c.start_factor + (c.end_factor - c.start_factor) * p)
        return lr * c.end_factor
    if which == "cosine_conf":
        assert c.decay_batches > 0, c
        now = min(float(step), float(c.decay_batches))
        wave = 0.5 * (1.0 + math.cos(math.pi * now / c.decay_batches))
        return lr * ((1.0 - c.alpha) * wave + c.alpha)
    if which == "cosine_annealing_conf":
        assert c.t_max > 0, c
        if step == 0:
            return lr
        assert c.eta_min < lr, c
        wave = 1 + math.cos(math.pi * (step / c.t_max))
        return c.eta_min + ((lr - c.eta_min) * wave) / 2
    if which == "polynomial_conf":
        assert c.decay_batches > 0, c
        now, span = float(step), float(c.decay_batches)
        if c.cycle:
            now = 1.0 if step == 0 else now
            span = span * math.ceil(now / span)
        else:
            now = min(now, span)
        return (lr - c.end_learning_rate) * (1.0 - now / span) ** c.power + c.end_learning_rate
    if which == "step_conf":  # StepLR, and ExponentialLR as StepLR(1, gamma)
        assert c.step_size >= 1, c
        return lr * c.gamma ** math.floor(step / c.step_size)
    if which == "multi_step_conf":
        assert len(c.milestones) >= 1, c
        passed = next((i for i, m in enumerate(c.milestones) if step < m), len(c.milestones))
        return lr * c.gamma**passed
    if which == "cosine_annealing_warm_restarts_conf":
        return _warm_restarts(c, lr, step)
    raise AssertionError(f"no model of {which}")


def _warm_restarts(c: Any, base_lr: float, step: int) -> float:
    epoch_steps = c.t_initial
    epoch = step // epoch_steps
    step_in_epoch = step - epoch_steps * epoch
    if c.t_mult > 1:  # step / t_initial: int64 division
        m = 1 - step // c.t_initial * (1 - c.t_mult)
        assert m < 2**63, c
        epoch = math.floor(math.log(m) / math.log(c.t_mult))
        interval = int(math.pow(c.t_mult, epoch))
        epoch_steps = interval * c.t_initial
        step_in_epoch = step - math.floor(float(1 - interval) / (1 - c.t_mult) * c.t_initial)
    lr = c.eta_min
    if c.restart_limit == 0 or (c.restart_limit > 0 and epoch < c.restart_limit):
        gamma = math.pow(c.decay_rate, epoch)
        wave = 1 + math.cos(math.pi * step_in_epoch / epoch_steps)
        lr = lr + 0.5 * (base_lr * gamma - lr) * wave
    return lr
