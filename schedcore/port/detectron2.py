"""detectron2: ``build_lr_scheduler(cfg)`` from the config's SOLVER keys.

detectron2 (not installed here) wraps an fvcore ParamScheduler in
``WarmupParamScheduler`` and ``LRMultiplier``: update ``k`` applies
``BASE_LR * multiplier(k / MAX_ITER)``. fvcore compares with ``where + 1e-6``
(``WHERE_EPSILON``) and indexes steps with ``int(...)``, which moves boundaries when
``MAX_ITER`` is large. Instead of re-deriving those roundings, this module evaluates
fvcore's own float expressions (written out below from ``fvcore/common/param_scheduler.py``
and ``detectron2/solver/{build,lr_scheduler}.py``) to find every boundary step, and builds
the curve from core nodes between them. A LazyConfig's instantiated ``lr_multiplier`` (a
ParamScheduler object) is read by :mod:`schedcore.port.fvcore`, which owns fvcore's
selection arithmetic (``EPS``, the boundary bisection) for both.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..schedules.combinators import Phase, Sequence, Shift
from ..schedules.families import Constant, Cosine, Linear
from ..schedules.node import Schedule
from ..schedules.piecewise import PiecewiseConstant
from .common import boolean, choice, integer, known_keys, lr_value, real, recipe, until
from .fvcore import EPS, even_start, from_fvcore
from .fvcore import first_step as _first

NAMES = ("WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR")
DEFAULTS: dict[str, Any] = {  # detectron2/config/defaults.py
    "LR_SCHEDULER_NAME": "WarmupMultiStepLR",
    "MAX_ITER": 40000,
    "BASE_LR": 0.001,
    "BASE_LR_END": 0.0,
    "GAMMA": 0.1,
    "STEPS": (30000,),
    "NUM_DECAYS": 3,
    "WARMUP_FACTOR": 1.0 / 1000,
    "WARMUP_ITERS": 1000,
    "WARMUP_METHOD": "linear",
    "RESCALE_INTERVAL": False,
}
OTHER_SOLVER_KEYS = (  # detectron2 SOLVER keys that do not shape the lr curve
    "MOMENTUM",
    "NESTEROV",
    "WEIGHT_DECAY",
    "WEIGHT_DECAY_NORM",
    "WEIGHT_DECAY_BIAS",
    "BIAS_LR_FACTOR",
    "CHECKPOINT_PERIOD",
    "IMS_PER_BATCH",
    "REFERENCE_WORLD_SIZE",
    "CLIP_GRADIENTS",
    "AMP",
    "BASE_LR_END",
)


def _solver(cfg: Any) -> dict[str, Any]:
    if not isinstance(cfg, Mapping):
        raise SpecError(
            "cfg", f"must be a dict (a CfgNode, or its SOLVER table), got {describe(cfg)}"
        )
    solver = cfg.get("SOLVER", cfg)
    if not isinstance(solver, Mapping):
        raise SpecError("SOLVER", f"must be a table of solver keys, got {describe(solver)}")
    path = "SOLVER" if "SOLVER" in cfg else ""
    for key in solver:
        if key not in DEFAULTS and key not in OTHER_SOLVER_KEYS:
            where = f"{path}.{key}" if path else str(key)
            raise SpecError(
                where,
                "unknown SOLVER key; accepted: " + ", ".join((*DEFAULTS, *OTHER_SOLVER_KEYS)),
            )
    return {**DEFAULTS, **solver}


def _lazy(cfg: Mapping[str, Any]) -> Recipe:
    known_keys(cfg, ("lr_multiplier", "train", "optimizer"))
    multiplier = cfg["lr_multiplier"]
    if isinstance(multiplier, Mapping):
        raise SpecError(
            "lr_multiplier",
            "is a LazyCall config, not a ParamScheduler: pass instantiate(cfg.lr_multiplier) "
            "(schedcore reads the object's attributes; it never calls a _target_)",
        )
    train, optimizer = cfg.get("train", {}), cfg.get("optimizer", {})
    for key, table in (("train", train), ("optimizer", optimizer)):
        if not isinstance(table, Mapping):
            raise SpecError(key, f"must be a table, got {describe(table)}")
    if "max_iter" not in train:
        raise SpecError("train.max_iter", "is required: LRMultiplier divides the step by it")
    return from_fvcore(multiplier, train["max_iter"], optimizer.get("lr", 1.0))


def _warmup_only(name: str, lr: float, total: int, start: float, end: float, method: str) -> Recipe:
    """RESCALE_INTERVAL with WARMUP_ITERS >= MAX_ITER: the warmup spans all of MAX_ITER
    (``warmup_length = 1``), from ``start`` to ``end`` (the schedule's value at 0). Once
    ``where + 1e-6`` passes 1, fvcore's composite picks the scheduler after it, of length 0,
    and rescales ``where`` by dividing by that length (ZeroDivisionError): the recipe runs the
    warmup and raises StepRangeError from that step on."""
    switch = _first(lambda k: k / total + EPS > 1.0, 0, total + 1)
    ramp = Constant(start) if method == "constant" else Linear(steps=total, start=start, end=end)
    return recipe(lr, until(ramp, switch - 1), f"detectron2 {name}", total)


def from_detectron2(cfg: Mapping[str, Any]) -> Recipe:
    """The recipe of detectron2's ``build_lr_scheduler(cfg, optimizer)``: ``recipe.lr(k)``
    is the lr of update ``k`` for an optimizer whose lr is ``SOLVER.BASE_LR``.

    ``cfg`` is a dict: ``{"SOLVER": {...}}`` (a CfgNode, or its ``to_dict``) or the SOLVER
    table itself, with detectron2's defaults for keys left out. Read: LR_SCHEDULER_NAME
    (WarmupMultiStepLR, WarmupCosineLR, WarmupStepWithFixedGammaLR), BASE_LR, BASE_LR_END,
    STEPS, GAMMA, NUM_DECAYS, MAX_ITER, WARMUP_FACTOR, WARMUP_ITERS, WARMUP_METHOD,
    RESCALE_INTERVAL. Past MAX_ITER: the cosine continues its wave; the step schedules
    raise (fvcore does), which the recipe reproduces with a StepRangeError.

    A LazyConfig (detectron2's newer configs) is read too: ``{"lr_multiplier": scheduler,
    "train": {"max_iter": N}, "optimizer": {"lr": x}}`` with the instantiated
    ``lr_multiplier`` (``instantiate(cfg.lr_multiplier)``, a WarmupParamScheduler or any
    fvcore ParamScheduler), which its trainer wraps in ``LRMultiplier``: read by
    :func:`schedcore.port.from_fvcore`.
    """
    if isinstance(cfg, Mapping) and "lr_multiplier" in cfg:
        return _lazy(cfg)
    s = _solver(cfg)
    name = choice(s["LR_SCHEDULER_NAME"], "SOLVER.LR_SCHEDULER_NAME", NAMES)
    total = integer(s["MAX_ITER"], "SOLVER.MAX_ITER", 1)
    lr = lr_value(s["BASE_LR"], "SOLVER.BASE_LR")
    factor = real(s["WARMUP_FACTOR"], "SOLVER.WARMUP_FACTOR", 0.0)
    warm_iters = integer(s["WARMUP_ITERS"], "SOLVER.WARMUP_ITERS")
    method = choice(s["WARMUP_METHOD"], "SOLVER.WARMUP_METHOD", ("linear", "constant"))
    rescale = boolean(s["RESCALE_INTERVAL"], "SOLVER.RESCALE_INTERVAL")
    length = min(warm_iters / total, 1.0)
    rest = 1 - length

    def inner_where(k: int) -> float:  # the ParamScheduler's `where` after the warmup
        w = k / total
        return (w - length) / rest if rescale else w

    # the scheduler after the warmup, as fvcore evaluates it, and how its steps are found
    last: int | None = None  # the last step evaluated without an error
    if name == "WarmupCosineLR":
        end = real(s["BASE_LR_END"], "SOLVER.BASE_LR_END", 0.0) / lr
        if end > 1.0:
            raise SpecError("SOLVER.BASE_LR_END", "must be <= BASE_LR (detectron2 asserts)")

        def sched(where: float) -> float:
            return end + 0.5 * (1 - end) * (1 + math.cos(math.pi * where))

        cosine = Cosine(
            steps=total - warm_iters if rescale and rest else total,
            start=1.0,
            end=end,
            after="periodic",
        )
        body: Schedule = cosine  # rescaled: shifted below, once the warmup's end is known
        index: Callable[[int], int] | None = None
        values: list[float] = []
    else:
        gamma = real(s["GAMMA"], "SOLVER.GAMMA", 0.0, open_low=True)
        if name == "WarmupMultiStepLR":
            steps = [integer(x, f"SOLVER.STEPS[{i}]") for i, x in enumerate(s["STEPS"])]
            steps = [x for x in steps if x <= total]
            for i, x in enumerate(steps):
                if x >= total or x <= (steps[i - 1] if i else 0):
                    raise SpecError(
                        f"SOLVER.STEPS[{i}]",
                        f"is {x}: fvcore needs milestones increasing from above 0 and below "
                        f"MAX_ITER ({total})",
                    )
            values = [gamma**k for k in range(len(steps) + 1)]

            def sched_index(where: float) -> int:
                if where > 1.0:
                    raise RuntimeError
                return bisect.bisect_right(steps, int((where + EPS) * total))

        else:
            decays = integer(s["NUM_DECAYS"], "SOLVER.NUM_DECAYS", 1)
            values = [1.0]
            for _ in range(decays):
                values.append(values[-1] * gamma)

            def sched_index(where: float) -> int:
                i = int((where + EPS) * len(values))
                if i >= len(values):
                    raise IndexError
                return i

        def sched(where: float) -> float:
            return values[sched_index(where)]

        def raises(k: int) -> bool:
            try:
                sched_index(inner_where(k))
            except (RuntimeError, IndexError):
                return True
            return False

        def index(k: int) -> int:
            return sched_index(inner_where(k))

        body = Constant(1.0)  # replaced below, once the phase start is known
    if rescale and rest == 0:
        return _warmup_only(name, lr, total, factor * sched(0.0), sched(0.0), method)
    # the warmup: while where + 1e-6 <= length (fvcore's composite)
    switch = 0 if length == 0 else _first(lambda k: k / total + EPS > length, 0, total + 1)
    if rescale and name == "WarmupCosineLR":
        # past 10**6 iterations fvcore's 1e-6 margin may end the warmup before WARMUP_ITERS:
        # the rescaled cosine then starts at a slightly negative where
        body = Shift(schedule=even_start(cosine, warm_iters - switch), offset=-switch)
    if index is not None:
        last = _first(raises, switch, 2 * total + 2) - 1
        bounds, vals = [], [values[index(switch)]] if last >= switch else [values[0]]
        k = switch
        while last >= switch and k <= last:
            current = index(k)
            nxt = _first(lambda j, c=current: index(j) > c, k, last)
            if nxt > last:
                break
            bounds.append(nxt)
            vals.append(values[index(nxt)])
            k = nxt
        body = (
            PiecewiseConstant(boundaries=tuple(bounds), values=tuple(vals))
            if bounds
            else (Constant(vals[0]))
        )
    try:
        start = factor * sched(0.0)
        end_value = sched(0.0) if rescale else sched(length)
    except IndexError:  # StepWithFixedGamma at where = 1: detectron2 fails to build it
        raise SpecError(
            "SOLVER.WARMUP_ITERS",
            f"is {warm_iters} >= MAX_ITER: the warmup's end value is the step schedule at "
            "where = 1, past its last value (fvcore raises IndexError)",
        ) from None
    if switch == 0:
        node = body
    else:
        if method == "constant":
            ramp: Schedule = Constant(start)
        else:
            ramp = Linear(steps=min(warm_iters, total), start=start, end=end_value)
        node = Sequence(phases=(Phase(ramp, switch), Phase(body, None, "global")))
    if last is not None:
        if last < 0:
            raise SpecError("SOLVER", "gives a schedule that fails at step 0")
        node = until(node, last)
    return recipe(lr, node, f"detectron2 {name}", total)
