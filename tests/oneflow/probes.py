"""Measure the lr OneFlow actually applies, per group and per update, from SGD deltas.

Each group gets probe parameters updated by plain SGD (no momentum, no weight decay) with a
known gradient of -1 (the loss is minus their sum): with every parameter reset to 0 before
each update, ``p = 0 - lr * (-1)`` is the applied lr. In Graph mode the parameters are
copied out after each step (``.numpy()`` shares memory with the tensor).
"""

from __future__ import annotations

import numpy as np
import oneflow as flow

import schedcore as sc
import schedcore_oneflow as so

TRAIN_STEP = "System-Train-TrainStep"


def probe_tensors(recipe: sc.Recipe, dtype: flow.dtype) -> dict[str, flow.Tensor]:
    resolution = recipe.resolution
    return {
        name: flow.nn.Parameter(flow.zeros(1, dtype=dtype))
        for g in resolution.groups
        for name in g.params
    }


def eager_applied(recipe: sc.Recipe, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(the groups' lr, the applied lr) for updates ``first .. first + count - 1``, eager."""
    tensors = probe_tensors(recipe, flow.float64)
    groups = so.groups_from(recipe.resolution, tensors)
    for g in groups:
        g.pop("weight_decay", None)
        g["initial_lr"] = g["lr"]  # lets the scheduler start at last_step = first - 1
    opt = flow.optim.SGD(groups, lr=recipe.base_lr, momentum=0.0, weight_decay=0.0)
    sched = so.scheduler(opt, recipe, last_step=first - 1)
    probes = [g.parameters[0] for g in opt.param_groups]
    held = np.empty((len(probes), count))
    applied = np.empty((len(probes), count))
    for k in range(count):
        held[:, k] = [float(g["lr"]) for g in opt.param_groups]
        for p in probes:
            with flow.no_grad():
                p.fill_(0.0)
            p.grad = flow.full_like(p, -1.0)
        opt.step()
        applied[:, k] = [float(p.numpy()[0]) for p in probes]
        sched.step()
    return held, applied


class Probe(flow.nn.Module):
    def __init__(self, tensors: dict[str, flow.Tensor]) -> None:
        super().__init__()
        self.count = len(tensors)
        for i, tensor in enumerate(tensors.values()):
            setattr(self, f"p{i}", tensor)

    def forward(self) -> flow.Tensor:
        total = self.p0.sum()
        for i in range(1, self.count):
            total = total + getattr(self, f"p{i}").sum()
        return -total


BALLAST = 256


class TrainGraph(flow.nn.Graph):
    """The probes' train step, plus a BALLAST x BALLAST matmul output that touches no parameter.

    The ballast makes each step take a few milliseconds. OneFlow 0.9.0 dequeues a finished
    job from its lazy-job queue in a callback that can run before the job was enqueued
    (``LazyJobStreamPolicy::DequeueNNGraph`` segfaults): a step of microseconds on a busy
    machine hits that race every few hundred steps; a step of milliseconds does not.
    """

    def __init__(self, model: flow.nn.Module, pairs: list[so.GraphOptimizer]) -> None:
        super().__init__()
        self.model = model
        for opt, sch in pairs:
            self.add_optimizer(opt, lr_sch=sch)

    def build(self, ballast: flow.Tensor) -> tuple[flow.Tensor, flow.Tensor]:
        loss = self.model()
        loss.backward()
        return loss, flow.matmul(ballast, ballast).sum()


def graph_applied(
    recipe: sc.Recipe,
    first: int,
    count: int,
    tolerance: float | None = None,
    pairs: list[so.GraphOptimizer] | None = None,
) -> tuple[np.ndarray, list[so.GraphOptimizer]]:
    """The applied lr per recipe group for updates ``first ..``, in an nn.Graph started at
    train step ``first``; and the optimizers it used."""
    tensors = probe_tensors(recipe, flow.float32)
    pairs = so.optimizers_from(
        recipe, recipe.resolution, tensors, flow.optim.SGD, tolerance, momentum=0.0
    )
    graph = TrainGraph(Probe(tensors), pairs)
    if first:
        state = graph.state_dict()
        state[TRAIN_STEP] = flow.tensor([first], dtype=flow.int64)
        graph.load_state_dict(state)
    probes = [tensors[g.params[0]] for g in recipe.resolution.groups]
    out = np.empty((len(probes), count))
    ballast = flow.full((BALLAST, BALLAST), 1e-3)
    for k in range(count):
        with flow.no_grad():
            for p in tensors.values():
                p.fill_(0.0)
        graph(ballast)
        out[:, k] = [p.numpy().copy()[0] for p in probes]
    return out, pairs
