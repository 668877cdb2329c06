"""The readable short form of a schedule, normalized to the explicit tree.

A schedule table without a ``type`` is short form::

    warmup = "10%"        # or a step count; a ratio is ceil(total * ratio), as HF's Trainer
    decay = "cosine"      # constant | linear | cosine | polynomial | inverse_sqrt | wsd
    min_lr = 1e-6         # absolute (or min_lr_ratio, relative to the base lr)

The decay runs from the end of warmup to ``training.total_steps``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import SpecError, describe
from ..fields import Int, Real
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
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def _steps_or_ratio(value: Any, path: str, total: int | None, what: str) -> int:
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match or float(match.group(1)) > 100:
            raise SpecError(path, f"must be a step count or a percentage like '10%', got {value!r}")
        if total is None:
            raise SpecError(path, f"a percentage needs the training length: {_NEEDS_TOTAL}")
        return math.ceil(total * float(match.group(1)) / 100)
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
    for key in data:
        if key not in KEYS:
            raise SpecError(
                f"{path}.{key}",
                "unknown field; a short-form schedule accepts: "
                + ", ".join(KEYS)
                + " (an explicit schedule needs a 'type')",
            )
    total = training.steps if training else None
    decay = data.get("decay", "constant")
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
