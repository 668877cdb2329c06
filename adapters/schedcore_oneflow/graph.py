"""nn.Graph: a recipe's groups and schedules as OneFlow optimizers with graph-capable
schedulers (see :mod:`schedcore_oneflow.lowering`)."""

from __future__ import annotations

from typing import Any

import oneflow as flow
from oneflow import nn
from oneflow.nn.optimizer.lr_scheduler import LRScheduler
from oneflow.optim import lr_scheduler as schedulers

from schedcore import Recipe
from schedcore.groups.resolve import Resolution

from .lowering import Abs, Lowering, Scheduler, lower
from .table import param_table


class GraphOptimizer(tuple):
    """``(optimizer, lr_scheduler)``, ready for ``graph.add_optimizer(opt, lr_sch=sch)``,
    with the :class:`~schedcore_oneflow.lowering.Lowering` it was built from (``.lowering``:
    ``.exact``, ``.max_error``, ``.explain()``) and the recipe groups it holds."""

    optimizer: flow.optim.Optimizer
    lr_scheduler: LRScheduler
    lowering: Lowering
    schedules: tuple[str, ...]

    def __new__(
        cls,
        optimizer: flow.optim.Optimizer,
        lr_scheduler: LRScheduler,
        lowering: Lowering,
        schedules: tuple[str, ...],
    ) -> GraphOptimizer:
        self = super().__new__(cls, (optimizer, lr_scheduler))
        self.optimizer, self.lr_scheduler = optimizer, lr_scheduler
        self.lowering, self.schedules = lowering, schedules
        return self


def build_scheduler(
    lowering: Lowering, optimizer: flow.optim.Optimizer, base_lr: float
) -> LRScheduler:
    """The OneFlow scheduler of ``lowering`` for ``optimizer``, whose groups all have the
    base lr ``base_lr`` (absolute arguments such as ``eta_min`` are fractions of it)."""
    parts = lowering.schedulers

    def make(s: Scheduler) -> LRScheduler:
        kwargs = {k: v.ratio * base_lr if isinstance(v, Abs) else v for k, v in s.settings.items()}
        return getattr(schedulers, s.kind)(optimizer, **kwargs)

    clocks = lowering.clocks()

    def child(s: Scheduler, nested: int) -> LRScheduler:
        if not nested:
            return make(s)
        # it sees k - offset where the clock gives it k - clock: subtract the rest inside
        return schedulers.SequentialLR(
            optimizer, [make(s), make(s)], milestones=[nested], interval_rescaling=[True]
        )

    if len(parts) == 1:
        return child(parts[0], clocks[0][1])
    return schedulers.SequentialLR(
        optimizer,
        [child(s, nested) for s, (_, nested) in zip(parts, clocks, strict=True)],
        milestones=[s.start for s in parts[1:]],
        interval_rescaling=[rescale for rescale, _ in clocks[1:]],
    )


def graph_optimizers(
    model: nn.Module,
    recipe: Recipe,
    optimizer: type[flow.optim.Optimizer] = flow.optim.AdamW,
    tolerance: float | None = None,
    **kwargs: Any,
) -> list[GraphOptimizer]:
    """The ``(optimizer, lr_scheduler)`` pairs of ``recipe`` for ``model`` in ``nn.Graph``::

        for opt, sch in schedcore_oneflow.graph_optimizers(model, recipe):
            graph.add_optimizer(opt, lr_sch=sch)

    Each distinct schedule is lowered to OneFlow's graph-capable schedulers
    (:func:`schedcore_oneflow.lower`); groups whose schedules have the same shape (equal up
    to a scale) share an optimizer, others get their own. In an optimizer every group has
    the same base ``lr`` and an ``lr_scale`` (its lr relative to that base), which the
    Graph applies statically. ``tolerance`` lets nodes without an exact equivalent be
    approximated (see :func:`schedcore_oneflow.lower`); ``kwargs`` go to the optimizer.
    """
    table, tensors = param_table(model)
    resolution = recipe.bind(table).resolution
    assert resolution is not None
    return optimizers_from(recipe, resolution, tensors, optimizer, tolerance, **kwargs)


def lowerings(recipe: Recipe, names: Any, tolerance: float | None = None) -> dict[str, Lowering]:
    """The lowering of each named recipe schedule (``"default"`` is ``recipe.schedule``)."""
    out = {}
    for name in names:
        path = "schedule" if name == "default" else f"schedules.{name}"
        out[name] = lower(recipe.schedule_named(name), tolerance, path)
    return out


def optimizers_from(
    recipe: Recipe,
    resolution: Resolution,
    tensors: dict[str, flow.Tensor],
    optimizer: type[flow.optim.Optimizer] = flow.optim.AdamW,
    tolerance: float | None = None,
    **kwargs: Any,
) -> list[GraphOptimizer]:
    """:func:`graph_optimizers` for resolved groups, given each canonical name's tensor."""
    lowered = lowerings(recipe, dict.fromkeys(g.schedule for g in resolution.groups), tolerance)
    shapes: dict[tuple[Any, ...], list[Any]] = {}
    for g in resolution.groups:
        shapes.setdefault(lowered[g.schedule].key(), []).append(g)
    out = []
    for members in shapes.values():
        lowering = lowered[members[0].schedule]
        # group lr * schedule = group lr * anchor * (the shape): the optimizer's base lr is the
        # largest group's, and each group's lr_scale its share of it
        peaks = [g.lr * lowered[g.schedule].anchor for g in members]
        base = max(peaks) if max(peaks) > 0 else recipe.base_lr * lowering.anchor
        groups = []
        for g, peak in zip(members, peaks, strict=True):
            group: dict[str, Any] = {
                "params": [tensors[name] for name in g.params],
                "param_names": list(g.params),
                "lr": base,
                "initial_lr": base,
                "lr_scale": peak / base,
            }
            if g.weight_decay is not None:
                group["weight_decay"] = g.weight_decay
            groups.append(group)
        opt = optimizer(groups, lr=base, **kwargs)
        sch = build_scheduler(lowering, opt, base)
        names = tuple(dict.fromkeys(g.schedule for g in members))
        out.append(GraphOptimizer(opt, sch, lowering, names))
    return out


def explain_lowering(
    recipe: Recipe, tolerance: float | None = None, model: nn.Module | None = None
) -> str:
    """What each node of each recipe schedule became in OneFlow, and (given ``model``) which
    groups share which optimizer with which ``lr_scale``."""
    names = [DEFAULT, *recipe.schedules]
    lines = []
    for name, lowering in lowerings(recipe, names, tolerance).items():
        state = "exact" if lowering.exact else f"approximated, max error {lowering.max_error:.3g}"
        lines.append(f"schedule {name!r} ({state}):")
        lines.append(lowering.explain())
    if model is not None:
        for i, pair in enumerate(graph_optimizers(model, recipe, tolerance=tolerance)):
            lines.append(f"optimizer {i} (schedules {', '.join(pair.schedules)}):")
            for group in pair.optimizer.param_groups:
                lines.append(
                    f"  lr {group['lr']:.6g} x lr_scale {group['lr_scale']:.6g}: "
                    f"{', '.join(group['param_names'])}"
                )
    return "\n".join(lines)


DEFAULT = "default"
