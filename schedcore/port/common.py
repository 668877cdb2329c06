"""Shared pieces of the importers: argument checks, recipes, per-group recipes, phases.

Every importer composes the core's nodes; a value the source computes in closed form
becomes a multiplier of a base lr that the importer picks (the source's initial or peak
lr). Nothing here imports a framework.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import SpecError
from ..fields import LR_RANGE, MAX_STEP, Bool, Choice, Int, Real
from ..groups.policy import GroupPolicy
from ..groups.table import ParamTable
from ..recipes import Recipe
from ..recipes.training import Training
from ..schedules.combinators import PerEpoch, Phase, Scale, Warmup
from ..schedules.combinators import Sequence as SequenceNode
from ..schedules.families import Constant, Linear
from ..schedules.node import MAX_PEAK, Schedule
from ..schedules.piecewise import PiecewiseInterpolate

GROUP_PARAM = "param_groups.{}"
"""Synthetic parameter name of optimizer param group ``i`` in a per-group recipe."""


# -- argument checks: the fields' kinds, so each check and its message is written once ------
def integer(value: Any, path: str, low: int = 0, high: int = MAX_STEP) -> int:
    """A whole number in ``[low, high]`` (an integral float such as ``100.0`` is accepted)."""
    return Int(low, high).coerce(value, path)


def real(
    value: Any, path: str, low: float = -math.inf, high: float = math.inf, open_low: bool = False
) -> float:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``open_low``)."""
    return Real(low, high, open_low).coerce(value, path)


def lr_value(value: Any, path: str) -> float:
    """A base learning rate schedcore accepts (positive, at most 1e6)."""
    return Real(*LR_RANGE).coerce(value, path)


def boolean(value: Any, path: str) -> bool:
    return Bool().coerce(value, path)


def choice(value: Any, path: str, options: Sequence[str]) -> str:
    return Choice(*options).coerce(value, path)


def known_keys(given: Mapping[str, Any], accepted: Sequence[str], path: str = "") -> None:
    """Reject a key that is not accepted, naming it and listing what is."""
    for key in given:
        if key not in accepted:
            where = f"{path}.{key}" if path else str(key)
            raise SpecError(where, "unknown argument; accepted: " + ", ".join(accepted))


# -- building blocks -------------------------------------------------------------------------
def phases(*items: tuple[Schedule, int | None, str]) -> Schedule:
    """A sequence of ``(schedule, steps, clock)`` phases; zero-length phases are dropped
    and a single phase on its own clock is returned as its schedule."""
    kept = [(s, n, c) for s, n, c in items if n is None or n > 0]
    if len(kept) == 1:  # the first phase starts at 0: its clock makes no difference
        return kept[0][0]
    return SequenceNode(phases=tuple(Phase(s, n, c) for s, n, c in kept))


def ramp_then(body: Schedule, steps: int, start: float, end: float = 1.0) -> Schedule:
    """A linear ramp from ``start`` to ``end`` over ``steps`` updates (``start + (end - start)
    * k / steps``), then ``body`` on its own clock. A ``warmup`` node where it is one (the
    ramp ends at the body's first value and rises from a fraction of it)."""
    if steps <= 0:
        return body
    if end > 0 and body(0) == end and 0 <= start <= end:
        return Warmup(schedule=body, steps=steps, start_factor=start / end)
    return phases(
        (Linear(steps=steps, start=start, end=end), steps, "local"), (body, None, "local")
    )


def until(schedule: Schedule, last: int) -> Schedule:
    """``schedule`` up to step ``last``; a later step raises StepRangeError (the source
    raises there)."""
    stop = PiecewiseInterpolate(steps=(0,), values=(schedule(last),), after="error")
    if last == 0:
        return stop
    return SequenceNode(phases=(Phase(schedule, last), Phase(stop)))


def growth(gamma: float, every: int = 1, bound: float = MAX_PEAK) -> Schedule:
    """``gamma ** floor(k / every)`` for a growth factor ``gamma > 1`` (torch and OneFlow run
    these), up to the last step whose multiplier ``gamma ** n`` stays at most ``bound``
    (MAX_PEAK, 1e100, the largest multiplier a node holds, or a share of it in a chain of
    several); a later step raises StepRangeError (the source runs on until its float
    overflows)."""
    n = max(int(math.log(bound) / math.log(gamma)), 0)
    while n > 0 and not _fits(gamma, n, bound):
        n -= 1
    while _fits(gamma, n + 1, bound):
        n += 1
    n = min(n, MAX_STEP // every)  # a factor just above 1 stays within the bound for ever
    node: Schedule = Constant(1.0)
    if n:
        # gamma ** j for j <= n: an exponential ramp from gamma ** -n to 1, scaled by gamma ** n
        ramp = Warmup(schedule=node, steps=n, shape="exponential", start_factor=gamma**-n)
        node = Scale(schedule=ramp, factor=gamma**n)
    if every > 1:
        node = PerEpoch(schedule=node, steps_per_epoch=every)
    return until(node, min((n + 1) * every - 1, MAX_STEP))


def _fits(gamma: float, n: int, bound: float) -> bool:
    try:
        return gamma**n <= bound
    except OverflowError:
        return False


# -- recipes -------------------------------------------------------------------------------
def recipe(lr: float, schedule: Schedule, name: str = "", total_steps: int | None = None) -> Recipe:
    """A single-schedule recipe (``recipe.lr(k)`` has the steps' shape)."""
    training = Training(total_steps=total_steps) if total_steps else None
    return _checked(Recipe(lr_value(lr, "lr"), schedule, {}, training, None, name))


def group_recipe(groups: Sequence[tuple[float, Schedule]], name: str = "") -> Recipe:
    """A recipe for an optimizer's param groups, ``(base lr, schedule)`` each, in order.

    One group gives a plain recipe. Several give a recipe bound to a synthetic parameter
    table with one parameter per group, named ``param_groups.{i}``: group 0 follows the
    recipe's ``lr`` and ``schedule``, group ``i`` a rule that sets its ``lr`` and its named
    schedule ``group{i}``. ``recipe.lr(k)`` then has shape ``(groups, *k.shape)``, row ``i``
    for ``param_groups[i]``. (``to_dict`` keeps the rules and schedules; binding the loaded
    document to ``[f"param_groups.{i}" ...]`` gives the same groups back.)
    """
    for i, (lr, _) in enumerate(groups):
        lr_value(lr, f"param_groups[{i}].lr")
    if len(groups) == 1:
        return recipe(groups[0][0], groups[0][1], name)
    width = len(str(len(groups) - 1))
    named = {f"group{i:0{width}d}": s for i, (_, s) in enumerate(groups) if i}
    rules = [
        {
            "name": f"group{i:0{width}d}",
            "match": {"name": GROUP_PARAM.format(i)},
            "lr": lr,
            "schedule": f"group{i:0{width}d}",
        }
        for i, (lr, _) in enumerate(groups)
        if i
    ]
    policy = GroupPolicy.from_dict({"defaults": {}, "rules": rules})
    base = _checked(Recipe(groups[0][0], groups[0][1], named, None, policy, name))
    table = ParamTable.of([GROUP_PARAM.format(i) for i in range(len(groups))])
    bound = base.bind(table)
    assert bound.resolution is not None and len(bound.resolution.groups) == len(groups)
    return bound


def _checked(r: Recipe) -> Recipe:
    peak = max([r.schedule.peak(), *(s.peak() for s in r.schedules.values())])
    if not r.base_lr * peak < 1e300:
        raise SpecError("lr", f"times the schedule's peak ({peak:g}) is not finite")
    return r
