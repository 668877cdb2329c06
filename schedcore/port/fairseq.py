"""fairseq: the ``inverse_sqrt`` and ``tri_stage`` lr schedulers, from their arguments.

fairseq sets the lr with ``step_update(num_updates)`` after every update (and to the value
at 0 at construction), so update ``k`` applies ``f(k)``. fairseq is not installed here;
the formulas are fairseq's (``fairseq/optim/lr_scheduler/inverse_square_root_schedule.py``,
``tri_stage_lr_scheduler.py``)::

    inverse_sqrt:  k < W: init + k * (lr - init) / W;  else lr * sqrt(W) * k ** -0.5
    tri_stage:     k < W: lr * (init_scale + k * (1 - init_scale) / W)
                   k < W + H: lr
                   k <= W + H + D: lr * exp(-ln(1 / final_scale) / D * (k - W - H))
                   after: lr * final_scale
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..schedules.families import Constant, Geometric, InverseSqrt, Linear
from .common import choice, integer, known_keys, lr_value, phases, ramp_then, real, recipe

NAMES = ("inverse_sqrt", "tri_stage")
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
    """
    name = choice(name, "name", NAMES)
    known_keys(args, KEYS[name])
    if "lr" not in args:
        raise SpecError("lr", f"is required by fairseq's {name}")
    lr = _lr(args["lr"])
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
