"""Keras 3: the six built-in learning-rate schedules, as objects or serialized configs.

Keras calls ``schedule(optimizer.iterations)`` before each update and increments after it,
so update ``k`` applies ``schedule(k)``; schedules compute in the dtype of
``initial_learning_rate``, float32, so a recipe (float64) matches them to float32
rounding (relative 1e-6). Nothing here imports keras: objects are read through
``get_config()`` and their class name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..schedules.breakpoints import leading_warmup
from ..schedules.combinators import Sequence as SequenceNode
from ..schedules.cyclic import SGDR
from ..schedules.families import Constant, Cosine, Exponential, InverseTime, Polynomial
from ..schedules.node import Schedule
from ..schedules.piecewise import PiecewiseConstant
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
)
from .compiled import compiled

ARITHMETIC = ("fit", "eager")
"""``from_keras(..., arithmetic=)``: what ``model.fit`` applies, or eager arithmetic."""
CLASSES = (
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "CosineDecayRestarts",
)
KEYS = {
    "ExponentialDecay": ("initial_learning_rate", "decay_steps", "decay_rate", "staircase"),
    "PiecewiseConstantDecay": ("boundaries", "values"),
    "PolynomialDecay": (
        "initial_learning_rate",
        "decay_steps",
        "end_learning_rate",
        "power",
        "cycle",
    ),
    "InverseTimeDecay": ("initial_learning_rate", "decay_steps", "decay_rate", "staircase"),
    "CosineDecay": (
        "initial_learning_rate",
        "decay_steps",
        "alpha",
        "warmup_target",
        "warmup_steps",
    ),
    "CosineDecayRestarts": (
        "initial_learning_rate",
        "first_decay_steps",
        "t_mul",
        "m_mul",
        "alpha",
    ),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "ExponentialDecay": {"staircase": False},
    "PiecewiseConstantDecay": {},
    "PolynomialDecay": {"end_learning_rate": 1e-4, "power": 1.0, "cycle": False},
    "InverseTimeDecay": {"staircase": False},
    "CosineDecay": {"alpha": 0.0, "warmup_target": None, "warmup_steps": 0},
    "CosineDecayRestarts": {"t_mul": 2.0, "m_mul": 1.0, "alpha": 0.0},
}


def _class_and_config(source: Any) -> tuple[str, dict[str, Any], str]:
    if isinstance(source, Mapping):
        if "class_name" not in source:
            raise SpecError(
                "class_name",
                "is required: pass a Keras schedule or keras.optimizers.schedules.serialize(...)",
            )
        name, config = source["class_name"], source.get("config", {})
        path = "config"
    else:
        get_config = getattr(source, "get_config", None)
        module = type(source).__module__ or ""
        if not callable(get_config) or "keras" not in module:
            raise SpecError(
                "schedule",
                f"must be a Keras learning-rate schedule or its serialized dict, got "
                f"{describe(source)}",
            )
        name, config, path = type(source).__name__, get_config(), "schedule"
    if name not in CLASSES:
        raise SpecError(
            "class_name",
            f"{describe(name)} is not a built-in Keras schedule; accepted: " + ", ".join(CLASSES),
        )
    if not isinstance(config, Mapping):
        raise SpecError(path, f"must be a dict of the schedule's arguments, got {describe(config)}")
    config = {k: v for k, v in config.items() if k != "name"}
    known_keys(config, KEYS[name], path)
    return name, {**DEFAULTS[name], **config}, path


def from_keras(source: Any, arithmetic: str = "fit") -> Recipe:
    """The recipe of a Keras 3 schedule object or of its ``serialize()`` dict (or a bare
    ``{"class_name": ..., "config": {...}}``): ``recipe.lr(k) == schedule(k)`` to float32
    rounding, at every step below ``2**24``.

    ``arithmetic`` says which run of the schedule is reproduced: ``"fit"`` (default) what
    ``model.fit`` on TensorFlow applies, where the compiled train step computes
    ``step / decay_steps`` as ``step * (1 / decay_steps)`` in float32, so a staircase
    (ExponentialDecay, InverseTimeDecay) can change one step late or early
    (``ExponentialDecay(1.0, 55, 0.5, staircase=True)`` applies 1.0 at update 55), a
    CosineDecayRestarts with ``t_mul=1`` restart a step late (``alpha`` at update 41 of
    41-step cycles), a PolynomialDecay with ``cycle=True`` stretch a step early (0.25 at
    update 21 of ``PolynomialDecay(1.0, 7, 0.0, cycle=True)``) and one held past its end
    stay ``(2**-24) ** power`` of its range above ``end_learning_rate``
    (:mod:`schedcore.port.compiled`); ``"eager"`` what calling the schedule eagerly gives,
    with exact division. Not modelled: a fractional ``t_mul``, whose float32 ``log``
    TensorFlow rounds its own way (``t_mul=1.25`` restarts a step late in ``fit``).

    Quirks kept: PiecewiseConstantDecay changes the value one step *after* each boundary;
    PolynomialDecay's ``cycle=True`` stretches the decay to the next multiple of
    ``decay_steps`` (never back to the initial lr); CosineDecay's ``decay_steps`` exclude
    its ``warmup_steps``, which are ignored without ``warmup_target``; CosineDecayRestarts
    shrinks the span above ``alpha`` by ``m_mul`` per restart.
    """
    how = choice(arithmetic, "arithmetic", ARITHMETIC)
    r = _from_keras(source)
    if how == "eager":
        return r
    return recipe(r.base_lr, compiled(r.schedule, keras=True), r.name)


def _from_keras(source: Any) -> Recipe:
    name, c, path = _class_and_config(source)

    def arg(key: str) -> Any:
        if key not in c:
            raise SpecError(f"{path}.{key}", f"is required by {name}")
        return c[key]

    label = f"keras {name}"
    if name == "PiecewiseConstantDecay":
        return _piecewise(arg("boundaries"), arg("values"), path, label)
    warming = name == "CosineDecay" and c.get("warmup_target") is not None
    if warming:  # the warmup may start from 0; the target is the recipe's lr
        lr = real(arg("initial_learning_rate"), f"{path}.initial_learning_rate", 0.0)
    else:
        lr = lr_value(arg("initial_learning_rate"), f"{path}.initial_learning_rate")
    steps_key = "first_decay_steps" if name == "CosineDecayRestarts" else "decay_steps"
    steps = integer(arg(steps_key), f"{path}.{steps_key}", 1)
    if name == "ExponentialDecay":
        rate = real(arg("decay_rate"), f"{path}.decay_rate", 0.0, 1.0)
        staircase = boolean(arg("staircase"), f"{path}.staircase")
        if rate == 0:  # 0 ** 0 = 1 at step 0 (and below decay_steps with staircase)
            node: Schedule = PiecewiseConstant(
                boundaries=(steps if staircase else 1,), values=(1.0, 0.0)
            )
        else:
            node = Exponential(rate=rate, every=steps, staircase=staircase)
        return recipe(lr, node, label)
    if name == "PolynomialDecay":
        end = real(arg("end_learning_rate"), f"{path}.end_learning_rate", 0.0)
        power = real(arg("power"), f"{path}.power", 0.0)
        cycle = boolean(arg("cycle"), f"{path}.cycle")
        return recipe(
            lr,
            Polynomial(
                steps=steps,
                start=1.0,
                end=end / lr,
                power=power,
                after="stretch" if cycle else "hold",
            ),
            label,
        )
    if name == "InverseTimeDecay":
        rate = real(arg("decay_rate"), f"{path}.decay_rate", 0.0, 1e100)
        staircase = boolean(arg("staircase"), f"{path}.staircase")
        return recipe(lr, InverseTime(rate=rate, every=steps, staircase=staircase), label)
    alpha = real(arg("alpha"), f"{path}.alpha", 0.0)
    if name == "CosineDecay":
        body = Cosine(steps=steps, start=1.0, end=alpha)
        target = c.get("warmup_target")
        if target is None:  # warmup_steps is ignored then, as in Keras
            return recipe(lr, body, label)
        target = lr_value(target, f"{path}.warmup_target")
        warm = integer(arg("warmup_steps"), f"{path}.warmup_steps")
        return recipe(target, ramp_then(body, warm, lr / target), label)
    # CosineDecayRestarts
    t_mul = real(arg("t_mul"), f"{path}.t_mul", 1.0)
    m_mul = real(arg("m_mul"), f"{path}.m_mul", 0.0, 1.0)
    if m_mul == 0:  # m_mul ** i: 1 in the first cycle, 0 after
        first = Cosine(steps=steps, start=1.0, end=alpha)
        return recipe(lr, phases((first, steps, "local"), (Constant(alpha), None, "local")), label)
    node = SGDR(
        period=steps, t_mul=t_mul, m_mul=m_mul, start=1.0, end=alpha, m_mul_applies_to="range"
    )
    return recipe(lr, node, label)


def _piecewise(boundaries: Any, values: Any, path: str, label: str) -> Recipe:
    if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
        raise SpecError(f"{path}.boundaries", "boundaries and values must be lists")
    if len(values) != len(boundaries) + 1:
        raise SpecError(
            f"{path}.values",
            f"must have len(boundaries) + 1 = {len(boundaries) + 1} items, got {len(values)}",
        )
    bounds = [integer(b, f"{path}.boundaries[{i}]") for i, b in enumerate(boundaries)]
    vals = [real(v, f"{path}.values[{i}]", 0.0) for i, v in enumerate(values)]
    for i in range(1, len(bounds)):
        if bounds[i] <= bounds[i - 1]:
            raise SpecError(
                f"{path}.boundaries[{i}]",
                f"is {bounds[i]} after {bounds[i - 1]}; boundaries must increase",
            )
    base = max(vals)
    if base <= 0:
        raise SpecError(f"{path}.values", "are all 0; schedcore needs a positive lr")
    node = PiecewiseConstant(
        boundaries=tuple(bounds), values=tuple(v / base for v in vals), change="after"
    )
    return recipe(base, node, label)


# -- export --------------------------------------------------------------------------------
def _serialized(name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "module": "keras.optimizers.schedules",
        "class_name": name,
        "config": {**config, "name": name},
        "registered_name": None,
    }


def to_keras_config(r: Recipe) -> dict[str, Any]:
    """The ``keras.optimizers.schedules.serialize``-style dict of the built-in Keras
    schedule that gives ``r``'s lr at every step (to Keras' float32 rounding), or
    SpecError saying why none does. ``keras.optimizers.schedules.deserialize(config)``
    builds it."""
    if r.schedules:
        raise SpecError("schedules", "named schedules (per-group curves) have no Keras schedule")
    lr, s = r.base_lr, _as_written(r.schedule)
    name = s.type_name
    if name == "constant":
        return _serialized(
            "ExponentialDecay",
            {
                "initial_learning_rate": lr * s.value,
                "decay_steps": 1,
                "decay_rate": 1.0,
                "staircase": False,
            },
        )
    if name == "exponential":
        return _serialized(
            "ExponentialDecay",
            {
                "initial_learning_rate": lr * s.start,
                "decay_steps": s.every,
                "decay_rate": s.rate,
                "staircase": s.staircase,
            },
        )
    if name == "piecewise_constant" and s.change == "after":
        return _serialized(
            "PiecewiseConstantDecay",
            {"boundaries": list(s.boundaries), "values": [lr * v for v in s.values]},
        )
    if name == "polynomial" and s.after in ("hold", "stretch") and s.k_decay == 1.0:
        return _serialized(
            "PolynomialDecay",
            {
                "initial_learning_rate": lr * s.start,
                "decay_steps": s.steps,
                "end_learning_rate": lr * s.end,
                "power": s.power,
                "cycle": s.after == "stretch",
            },
        )
    if name == "inverse_time":
        return _serialized(
            "InverseTimeDecay",
            {
                "initial_learning_rate": lr,
                "decay_steps": s.every,
                "decay_rate": s.rate,
                "staircase": s.staircase,
            },
        )
    if _keras_cosine(s):
        return _serialized(
            "CosineDecay",
            {
                "initial_learning_rate": lr * s.start,
                "decay_steps": s.steps,
                "alpha": s.end / s.start,
                "warmup_target": None,
                "warmup_steps": 0,
            },
        )
    warm = _warmup_cosine(s)
    if warm is not None:
        steps, start, body = warm
        return _serialized(
            "CosineDecay",
            {
                "initial_learning_rate": lr * start,
                "decay_steps": body.steps,
                "alpha": body.end / body.start,
                "warmup_target": lr * body.start,
                "warmup_steps": steps,
            },
        )
    if (
        name == "sgdr"
        and s.start > 0
        and s.k_decay == 1.0
        and s.cycle_limit is None
        and s.cycle_index == "exact"
        and (s.m_mul_applies_to == "range" or s.m_mul == 1.0 or s.end == 0.0)
    ):
        return _serialized(
            "CosineDecayRestarts",
            {
                "initial_learning_rate": lr * s.start,
                "first_decay_steps": s.period,
                "t_mul": s.t_mul,
                "m_mul": s.m_mul,
                "alpha": s.end / s.start,
            },
        )
    raise SpecError(
        "schedule",
        f"{name!r} with these fields has no built-in Keras schedule (exact equivalents: "
        "constant, exponential, piecewise_constant with change = 'after', polynomial held or "
        "cycling, inverse_time, a half cosine held, warmup of it (linear, prefix), and sgdr "
        "shrinking the range)",
    )


def _as_written(s: Schedule) -> Schedule:
    """The node of ``from_keras(..., arithmetic="fit")``'s compiled sequence (which
    ``model.fit`` applies when given that node), else ``s``."""
    if isinstance(s, SequenceNode) and s.phases:
        first = s.phases[0].schedule
        if (
            isinstance(first, (Exponential, InverseTime, SGDR, Polynomial))
            and compiled(first, keras=True) == s
        ):
            return first
    return s


def _keras_cosine(s: Schedule) -> bool:
    return (
        isinstance(s, Cosine)
        and s.start > 0
        and s.cycles == 0.5
        and s.exponent == 1.0
        and s.after == "hold"
        and not s.restarts
    )


def _warmup_cosine(s: Schedule) -> tuple[int, float, Cosine] | None:
    """``(warmup_steps, start multiplier, cosine)`` of a linear warmup into a Keras cosine:
    CosineDecay's warmup ramps linearly to ``warmup_target``, where the cosine starts (from
    below or above)."""
    warm = leading_warmup(s, rising=False)
    if (
        warm is None
        or (warm.shape, warm.clock) != ("linear", "local")
        or not _keras_cosine(warm.body)
        or warm.end != warm.body.start  # type: ignore[attr-defined]
    ):
        return None
    return warm.steps, warm.start, warm.body  # type: ignore[return-value]
