"""Hugging Face transformers: ``get_scheduler`` names, ``TrainingArguments``, and back.

transformers 5.x builds every closed-form schedule as ``LambdaLR(optimizer, partial(f,
**keywords))`` with a module-level ``f`` in ``transformers.optimization``; update ``k``
applies ``lr * f(k)``. Each ``f`` maps to a tree of core nodes here (:func:`lambda_schedule`),
which :func:`from_transformers` (by name, as ``get_scheduler`` takes it) and
:func:`schedcore.port.from_torch` (a live ``LambdaLR`` holding such a partial) share.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..recipes.shortform import TRANSFORMERS_NAMES, ratio_steps
from ..schedules.breakpoints import leading_warmup
from ..schedules.combinators import Sequence as SequenceNode
from ..schedules.combinators import Shift, WarmupStableDecay
from ..schedules.families import Constant, Cosine, InverseSqrt, Linear, OneMinusSqrt, Polynomial
from ..schedules.node import Schedule
from .common import (
    boolean,
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

NAMES = TRANSFORMERS_NAMES
METRIC_DRIVEN = ("reduce_lr_on_plateau", "greedy")

# scheduler-specific keyword arguments get_scheduler passes on, per name (constant and
# constant_with_warmup: get_scheduler drops them, so any are accepted and ignored, as there)
SPECIFIC = {
    "linear": (),
    "cosine": ("num_cycles",),
    "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power"),
    "inverse_sqrt": ("timescale",),
    "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
    "warmup_stable_decay": (
        "num_decay_steps",
        "num_stable_steps",
        "warmup_type",
        "decay_type",
        "min_lr_ratio",
        "num_cycles",
    ),
}
NEEDS_TOTAL = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
)
WSD_SHAPES = ("linear", "cosine", "1-sqrt")


# -- the lambdas ---------------------------------------------------------------------------
def _warm(body: Schedule, warmup: int) -> Schedule:
    """transformers' warmup ``k / max(1, W)`` for ``k < W``, then ``body`` (local clock)."""
    return ramp_then(body, warmup, 0.0, 1.0)


def _cycles(value: Any, path: str) -> float:
    return abs(real(value, path))  # cos is even: -c gives the same wave as c


def _cosine_body(steps: int, cycles: float, end: float) -> Schedule:
    if cycles == 0:  # cos(0): the factor stays 1
        return Constant(1.0)
    return Cosine(steps=steps, start=1.0, end=end, cycles=cycles, after="periodic")


def _min_rate(value: Any, path: str) -> float:
    return real(value, path, 0.0)


def lambda_schedule(function: str, kw: Mapping[str, Any], path: str = "") -> Schedule:
    """The multiplier schedule of ``partial(transformers.optimization.<function>, **kw)``."""

    def arg(name: str, default: Any = ...) -> Any:
        if name in kw:
            return kw[name]
        if default is ...:
            raise SpecError(f"{path}{name}", f"is required by transformers' {function}")
        return default

    def steps(name: str) -> int:
        return integer(arg(name), f"{path}{name}")

    if function == "_get_constant_lambda":
        return Constant(1.0)
    if function == "_get_constant_schedule_with_warmup_lr_lambda":
        return _warm(Constant(1.0), steps("num_warmup_steps"))
    if function == "_get_linear_schedule_with_warmup_lr_lambda":
        w, t = steps("num_warmup_steps"), steps("num_training_steps")
        # max(0, (T - k) / max(1, T - W)): after the warmup, 0 at once when T <= W
        body = Linear(steps=t - w, start=1.0, end=0.0) if t > w else Constant(0.0)
        return _warm(body, w)
    if function == "_get_cosine_schedule_with_warmup_lr_lambda":
        w, t = steps("num_warmup_steps"), steps("num_training_steps")
        cycles = _cycles(arg("num_cycles"), f"{path}num_cycles")
        end = _min_rate(arg("min_lr_rate", 0.0), f"{path}min_lr_rate")
        return _warm(_cosine_body(max(1, t - w), cycles, end), w)
    if function == "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda":
        w, t = steps("num_warmup_steps"), steps("num_training_steps")
        cycles = real(arg("num_cycles"), f"{path}num_cycles", 0.0)
        span = max(1, t - w)
        if cycles == 0:  # (0 * p) mod 1 = 0: the factor is 1 until p = 1
            body = phases((Constant(1.0), span, "local"), (Constant(0.0), None, "local"))
        elif cycles == 1:  # one descent: the plain half wave, then 0
            body = Cosine(steps=span, start=1.0, end=0.0)
        else:
            body = Cosine(steps=span, start=1.0, end=0.0, cycles=cycles / 2, restarts=True)
        return _warm(body, w)
    if function == "_get_polynomial_decay_schedule_with_warmup_lr_lambda":
        w, t = steps("num_warmup_steps"), steps("num_training_steps")
        lr_init = lr_value(arg("lr_init"), f"{path}lr_init")
        lr_end = real(arg("lr_end"), f"{path}lr_end", 0.0)
        power = real(arg("power"), f"{path}power", 0.0)
        end = lr_end / lr_init
        if t == w:  # the decay divides by T - W = 0: ZeroDivisionError at step W
            if w == 0:  # LambdaLR evaluates step 0 when it is made
                raise SpecError(
                    f"{path}num_training_steps",
                    "is 0, as num_warmup_steps: transformers' polynomial decay divides by "
                    "their difference (ZeroDivisionError when the scheduler is made)",
                )
            return until(_warm(Constant(1.0), w), w - 1)  # the warmup, then raise as there
        if t < w:  # past T the value is lr_end / lr_init at once
            return _warm(Constant(end), w)
        decay = Polynomial(steps=t - w, start=1.0, end=end, power=power)
        if power == 0:  # 0 ** 0 = 1 at k = T, lr_end only after it
            decay = phases((decay, t - w + 1, "local"), (Constant(end), None, "local"))
        return _warm(decay, w)
    if function == "_get_inverse_sqrt_schedule_lr_lambda":
        w = steps("num_warmup_steps")
        tau = integer(arg("timescale"), f"{path}timescale", 1)
        return _warm(InverseSqrt(timescale=tau), w)
    if function == "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda":
        w, t = steps("num_warmup_steps"), steps("num_training_steps")
        cycles = _cycles(arg("num_cycles"), f"{path}num_cycles")
        end = _min_rate(arg("min_lr_rate", 0.0), f"{path}min_lr_rate")
        # shifted by one: the decay's progress is (k - W + 1) / max(1, T - W)
        body = _cosine_body(max(1, t - w), cycles, end)
        rate = arg("warmup_lr_rate", None)
        if rate is None:  # warmup (k + 1) / max(1, W): the whole curve one step ahead
            return Shift(schedule=_warm(body, w), offset=1)
        rate = real(rate, f"{path}warmup_lr_rate", 0.0)
        shifted = Shift(schedule=body, offset=1)
        if w == 0:
            return shifted
        ramp = Linear(steps=max(1, w - 1), start=rate, end=1.0)
        return phases((ramp, w, "local"), (shifted, None, "local"))
    if function == "_get_wsd_scheduler_lambda":
        return _wsd(
            steps("num_warmup_steps"),
            integer(arg("num_stable_steps"), f"{path}num_stable_steps", -(2**53)),
            steps("num_decay_steps"),
            choice(arg("warmup_type"), f"{path}warmup_type", WSD_SHAPES),
            choice(arg("decay_type"), f"{path}decay_type", WSD_SHAPES),
            _min_rate(arg("min_lr_ratio"), f"{path}min_lr_ratio"),
            _cycles(arg("num_cycles"), f"{path}num_cycles"),
        )
    raise SpecError(
        f"{path}lr_lambda" if path else "lr_lambda",
        f"transformers.optimization.{function} is not a closed-form schedule schedcore knows",
    )


def _wsd(w: int, s: int, d: int, warm: str, cool: str, end: float, cycles: float) -> Schedule:
    """transformers' warmup-stable-decay: ``get_wsd_schedule``'s lambda, phase by phase."""
    if warm != "1-sqrt" and s >= 0 and d >= 1 and cycles > 0:
        return WarmupStableDecay(
            stable=s,
            decay=d,
            warmup=w,
            warmup_shape=warm,
            decay_shape=cool,
            end=end,
            cycles=cycles,
        )
    items: list[tuple[Schedule, int | None, str]] = []
    if w:
        if warm == "linear":
            rise: Schedule = Linear(steps=w, start=end, end=1.0)
        elif warm == "cosine":
            rise = Cosine(steps=w, start=end, end=1.0)
        else:  # 1 - sqrt(1 - p), scaled: (end - 1) * (1 - p) ** 0.5 + 1
            rise = Polynomial(steps=w, start=end, end=1.0, power=0.5)
        items.append((rise, w, "local"))
    items.append((Constant(1.0), max(s, 0), "local"))
    if s + d > 0 and d > 0:
        if cool == "linear":
            fall: Schedule = Linear(steps=d, start=1.0, end=end)
        elif cool == "cosine":
            fall = Cosine(steps=d, start=1.0, end=end, cycles=cycles) if cycles else Constant(1.0)
        else:
            fall = OneMinusSqrt(steps=d, start=1.0, end=end)
        if s < 0:  # the decay's progress starts at -s / d: it begins part way down
            fall = Shift(schedule=fall, offset=-s)
        items.append((fall, s + d if s < 0 else d, "local"))
    items.append((Constant(end), None, "local"))
    return phases(*items)


# -- by name -------------------------------------------------------------------------------
def _name(value: Any, path: str = "name") -> str:
    text = getattr(value, "value", value)  # a transformers SchedulerType enum
    if isinstance(text, str) and text in METRIC_DRIVEN:
        raise SpecError(
            path,
            f"{text!r} is driven by a metric during training; it has no closed form "
            "(closed-form names: " + ", ".join(NAMES) + ")",
        )
    return choice(text, path, NAMES)


def from_transformers(
    name: Any,
    *,
    lr: float,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    scheduler_specific_kwargs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Recipe:
    """The recipe of ``transformers.get_scheduler(name, optimizer, num_warmup_steps,
    num_training_steps, scheduler_specific_kwargs)`` for an optimizer whose lr is ``lr``.

    Scheduler-specific arguments (``num_cycles``, ``lr_end``, ``power``, ``timescale``,
    ``min_lr``, ``min_lr_rate``, ``warmup_lr_rate``, ``num_decay_steps``, ...) are given as
    keywords or in ``scheduler_specific_kwargs``. ``recipe.lr(k)`` is the lr transformers
    applies at update ``k``, quirks included: the cosine wave continues past
    ``num_training_steps``, ``polynomial``'s ``lr_end`` and ``cosine_with_min_lr``'s ``min_lr``
    are absolute (divided by ``lr``), ``cosine_warmup_with_min_lr`` runs one step ahead, and
    ``constant`` / ``constant_with_warmup`` ignore the arguments get_scheduler drops.
    """
    key = _name(name)
    specific = dict(scheduler_specific_kwargs or {})
    for k, v in kwargs.items():
        if k in specific:
            raise SpecError(k, "is given twice (as a keyword and in scheduler_specific_kwargs)")
        specific[k] = v
    lr = lr_value(lr, "lr")
    if key != "constant" and num_warmup_steps is None:
        raise SpecError("num_warmup_steps", f"is required by {key!r} (transformers raises)")
    w = 0 if num_warmup_steps is None else integer(num_warmup_steps, "num_warmup_steps")
    t = None if num_training_steps is None else integer(num_training_steps, "num_training_steps")
    if key in NEEDS_TOTAL and t is None:
        raise SpecError("num_training_steps", f"is required by {key!r} (transformers raises)")
    if key in SPECIFIC:
        known_keys(specific, SPECIFIC[key])
    label = f"transformers {key}"
    if key == "constant":
        return recipe(lr, Constant(1.0), label, t)
    if key == "constant_with_warmup":
        return recipe(
            lr,
            lambda_schedule(
                "_get_constant_schedule_with_warmup_lr_lambda", {"num_warmup_steps": w}
            ),
            label,
            t,
        )
    base = {"num_warmup_steps": w, "num_training_steps": t}
    if key == "linear":
        fn = "_get_linear_schedule_with_warmup_lr_lambda"
    elif key == "cosine":
        fn = "_get_cosine_schedule_with_warmup_lr_lambda"
        base["num_cycles"] = specific.get("num_cycles", 0.5)
    elif key == "cosine_with_restarts":
        fn = "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda"
        base["num_cycles"] = specific.get("num_cycles", 1)
    elif key == "polynomial":
        fn = "_get_polynomial_decay_schedule_with_warmup_lr_lambda"
        lr_end = real(specific.get("lr_end", 1e-7), "lr_end", 0.0)
        if not lr > lr_end:
            raise SpecError("lr_end", f"must be below lr ({lr:g}), got {lr_end!r}")
        base.update(lr_end=lr_end, power=specific.get("power", 1.0), lr_init=lr)
    elif key == "inverse_sqrt":
        fn = "_get_inverse_sqrt_schedule_lr_lambda"
        timescale = specific.get("timescale")
        base["timescale"] = timescale if timescale is not None else (w or 10_000)
    elif key in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        fn = (
            "_get_cosine_schedule_with_warmup_lr_lambda"
            if key == "cosine_with_min_lr"
            else "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda"
        )
        base["num_cycles"] = specific.get("num_cycles", 0.5)
        base["min_lr_rate"] = _min_lr_rate(specific, lr)
        if key == "cosine_warmup_with_min_lr":
            base["warmup_lr_rate"] = specific.get("warmup_lr_rate")
    else:  # warmup_stable_decay
        fn = "_get_wsd_scheduler_lambda"
        if "num_decay_steps" not in specific:
            raise SpecError("num_decay_steps", "is required by 'warmup_stable_decay'")
        d = integer(specific["num_decay_steps"], "num_decay_steps")
        stable = specific.get("num_stable_steps")
        if stable is None:
            if t is None:
                raise SpecError(
                    "num_training_steps", "or num_stable_steps is required by 'warmup_stable_decay'"
                )
            stable = t - w - d
        base.update(
            num_stable_steps=stable,
            num_decay_steps=d,
            warmup_type=specific.get("warmup_type", "linear"),
            decay_type=specific.get("decay_type", "cosine"),
            min_lr_ratio=specific.get("min_lr_ratio", 0.0),
            num_cycles=specific.get("num_cycles", 0.5),
        )
    return recipe(lr, lambda_schedule(fn, base), label, t)


def _min_lr_rate(specific: Mapping[str, Any], lr: float) -> float:
    has_lr, has_rate = specific.get("min_lr") is not None, specific.get("min_lr_rate") is not None
    if has_lr and has_rate:
        raise SpecError("min_lr_rate", "give min_lr or min_lr_rate, not both (transformers raises)")
    if has_lr:
        return real(specific["min_lr"], "min_lr", 0.0) / lr
    if not has_rate:
        raise SpecError("min_lr", "or min_lr_rate is required (transformers raises)")
    return real(specific["min_lr_rate"], "min_lr_rate", 0.0)


# -- TrainingArguments ---------------------------------------------------------------------
TRAINING_KEYS = (
    "learning_rate",
    "lr_scheduler_type",
    "lr_scheduler_kwargs",
    "warmup_steps",
    "warmup_ratio",
    "max_steps",
    "num_train_epochs",
    "gradient_accumulation_steps",
    "per_device_train_batch_size",
    "dataloader_drop_last",
)
HORIZON_KEYS = ("steps_per_epoch", "dataset_size", "world_size")


def from_training_args(args: Mapping[str, Any], *, strict: bool = True) -> Recipe:
    """The recipe transformers' ``Trainer`` schedules for these ``TrainingArguments``.

    Keys read (TrainingArguments' names and defaults): ``learning_rate`` (5e-5),
    ``lr_scheduler_type`` ('linear'), ``lr_scheduler_kwargs`` (a dict or its JSON text),
    ``warmup_steps`` (0; a value below 1 is a ratio: ``ceil(T * warmup_steps)``; from 1 on
    it is truncated to an int, as ``get_warmup_steps`` does), ``warmup_ratio`` (transformers
    4.x: used when ``warmup_steps`` is 0), ``max_steps`` (-1) and the horizon when
    ``max_steps`` is not positive: ``T = ceil(num_train_epochs * updates_per_epoch)``
    (``num_train_epochs`` defaults to 3.0). ``updates_per_epoch`` is ``steps_per_epoch`` if
    given (optimizer updates per epoch), else computed as the Trainer does from
    ``len_dataloader = ceil(dataset_size / (per_device_train_batch_size * world_size))``
    (floor with ``dataloader_drop_last``): ``max(ceil(len_dataloader /
    gradient_accumulation_steps), 1)``. ``steps_per_epoch``, ``dataset_size`` and
    ``world_size`` (default 1) are not TrainingArguments fields; schedcore accepts them to
    give the horizon. With ``strict=False`` other keys (a full ``args.to_dict()``) are
    ignored; by default they are an error.
    """
    if not isinstance(args, Mapping):
        raise SpecError(
            "args", f"must be a mapping of TrainingArguments fields, got {describe(args)}"
        )
    if strict:
        known_keys(args, (*TRAINING_KEYS, *HORIZON_KEYS))
    lr = lr_value(args.get("learning_rate", 5e-5), "learning_rate")
    name = args.get("lr_scheduler_type", "linear")
    kwargs = args.get("lr_scheduler_kwargs") or {}
    if isinstance(kwargs, str):
        try:
            kwargs = json.loads(kwargs)
        except json.JSONDecodeError as err:
            raise SpecError("lr_scheduler_kwargs", f"is not valid JSON: {err}") from None
    if not isinstance(kwargs, Mapping):
        raise SpecError("lr_scheduler_kwargs", f"must be a dict, got {describe(kwargs)}")
    total = _total_steps(args)
    warmup = warmup_steps(args, total)
    return from_transformers(
        name,
        lr=lr,
        num_warmup_steps=warmup,
        num_training_steps=total,
        scheduler_specific_kwargs=kwargs,
    )


def _total_steps(args: Mapping[str, Any]) -> int:
    max_steps = integer(args.get("max_steps", -1), "max_steps", -(2**53))
    if max_steps > 0:
        return max_steps
    epochs = real(args.get("num_train_epochs", 3.0), "num_train_epochs", 0.0)
    if args.get("steps_per_epoch") is not None:
        per_epoch = integer(args["steps_per_epoch"], "steps_per_epoch", 1)
    elif args.get("dataset_size") is not None:
        size = integer(args["dataset_size"], "dataset_size", 1)
        batch = integer(
            args.get("per_device_train_batch_size", 8), "per_device_train_batch_size", 1
        )
        world = integer(args.get("world_size", 1), "world_size", 1)
        drop = boolean(args.get("dataloader_drop_last", False), "dataloader_drop_last")
        batches = size // (batch * world) if drop else -(-size // (batch * world))
        accum = integer(
            args.get("gradient_accumulation_steps", 1), "gradient_accumulation_steps", 1
        )
        per_epoch = max(batches // accum + int(batches % accum > 0), 1)
    else:
        raise SpecError(
            "max_steps",
            "is not positive, so the horizon comes from num_train_epochs: give steps_per_epoch "
            "(optimizer updates per epoch) or dataset_size (with per_device_train_batch_size, "
            "gradient_accumulation_steps, world_size)",
        )
    total = math.ceil(epochs * per_epoch)
    if total < 1:
        raise SpecError("num_train_epochs", f"gives {total} training steps; must give at least 1")
    return total


def warmup_steps(args: Mapping[str, Any], total: int | None) -> int:
    """The Trainer's warmup length from ``warmup_steps`` (from 1 on a step count, truncated;
    below 1 a ratio) or, when that is 0, ``warmup_ratio``: a ratio is ``ceil(total * r)``."""
    steps = real(args.get("warmup_steps", 0), "warmup_steps", 0.0)
    ratio = real(args.get("warmup_ratio", 0.0), "warmup_ratio", 0.0, 1.0)
    if steps >= 1:
        return int(steps)
    fraction, key = (steps, "warmup_steps") if steps > 0 else (ratio, "warmup_ratio")
    if fraction and total is None:
        raise SpecError(key, f"a ratio ({fraction:g}) needs the number of training steps")
    return ratio_steps(total or 0, fraction)


def short_form(
    name: Any, args: Mapping[str, Any], lr: float, total: int | None, warmup: int | None = None
) -> Schedule:
    """The schedule of transformers' ``lr_scheduler_type = name`` with its arguments
    (``warmup_steps`` / ``warmup_ratio`` as ``TrainingArguments`` reads them, unless
    ``warmup`` gives the step count, and the scheduler-specific ones in :data:`SPECIFIC`)
    for a run of ``total`` updates: what a recipe's short form gives for the same words,
    through :func:`from_transformers`, the one mapping. Unlike ``get_scheduler``, arguments
    that would be ignored (a warmup for ``constant``) are refused."""
    key = _name(name, "lr_scheduler_type")
    accepted = ("warmup_steps", "warmup_ratio", *SPECIFIC.get(key, ()))
    known_keys(args, accepted)
    if warmup is None:
        warmup = warmup_steps(args, total)
    if key == "constant" and warmup:
        raise SpecError(
            "warmup_steps",
            "is ignored by transformers' 'constant'; use 'constant_with_warmup'",
        )
    specific = {k: v for k, v in args.items() if k in SPECIFIC.get(key, ())}
    try:
        built = from_transformers(
            key,
            lr=lr,
            num_warmup_steps=warmup,
            num_training_steps=total,
            scheduler_specific_kwargs=specific,
        )
    except SpecError as err:
        if err.path == "num_training_steps" and total is None:
            raise SpecError(
                "lr_scheduler_type", f"{key!r} needs the number of training steps"
            ) from None
        raise
    return built.schedule


# -- export --------------------------------------------------------------------------------
def to_transformers(r: Recipe) -> tuple[str, dict[str, Any]]:
    """``(name, kwargs)`` such that ``from_transformers(name, **kwargs)`` gives ``r``'s lr at
    every step, or SpecError saying why no transformers scheduler does.

    ``kwargs`` holds ``lr`` (the optimizer's lr), ``num_warmup_steps``,
    ``num_training_steps`` and the scheduler-specific arguments: pass
    ``kwargs.pop("lr")`` to the optimizer, and ``get_scheduler(name, optimizer,
    kwargs.pop("num_warmup_steps"), kwargs.pop("num_training_steps"), kwargs)``.
    """
    if r.schedules:
        raise SpecError(
            "schedules",
            "named schedules give param groups different curves; transformers' get_scheduler "
            "applies one lambda to every group",
        )
    for name, kw in _candidates(r):
        try:
            rebuilt = from_transformers(name, **kw)
        except SpecError:
            continue
        if rebuilt.schedule == r.schedule or _same_values(rebuilt, r):
            return name, kw
    _, body = _split_warmup(r.schedule)
    if isinstance(body, Cosine) and body.after == "hold" and body.end > 0:
        raise SpecError(
            "schedule",
            f"is a cosine held at a floor ({body.end:g} of the lr) past its end: transformers' "
            "cosines with a min lr continue the wave instead (cosine_with_min_lr); use "
            "after = 'periodic' to match it, or a floor of 0 (cosine_with_restarts, 1 cycle)",
        )
    raise SpecError(
        "schedule",
        f"{r.schedule.type_name!r} tree is not one of transformers' schedules (linear, "
        "cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup, "
        "inverse_sqrt, cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay "
        "with transformers' warmup from 0 and their parameters)",
    )


def _same_values(a: Recipe, b: Recipe) -> bool:
    """Equal lr (to 1e-12 relative) at every step up to past three horizons."""
    horizon = max(a.schedule.length or 0, b.schedule.length or 0, 1000)
    steps = np.arange(min(3 * horizon + 10, 2_000_000))
    try:
        x, y = a.lr(steps), b.lr(steps)
    except ValueError:
        return False
    return bool(np.allclose(x, y, rtol=1e-12, atol=1e-15 * max(a.base_lr, b.base_lr)))


def _split_warmup(s: Schedule) -> tuple[int, Schedule]:
    """``(W, body)`` for transformers' warmup ``k / W`` (linear from 0 to 1) followed by
    ``body`` on its own clock; ``(0, s)`` when ``s`` does not start with one."""
    warm = leading_warmup(s)
    if warm is None or (warm.shape, warm.start, warm.end, warm.clock) != ("linear", 0, 1, "local"):
        return 0, s
    return warm.steps, warm.body


def _lr_end(lr: float, ratio: float) -> float:
    """An absolute ``lr_end`` whose ratio to ``lr`` is exactly ``ratio`` where one exists."""
    guess = ratio * lr
    for candidate in (guess, math.nextafter(guess, 0), math.nextafter(guess, math.inf)):
        if candidate / lr == ratio:
            return candidate
    return guess


def _candidates(r: Recipe) -> list[tuple[str, dict[str, Any]]]:
    lr, s = r.base_lr, r.schedule
    total = r.training.steps if r.training is not None else None
    out: list[tuple[str, dict[str, Any]]] = []

    def add(name: str, w: int, t: int | None, **specific: Any) -> None:
        kw: dict[str, Any] = {"lr": lr, "num_warmup_steps": w}
        if t is not None:
            kw["num_training_steps"] = t
        out.append((name, {**kw, **specific}))

    if isinstance(s, Shift) and s.offset == 1:  # cosine_warmup_with_min_lr without a rate
        w, body = _split_warmup(s.schedule)
        if isinstance(body, Cosine) and body.after == "periodic" and body.start == 1.0:
            add(
                "cosine_warmup_with_min_lr",
                w,
                w + body.steps,
                num_cycles=body.cycles,
                min_lr_rate=body.end,
            )
        return out
    if isinstance(s, SequenceNode) and len(s.phases) == 2:
        first, second = s.phases
        if (
            isinstance(first.schedule, Linear)
            and first.schedule.end == 1.0
            and isinstance(second.schedule, Shift)
            and isinstance(second.schedule.schedule, Cosine)
        ):
            body, w = second.schedule.schedule, first.steps or 0
            add(
                "cosine_warmup_with_min_lr",
                w,
                w + body.steps,
                num_cycles=body.cycles,
                min_lr_rate=body.end,
                warmup_lr_rate=first.schedule.start,
            )
    if isinstance(s, WarmupStableDecay):
        add(
            "warmup_stable_decay",
            s.warmup,
            total,
            num_decay_steps=s.decay,
            num_stable_steps=s.stable,
            warmup_type=s.warmup_shape,
            decay_type=s.decay_shape,
            min_lr_ratio=s.end,
            num_cycles=s.cycles,
        )
        return out
    w, body = _split_warmup(s)
    if body == Constant(1.0):
        add("constant_with_warmup" if w else "constant", w, total)
        if not w:
            out[-1][1].pop("num_warmup_steps")
    elif isinstance(body, Linear) and (body.start, body.end, body.after) == (1.0, 0.0, "hold"):
        add("linear", w, w + body.steps)
    elif isinstance(body, Cosine) and body.start == 1.0 and body.exponent == 1.0:
        t = w + body.steps
        if body.restarts and body.end == 0.0 and body.after == "hold":
            add("cosine_with_restarts", w, t, num_cycles=2 * body.cycles)
        elif body.after == "periodic" and body.end == 0.0:
            add("cosine", w, t, num_cycles=body.cycles)
        elif body.after == "periodic":
            add("cosine_with_min_lr", w, t, num_cycles=body.cycles, min_lr_rate=body.end)
        elif (body.end, body.cycles, body.after) == (0.0, 0.5, "hold"):
            add("cosine_with_restarts", w, t, num_cycles=1)
    elif (
        isinstance(body, Polynomial)
        and body.start == 1.0
        and body.after == "hold"
        and body.power > 0
        and body.k_decay == 1.0
    ):
        add("polynomial", w, w + body.steps, lr_end=_lr_end(lr, body.end), power=body.power)
    elif isinstance(body, InverseSqrt):
        add("inverse_sqrt", w, total, timescale=body.timescale)
    return out


__all__ = [
    "from_training_args",
    "from_transformers",
    "lambda_schedule",
    "short_form",
    "to_transformers",
    "warmup_steps",
]
