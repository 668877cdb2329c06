"""timm: ``CosineLRScheduler`` (and ``create_scheduler_v2(sched='cosine', ...)``) arguments.

timm cannot be installed beside this project's torch; the mapping follows
``CosineLRScheduler._get_lr`` (timm 1.0, recorded in the anchors)::

    t <  warmup_t:  warmup_lr_init + t * (base - warmup_lr_init) / warmup_t
    t >= warmup_t:  t -= warmup_t if warmup_prefix
                    i = floor(log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))
                        (t // t_initial when cycle_mul == 1)
                    lr_min + 0.5 * (base * cycle_decay**i - lr_min)
                           * (1 + cos(pi * t_curr**k / t_i**k))      while i < cycle_limit
                    lr_min                                             after

``t`` is the update count with ``t_in_epochs=False`` (``step_update(num_updates)``), else
the epoch (``step(epoch)``), so update ``k`` uses ``t = k // updates_per_epoch``. Update 0
(epoch 0) runs before any step, at the lr the constructor leaves: ``warmup_lr_init`` with a
warmup, else the optimizer's lr -- ``_get_lr(0)`` except with ``cycle_limit=0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..schedules.combinators import PerEpoch
from ..schedules.cyclic import SGDR
from ..schedules.families import Constant, Linear
from ..schedules.node import Schedule
from .common import (
    boolean,
    choice,
    group_recipe,
    integer,
    known_keys,
    lr_value,
    phases,
    real,
)

SCHEDULER_KEYS = {
    "t_initial": None,
    "lr_min": 0.0,
    "cycle_mul": 1.0,
    "cycle_decay": 1.0,
    "cycle_limit": 1,
    "warmup_t": 0,
    "warmup_lr_init": 0.0,
    "warmup_prefix": False,
    "t_in_epochs": True,
    "noise_range_t": None,
    "noise_pct": 0.67,
    "noise_std": 1.0,
    "noise_seed": 42,
    "k_decay": 1.0,
    "initialize": True,
}
V2_KEYS = {
    "sched": "cosine",
    "num_epochs": 300,
    "decay_epochs": 90,
    "decay_milestones": (90, 180, 270),
    "cooldown_epochs": 0,
    "patience_epochs": 10,
    "decay_rate": 0.1,
    "min_lr": 0.0,
    "warmup_lr": 1e-5,
    "warmup_epochs": 0,
    "warmup_prefix": False,
    "noise": None,
    "noise_pct": 0.67,
    "noise_std": 1.0,
    "noise_seed": 42,
    "cycle_mul": 1.0,
    "cycle_decay": 0.1,
    "cycle_limit": 1,
    "k_decay": 1.0,
    "plateau_mode": "max",
    "step_on_epochs": True,
}
V2_ONLY = set(V2_KEYS) - set(SCHEDULER_KEYS)
RESTARTS = ("timm", "exact")


def _v2_to_scheduler(kw: dict[str, Any], updates: int | None) -> dict[str, Any]:
    """create_scheduler_v2's cosine branch: its arguments as CosineLRScheduler's."""
    known_keys(kw, tuple(V2_KEYS))
    args = {**V2_KEYS, **kw}
    choice(args["sched"], "sched", ("cosine",))
    if args["noise"] is not None:
        raise SpecError("noise", "adds random noise to the lr; schedcore reproduces no noise")
    on_epochs = boolean(args["step_on_epochs"], "step_on_epochs")
    t_initial, warmup_t = args["num_epochs"], args["warmup_epochs"]
    if not on_epochs:
        if not updates:
            raise SpecError("updates_per_epoch", "must be positive with step_on_epochs=False")
        t_initial = integer(t_initial, "num_epochs", 1) * updates
        warmup_t = integer(warmup_t, "warmup_epochs") * updates
    return {
        "t_initial": t_initial,
        "lr_min": args["min_lr"],
        "cycle_mul": args["cycle_mul"],
        "cycle_decay": args["cycle_decay"],
        "cycle_limit": args["cycle_limit"],
        "warmup_t": warmup_t,
        "warmup_lr_init": args["warmup_lr"],
        "warmup_prefix": args["warmup_prefix"],
        "t_in_epochs": on_epochs,
        "k_decay": args["k_decay"],
    }


def from_timm(
    *,
    lr: float | Sequence[float],
    updates_per_epoch: int | None = None,
    restarts: str = "timm",
    **kwargs: Any,
) -> Recipe:
    """The recipe of timm's ``CosineLRScheduler(optimizer, **kwargs)`` for an optimizer whose
    lr is ``lr`` (a list: one per param group, giving a per-group recipe), or of
    ``create_scheduler_v2(optimizer, sched='cosine', **kwargs)`` when its arguments
    (``num_epochs``, ``warmup_epochs``, ``min_lr``, ``warmup_lr``, ``step_on_epochs``, ...)
    are given.

    ``recipe.lr(k)`` is the lr timm sets for update ``k``. Per-epoch stepping
    (``t_in_epochs=True``, timm's default; ``step_on_epochs`` for v2) needs
    ``updates_per_epoch``: the epoch's value holds for its updates. Noise
    (``noise_range_t`` / ``noise``) raises SpecError: it is random.

    ``restarts='timm'`` (default) finds cycles with timm's ``floor(log(...))`` in float64,
    which puts some restarts a step late (``t_initial=1, cycle_mul=3``: 121 stays at
    ``lr_min``), as timm does; ``'exact'`` uses exact restarts instead.
    """
    restarts = choice(restarts, "restarts", RESTARTS)
    updates = (
        None if updates_per_epoch is None else integer(updates_per_epoch, "updates_per_epoch", 1)
    )
    if set(kwargs) & V2_ONLY:
        kwargs = _v2_to_scheduler(kwargs, updates)
    known_keys(kwargs, tuple(SCHEDULER_KEYS))
    args = {**SCHEDULER_KEYS, **kwargs}
    if args["t_initial"] is None:
        raise SpecError("t_initial", "is required by CosineLRScheduler")
    if args["noise_range_t"] is not None:
        raise SpecError(
            "noise_range_t", "adds random noise to the lr; schedcore reproduces no noise"
        )
    if not boolean(args["initialize"], "initialize"):
        raise SpecError("initialize", "must be true: the base lr is the optimizer's lr")
    t_initial = integer(args["t_initial"], "t_initial", 1)
    lr_min = real(args["lr_min"], "lr_min", 0.0)
    cycle_mul = real(args["cycle_mul"], "cycle_mul", 1.0)
    cycle_decay = real(args["cycle_decay"], "cycle_decay", 0.0, 1.0, open_low=True)
    cycle_limit = integer(args["cycle_limit"], "cycle_limit")
    warmup_t = integer(args["warmup_t"], "warmup_t")
    warmup_init = real(args["warmup_lr_init"], "warmup_lr_init", 0.0)
    prefix = boolean(args["warmup_prefix"], "warmup_prefix")
    in_epochs = boolean(args["t_in_epochs"], "t_in_epochs")
    k_decay = real(args["k_decay"], "k_decay", 0.0, open_low=True)
    if in_epochs and updates is None:
        raise SpecError(
            "updates_per_epoch",
            "is required with t_in_epochs=True (timm steps once per epoch): give the "
            "optimizer updates per epoch, or use t_in_epochs=False",
        )
    lrs = list(lr) if isinstance(lr, (list, tuple)) else [lr]
    groups = []
    for i, value in enumerate(lrs):
        base = lr_value(value, f"lr[{i}]" if isinstance(lr, (list, tuple)) else "lr")
        if cycle_limit == 0 and not warmup_t:
            # i < 0 never holds: lr_min, but only from the first scheduler step on; the
            # constructor leaves the optimizer's lr for update 0 (epoch 0 per epoch)
            body: Schedule = phases(
                (Constant(1.0), 1, "local"), (Constant(lr_min / base), None, "local")
            )
        elif cycle_limit == 0:  # the warmup sets update 0's lr; lr_min after it
            body = Constant(lr_min / base)
        else:
            body = SGDR(
                period=t_initial,
                t_mul=cycle_mul,
                m_mul=cycle_decay,
                start=1.0,
                end=lr_min / base,
                k_decay=k_decay,
                cycle_limit=cycle_limit,
                cycle_index="log" if restarts == "timm" and cycle_mul != 1 else "exact",
            )
        node = body
        if warmup_t:
            ramp = Linear(steps=warmup_t, start=warmup_init / base, end=1.0)
            node = phases((ramp, warmup_t, "local"), (body, None, "local" if prefix else "global"))
        if in_epochs:
            assert updates is not None
            node = PerEpoch(schedule=node, steps_per_epoch=updates)
        groups.append((base, node))
    if not groups:
        raise SpecError("lr", f"must be a learning rate or a list of them, got {describe(lr)}")
    return group_recipe(groups, "timm CosineLRScheduler")
