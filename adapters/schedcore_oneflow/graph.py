"""nn.Graph: a recipe's groups and schedules as OneFlow optimizers with graph-capable
schedulers, constructed from the framework-free plan (:mod:`schedcore.port.oneflow`)."""

from __future__ import annotations

from typing import Any

import oneflow as flow
from oneflow import nn
from oneflow.nn.optimizer.lr_scheduler import LRScheduler
from oneflow.optim import lr_scheduler as schedulers

import schedcore as sc
from schedcore import GroupSchedules, Recipe
from schedcore.errors import describe
from schedcore.groups.resolve import Resolution
from schedcore.port.oneflow import GraphPlan, explain, plan_schedules

from .groups import OptimizerLike, RecipeLike, make_optimizer
from .table import param_table, table_and_tensors


class GraphOptimizer(tuple):
    """``(optimizer, lr_scheduler)``, ready for ``graph.add_optimizer(opt, lr_sch=sch)``,
    with the :class:`~schedcore.port.oneflow.GraphPlan` it was built from (``.plan``:
    ``.exact``, ``.max_error``, ``.explain()``) and the recipe schedules it follows.

    In ``nn.Graph`` every group of the optimizer shares one base lr, which OneFlow's
    scheduler moves; each group's ``lr_scale`` multiplies it inside the compiled job. So
    ``lr_scheduler.get_last_lr()`` and ``param_groups[i]["lr"]`` show the shared base, not
    what a group gets: read that with :meth:`group_lrs`.
    """

    optimizer: flow.optim.Optimizer
    lr_scheduler: LRScheduler
    plan: GraphPlan
    schedules: tuple[str, ...]
    groups: GroupSchedules

    def __new__(
        cls,
        optimizer: flow.optim.Optimizer,
        lr_scheduler: LRScheduler,
        plan: GraphPlan,
        schedules: tuple[str, ...],
        groups: GroupSchedules,
    ) -> GraphOptimizer:
        self = super().__new__(cls, (optimizer, lr_scheduler))
        self.optimizer, self.lr_scheduler = optimizer, lr_scheduler
        self.plan, self.schedules, self.groups = plan, schedules, groups
        return self

    def group_lrs(self, step: int) -> dict[str, float]:
        """The lr each group of the optimizer applies in update ``step`` (0-based: the
        graph's count of completed updates), keyed by group name: ``base(step) x lr_scale``
        as the Graph applies it, which is the recipe's value (to float32 when
        ``plan.exact``; within ``plan.max_error`` when approximated)."""
        names = [str(g["name"]) for g in self.optimizer.param_groups]
        return dict(zip(names, self.groups.lrs(step), strict=True))


def build_scheduler(
    plan: GraphPlan, optimizer: flow.optim.Optimizer, base_lr: float
) -> LRScheduler:
    """The OneFlow scheduler of ``plan`` for ``optimizer``, whose groups all have the base lr
    ``base_lr``: :meth:`GraphPlan.native <schedcore.port.oneflow.GraphPlan.native>`,
    constructed."""

    return plan.native(base_lr).construct(schedulers, optimizer)


def graph_optimizers(
    model: nn.Module,
    recipe: RecipeLike,
    optimizer: OptimizerLike = flow.optim.AdamW,
    tolerance: float | None = None,
    lr: float | None = None,
    **kwargs: Any,
) -> list[GraphOptimizer]:
    """The ``(optimizer, lr_scheduler)`` pairs of ``recipe`` for ``model`` in ``nn.Graph``::

        for opt, sch in schedcore_oneflow.graph_optimizers(model, recipe):
            graph.add_optimizer(opt, lr_sch=sch)

    Each distinct schedule is planned as OneFlow's graph-capable schedulers
    (:func:`schedcore_oneflow.plan`); groups whose schedules have the same shape (equal up
    to a scale) share an optimizer, others get their own. In an optimizer every group has
    the same base ``lr`` and an ``lr_scale`` (its lr relative to that base), which the
    Graph applies statically (:meth:`GraphOptimizer.group_lrs` gives each group's lr).
    ``recipe``: a Recipe, a schedule, a dict or a TOML/JSON path; ``lr`` its base lr.
    ``tolerance`` lets nodes without an exact equivalent be approximated (see
    :func:`schedcore_oneflow.plan`). ``optimizer``: a class (``kwargs`` go to it) or an
    unstepped instance (its options kept, its param_groups replaced), refused when the
    schedules need several optimizers.
    """
    recipe = sc.as_recipe(recipe, lr, what="recipe")
    table, tensors = table_and_tensors(model)
    resolution = recipe.bind(table).resolution
    assert resolution is not None
    return optimizers_from(recipe, resolution, tensors, optimizer, tolerance, **kwargs)


def optimizers_from(
    recipe: Recipe,
    resolution: Resolution,
    tensors: dict[str, flow.Tensor],
    optimizer: OptimizerLike = flow.optim.AdamW,
    tolerance: float | None = None,
    **kwargs: Any,
) -> list[GraphOptimizer]:
    """:func:`graph_optimizers` for resolved groups, given each canonical name's tensor."""
    plans = plan_schedules(recipe, dict.fromkeys(g.schedule for g in resolution.groups), tolerance)
    shapes: dict[tuple[Any, ...], list[Any]] = {}
    for g in resolution.groups:
        shapes.setdefault(plans[g.schedule].key(), []).append(g)
    if isinstance(optimizer, flow.optim.Optimizer) and len(shapes) > 1:
        raise ValueError(
            f"the recipe's schedules need {len(shapes)} optimizers in nn.Graph (schedules of "
            "different shapes cannot share one), but an optimizer instance is one: pass its "
            f"class, optimizer=flow.optim.{type(optimizer).__name__}, and its options"
        )
    out = []
    for members in shapes.values():
        shape = plans[members[0].schedule]
        # group lr * schedule = group lr * anchor * (the shape): the optimizer's base lr is the
        # largest group's, and each group's lr_scale its share of it
        peaks = [g.lr * plans[g.schedule].anchor for g in members]
        base = max(peaks) if max(peaks) > 0 else recipe.base_lr * shape.anchor
        groups = []
        for g, peak in zip(members, peaks, strict=True):
            group: dict[str, Any] = {
                "name": g.name,
                "params": [tensors[name] for name in g.params],
                "param_names": list(g.params),
                "lr": base,
                "initial_lr": base,
                "lr_scale": peak / base,
                "weight_decay": g.applied_weight_decay,
            }
            groups.append(group)
        opt = make_optimizer(optimizer, groups, base, kwargs)
        sch = build_scheduler(shape, opt, base)
        names = tuple(dict.fromkeys(g.schedule for g in members))
        follow = GroupSchedules(recipe, [g.schedule for g in members], [g.lr for g in members])
        out.append(GraphOptimizer(opt, sch, shape, names, follow))
    return out


def explain_lowering(
    model: nn.Module | None,
    recipe: RecipeLike,
    tolerance: float | None = None,
    lr: float | None = None,
) -> str:
    """What each node of each recipe schedule became in OneFlow
    (:func:`schedcore.port.oneflow.explain`), and (given a ``model``; None: the schedules
    only) which named groups follow each schedule and share which optimizer, with its base
    lr and their ``lr_scale``. The arguments come in the order of :func:`graph_optimizers`."""
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(
            "explain_lowering(model, recipe, tolerance=None): model must be a "
            f"oneflow.nn.Module or None (the schedules only), got {describe(model)}"
        )
    recipe = sc.as_recipe(recipe, lr, what="recipe")
    if model is None:
        return explain(recipe, tolerance)
    lines = [explain(recipe.bind(param_table(model)), tolerance)]
    for i, pair in enumerate(graph_optimizers(model, recipe, tolerance=tolerance)):
        lines.append(f"optimizer {i} (schedules {', '.join(pair.schedules)}):")
        for group in pair.optimizer.param_groups:
            lines.append(
                f"  {group['name']}: lr {group['initial_lr']:.6g} x lr_scale "
                f"{group['lr_scale']:.6g}: "
                f"{', '.join(group['param_names'])}"
            )
    return "\n".join(lines)
