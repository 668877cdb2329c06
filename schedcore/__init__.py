"""schedcore: learning-rate schedules and parameter-group policies, defined once.

Schedules are immutable step -> multiplier functions (``s(k)`` for one step,
``s(steps)`` vectorized); recipes carry a base lr, schedules and a group policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import PastEndWarning, SpecError, StepRangeError
from .lazy import lazy_attributes
from .schedules.combinators import (
    Clamp,
    PerEpoch,
    Phase,
    Product,
    Repeat,
    Scale,
    Sequence,
    Shift,
    Warmup,
    WarmupStableDecay,
)
from .schedules.cyclic import SGDR, Cyclic, OneCycle
from .schedules.families import (
    Constant,
    Cosine,
    Exponential,
    Geometric,
    InverseSqrt,
    InverseTime,
    Linear,
    MultiStep,
    Noam,
    OneMinusSqrt,
    Polynomial,
    Step,
    Tanh,
)
from .schedules.node import NODE_TYPES, Schedule, from_dict
from .schedules.piecewise import PiecewiseConstant, PiecewiseInterpolate
from .schedules.stepper import Stepper

__version__ = "0.1.0"

# Imported on first use (``schedcore.load``, ``from schedcore import Recipe``): the recipe
# document, groups and their parsers are not needed to build and evaluate a schedule, and
# ``import schedcore`` stays close to numpy's own import time. To add a lazy name, add it
# here (name -> module) and to ``__all__``.
_LAZY = {
    "GroupPolicy": ".groups.policy",
    "Decision": ".groups.resolve",
    "Group": ".groups.resolve",
    "Resolution": ".groups.resolve",
    "resolve": ".groups.resolve",
    "Param": ".groups.table",
    "ParamTable": ".groups.table",
    "Recipe": ".recipes",
    "as_recipe": ".recipes",
    "load": ".recipes",
    "fingerprint": ".recipes.fingerprint",
    "GroupSchedules": ".recipes.group_schedules",
    "recipe": ".recipes.keywords",
}

if TYPE_CHECKING:  # the lazy names, for type checkers and editors
    from .groups.policy import GroupPolicy
    from .groups.resolve import Decision, Group, Resolution, resolve
    from .groups.table import Param, ParamTable
    from .recipes import Recipe, as_recipe, load
    from .recipes.fingerprint import fingerprint
    from .recipes.group_schedules import GroupSchedules
    from .recipes.keywords import recipe


_SUBPACKAGES = frozenset({"examples", "files", "groups", "port", "recipes", "tools"})
"""Subpackages loaded on first attribute access (``schedcore.port.from_torch``)."""


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY, _SUBPACKAGES.__contains__)


# Lower-case constructors: the names a user would guess.
constant = Constant
linear = Linear
cosine = Cosine
polynomial = Polynomial
geometric = Geometric
one_minus_sqrt = OneMinusSqrt
exponential = Exponential
step = Step
multistep = MultiStep
inverse_sqrt = InverseSqrt
inverse_time = InverseTime
noam = Noam
tanh = Tanh
piecewise_constant = PiecewiseConstant
piecewise_interpolate = PiecewiseInterpolate
cyclic = Cyclic
onecycle = OneCycle
sgdr = SGDR
warmup = Warmup
wsd = WarmupStableDecay
scale = Scale
clamp = Clamp
shift = Shift
repeat = Repeat
per_epoch = PerEpoch


def product(*factors: Schedule, schedules: Any = None) -> Product:
    """The product of the schedules' values at each step: ``product(a, b)`` or
    ``product(schedules=[a, b])``."""
    return Product(schedules=factors if schedules is None else schedules)


def sequence(*phases: Schedule | Phase | tuple[Schedule, int]) -> Sequence:
    """Phases one after another: each a :class:`Phase`, a schedule (run for its own
    length), or a ``(schedule, steps)`` pair."""
    out = []
    for p in phases:
        if isinstance(p, Phase):
            out.append(p)
        elif isinstance(p, tuple):
            out.append(Phase(p[0], p[1]))
        else:
            out.append(Phase(p))
    return Sequence(phases=tuple(out))


__all__ = [
    "NODE_TYPES",
    "Decision",
    "Group",
    "GroupPolicy",
    "GroupSchedules",
    "Param",
    "ParamTable",
    "PastEndWarning",
    "Phase",
    "Recipe",
    "Resolution",
    "Schedule",
    "SpecError",
    "StepRangeError",
    "Stepper",
    "as_recipe",
    "clamp",
    "constant",
    "cosine",
    "cyclic",
    "exponential",
    "fingerprint",
    "from_dict",
    "geometric",
    "inverse_sqrt",
    "inverse_time",
    "linear",
    "load",
    "multistep",
    "noam",
    "one_minus_sqrt",
    "onecycle",
    "per_epoch",
    "piecewise_constant",
    "piecewise_interpolate",
    "polynomial",
    "product",
    "recipe",
    "repeat",
    "resolve",
    "scale",
    "sequence",
    "sgdr",
    "shift",
    "step",
    "tanh",
    "warmup",
    "wsd",
]
