"""OneFlow 0.9.0: read a live ``oneflow.optim.lr_scheduler`` object (eager mode) as a recipe.

What each OneFlow scheduler computes, eager and in the Graph kernel (SequentialLR's clocks,
PolynomialLR's ``cycle`` taking step 0 as step 1, CosineAnnealingWarmRestarts' cycle rounding),
is documented once, in :mod:`.kernels`; this module maps each to core nodes: eager
CosineAnnealingWarmRestarts to ``sgdr(cycle_index='log')`` (its float64 rounding), a
SequentialLR child to a global or local phase by its ``interval_rescaling``. A growth factor
above 1 (ExponentialLR, StepLR) is read up to the last step whose multiplier ``gamma ** n``
stays at most 1e100 (the largest multiplier a schedcore node holds; OneFlow runs on until
``gamma ** step`` overflows a float): a later step raises StepRangeError. ChainedScheduler
feeds each child's lr into the next; a child with a floor (``eta_min``, PolynomialLR's
``end_learning_rate``, 1e-4 by default) is affine, not a factor, so it is read as the first
child only. Read by duck
typing (class name from a ``oneflow`` module, constructor attributes, ``base_lrs``); nothing
here imports oneflow.
"""

from __future__ import annotations

import math
from typing import Any

from ...errors import SpecError, StepRangeError
from ...recipes import Recipe
from ...schedules.combinators import Phase, Product, Sequence, Shift
from ...schedules.cyclic import SGDR
from ...schedules.families import Constant, Cosine, Exponential, Linear, MultiStep, Polynomial, Step
from ...schedules.node import MAX_PEAK, Schedule
from ...schedules.piecewise import PiecewiseConstant
from ..common import group_recipe, growth, integer, phases, real

SINGLE = (
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineDecayLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "PolynomialLR",
    "ConstantLR",
    "LinearLR",
)
SEQUENTIAL = ("SequentialLR", "WarmupLR")
NO_CLOSED_FORM = {
    "ReduceLROnPlateau": "is driven by a metric; it has no closed form",
    "LambdaLR": "multiplies by an arbitrary function; it has no closed form",
}


def _kind(obj: Any, path: str) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    if not module.startswith("oneflow"):
        raise SpecError(
            path, f"from_oneflow reads oneflow lr schedulers; got {module}.{cls.__name__}"
        )
    name = cls.__name__
    if name in NO_CLOSED_FORM:
        raise SpecError(path, f"{name} {NO_CLOSED_FORM[name]}")
    if name not in (*SINGLE, *SEQUENTIAL, "ChainedScheduler"):
        raise SpecError(
            path,
            f"{name} is not a OneFlow scheduler schedcore can read; supported: "
            + ", ".join((*SINGLE, *SEQUENTIAL, "ChainedScheduler")),
        )
    return name


def from_oneflow(scheduler: Any) -> Recipe:
    """The recipe of a OneFlow (0.9) lr scheduler in eager mode: ``recipe.lr(k)`` is the lr
    OneFlow applies at update ``k``.

    Supported: StepLR, MultiStepLR, ExponentialLR, CosineDecayLR, CosineAnnealingLR,
    CosineAnnealingWarmRestarts (``decay_rate``, ``restart_limit``), PolynomialLR (with
    ``cycle``), ConstantLR, LinearLR, and SequentialLR / WarmupLR (either
    ``interval_rescaling``) and ChainedScheduler of them. LambdaLR and ReduceLROnPlateau
    raise SpecError. Several param groups give a per-group recipe (see
    :func:`schedcore.port.from_torch`). Only constructor attributes and ``base_lrs`` are
    read: a stepped scheduler gives the same recipe, checked against its current lr.
    """
    kind = _kind(scheduler, "scheduler")
    groups = scheduler.optimizer.param_groups
    entries = []
    for g in range(len(groups)):
        base = float(scheduler.base_lrs[g])
        if base <= 0:
            raise SpecError(
                f"optimizer.param_groups[{g}].initial_lr",
                f"is {base!r}; schedcore needs a positive base lr for each group",
            )
        entries.append((base, _read(scheduler, base, "scheduler")))
    recipe = group_recipe(entries, f"oneflow {kind}")
    step = int(scheduler.last_step)
    for g, (base, schedule) in enumerate(entries):
        try:
            expected = base * schedule(step)
        except StepRangeError:  # pragma: no cover - OneFlow schedules never end in an error
            continue
        current = float(groups[g]["lr"])
        if not math.isclose(current, expected, rel_tol=1e-9, abs_tol=1e-12 * base):
            raise SpecError(
                f"optimizer.param_groups[{g}].lr",
                f"is {current!r} at step {step}, but {kind}'s closed form gives {expected!r}: "
                "the lr was changed outside the scheduler",
            )
    return recipe


def _read(s: Any, base: float, path: str) -> Schedule:
    """Multiplier schedule of ``s``, called as OneFlow calls it: ``get_lr(base, step)``."""
    kind = _kind(s, path)
    if kind in SEQUENTIAL:
        return _sequential(s, base, path)
    if kind == "ChainedScheduler":
        return _chained(s, base, path)
    return _single(kind, s, base, path)


def _unit(value: Any, path: str) -> float:
    gamma = real(value, path, 0.0, open_low=True)
    if gamma > 1.0:
        raise SpecError(path, f"is {gamma!r} > 1: the lr grows without bound; accepted: (0, 1]")
    return gamma


def _rate(value: Any, every: int, path: str, bound: float) -> Schedule:
    gamma = real(value, path, 0.0, open_low=True)
    if gamma > 1.0:
        return growth(gamma, every, bound)
    return Step(every=every, gamma=gamma) if every > 1 else Exponential(rate=gamma)


def _single(kind: str, s: Any, base: float, path: str, bound: float = MAX_PEAK) -> Schedule:
    if kind == "StepLR":
        every = integer(s.step_size, f"{path}.step_size", 1)
        return _rate(s.gamma, every, f"{path}.gamma", bound)
    if kind == "MultiStepLR":
        milestones = [integer(m, f"{path}.milestones[{i}]") for i, m in enumerate(s.milestones)]
        if not milestones:
            return Constant(1.0)
        return MultiStep(
            milestones=tuple(milestones), gamma=real(s.gamma, f"{path}.gamma", 0.0, open_low=True)
        )
    if kind == "ExponentialLR":
        return _rate(s.gamma, 1, f"{path}.gamma", bound)
    if kind == "CosineDecayLR":
        return Cosine(
            steps=integer(s.decay_steps, f"{path}.decay_steps", 1),
            start=1.0,
            end=real(s.alpha, f"{path}.alpha", 0.0),
        )
    if kind == "CosineAnnealingLR":
        eta = real(s.eta_min, f"{path}.eta_min", 0.0)
        return Cosine(
            steps=integer(s.T_max, f"{path}.T_max", 1), start=1.0, end=eta / base, after="periodic"
        )
    if kind == "CosineAnnealingWarmRestarts":
        t_mul = integer(s.T_mult, f"{path}.T_mult", 1)
        limit = integer(s.restart_limit, f"{path}.restart_limit")
        return SGDR(
            period=integer(s.T_0, f"{path}.T_0", 1),
            t_mul=t_mul,
            m_mul=_unit(s.decay_rate, f"{path}.decay_rate"),
            start=1.0,
            end=real(s.eta_min, f"{path}.eta_min", 0.0) / base,
            cycle_limit=limit or None,
            cycle_index="log" if t_mul > 1 else "exact",
        )
    if kind == "PolynomialLR":
        steps = integer(s.max_decay_steps, f"{path}.decay_batch", 1)
        end = real(s.end_learning_rate, f"{path}.end_learning_rate", 0.0) / base
        power = real(s.power, f"{path}.power", 0.0)
        if not s.cycle:
            return Polynomial(steps=steps, start=1.0, end=end, power=power)
        cycling = Polynomial(steps=steps, start=1.0, end=end, power=power, after="stretch")
        # PolynomialLR's cycle takes step 0 as step 1 (see .kernels)
        return Sequence(
            phases=(Phase(Shift(schedule=cycling, offset=1), 1), Phase(cycling, None, "global"))
        )
    if kind == "ConstantLR":
        factor = real(s.factor, f"{path}.factor", 0.0, 1.0)
        total = integer(s.total_iters, f"{path}.total_iters", -(2**53))
        if total <= 0 or factor == 1.0:
            return Constant(1.0)
        return PiecewiseConstant(boundaries=(total,), values=(factor, 1.0))
    # LinearLR
    start = real(s.start_factor, f"{path}.start_factor", 0.0, 1.0)
    end = real(s.end_factor, f"{path}.end_factor", 0.0, 1.0)
    total = integer(s.total_iters, f"{path}.total_iters", -(2**53))
    if total <= 0:
        return Constant(end)
    return Linear(steps=total, start=start, end=end)


def _sequential(s: Any, base: float, path: str) -> Schedule:
    children, milestones = list(s.schedulers), list(s.milestones)
    rescale = list(s.interval_rescaling)
    for i, m in enumerate(milestones):
        integer(m, f"{path}.milestones[{i}]")
        if i and m < milestones[i - 1]:
            raise SpecError(
                f"{path}.milestones[{i}]",
                f"is {m} after {milestones[i - 1]}: OneFlow's bisect needs sorted milestones",
            )
    bounds = [0, *milestones, None]
    items: list[tuple[Schedule, int | None, str]] = []
    for i, child in enumerate(children):
        where = f"{path}.schedulers[{i}]"
        kind = _kind(child, where)
        if kind not in SINGLE:
            raise SpecError(
                where,
                f"is a {kind}: OneFlow's SequentialLR calls a child's get_lr, which a "
                "composite scheduler does not have",
            )
        begin, end = bounds[i], bounds[i + 1]
        length = None if end is None else end - begin
        if length == 0:
            continue
        clock = "local" if i and rescale[i - 1] else "global"
        items.append((_single(kind, child, base, where), length, clock))
    return phases(*items)


MULTIPLICATIVE = {
    "StepLR": None,
    "MultiStepLR": None,
    "ExponentialLR": None,
    "CosineDecayLR": None,
    "ConstantLR": None,
    "LinearLR": None,
    "CosineAnnealingLR": "eta_min",
    "CosineAnnealingWarmRestarts": "eta_min",
    "PolynomialLR": "end_learning_rate",
}


def _growing(kind: str, s: Any) -> bool:
    return kind in ("StepLR", "ExponentialLR") and float(s.gamma) > 1.0


def _chained(s: Any, base: float, path: str) -> Schedule:
    # growing factors share the multiplier bound left by the others' peaks
    fixed, growing = 1.0, 0
    for i, child in enumerate(s.schedulers):
        kind = _kind(child, f"{path}.schedulers[{i}]")
        if _growing(kind, child):
            growing += 1
        elif kind in MULTIPLICATIVE:
            fixed *= _single(kind, child, base, f"{path}.schedulers[{i}]").peak()
    bound = (MAX_PEAK / max(fixed, 1.0)) ** (1.0 / max(growing, 1))
    factors = []
    for i, child in enumerate(s.schedulers):
        where = f"{path}.schedulers[{i}]"
        kind = _kind(child, where)
        offset = MULTIPLICATIVE.get(kind, "")
        if offset == "" or (i and offset and getattr(child, offset) != 0):
            detail = f" with {offset} != 0 after the first child" if offset else ""
            raise SpecError(
                where,
                f"is a {kind}{detail}: ChainedScheduler feeds each child's lr into the next, "
                "a product only for multiplicative schedulers (a floor is read in the first "
                "child only, which starts from the base lr)",
            )
        factors.append(_single(kind, child, base, where, bound))
    return factors[0] if len(factors) == 1 else Product(schedules=tuple(factors))
