"""The readable short form of a schedule, normalized to the explicit tree.

A schedule table without a ``type`` is short form::

    warmup = "10%"        # or a step count; a ratio is ceil(total * ratio), as HF's Trainer
    decay = "cosine"      # constant | linear | cosine | polynomial | inverse_sqrt | wsd
    min_lr = 1e-6         # absolute (or min_lr_ratio, relative to the base lr)

The decay runs from the end of warmup to ``training.total_steps``.

transformers' vocabulary is accepted too: ``lr_scheduler_type = "cosine_with_restarts"``
(any ``get_scheduler`` name; ``decay`` may name one that is not a short-form decay) with
``warmup_steps`` / ``warmup_ratio`` (or ``warmup``) and that scheduler's own arguments
(``num_cycles``, ``power``, ``lr_end``, ``min_lr`` / ``min_lr_rate``, ...). Such a table
means what transformers does with those words (its cosine continues the wave past the
end, its polynomial ``lr_end`` is absolute): it normalizes to the tree that
:func:`schedcore.port.from_transformers` gives, the one owner of that mapping.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from ..errors import SpecError, describe
from ..fields import Int, Real, did_you_mean
from ..schedules.combinators import Warmup
from ..schedules.families import Constant, Cosine, InverseSqrt, Linear, Polynomial
from ..schedules.node import Schedule
from .training import Training

DECAYS = ("constant", "linear", "cosine", "polynomial", "inverse_sqrt", "wsd")
KEYS = (
    "warmup",
    "warmup_shape",
    "warmup_start_factor",
    "decay",
    "min_lr",
    "min_lr_ratio",
    "power",
    "cycles",
    "timescale",
    "cooldown",
    "cooldown_shape",
)
TRANSFORMERS_NAMES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)
"""``lr_scheduler_type`` names (transformers' ``get_scheduler``) the short form accepts."""
TRANSFORMERS_KEYS = (
    "lr_scheduler_type",
    "warmup_steps",
    "warmup_ratio",
    "num_cycles",
    "lr_end",
    "min_lr_rate",
    "warmup_lr_rate",
    "num_decay_steps",
    "num_stable_steps",
    "warmup_type",
    "decay_type",
)
"""Keys that only transformers' vocabulary uses (``power``, ``timescale``, ``min_lr`` and
``min_lr_ratio`` belong to both)."""
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def ratio_steps(total: int, ratio: float) -> int:
    """The steps a ratio of a ``total``-step run gives: ``ceil(total * ratio)`` in float, as
    HF's Trainer rounds ``warmup_ratio`` (``ceil(100 * 0.07)`` is 8: the product is
    7.000000000000001). The one owner of that rounding: the short form's percentages and
    :func:`schedcore.port.transformers.warmup_steps` both use it."""
    return math.ceil(total * ratio)


def percent_ratio(text: str) -> float:
    """The float a percentage such as ``'7%'`` means: the nearest float to the exact decimal
    ratio (``'7%'`` is ``0.07``, as a user writes ``warmup_ratio = 0.07``)."""
    return float(Decimal(text).scaleb(-2))


def _steps_or_ratio(value: Any, path: str, total: int | None, what: str) -> int:
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match or float(match.group(1)) > 100:
            raise SpecError(path, f"must be a step count or a percentage like '10%', got {value!r}")
        if total is None:
            raise SpecError(path, f"a percentage needs the training length: {_NEEDS_TOTAL}")
        return ratio_steps(total, percent_ratio(match.group(1)))
    if isinstance(value, float) and not value.is_integer():
        raise SpecError(
            path,
            f"must be a step count or a percentage like '10%', got {value!r}"
            f" (for a ratio write '{value * 100:g}%')",
        )
    return Int(0).coerce(value, path)


_NEEDS_TOTAL = "give training.total_steps, or training.epochs with training.steps_per_epoch"


def normalize(data: dict[str, Any], path: str, lr: float, training: Training | None) -> Schedule:
    """The explicit tree for a short-form schedule table."""
    decay = data.get("decay", "constant")
    if "lr_scheduler_type" in data or (
        isinstance(decay, str) and decay not in DECAYS and decay in TRANSFORMERS_NAMES
    ):
        return _transformers(data, path, lr, training)
    for key in data:
        if key in TRANSFORMERS_KEYS:
            raise SpecError(
                f"{path}.{key}",
                f"is transformers' vocabulary: write lr_scheduler_type = {describe(decay)} "
                "(instead of decay) for transformers' schedule, whose arguments it takes",
            )
        if key not in KEYS:
            raise SpecError(
                f"{path}.{key}",
                f"unknown field; {did_you_mean(key, KEYS + TRANSFORMERS_KEYS)}"
                "a short-form schedule accepts: "
                + ", ".join(KEYS)
                + " (an explicit schedule needs a 'type'; lr_scheduler_type takes "
                "transformers' names and arguments)",
            )
    total = training.steps if training else None
    if decay not in DECAYS:
        raise SpecError(
            f"{path}.decay", f"must be one of {', '.join(DECAYS)}, got {describe(decay)}"
        )
    warmup = _steps_or_ratio(data.get("warmup", 0), f"{path}.warmup", total, "warmup")
    end = _min_ratio(data, path, lr)
    body_steps = None
    if decay not in ("constant", "inverse_sqrt"):
        if total is None:
            raise SpecError(f"{path}.decay", f"{decay!r} needs the training length: {_NEEDS_TOTAL}")
        body_steps = total - warmup
        if body_steps < 1:
            raise SpecError(
                f"{path}.warmup",
                f"leaves no steps to decay: warmup {warmup} >= total steps {total}",
            )
    extra = {
        k: data[k]
        for k in ("power", "cycles", "timescale", "cooldown", "cooldown_shape")
        if k in data
    }
    body = _body(decay, body_steps, end, extra, path, total, warmup)
    if not warmup:
        return body
    shape = data.get("warmup_shape", "linear")
    start = data.get("warmup_start_factor", 0.0)
    try:
        return Warmup(schedule=body, steps=warmup, shape=shape, start_factor=start)
    except SpecError as err:
        renamed = {"shape": "warmup_shape", "start_factor": "warmup_start_factor"}
        raise SpecError(f"{path}.{renamed.get(err.path, err.path)}", err.problem) from None


def _transformers(
    data: dict[str, Any], path: str, lr: float, training: Training | None
) -> Schedule:
    """A table in transformers' vocabulary: ``lr_scheduler_type`` (or ``decay`` naming a
    transformers-only schedule), its warmup and its arguments."""
    from ..port.transformers import (  # the port imports recipes: import it late
        METRIC_DRIVEN,
        SPECIFIC,
        short_form,
    )

    name_key = "lr_scheduler_type" if "lr_scheduler_type" in data else "decay"
    if name_key == "lr_scheduler_type" and "decay" in data:
        raise SpecError(f"{path}.decay", "give decay or lr_scheduler_type, not both")
    name = data[name_key]
    if name in METRIC_DRIVEN:  # the importer says why: no closed form
        try:
            short_form(name, {}, lr, None)
        except SpecError as err:
            raise err.within(path) from None
    if not isinstance(name, str) or name not in TRANSFORMERS_NAMES:
        raise SpecError(
            f"{path}.{name_key}",
            f"{did_you_mean(name, TRANSFORMERS_NAMES)}must be one of transformers' "
            f"schedules ({', '.join(TRANSFORMERS_NAMES)}), got {describe(name)}",
        )
    accepted = (name_key, "warmup", "warmup_steps", "warmup_ratio", *SPECIFIC.get(name, ()))
    for key in data:
        if key not in accepted:
            raise SpecError(
                f"{path}.{key}",
                f"{did_you_mean(key, accepted)}transformers' {name!r} takes: "
                + ", ".join(accepted),
            )
    total = training.steps if training else None
    args = {k: v for k, v in data.items() if k not in (name_key, "warmup")}
    warmup = None
    if "warmup" in data:
        if "warmup_steps" in data or "warmup_ratio" in data:
            raise SpecError(f"{path}.warmup", "give warmup or warmup_steps / warmup_ratio")
        warmup = _steps_or_ratio(data["warmup"], f"{path}.warmup", total, "warmup")
    try:
        return short_form(name, args, lr, total, warmup)
    except SpecError as err:
        if err.problem.endswith("needs the number of training steps"):
            raise SpecError(
                f"{path}.{name_key if err.path == 'lr_scheduler_type' else err.path}",
                f"{err.problem}: {_NEEDS_TOTAL}",
            ) from None
        raise err.within(path) from None


def _min_ratio(data: dict[str, Any], path: str, lr: float) -> float:
    if "min_lr" in data and "min_lr_ratio" in data:
        raise SpecError(f"{path}.min_lr_ratio", "give min_lr or min_lr_ratio, not both")
    if "min_lr" in data:
        return Real(0.0).coerce(data["min_lr"], f"{path}.min_lr") / lr
    return Real(0.0).coerce(data.get("min_lr_ratio", 0.0), f"{path}.min_lr_ratio")


def _body(
    decay: str,
    steps: int | None,
    end: float,
    extra: dict[str, Any],
    path: str,
    total: int | None,
    warmup: int,
) -> Schedule:
    allowed = {
        "polynomial": {"power"},
        "cosine": {"cycles"},
        "inverse_sqrt": {"timescale"},
        "wsd": {"cooldown", "cooldown_shape"},
    }.get(decay, set())
    for key in extra:
        if key not in allowed:
            raise SpecError(f"{path}.{key}", f"does not apply to decay = {decay!r}")
    try:
        if decay == "constant":
            return Constant(1.0)
        if decay == "inverse_sqrt":
            return InverseSqrt(timescale=extra.get("timescale", warmup or 10_000))
        assert steps is not None
        if decay == "linear":
            return Linear(steps=steps, start=1.0, end=end)
        if decay == "cosine":
            return Cosine(steps=steps, start=1.0, end=end, cycles=extra.get("cycles", 0.5))
        if decay == "polynomial":
            return Polynomial(steps=steps, start=1.0, end=end, power=extra.get("power", 1.0))
    except SpecError as err:
        raise err.within(path) from None
    from ..schedules.combinators import WarmupStableDecay

    if "cooldown" not in extra:
        raise SpecError(f"{path}.cooldown", "is required with decay = 'wsd' (steps or '20%')")
    cooldown = _steps_or_ratio(extra["cooldown"], f"{path}.cooldown", total, "cooldown")
    if cooldown < 1 or cooldown > steps:
        raise SpecError(f"{path}.cooldown", f"must be between 1 and {steps} steps, got {cooldown}")
    try:
        return WarmupStableDecay(
            stable=steps - cooldown,
            decay=cooldown,
            decay_shape=extra.get("cooldown_shape", "linear"),
            end=end,
        )
    except SpecError as err:
        renamed = {"decay_shape": "cooldown_shape"}
        raise SpecError(f"{path}.{renamed.get(err.path, err.path)}", err.problem) from None
