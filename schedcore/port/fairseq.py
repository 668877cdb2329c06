"""fairseq: the lr schedulers of fairseq 0.12.2, from their arguments.

fairseq sets the lr with ``step_update(num_updates)`` after every update (and to the value
at 0 at construction), so update ``k`` applies ``f(k)``. fairseq is not installed here;
the formulas are fairseq 0.12.2's (``fairseq/optim/lr_scheduler/*.py``)::

    inverse_sqrt:  k < W: init + k * (lr - init) / W;  else lr * sqrt(W) * k ** -0.5
    tri_stage:     k < W: lr * (init_scale + k * (1 - init_scale) / W)
                   k < W + H: lr
                   k <= W + H + D: lr * exp(-ln(1 / final_scale) / D * (k - W - H))
                   after: lr * final_scale
    cosine:        k < W: init + k * (lr - init) / W;  else, c = k - W in cycle i (length
                   period * t_mult ** i): s**i * (min + 0.5 * (lr - min) * (1 + cos(pi * t / T)))
    polynomial_decay: k <= W: lr * k / W;  k >= T: end;
                   else (lr - end) * (1 - (k - W) / (T - W)) ** power + end
    fixed:         k < W: lr_e * (k + 1) / W;  else lr_e (lr_e: the lr of k's epoch)
    step:          k < W: init + k * (lr - init) / W;  else max(lr * d ** ((k - W) // P), min)
    triangular:    c = k // (2 * h): lo_c + (hi * s**c - lo_c) * max(0, 1 - |k / h - 2c - 1|)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..schedules.combinators import Clamp, Product, Scale
from ..schedules.cyclic import SGDR, Cyclic
from ..schedules.families import Constant, Geometric, InverseSqrt, Linear, Polynomial, Step
from ..schedules.node import Schedule
from ..schedules.piecewise import PiecewiseConstant
from .common import (
    choice,
    integer,
    known_keys,
    lr_value,
    phases,
    ramp_then,
    real,
    recipe,
    until,
)

NAMES = ("inverse_sqrt", "tri_stage", "cosine", "polynomial_decay", "fixed", "step", "triangular")
KEYS = {
    "inverse_sqrt": ("lr", "warmup_updates", "warmup_init_lr"),
    "tri_stage": (
        "lr",
        "warmup_steps",
        "hold_steps",
        "decay_steps",
        "phase_ratio",
        "max_update",
        "init_lr_scale",
        "final_lr_scale",
    ),
    "cosine": (
        "lr",
        "warmup_updates",
        "warmup_init_lr",
        "min_lr",
        "t_mult",
        "lr_period_updates",
        "lr_shrink",
        "max_update",
    ),
    "polynomial_decay": (
        "lr",
        "warmup_updates",
        "force_anneal",
        "end_learning_rate",
        "power",
        "total_num_update",
    ),
    "fixed": ("lr", "force_anneal", "lr_shrink", "warmup_updates", "updates_per_epoch"),
    "step": ("lr", "warmup_updates", "warmup_init_lr", "min_lr", "lr_decay_period", "lr_decay"),
    "triangular": ("lr", "max_lr", "lr_period_updates", "lr_shrink", "shrink_min", "max_update"),
}


def _lr(value: Any) -> float:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise SpecError(
                "lr",
                f"fairseq's schedulers take one lr (a fixed schedule has several), got {value}",
            )
        value = value[0]
    return lr_value(value, "lr")


def from_fairseq(name: str, **args: Any) -> Recipe:
    """The recipe of fairseq's ``--lr-scheduler NAME`` with these arguments (fairseq's
    option names with underscores; ``lr`` a number or fairseq's one-item list).

    ``inverse_sqrt``: ``warmup_updates`` (4000), ``warmup_init_lr`` (-1: 0 when there is a
    warmup, else ``lr``). ``tri_stage``: ``warmup_steps``, ``hold_steps``, ``decay_steps``
    (0 each, as in fairseq 0.12.2's ``TriStageLRScheduleConfig``; fairseq 0.10 and older
    defaulted to 4000, 20000, 60000: give them explicitly for those), or ``phase_ratio``
    (three floats) with ``max_update``; ``init_lr_scale`` and ``final_lr_scale`` (0.01
    each). Like fairseq, it refuses all three steps 0 ("please specify steps or
    phase_ratio") and ``decay_steps`` 0 (fairseq divides by it).

    ``cosine``: ``warmup_updates`` (0), ``warmup_init_lr`` (-1: ``min_lr``), ``min_lr`` (0),
    ``t_mult`` (1), ``lr_period_updates`` (-1: ``max_update - warmup_updates``),
    ``lr_shrink`` (0.1), ``max_update``; cycles are found with fairseq's float
    ``floor(log(..., t_mult))``. ``polynomial_decay``: ``warmup_updates`` (0),
    ``end_learning_rate`` (0), ``power`` (1), ``total_num_update`` (fairseq's
    ``max_update``, required), ``force_anneal`` (epoch-level: no effect per update).
    ``fixed``: ``lr`` (a list: the lr of epoch ``e`` is ``lr[min(e - 1, len - 1)]``),
    ``force_anneal`` (None), ``lr_shrink`` (0.1), ``warmup_updates`` (0), and schedcore's
    ``updates_per_epoch``, needed when the lr changes between epochs. ``step``:
    ``warmup_updates`` (0), ``warmup_init_lr`` (-1: ``min_lr``), ``min_lr`` (0),
    ``lr_decay_period`` (25000), ``lr_decay`` (0.5). ``triangular``: ``lr`` (the low end),
    ``max_lr`` (required), ``lr_period_updates`` (5000), ``lr_shrink`` (0.1),
    ``shrink_min`` (False); when only the top shrinks the curve is built cycle by cycle up to
    schedcore's ``max_update`` (required then), and later steps raise.
    """
    name = choice(name, "name", NAMES)
    known_keys(args, KEYS[name])
    if "lr" not in args:
        raise SpecError("lr", f"is required by fairseq's {name}")
    if name == "fixed":
        return _fixed(args)
    lr = _lr(args["lr"])
    if name in _BUILDERS:
        return _BUILDERS[name](lr, args)
    if name == "inverse_sqrt":
        warmup = integer(args.get("warmup_updates", 4000), "warmup_updates")
        if warmup == 0:
            raise SpecError(
                "warmup_updates",
                "is 0: fairseq divides by it (ZeroDivisionError); accepted: >= 1",
            )
        init = real(args.get("warmup_init_lr", -1), "warmup_init_lr")
        if init < 0:
            init = 0.0
        node = ramp_then(InverseSqrt(timescale=warmup), warmup, init / lr)
        return recipe(lr, node, "fairseq inverse_sqrt")
    ratio = args.get("phase_ratio")
    if ratio is not None:
        if isinstance(ratio, (str, bytes)) or not isinstance(ratio, Sequence) or len(ratio) != 3:
            raise SpecError("phase_ratio", f"must be three fractions, got {describe(ratio)}")
        parts = [real(r, f"phase_ratio[{i}]", 0.0, 1.0) for i, r in enumerate(ratio)]
        if sum(parts) != 1:
            raise SpecError(
                "phase_ratio", f"must add up to 1 (fairseq asserts), got {sum(parts)!r}"
            )
        total = integer(args.get("max_update", 0), "max_update", 1)
        w, h, d = (int(total * p) for p in parts)
    else:
        w = integer(args.get("warmup_steps", 0), "warmup_steps")
        h = integer(args.get("hold_steps", 0), "hold_steps")
        d = integer(args.get("decay_steps", 0), "decay_steps")
    if w + h + d == 0:
        raise SpecError(
            "decay_steps",
            "warmup_steps, hold_steps and decay_steps are all 0 (fairseq's default): fairseq "
            "asserts 'please specify steps or phase_ratio'; give them, or phase_ratio with "
            "max_update",
        )
    if d == 0:
        raise SpecError(
            "decay_steps", "is 0: fairseq divides by it (ZeroDivisionError); accepted: >= 1"
        )
    init = real(args.get("init_lr_scale", 0.01), "init_lr_scale", 0.0)
    final = real(args.get("final_lr_scale", 0.01), "final_lr_scale", 0.0, open_low=True)
    node = phases(
        (Linear(steps=w, start=init, end=1.0) if w else Constant(1.0), w, "local"),
        (Constant(1.0), h, "local"),
        (Geometric(steps=d, start=1.0, end=final), None, "local"),
    )
    return recipe(lr, node, "fairseq tri_stage")


def _whole(value: Any, path: str, low: int = 1) -> int:
    """fairseq's float step counts (``lr_period_updates``, ``total_num_update``): whole
    numbers only, as the core's steps are."""
    v = real(value, path)
    if v != int(v):
        raise SpecError(path, f"is {v!r}: a fractional number of updates is not supported")
    return integer(int(v), path, low)


def _warm_init(lr: float, low: float, args: dict[str, Any]) -> tuple[int, float]:
    warmup = integer(args.get("warmup_updates", 0), "warmup_updates")
    init = real(args.get("warmup_init_lr", -1), "warmup_init_lr")
    return warmup, (low if init < 0 else init)


def _cosine(lr: float, args: dict[str, Any]) -> Recipe:
    low = real(args.get("min_lr", 0.0), "min_lr", 0.0)
    if not lr > low:
        raise SpecError("min_lr", f"is {low}: fairseq asserts max_lr (={lr}) > min_lr")
    warmup, init = _warm_init(lr, low, args)
    t_mult = real(args.get("t_mult", 1.0), "t_mult")
    if t_mult < 1:
        raise SpecError(
            "t_mult",
            f"is {t_mult}: below 1 fairseq's cycles shrink until math.log fails; accepted: >= 1",
        )
    shrink = real(args.get("lr_shrink", 0.1), "lr_shrink", 0.0, 1.0, open_low=True)
    period = real(args.get("lr_period_updates", -1), "lr_period_updates")
    if period <= 0:
        if "max_update" not in args:
            raise SpecError(
                "max_update", "is required when lr_period_updates <= 0 (fairseq asserts)"
            )
        total = integer(args["max_update"], "max_update", 1)
        period = total - warmup
        if period <= 0:
            raise SpecError(
                "max_update",
                f"is {total} <= warmup_updates ({warmup}): the period "
                "max_update - warmup_updates is not positive",
            )
    period_steps = _whole(period, "lr_period_updates")
    end = low / lr
    if shrink != 1 and end > 0 and t_mult != 1:
        raise SpecError(
            "lr_shrink",
            "with min_lr > 0 and t_mult != 1 fairseq shrinks the floor by lr_shrink each cycle "
            "too; not supported (set min_lr 0, t_mult 1 or lr_shrink 1)",
        )
    index = "exact" if t_mult == 1 else "log"
    if end > 0 and shrink != 1:  # s**i * (end + (1 - end) * cos part), cycles of `period`
        body: Schedule = Product(
            schedules=(
                SGDR(period=period_steps, t_mul=1.0, end=end),
                Step(every=period_steps, gamma=shrink),
            )
        )
    else:
        body = SGDR(
            period=period_steps,
            t_mul=t_mult,
            m_mul=shrink,
            end=end,
            m_mul_applies_to="range",
            cycle_index=index,
        )
    return recipe(lr, ramp_then(body, warmup, init / lr), "fairseq cosine")


def _polynomial(lr: float, args: dict[str, Any]) -> Recipe:
    if "total_num_update" not in args:
        raise SpecError("total_num_update", "is required (fairseq's optimization.max_update)")
    total = _whole(args["total_num_update"], "total_num_update")
    warmup = integer(args.get("warmup_updates", 0), "warmup_updates")
    end = real(args.get("end_learning_rate", 0.0), "end_learning_rate", 0.0) / lr
    power = real(args.get("power", 1.0), "power", 0.0)
    if args.get("force_anneal") is not None:
        integer(args["force_anneal"], "force_anneal")  # epoch-level only: no effect per update
    node: Schedule
    if total <= warmup:  # the warmup, then end_learning_rate from the step after it
        node = phases((Linear(steps=warmup, start=0.0, end=1.0), warmup + 1, "local"),
                      (Constant(end), None, "local"))
    else:
        span = total - warmup  # from step T on: end_learning_rate (also for power 0)
        decay = phases(
            (Polynomial(steps=span, start=1.0, end=end, power=power), span, "local"),
            (Constant(end), None, "local"),
        )
        node = ramp_then(decay, warmup, 0.0)
    return recipe(lr, node, "fairseq polynomial_decay")


def _fixed(args: dict[str, Any]) -> Recipe:
    given = args["lr"]
    lrs = list(given) if isinstance(given, (list, tuple)) else [given]
    if not lrs:
        raise SpecError("lr", "is an empty list; fairseq reads lr[0]")
    lrs = [lr_value(v, f"lr[{i}]") for i, v in enumerate(lrs)]
    warmup = integer(args.get("warmup_updates", 0), "warmup_updates")
    anneal = args.get("force_anneal")
    anneal = None if anneal is None else integer(anneal, "force_anneal")
    shrink = real(args.get("lr_shrink", 0.1), "lr_shrink", 0.0, 1.0, open_low=True)
    base = lrs[0]
    # the lr of epoch e (1-based): lrs[min(e - 1, n - 1)] before force_anneal, then
    # lrs[-1] * shrink ** (e + 1 - force_anneal)
    if anneal is None:
        listed = lrs
        tail: Schedule = Constant(lrs[-1] / base)
    else:
        listed = [lrs[min(e - 1, len(lrs) - 1)] for e in range(1, anneal)]
        tail = Scale(schedule=Step(every=1, gamma=shrink), factor=lrs[-1] / base)
    epochs: Schedule | None = None
    if listed == [base] * len(listed) and (anneal is None):
        epochs = None
    else:
        if "updates_per_epoch" not in args:
            raise SpecError(
                "updates_per_epoch",
                "is required: this lr changes between epochs (an lr list or force_anneal)",
            )
        per = integer(args["updates_per_epoch"], "updates_per_epoch", 1)
        if anneal is not None:
            first = lrs[-1] * shrink ** (max(anneal, 1) + 1 - anneal) / base
            tail = Scale(schedule=Step(every=per, gamma=shrink), factor=first)
        if not listed:
            listed, tail = [first * base], Scale(schedule=Step(every=per, gamma=shrink),
                                                 factor=first * shrink)
        epochs = phases(
            (
                PiecewiseConstant(
                    boundaries=tuple(per * e for e in range(1, len(listed))),
                    values=tuple(v / base for v in listed),
                )
                if len(listed) > 1
                else Constant(listed[0] / base),
                per * len(listed),
                "local",
            ),
            (tail, None, "local"),
        )
    node: Schedule | None = epochs
    if warmup:
        ramp = phases(
            (Linear(steps=warmup, start=1 / warmup, end=(warmup + 1) / warmup), warmup, "local"),
            (Constant(1.0), None, "local"),
        )
        node = ramp if epochs is None else Product(schedules=(ramp, epochs))
    return recipe(base, node if node is not None else Constant(1.0), "fairseq fixed")


def _step(lr: float, args: dict[str, Any]) -> Recipe:
    low = real(args.get("min_lr", 0.0), "min_lr", 0.0)
    if not lr > low:
        raise SpecError("min_lr", f"is {low}: fairseq asserts max_lr (={lr}) > min_lr")
    warmup, init = _warm_init(lr, low, args)
    period = integer(args.get("lr_decay_period", 25000), "lr_decay_period", 1)
    decay = real(args.get("lr_decay", 0.5), "lr_decay", 0.0, 1.0, open_low=True)
    body: Schedule = Step(every=period, gamma=decay)
    if low > 0:
        body = Clamp(schedule=body, min=low / lr)
    return recipe(lr, ramp_then(body, warmup, init / lr), "fairseq step")


def _triangular(lr: float, args: dict[str, Any]) -> Recipe:
    if "max_lr" not in args:
        raise SpecError("max_lr", "is required by fairseq's triangular")
    top = lr_value(args["max_lr"], "max_lr")
    if not top > lr:
        raise SpecError("max_lr", f"is {top}: fairseq asserts max_lr > lr ({lr})")
    half = _whole(real(args.get("lr_period_updates", 5000), "lr_period_updates") // 2,
                  "lr_period_updates // 2")
    shrink = real(args.get("lr_shrink", 0.1), "lr_shrink", 0.0, 1.0, open_low=True)
    both = bool(args.get("shrink_min", False))
    low = lr / top
    cyc = Cyclic(low=low, high=1.0, up=half, down=half)
    if shrink == 1:
        node: Schedule = cyc
    elif both:
        node = Product(schedules=(cyc, Step(every=2 * half, gamma=shrink)))
    else:  # lo + (hi * s**c - lo) * tri: one cycle per phase, up to max_update
        if "max_update" not in args:
            raise SpecError(
                "max_update",
                "is required with lr_shrink != 1 and shrink_min False (schedcore builds the "
                "cycles one by one up to it)",
            )
        total = integer(args["max_update"], "max_update", 1)
        count = -(-(total + 1) // (2 * half))
        if count > 256:
            raise SpecError("max_update", f"gives {count} cycles; at most 256 are supported")
        node = phases(*(
            (Cyclic(low=low, high=max(shrink**c, 0.0), up=half, down=half), 2 * half, "local")
            for c in range(count)
        ))
        node = until(node, total)
    return recipe(top, node, "fairseq triangular")


_BUILDERS = {
    "cosine": _cosine,
    "polynomial_decay": _polynomial,
    "step": _step,
    "triangular": _triangular,
}
