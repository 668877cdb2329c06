"""PyTorch: read a live ``torch.optim.lr_scheduler`` object; build native schedulers back.

Nothing here imports torch. A scheduler is read by duck typing: its class name (the class
must come from a ``torch.`` module), the constructor arguments torch keeps as attributes
(``T_max``, ``eta_min``, ``milestones``, ``gamma``, ``step_size``, ``total_iters``, ...),
``base_lrs`` and the optimizer's ``param_groups``. The exporter builds schedulers from the
``torch.optim.lr_scheduler`` module, which a caller who holds a torch optimizer has
already imported (it is looked up in ``sys.modules``, or passed in).

**Recursive vs closed forms.** Most torch schedulers step recursively ("chainable": each
step multiplies the current lr). Alone, or as a child of SequentialLR (which restarts a
child at its milestone from the closed form at 0), they follow their closed forms up to
float rounding; the recipe is the closed form. CosineAnnealingLR's recursion continues the
wave past ``T_max`` (the recipe's cosine is periodic). ChainedScheduler multiplies the
children's factors: the recipe is their product. A few recursive quirks differ from the
closed form and are reproduced: ConstantLR/LinearLR with ``total_iters=0`` keep their
starting factor for ever (PolynomialLR's stays 1); as a later child of SequentialLR they
restart from the closed form instead.

**Composites inside composites.** A SequentialLR or ChainedScheduler that is the child
SequentialLR starts with runs; torch's own SequentialLR steps it once more at
construction, so a nested SequentialLR's milestones fall one step earlier (two levels deep,
two steps: every construction around it steps it again, after resetting the lr to
``initial_lr``), and the children it starts are stepped (not initialized) at step 0:
ExponentialLR, PolynomialLR and MultiplicativeLR then apply one more factor there, and
CosineAnnealingLR's recursion scales its wave by ``2 / (1 + cos(pi / T_max))`` above the
floor up to ``T_max``, where its additive branch restarts the plain wave (in a chain, the
product holds up to ``T_max``). A composite reached at a later milestone
makes torch raise (NotImplementedError: it has no closed form to restart from): the recipe
runs up to that milestone and raises StepRangeError there. ChainedScheduler is the product of
its multiplicative children; a child that sets the lr from its base lr (LambdaLR,
CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR) overrides every child before it, so a
chain that ends with one is that child (a last CyclicLR applies the group's ``initial_lr`` at
step 0: torch builds it with those as its base lrs). A first CosineAnnealingLR's recursion
starts from the group's ``initial_lr``, which a later OneCycleLR may have changed: up to
``T_max`` the wave runs from it, then from its own base lr. MultiplicativeLR is read when
its factor is a constant that can be read without calling it: a plain function whose code
only returns a number literal (``lambda epoch: 0.95``), or an object whose class's ``__call__`` only
returns an attribute held in the instance's ``__dict__`` (``return self.factor``).

**Growth factors.** StepLR, ExponentialLR and MultiplicativeLR with a factor above 1 run
in torch until the float overflows; the recipe follows them while the multiplier stays at
most 1e100 (shared by the growing children of a chain) and raises StepRangeError after
(:func:`schedcore.port.common.growth`, the rule the OneFlow importer uses too).

**Stepped objects.** Only constructor arguments and ``base_lrs`` are read, never the current
lr, so a scheduler that has been stepped ``n`` times gives the same recipe as a fresh one
(``recipe.lr(k)`` for every ``k`` from 0); training resumes at ``recipe.lr(n)``. As a check,
the current lr of every group must equal ``recipe.lr(n)`` (relative 1e-9): a mismatch (an
lr changed by hand, a scheduler built on an already-scheduled optimizer) is an error.
"""

from __future__ import annotations

import bisect
import dis
import functools
import inspect
import math
import sys
import types
from typing import Any

from ..errors import SpecError, StepRangeError, describe
from ..fields import LR_RANGE, MAX_STEP
from ..recipes import Recipe
from ..schedules.breakpoints import leading_warmup
from ..schedules.combinators import Phase, Product, Scale, Sequence
from ..schedules.cyclic import SGDR, Cyclic, OneCycle
from ..schedules.families import Constant, Cosine, Exponential, Linear, MultiStep, Polynomial, Step
from ..schedules.node import MAX_PEAK, Schedule
from ..schedules.piecewise import PiecewiseConstant, PiecewiseInterpolate
from .common import group_recipe, growth, integer, phases, real, until
from .native import COMPOSITE, Abs, Native
from .transformers import lambda_schedule

SINGLE = (
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "PolynomialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
)

NO_CLOSED_FORM = {
    "ReduceLROnPlateau": "is driven by a metric; it has no closed form",
}
MULTIPLICATIVE = (
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "PolynomialLR",
    "CosineAnnealingLR",
)
RECURSIVE = (*MULTIPLICATIVE, "MultiplicativeLR")
ABSOLUTE = ("LambdaLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR")
COSINES = ("CosineAnnealingLR", "CosineAnnealingWarmRestarts")
"""Schedulers that set the lr from their base lr, ignoring the current one."""
HF_MODULE = "transformers.optimization"


def _kind(obj: Any, path: str) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    if not module.startswith("torch."):
        hint = " (use from_oneflow)" if module.startswith("oneflow") else ""
        raise SpecError(
            path,
            f"from_torch reads torch.optim.lr_scheduler objects; got {module}.{cls.__name__}{hint}",
        )
    name = cls.__name__
    if name in NO_CLOSED_FORM:
        raise SpecError(path, f"{name} {NO_CLOSED_FORM[name]}")
    if name not in SINGLE and name not in COMPOSITE:
        raise SpecError(
            path,
            f"{name} is not a torch scheduler schedcore can read; supported: "
            + ", ".join((*SINGLE, *COMPOSITE)),
        )
    return name


def _float(value: Any) -> float:
    return float(value.item()) if hasattr(value, "item") else float(value)


def _groups(optimizer: Any) -> list[dict[str, Any]]:
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not groups:
        raise SpecError("scheduler.optimizer", "has no param_groups")
    return groups


def from_torch(scheduler: Any) -> Recipe:
    """The recipe of a torch lr scheduler: ``recipe.lr(k)`` is the lr torch applies at
    update ``k`` (the lr after construction and ``k`` calls of ``scheduler.step()``).

    Supported: every built-in scheduler with a closed form (StepLR, MultiStepLR,
    ConstantLR, LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR,
    CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, and LambdaLR holding one of
    transformers' schedule functions, MultiplicativeLR with a constant factor), SequentialLR
    of them (nested composites too, to any depth: see the module docstring), and
    ChainedScheduler of the multiplicative ones, possibly ending with one that sets the lr
    absolutely. A growth factor above 1 runs up to a multiplier of 1e100.
    ReduceLROnPlateau, and LambdaLR or MultiplicativeLR with an arbitrary function raise
    SpecError.

    With one param group the recipe is plain. With several it is bound to one synthetic
    parameter per group (see :func:`schedcore.port.group_recipe`): ``recipe.lr(k)`` has
    shape ``(groups, *k.shape)``, row ``i`` for ``param_groups[i]``.
    """
    kind = _kind(scheduler, "scheduler")
    optimizer = getattr(scheduler, "optimizer", None)
    if optimizer is None and kind == "ChainedScheduler":
        optimizer = scheduler._schedulers[0].optimizer
    groups = _groups(optimizer)
    entries = []
    for g in range(len(groups)):
        base, schedule = _read(scheduler, g, "scheduler", restart=False)
        entries.append((base, schedule) if base > 0 else (1.0, Constant(0.0)))
    recipe = group_recipe(entries, f"torch {kind}")
    _check_current(scheduler, kind, groups, entries)
    return recipe


def _last_epoch(scheduler: Any, kind: str) -> int:
    if kind == "ChainedScheduler":
        return int(scheduler._schedulers[0].last_epoch)
    return int(scheduler.last_epoch)


def _check_current(scheduler: Any, kind: str, groups: list, entries: list) -> None:
    step = _last_epoch(scheduler, kind)
    if step < 0:
        return
    for g, (base, schedule) in enumerate(entries):
        try:
            expected = base * schedule(step)
        except StepRangeError:
            continue
        current = _float(groups[g]["lr"])
        if not math.isclose(current, expected, rel_tol=1e-9, abs_tol=1e-12 * base):
            raise SpecError(
                f"optimizer.param_groups[{g}].lr",
                f"is {current!r} after {step} steps, but {kind}'s closed form gives "
                f"{expected!r}: the lr was changed outside the scheduler, or the optimizer "
                "already had a scheduler when this one was built",
            )


def _read(
    s: Any, g: int, path: str, restart: bool, stepped: bool = False, bound: float = MAX_PEAK
) -> tuple[float, Schedule]:
    """``(base lr, multiplier schedule)`` of scheduler ``s`` for param group ``g``.

    ``restart``: ``s`` is a later child of SequentialLR, restarted at its milestone from its
    closed form at 0 (not from its recursive initial step). ``stepped``: ``s`` starts with a
    plain ``step()`` at step 0 (a child of a nested composite), not its initial step."""
    kind = _kind(s, path)
    if kind == "SequentialLR":
        return _sequential(s, g, path)
    if kind == "ChainedScheduler":
        return _chained(s, g, path, stepped)
    if kind == "CyclicLR":
        return _cyclic(s, g, path)
    if kind == "OneCycleLR":
        return _onecycle(s, g, path)
    base = _float(s.base_lrs[g])
    if base < 0:
        raise SpecError(
            f"optimizer.param_groups[{g}].initial_lr",
            f"is {base!r}; schedcore needs a non-negative base lr here",
        )
    if kind in COSINES:
        # a cosine from a base lr below its floor (a CyclicLR with a tiny or zero base_lr
        # before it, say) rises to the floor: the recipe's base lr is then the floor
        base = max(base, real(s.eta_min, f"{path}.eta_min", 0.0))
    # a zero base lr (and floor) keeps the lr at 0
    schedule = _single(kind, s, g, base or 1.0, path, restart, bound)
    if stepped:
        schedule = _stepped(kind, s, schedule, path, bound)
    return base, schedule


def _stepped(kind: str, s: Any, schedule: Schedule, path: str, bound: float = MAX_PEAK) -> Schedule:
    """``schedule`` of a recursive scheduler started by a plain ``step()`` at step 0, which
    applies one factor more than its initial step where torch's ``get_lr`` does not check
    for the initial step."""
    if kind in ("ExponentialLR", "MultiplicativeLR"):
        rate = schedule(1)  # the constant factor, applied once more at step 0
        if rate > 1:  # a growth factor: the extra factor counts against the bound
            schedule = growth(rate, 1, bound / rate)
        return Scale(schedule=schedule, factor=rate)
    if kind == "PolynomialLR":
        total = int(s.total_iters)
        if total == 0:
            raise SpecError(
                f"{path}.total_iters",
                "is 0: stepped at step 0 by a nested composite, torch's PolynomialLR divides "
                "by total_iters (ZeroDivisionError)",
            )
        first = ((1.0 - 0 / total) / (1.0 - (0 - 1) / total)) ** float(s.power)
        return Scale(schedule=schedule, factor=first)
    if kind == "CosineAnnealingLR":
        assert isinstance(schedule, Cosine)
        return _stepped_cosine(schedule, path)
    return schedule


def _stepped_cosine(
    cosine: Cosine,
    path: str,
    chained: bool = False,
    lead: float | None = None,
    stepped: bool = True,
) -> Schedule:
    """torch's CosineAnnealingLR (``T = T_max``; ``start``, floor ``e`` relative) whose
    recursion starts from the lr ``lead`` (relative; its own base lr unless a later
    scheduler changed the group's ``initial_lr``) and, if ``stepped``, with a plain
    ``step()`` at step 0. The recursion multiplies ``lr - eta_min`` by ``(1 + cos(pi k /
    T)) / (1 + cos(pi (k - 1) / T))``, so up to ``T`` the value is the wave from ``lead``,
    scaled above its floor by ``F = 2 / (1 + cos(pi / T))`` when stepped (the ratio at
    ``k = 0``); at ``T + 1`` its additive branch restarts the plain wave from its own base
    lr (in a chain that drops the other factors: the product holds up to ``T`` only). With
    ``T = 1`` the additive branch is taken at step 0 itself when stepped (``lead + start -
    e``; ``lead`` unstepped), then the wave."""
    steps, start, end = cosine.steps, cosine.start, cosine.end
    lead = start if lead is None else lead
    if lead == start and not stepped:
        return cosine
    wave = Cosine(steps=steps, start=start, end=end, after="periodic")
    factor = 2.0 / (1.0 + math.cos(math.pi / steps)) if steps > 1 and stepped else 1.0
    if steps == 1:
        first_value = lead + start - end if stepped else lead
    else:
        first_value = end + (lead - end) * factor
    if first_value < 0:
        raise SpecError(
            path,
            "is a CosineAnnealingLR stepped at step 0 from an lr below its eta_min: "
            "torch's recursion gives a negative lr there, which no recipe holds",
        )
    if steps == 1:
        if chained:
            raise SpecError(
                f"{path}.T_max",
                "is 1 in a chain stepped at step 0: torch's cosine adds its base lr to the "
                "other factors' lr there, which is no product",
            )
        first: Schedule = Constant(first_value)
        return Sequence(phases=(Phase(first, 1), Phase(wave, None, "global")))
    scaled = Cosine(steps=steps, start=first_value, end=end, after="error")
    if chained:
        return scaled
    return Sequence(phases=(Phase(scaled, steps + 1), Phase(wave, None, "global")))


def _single(
    kind: str, s: Any, g: int, base: float, path: str, restart: bool, bound: float = MAX_PEAK
) -> Schedule:
    """The multiplier of a single scheduler; a growth factor above 1 runs up to ``bound``
    (see :func:`schedcore.port.common.growth`)."""
    if kind == "MultiplicativeLR":
        if restart:
            raise SpecError(
                path,
                "is a MultiplicativeLR restarted by SequentialLR at its milestone: torch then "
                "multiplies the lr the previous scheduler left, which has no closed form here",
            )
        factor = _constant_factor(s.lr_lambdas[g], f"{path}.lr_lambdas[{g}]")
        if factor == 0:
            return PiecewiseConstant(boundaries=(1,), values=(1.0, 0.0))
        return growth(factor, 1, bound) if factor > 1 else Exponential(rate=factor)
    if kind == "LambdaLR":
        return _lambda(s.lr_lambdas[g], f"{path}.lr_lambdas[{g}]")
    if kind == "StepLR":
        every = integer(s.step_size, f"{path}.step_size", 1)
        gamma = real(s.gamma, f"{path}.gamma", 0.0)
        if gamma == 0:
            return PiecewiseConstant(boundaries=(every,), values=(1.0, 0.0))
        return growth(gamma, every, bound) if gamma > 1 else Step(every=every, gamma=gamma)
    if kind == "MultiStepLR":
        milestones = sorted(integer(m, f"{path}.milestones", 0) for m in s.milestones.elements())
        gamma = real(s.gamma, f"{path}.gamma", 0.0)
        if not milestones:
            return Constant(1.0)
        if gamma == 0:
            return PiecewiseConstant(boundaries=(milestones[0],), values=(1.0, 0.0))
        return MultiStep(milestones=tuple(milestones), gamma=gamma)
    if kind == "ConstantLR":
        factor = real(s.factor, f"{path}.factor", 0.0, 1.0)
        total = integer(s.total_iters, f"{path}.total_iters", 0, 2**63)
        if total == 0:  # recursive quirk: the factor applied at step 0 is never undone
            return Constant(1.0 if restart else factor)
        if factor == 1.0:
            return Constant(1.0)
        if total > MAX_STEP:  # ends past every step schedcore evaluates
            return Constant(factor)
        if factor == 0.0:  # torch divides by the factor at step total_iters
            return until(Constant(0.0), total - 1)
        return PiecewiseConstant(boundaries=(total,), values=(factor, 1.0))
    if kind == "LinearLR":
        start = real(s.start_factor, f"{path}.start_factor", 0.0, 1.0, open_low=True)
        end = real(s.end_factor, f"{path}.end_factor", 0.0, 1.0)
        total = integer(s.total_iters, f"{path}.total_iters")
        if total == 0:
            if restart:
                raise SpecError(
                    f"{path}.total_iters",
                    "is 0: restarted by SequentialLR at its milestone, torch's closed form "
                    "divides by total_iters (ZeroDivisionError)",
                )
            return Constant(start)  # recursive quirk: start_factor for ever
        return Linear(steps=total, start=start, end=end)
    if kind == "ExponentialLR":
        gamma = real(s.gamma, f"{path}.gamma", 0.0)
        if gamma == 0:
            return PiecewiseConstant(boundaries=(1,), values=(1.0, 0.0))
        return growth(gamma, 1, bound) if gamma > 1 else Exponential(rate=gamma)
    if kind == "PolynomialLR":
        total = integer(s.total_iters, f"{path}.total_iters")
        power = real(s.power, f"{path}.power", 0.0)
        if total == 0:
            if restart:
                raise SpecError(
                    f"{path}.total_iters",
                    "is 0: restarted by SequentialLR at its milestone, torch's closed form "
                    "divides by total_iters (ZeroDivisionError)",
                )
            return Constant(1.0)
        return Polynomial(steps=total, start=1.0, end=0.0, power=power)
    if kind == "CosineAnnealingLR":
        t_max = integer(s.T_max, f"{path}.T_max", 1)
        eta = real(s.eta_min, f"{path}.eta_min", 0.0)
        start = _float(s.base_lrs[g]) / base
        return Cosine(steps=t_max, start=start, end=eta / base, after="periodic")
    # CosineAnnealingWarmRestarts
    period = integer(s.T_0, f"{path}.T_0", 1)
    t_mul = integer(s.T_mult, f"{path}.T_mult", 1)
    eta = real(s.eta_min, f"{path}.eta_min", 0.0)
    return SGDR(period=period, t_mul=t_mul, start=_float(s.base_lrs[g]) / base, end=eta / base)


def _raises_at(kind: str, s: Any) -> int | None:
    """The step at which stepping torch scheduler ``s`` raises, or None (read before it)."""
    if kind == "ConstantLR" and float(s.factor) == 0 and 0 < int(s.total_iters) <= MAX_STEP:
        return int(s.total_iters)
    if kind == "OneCycleLR":
        return int(s.total_steps) + 1
    if kind in COMPOSITE:
        return min(
            (e for c in s._schedulers if (e := _raises_at(type(c).__name__, c)) is not None),
            default=None,
        )
    return None


def _constant_factor(fn: Any, path: str) -> float:
    """The factor a MultiplicativeLR function returns at every epoch, read from its code
    without calling it (user code is never run), or SpecError."""
    value: Any = None
    try:
        if isinstance(fn, types.FunctionType):
            inspect.signature(fn).bind(0)
            value = _returned(fn, constant=True)
        else:
            call = inspect.getattr_static(type(fn), "__call__", None)
            plain = inspect.getattr_static(type(fn), "__getattribute__") is object.__getattribute__
            if isinstance(call, types.FunctionType) and plain:
                inspect.signature(call).bind(fn, 0)
                name = _returned(call, constant=False)
                held = getattr(fn, "__dict__", {})
                descriptor = inspect.getattr_static(type(fn), str(name), None)
                if name in held and not hasattr(type(descriptor), "__set__"):
                    value = held[name]
    except (TypeError, ValueError):
        value = None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(
            path,
            f"is {describe(fn)}: MultiplicativeLR is read only with a constant factor that can "
            "be read without running it (a function that returns a number literal, such as "
            "lambda epoch: 0.95, or an object whose __call__ returns self.<attribute>); an "
            "arbitrary function has no closed form. Write the schedule as a recipe instead",
        )
    return real(value, path, 0.0)


def _returned(fn: types.FunctionType, constant: bool) -> Any:
    """What ``fn``'s code returns when it is only ``return <literal>`` (``constant``) or
    ``return <first argument>.<name>`` (the name); None otherwise."""
    ops = [(i.opname, i.argval) for i in dis.get_instructions(fn) if i.opname != "RESUME"]
    if constant:
        if len(ops) == 2 and ops[0][0] == "LOAD_CONST" and ops[1][0] == "RETURN_VALUE":
            return ops[0][1]
        if len(ops) == 1 and ops[0][0] == "RETURN_CONST":
            return ops[0][1]
        return None
    first = fn.__code__.co_varnames[0] if fn.__code__.co_argcount else None
    if (
        len(ops) == 3
        and ops[0] == ("LOAD_FAST", first)
        and ops[1][0] == "LOAD_ATTR"
        and ops[2][0] == "RETURN_VALUE"
    ):
        return ops[1][1]
    return None


def _lambda(fn: Any, path: str) -> Schedule:
    target = fn.func if isinstance(fn, functools.partial) else fn
    module = getattr(target, "__module__", None)
    name = getattr(target, "__name__", None)
    if module == HF_MODULE and isinstance(name, str):
        if isinstance(fn, functools.partial) and fn.args:
            raise SpecError(path, f"a partial of {name} with positional arguments is not read")
        keywords = dict(fn.keywords) if isinstance(fn, functools.partial) else {}
        return lambda_schedule(name, keywords, f"{path}.")
    raise SpecError(
        path,
        f"is {describe(fn)}: an arbitrary function has no closed form schedcore can read; "
        "LambdaLR is read only when it holds one of transformers' schedule functions "
        "(from get_scheduler). Write the schedule as a recipe instead",
    )


def _cyclic(s: Any, g: int, path: str) -> tuple[float, Schedule]:
    if getattr(s, "_scale_fn_custom", None) is not None:
        raise SpecError(f"{path}.scale_fn", "is an arbitrary function; it has no closed form")
    total = _float(s.total_size)
    up = _float(s.step_ratio) * total
    up_steps, total_steps = round(up), round(total)
    if abs(up - up_steps) > 1e-9 * total or total != total_steps or not 1 <= up_steps < total:
        raise SpecError(
            f"{path}.step_size_up",
            f"gives {up:g} steps up of {total:g}; schedcore needs whole numbers of steps",
        )
    low, high = _float(s.base_lrs[g]), _float(s.max_lrs[g])
    if high <= 0:
        raise SpecError(f"{path}.max_lr", f"is {high!r}; it must be positive")
    mode = s.mode
    gamma = _float(s.gamma)
    return high, Cyclic(
        low=low / high,
        high=1.0,
        up=up_steps,
        down=total_steps - up_steps,
        mode=mode,
        gamma=gamma if mode == "exp_range" else 1.0,
    )


def _onecycle(s: Any, g: int, path: str) -> tuple[float, Schedule]:
    kind = getattr(s, "_anneal_func_type", None)
    if kind not in ("cos", "linear"):
        raise SpecError(f"{path}.anneal_strategy", f"must be 'cos' or 'linear', got {kind!r}")
    group = s.optimizer.param_groups[g]
    peak, initial, final = (_float(group[k]) for k in ("max_lr", "initial_lr", "min_lr"))
    phases = s._schedule_phases
    total = integer(s.total_steps, f"{path}.total_steps", 2)
    pct = (float(phases[0]["end_step"]) + 1.0) / total
    ends = [float(p["end_step"]) for p in phases]
    if not all(b > a for a, b in zip([0.0, *ends[:-1]], ends, strict=True)):
        # torch runs these (its first phase whose end is >= k wins, so a phase can be
        # skipped or cut short); schedcore's onecycle has no such degenerate phases
        need = "(1, (total_steps + 1) / 2)" if len(phases) == 3 else "(1, total_steps)"
        raise SpecError(
            f"{path}.pct_start",
            f"is {pct:g} with total_steps={total}: phase ends "
            + ", ".join(f"{e:g}" for e in ends)
            + " do not increase from 0, so torch skips or cuts short a phase, which "
            f"schedcore's onecycle does not represent; accepted: pct_start * total_steps in {need}",
        )
    node = OneCycle(
        steps=total,
        pct_start=pct,
        div_factor=peak / initial,
        final_div_factor=initial / final,
        anneal=kind,
        three_phase=len(phases) == 3,
    )
    # torch evaluates step total_steps too (its last phase, extrapolated) and raises after
    begin, end = float(phases[-2]["end_step"]), float(phases[-1]["end_step"])
    last = phases[-1]
    a, b = _float(group[last["start_lr"]]), _float(group[last["end_lr"]])
    pct = (total - begin) / (end - begin)
    if kind == "cos":
        value = b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
    else:
        value = (b - a) * pct + a
    if value < 0:  # a linear anneal extrapolates below 0: no lr schedcore can represent
        return peak, until(node, total - 1)
    stop = PiecewiseInterpolate(steps=(0,), values=(value / peak,), after="error")
    return peak, Sequence(phases=(Phase(node, total), Phase(stop)))


def _sequential(s: Any, g: int, path: str, shift: int = 0) -> tuple[float, Schedule]:
    """``shift``: how many steps ``s``'s clock runs ahead of the outermost one. A
    SequentialLR that an outer SequentialLR starts with is stepped once more by that outer
    one's construction, and once more by the construction of each SequentialLR around that
    one: two levels deep, its clock is two steps ahead."""
    children, milestones = list(s._schedulers), list(s._milestones)
    for i, m in enumerate(milestones):
        integer(m, f"{path}.milestones[{i}]")
        if i and m < milestones[i - 1]:
            raise SpecError(
                f"{path}.milestones[{i}]",
                f"is {m} after {milestones[i - 1]}: torch's bisect needs sorted milestones",
            )
    # torch initializes the child bisect_right(milestones, 0) picks; each later child is
    # restarted at its milestone from its closed form at 0, on its own clock. Nested, the
    # clock is `shift` ahead: milestone m is reached at outer step m - shift, and the child
    # picked at step 0 is restarted (its milestone is `shift`) or stepped (not initialized;
    # every construction around it resets the lr to initial_lr before stepping it again)
    first = bisect.bisect_right(milestones, shift)
    stepped = shift > 0 and not (first and milestones[first - 1] == shift)
    bounds = [0, *(max(m - shift, 0) for m in milestones), None]
    entries: list[tuple[float, Schedule, int | None]] = []
    for i, child in enumerate(children):
        where = f"{path}._schedulers[{i}]"
        kind = _kind(child, where)
        begin, end = bounds[i], bounds[i + 1]
        length = None if end is None else end - begin
        if i < first or length == 0:
            continue  # never runs
        if kind in COMPOSITE and (i > first or (i and milestones[i - 1] > 0)):
            if i == first:  # pragma: no cover - torch raises building it
                raise SpecError(
                    where,
                    f"is a {kind} restarted while torch builds the composites around it "
                    "(torch raises NotImplementedError there)",
                )
            # torch's SequentialLR cannot restart a composite at its milestone: it raises
            # NotImplementedError there (a composite has no closed form to restart from)
            entries.append((0.0, _NOT_RESTARTABLE, None))
            break
        if kind == "SequentialLR":
            base, schedule = _sequential(child, g, where, shift + 1)
        else:
            # a ChainedScheduler started by torch steps its children (it has no initial step)
            step0 = i == first and (stepped or kind == "ChainedScheduler")
            restart = i > first or (shift > 0 and not stepped)
            target, named = child, where
            if [type(c).__name__ for c in getattr(child, "_schedulers", ())] == [
                "CosineAnnealingLR"
            ] and kind == "ChainedScheduler":  # a chain of one cosine is that cosine
                target, named = child._schedulers[0], f"{where}._schedulers[0]"
            cosine = type(target).__name__ == "CosineAnnealingLR"
            cosine_first = cosine and i == first and not restart
            base, schedule = _read(target, g, named, restart, stepped=step0 and not cosine_first)
        if i == first and (kind in RECURSIVE or _all_recursive(child, kind)):
            # its recursion starts from the group's initial_lr (which a later OneCycleLR
            # may have overwritten), not from its own base_lrs
            current = _float(s.optimizer.param_groups[g]["initial_lr"])
            if cosine_first:
                # up to T_max the wave from initial_lr, then from its own base lr
                assert isinstance(schedule, Cosine)
                schedule = _stepped_cosine(schedule, named, lead=current / base, stepped=step0)
            elif not cosine:
                base = current
        ends = _ends_within(schedule, length)
        if ends is not None:
            # a nested composite raises inside its phase (torch's NotImplementedError at
            # its own milestone): torch stops there, so does the recipe
            if ends:
                entries.append((base, schedule, ends))
            entries.append((0.0, _NOT_RESTARTABLE, None))
            break
        entries.append((base, schedule, length))
    stop = entries[-1][1] is _NOT_RESTARTABLE
    if stop:
        entries.pop()
    base = next((b for b, _, _ in entries if b > 0), 0.0)
    if base < LR_RANGE[0] or any(
        b > base and sch.peak() * (b / base) > MAX_PEAK for b, sch, _ in entries
    ):
        # a tiny first base lr (a CyclicLR's base_lr near 0), or a growth factor scaled
        # past the bound: the largest base lr is the recipe's
        base = max(b for b, _, _ in entries)
    parts = [
        (sch if b == base else Scale(schedule=sch, factor=b / base), n, "local")
        for b, sch, n in entries
    ]
    result = phases(*parts)
    if stop:
        last = sum(n for _, n, _ in parts if n) - 1
        if last < 0:  # pragma: no cover - torch raises building it
            raise SpecError(path, "raises at step 0 in torch")
        result = until(result, last)
    return base, result


def _ends_within(schedule: Schedule, length: int | None) -> int | None:
    """The first step below ``length`` at which ``schedule`` raises StepRangeError (it
    raises at every later one: a composite's stop), or None."""
    if length is None:
        return None
    try:
        schedule(length - 1)
        return None
    except StepRangeError:
        pass
    low, high = 0, length - 1
    while low < high:
        mid = (low + high) // 2
        try:
            schedule(mid)
            low = mid + 1
        except StepRangeError:
            high = mid
    return low


def _all_recursive(s: Any, kind: str) -> bool:
    """A ChainedScheduler read as the product of its recursive children."""
    if kind != "ChainedScheduler":
        return False
    kinds = [type(c).__name__ for c in s._schedulers]
    return all(k in RECURSIVE for k in kinds) and not (len(kinds) > 1 and kinds[-1] in ABSOLUTE)


_NOT_RESTARTABLE = Constant(0.0)
"""Marks a composite child of SequentialLR that torch cannot restart at its milestone."""


def _chained(s: Any, g: int, path: str, stepped: bool = False) -> tuple[float, Schedule]:
    children = list(s._schedulers)
    kinds = [_kind(child, f"{path}._schedulers[{i}]") for i, child in enumerate(children)]
    if len(children) == 1 and kinds[0] not in COMPOSITE:
        return _read(children[0], g, f"{path}._schedulers[0]", restart=False, stepped=stepped)
    if kinds[-1] in ABSOLUTE:
        # it sets the lr from its own base lr after every other child has stepped; those
        # still step, and torch raises where one does (ConstantLR with factor 0 divides by
        # it at total_iters, OneCycleLR past total_steps)
        where = f"{path}._schedulers[{len(children) - 1}]"
        base, last = _read(children[-1], g, where, restart=False, stepped=stepped)
        if kinds[-1] == "CyclicLR" and not stepped:
            # torch's quirk: while a CyclicLR is built, its base_lrs are the group's
            # initial_lr (set by the schedulers before it), so its lr at step 0 is that
            first = _float(children[-1].optimizer.param_groups[g]["initial_lr"]) / base
            if first != last(0):
                head = Constant(first)
                last = Sequence(phases=(Phase(head, 1), Phase(last, None, "global")))
        ends = [_raises_at(type(c).__name__, c) for c in children[:-1]]
        end = min((e for e in ends if e is not None), default=None)
        return base, last if end is None else until(last, end - 1)
    bound = _shared_bound(children, kinds, g, path)
    factors: list[Schedule] = []
    base = None
    for i, child in enumerate(children):
        where = f"{path}._schedulers[{i}]"
        kind = kinds[i]
        chained = (*MULTIPLICATIVE, "MultiplicativeLR")
        if kind not in chained or (kind == "CosineAnnealingLR" and child.eta_min != 0):
            raise SpecError(
                where,
                f"is a {kind}{' with eta_min != 0' if kind == 'CosineAnnealingLR' else ''}: "
                "ChainedScheduler is a product only of multiplicative schedulers (StepLR, "
                "MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, "
                "MultiplicativeLR, CosineAnnealingLR with eta_min = 0); a scheduler that sets "
                "the lr from its base lr (LambdaLR, CosineAnnealingWarmRestarts, CyclicLR, "
                "OneCycleLR) is read only as the last child, and a floor eta_min mixes into "
                "the other children's factors (no closed form)",
            )
        cosine_stepped = stepped and kind == "CosineAnnealingLR" and len(children) > 1
        child_base, factor = _read(
            child, g, where, restart=False, stepped=stepped and not cosine_stepped, bound=bound
        )
        if base is None:
            base = child_base
        if cosine_stepped:
            assert isinstance(factor, Cosine)
            factor = _stepped_cosine(factor, where, chained=True)
        elif kind == "CosineAnnealingLR" and len(children) > 1:
            # at T_max + 1 torch's recursion restarts the cosine additively, dropping the
            # other factors: the product holds up to T_max only
            assert isinstance(factor, Cosine)
            factor = Cosine(steps=factor.steps, start=1.0, end=0.0, after="error")
        factors.append(factor)
    assert base is not None
    return base, factors[0] if len(factors) == 1 else Product(schedules=tuple(factors))


def _growing(kind: str, s: Any, g: int, path: str) -> bool:
    if kind in ("StepLR", "ExponentialLR"):
        return real(s.gamma, f"{path}.gamma", 0.0) > 1
    if kind == "MultiplicativeLR":
        return _constant_factor(s.lr_lambdas[g], f"{path}.lr_lambdas[{g}]") > 1
    return False


def _shared_bound(children: list, kinds: list[str], g: int, path: str) -> float:
    """The multiplier bound each growing child of a chain runs up to: MAX_PEAK shared by the
    growing children, after the peaks of the others."""
    growing = [
        _growing(k, c, g, f"{path}._schedulers[{i}]")
        for i, (k, c) in enumerate(zip(kinds, children, strict=True))
    ]
    if not any(growing):
        return MAX_PEAK
    fixed = 1.0
    for i, (kind, child) in enumerate(zip(kinds, children, strict=True)):
        if not growing[i] and kind in RECURSIVE:
            fixed *= _read(child, g, f"{path}._schedulers[{i}]", restart=False)[1].peak()
    # a margin, so that the product of the peaks (rounded) stays within MAX_PEAK too
    return (MAX_PEAK / max(fixed, 1.0)) ** (1.0 / sum(growing)) * (1 - 1e-9)


# -- export --------------------------------------------------------------------------------
def to_torch_native(recipe: Recipe, optimizer: Any, lr_scheduler: Any = None) -> Any:
    """Native torch schedulers (no LambdaLR) on ``optimizer`` that apply ``recipe``'s lr at
    every update, or SpecError saying why torch has none.

    ``lr_scheduler`` is the ``torch.optim.lr_scheduler`` module; by default it is taken
    from ``sys.modules`` (loaded whenever torch is), so schedcore never imports torch.
    Every param group's lr is set to ``recipe.base_lr`` first (and a stale ``initial_lr``
    dropped), since torch schedulers start from the group lr. Recipes with named schedules
    (per-group curves) are refused: use the schedcore_torch adapter, which runs any recipe.
    """
    module = lr_scheduler or sys.modules.get("torch.optim.lr_scheduler")
    if module is None:
        raise SpecError("lr_scheduler", "torch.optim.lr_scheduler is not loaded; pass it")
    if recipe.schedules:
        raise SpecError(
            "schedules",
            "named schedules give param groups different curves; one torch scheduler drives "
            "all groups (use the schedcore_torch adapter)",
        )
    plan = _plan(recipe.schedule, "schedule")
    for group in _groups(optimizer):
        group["lr"] = recipe.base_lr
        group.pop("initial_lr", None)
    return plan.with_base_lr(recipe.base_lr).construct(module, optimizer)


def _plan(s: Schedule, path: str) -> Native:
    """The torch schedulers for ``s``."""
    name = s.type_name
    if name == "constant" and 0 <= s.value <= 1:
        return _held(s.value)
    if name == "linear" and s.after == "hold" and 0 < s.start <= 1 and 0 <= s.end <= 1:
        return Native(
            "LinearLR", {"start_factor": s.start, "end_factor": s.end, "total_iters": s.steps}
        )
    if name == "step":
        return Native("StepLR", {"step_size": s.every, "gamma": s.gamma})
    if name == "multistep":
        return Native("MultiStepLR", {"milestones": list(s.milestones), "gamma": s.gamma})
    if name == "exponential" and s.start == 1.0:
        if s.every == 1:
            return Native("ExponentialLR", {"gamma": s.rate})
        if s.staircase:
            return Native("StepLR", {"step_size": s.every, "gamma": s.rate})
    if name == "polynomial" and (s.start, s.end, s.after, s.k_decay) == (1.0, 0.0, "hold", 1.0):
        return Native("PolynomialLR", {"total_iters": s.steps, "power": s.power})
    if (
        name == "piecewise_constant"
        and s.change == "at"
        and len(s.values) == 2
        and s.values[1] == 1.0
        and 0 <= s.values[0] <= 1
    ):
        if s.values[0] == 0:
            raise SpecError(
                f"{path}.values[0]",
                "is 0: torch's ConstantLR with factor 0 divides by the factor at total_iters "
                "(ZeroDivisionError); accepted: a first value in (0, 1]",
            )
        return Native("ConstantLR", {"factor": s.values[0], "total_iters": s.boundaries[0]})
    if name == "cosine" and s.start == 1.0 and s.exponent == 1.0 and not s.restarts:
        half = s.steps / (2 * s.cycles)
        if half.is_integer() and s.after == "periodic":
            return Native("CosineAnnealingLR", {"T_max": int(half), "eta_min": Abs(s.end)})
        if s.cycles == 0.5 and s.after == "hold" and 0 <= s.end <= 1:
            cosine = Native("CosineAnnealingLR", {"T_max": s.steps, "eta_min": Abs(s.end)})
            held = _held(s.end)
            return Native("SequentialLR", {"milestones": [s.steps]}, (cosine, held))
    if (
        name == "sgdr"
        and s.start == 1.0
        and s.m_mul == 1.0
        and s.k_decay == 1.0
        and s.cycle_limit is None
        and s.t_mul.is_integer()
    ):
        return Native(
            "CosineAnnealingWarmRestarts",
            {"T_0": s.period, "T_mult": int(s.t_mul), "eta_min": Abs(s.end)},
        )
    if name == "cyclic" and s.high > 0:
        return Native(
            "CyclicLR",
            {
                "base_lr": Abs(s.low),
                "max_lr": Abs(s.high),
                "step_size_up": s.up,
                "step_size_down": s.down or s.up,
                "mode": s.mode,
                "gamma": s.gamma,
                "cycle_momentum": False,
            },
        )
    if name == "onecycle" and s.after == "error":
        return Native(
            "OneCycleLR",
            {
                "max_lr": Abs(1.0),
                "total_steps": s.steps,
                "pct_start": s.pct_start,
                "anneal_strategy": s.anneal,
                "div_factor": s.div_factor,
                "final_div_factor": s.final_div_factor,
                "three_phase": s.three_phase,
                "cycle_momentum": False,
            },
        )
    lead = leading_warmup(s) if name == "warmup" else None  # sequences: the branch below
    if lead is not None and lead.clock == "local" and lead.shape in ("linear", "constant"):
        body = _plan(lead.body, f"{path}.schedule")
        if lead.end != 1.0:
            raise SpecError(
                f"{path}.schedule",
                f"starts at {lead.end:g}; torch's warmup schedulers ramp to the base lr (1)",
            )
        if lead.shape == "linear":
            if lead.start_factor == 0:
                raise SpecError(
                    f"{path}.start_factor",
                    "is 0: torch's LinearLR needs start_factor in (0, 1], so a warmup from "
                    "exactly 0 has no native scheduler",
                )
            warm = Native(
                "LinearLR",
                {"start_factor": lead.start_factor, "end_factor": 1.0, "total_iters": lead.steps},
            )
        else:
            warm = Native("ConstantLR", {"factor": lead.start_factor, "total_iters": lead.steps})
        return _sequential_plan([(warm, 0), (body, lead.steps)])
    if name == "sequence" and all(p.clock == "local" for p in s.phases[1:]):
        parts, at = [], 0
        for i, phase in enumerate(s.phases):
            parts.append((_plan(phase.schedule, f"{path}.phases[{i}].schedule"), at))
            at += phase.steps or 0
        return _sequential_plan(parts)
    if name == "product":
        children = [_product_factor(c, f"{path}.schedules[{i}]") for i, c in enumerate(s.schedules)]
        for i, child in enumerate(children):
            ok = (
                child.kind in MULTIPLICATIVE and child.arguments.get("eta_min", Abs(0.0)).ratio == 0
            )
            if not ok:
                raise SpecError(
                    f"{path}.schedules[{i}]",
                    f"becomes {child.kind}; ChainedScheduler multiplies only multiplicative "
                    "schedulers (CosineAnnealingLR with eta_min = 0, StepLR, ...)",
                )
        return Native("ChainedScheduler", {}, tuple(children))
    raise SpecError(
        path,
        f"{name!r} with these fields has no exact native torch scheduler (supported: constant, "
        "linear, step, multistep, exponential, polynomial to 0, two-value piecewise_constant, "
        "cosine (periodic, or a half wave held), sgdr without decay or limit, cyclic, "
        "onecycle with after = 'error', warmup, sequence and product of these)",
    )


def _product_factor(s: Schedule, path: str) -> Native:
    """The plan of one factor of a ChainedScheduler. A cosine factor is exact only up to its
    ``T_max``: there torch's CosineAnnealingLR recursion restarts additively from its own
    base lr, dropping the other factors (as :func:`from_torch` reads it, ``after='error'``)."""
    if not isinstance(s, Cosine):
        return _plan(s, path)
    half_wave = (s.start, s.end, s.cycles, s.exponent, s.restarts) == (1.0, 0.0, 0.5, 1.0, False)
    if s.after == "error" and half_wave:
        return Native("CosineAnnealingLR", {"T_max": s.steps, "eta_min": Abs(0.0)})
    raise SpecError(
        f"{path}.after",
        f"is {s.after!r}: in a ChainedScheduler torch's CosineAnnealingLR matches the product "
        "only up to T_max (at T_max + 1 its recursion restarts additively, dropping the other "
        "factors); accepted: a half-wave cosine from 1 to 0 with after = 'error'",
    )


def _held(value: float) -> Native:
    """``value`` for ever: ConstantLR whose end lies past every step a recipe evaluates
    (with ``total_iters=0`` its value would depend on where in a SequentialLR it is)."""
    return Native("ConstantLR", {"factor": value, "total_iters": MAX_STEP + 1})


def _sequential_plan(parts: list[tuple[Native, int]]) -> Native:
    """A SequentialLR of ``(plan, first step)`` parts, with nested SequentialLRs spliced in
    (torch cannot restart a composite child at its milestone)."""
    children: list[Native] = []
    starts: list[int] = []
    for plan, at in parts:
        if plan.kind == "SequentialLR":
            children.extend(plan.children)
            starts.extend([at, *(at + m for m in plan.arguments["milestones"])])
        else:
            children.append(plan)
            starts.append(at)
    return Native("SequentialLR", {"milestones": starts[1:]}, tuple(children))
