"""OneFlow 0.9.0's lr schedulers: what each computes, and the planner's value object for each.

This is the one place that documents OneFlow's scheduler semantics (the importer,
:mod:`.importer`, and the planner, :mod:`.plan`, rely on it). Every scheduler is closed-form:
after construction and ``k`` calls of ``step()``, update ``k`` applies ``get_lr(B, k)``, ``B``
the optimizer's base lr (``initial_lr``). In ``nn.Graph`` a scheduler is compiled to a
``LearningRateDecayConf`` (``_generate_conf_for_graph``) and evaluated by
``LearningRateScheduleKernel`` from the int64 train step ``k`` (local step ``j`` of a
scheduler), in double with ``B`` rounded to float32, the output float32; a scheduler without a
Graph conf (LambdaLR, ChainedScheduler) cannot run there. The Graph kernels compute:

=========================== ===============================================================
ConstantLR(f, n)            ``B * f`` for ``j < n``, then ``B``; ``f`` in [0, 1]
LinearLR(a, b, n)           ``B * (a + (b - a) * j / n)`` for ``j < n`` (j, n as float32: exact
                            up to 2**24), then ``B * b``; ``a, b`` in [0, 1]
CosineDecayLR(n, alpha)     ``B * ((1 - alpha) * (1 + cos(pi * min(j, n) / n)) / 2 + alpha)``
CosineAnnealingLR(T, eta)   ``eta + (B - eta) * (1 + cos(pi * j / T)) / 2`` (periodic, from the
                            raw step), ``eta < B`` (absolute)
PolynomialLR(n, E, p)       ``(B - E) * (1 - min(j, n) / n) ** p + E`` (E absolute); with
                            ``cycle``: ``n * ceil(j / n)`` for ``n`` and no ``min``, except
                            that ``j = 0`` counts as ``j = 1`` (eager mode too)
ExponentialLR(g)            ``B * g ** j`` (its Graph conf is StepLR(1, g))
StepLR(s, g)                ``B * g ** floor(j / s)``
MultiStepLR(m, g)           ``B * g ** (number of milestones <= j)``; increasing milestones
CosineAnnealingWarmRestarts cosine cycles of ``T_0 * T_mult ** i`` steps, peak ``B * r ** i``
(T_0, T_mult, eta, r, L)    (``r`` = decay_rate), ``eta`` absolute, ``eta`` from cycle ``L`` on
                            (``L = 0``: never). Integer ``T_mult``. ``T_mult = 1``: cycles by
                            integer division. ``T_mult > 1``: the cycle is
                            ``floor(log(1 - (j / T_0) * (1 - T_mult)) / log(T_mult))`` with
                            ``j / T_0`` an int64 division (the Graph kernel) or a float64 one
                            (eager, as timm): each rounds some restarts differently
SequentialLR(c, m, r)       child ``i`` from milestone ``m[i-1]`` on, seeing ``k - m[j]``,
                            ``m[j]`` the last milestone passed with ``r[j]``
                            (interval_rescaling; default false), or ``k`` if none: a child
                            sees the *global* step unless rescaled; WarmupLR is a SequentialLR
=========================== ===============================================================

Eager mode computes the same closed forms in float64 (a group's lr is a Python float, which
the update kernels take as a float32 attribute).

The planner's objects below stand for one scheduler each, with parameters in *multiplier
units* (relative to the recipe's lr). Every scheduler but ConstantLR and LinearLR starts at
``B``: its *anchor*. One optimizer has one ``B``, so all anchored schedulers of a plan must
start at the same value; ``B`` is a group's lr times that value (``lr_scale`` gives the
others theirs), and ConstantLR / LinearLR take factors of it. Each object keeps the core node
it came from (:class:`Source`), whose values it stands for.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...fields import MAX_STEP
from ...schedules.node import Schedule
from ...schedules.ops import NUMPY
from ..native import Abs

FLOAT32_EXACT = 2**24
"""Graph-mode LinearLR converts its step and total_iters to float32: exact up to 2**24."""
FOREVER = MAX_STEP + 1
"""``total_iters`` of a ConstantLR that lasts for every step schedcore accepts."""
SAME = 1e-12
"""Relative difference under which two anchors are the same value."""


def plural(count: float, word: str) -> str:
    """``1 step``, ``2 steps``, ``0.5 cycles``: a count and its noun, agreeing."""
    return f"{count:g} {word}" if count == 1 else f"{count:g} {word}s"


class NotLowerable(ValueError):
    """A schedule node has no exact equivalent among OneFlow's Graph-mode schedulers.

    ``path`` is the node's path in the recipe (``schedule.phases[1].schedule``),
    ``node_type`` its type and ``reason`` why it cannot be planned.
    """

    def __init__(self, path: str, node_type: str, reason: str, hint: bool = True) -> None:
        self.path, self.node_type, self.reason = path, node_type, reason
        tip = (
            "; pass tolerance=... to approximate it with LinearLR segments"
            if hint and "tolerance" not in reason
            else ""
        )
        super().__init__(f"{path} ({node_type}): {reason}{tip}")


# -- sources: the core's values for a (transformed) node ---------------------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """``scale * node(j // stretch + shift)`` at a scheduler's local step ``j``: the core's
    values of the node a scheduler was planned from."""

    node: Schedule
    scale: float = 1.0
    stretch: int = 1
    shift: int = 0

    def __call__(self, t: np.ndarray) -> np.ndarray:
        steps = t // self.stretch + self.shift
        if steps.shape[0] and steps.max() > MAX_STEP:  # a shift ahead: the formula itself
            return self.scale * self.node.dense(NUMPY, steps)
        return self.scale * self.node(steps)

    def at(self, k: int) -> float:
        return float(self(np.array([k], dtype=np.int64))[0])

    @property
    def constant_from(self) -> int | None:
        inner = self.node.constant_from
        return None if inner is None else max(inner - self.shift, 0) * self.stretch


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a planned scheduler comes from: the core node (for values) and its path."""

    source: Source
    path: str
    node_type: str


# -- leaves: one OneFlow scheduler each, parameters in multiplier units --------------------------


@dataclasses.dataclass(frozen=True)
class Leaf:
    """A OneFlow scheduler with parameters in multiplier units (relative to the recipe's lr).

    ``anchored``: it starts at the optimizer's base lr, so its ``start`` fixes that base.
    ``_values()`` names the multiplier fields (scaled with the schedule).
    """

    origin: Origin
    kind: str = ""
    anchored: bool = False

    @property
    def start(self) -> float:
        raise NotImplementedError

    def top(self) -> float:
        """The largest multiplier a factor scheduler (ConstantLR, LinearLR) takes."""
        return self.start

    def _values(self) -> tuple[str, ...]:
        return ()

    def _source(self, **changes: Any) -> Origin:
        return dataclasses.replace(
            self.origin, source=dataclasses.replace(self.origin.source, **changes)
        )

    def scaled(self, f: float) -> Leaf:
        changes = {k: getattr(self, k) * f for k in self._values()}
        origin = self._source(scale=self.origin.source.scale * f)
        return dataclasses.replace(self, origin=origin, **changes)

    def stretched(self, n: int) -> Leaf | None:
        """This scheduler on a clock ``n`` times slower (``j // n``), if OneFlow has one."""
        leaf = self._stretched(n)
        if leaf is None:
            return None
        return dataclasses.replace(
            leaf, origin=self._source(stretch=self.origin.source.stretch * n)
        )

    def _stretched(self, n: int) -> Leaf | None:
        return None

    def settings(self, anchor: float) -> dict[str, Any]:
        """The constructor arguments, multipliers divided by ``anchor`` (an :class:`Abs`
        argument is absolute: multiply it by the optimizer's base lr)."""
        raise NotImplementedError


def as_factor(value: float, anchor: float) -> float:
    """``value`` as a factor of the base lr ``anchor`` (capped at 1 within rounding)."""
    return min(value / anchor, 1.0) if value <= anchor * (1 + SAME) else value / anchor


@dataclasses.dataclass(frozen=True)
class Const(Leaf):
    value: float = 0.0
    kind: str = "ConstantLR"

    @property
    def start(self) -> float:
        return self.value

    def _values(self) -> tuple[str, ...]:
        return ("value",)

    def _stretched(self, n: int) -> Leaf:
        return self

    def settings(self, anchor: float) -> dict[str, Any]:
        if self.value <= anchor * (1 + SAME):
            return {"factor": as_factor(self.value, anchor)}
        return {"milestones": [0], "gamma": self.value / anchor}  # MultiStepLR: any ratio


@dataclasses.dataclass(frozen=True)
class Anchored(Leaf):
    """A scheduler that starts at the optimizer's base lr: ``first``, in multiplier units."""

    first: float = 1.0
    anchored: bool = True

    @property
    def start(self) -> float:
        return self.first

    def _values(self) -> tuple[str, ...]:
        return ("first",)


@dataclasses.dataclass(frozen=True)
class Span(Anchored):
    """An anchored scheduler from ``first`` to ``last`` (an absolute end or a ratio)."""

    last: float = 0.0

    def _values(self) -> tuple[str, ...]:
        return ("first", "last")


@dataclasses.dataclass(frozen=True)
class Ramp(Span):
    first: float = 0.0
    steps: int = 1
    kind: str = "LinearLR"
    anchored: bool = False  # a factor scheduler: factors of the base lr

    def top(self) -> float:
        return max(self.first, self.last)

    def settings(self, anchor: float) -> dict[str, Any]:
        return {
            "start_factor": as_factor(self.first, anchor),
            "end_factor": as_factor(self.last, anchor),
            "total_iters": self.steps,
        }


@dataclasses.dataclass(frozen=True)
class CosineDecay(Span):
    steps: int = 1
    kind: str = "CosineDecayLR"

    def settings(self, anchor: float) -> dict[str, Any]:
        return {"decay_steps": self.steps, "alpha": self.last / self.first}


@dataclasses.dataclass(frozen=True)
class CosineAnnealing(Span):
    t_max: int = 1
    kind: str = "CosineAnnealingLR"

    def settings(self, anchor: float) -> dict[str, Any]:
        return {"T_max": self.t_max, "eta_min": Abs(self.last / self.first)}


@dataclasses.dataclass(frozen=True)
class Poly(Span):
    steps: int = 1
    power: float = 1.0
    cycle: bool = False
    kind: str = "PolynomialLR"

    def settings(self, anchor: float) -> dict[str, Any]:
        return {
            "decay_batch": self.steps,
            "end_learning_rate": Abs(self.last / self.first),
            "power": self.power,
            "cycle": self.cycle,
        }


@dataclasses.dataclass(frozen=True)
class Exp(Anchored):
    gamma: float = 1.0
    kind: str = "ExponentialLR"

    def _stretched(self, n: int) -> Leaf:
        return StepDecay(self.origin, first=self.first, every=n, gamma=self.gamma)

    def settings(self, anchor: float) -> dict[str, Any]:
        return {"gamma": self.gamma}


@dataclasses.dataclass(frozen=True)
class StepDecay(Anchored):
    every: int = 1
    gamma: float = 1.0
    kind: str = "StepLR"

    def _stretched(self, n: int) -> Leaf:
        return dataclasses.replace(self, every=self.every * n)

    def settings(self, anchor: float) -> dict[str, Any]:
        return {"step_size": self.every, "gamma": self.gamma}


@dataclasses.dataclass(frozen=True)
class MultiStepDecay(Anchored):
    milestones: tuple[int, ...] = ()
    gamma: float = 1.0
    kind: str = "MultiStepLR"

    def _stretched(self, n: int) -> Leaf:
        return dataclasses.replace(self, milestones=tuple(m * n for m in self.milestones))

    def settings(self, anchor: float) -> dict[str, Any]:
        return {"milestones": list(self.milestones), "gamma": self.gamma}


@dataclasses.dataclass(frozen=True)
class WarmRestarts(Span):
    period: int = 1
    t_mult: int = 1
    decay: float = 1.0
    limit: int = 0
    kind: str = "CosineAnnealingWarmRestarts"

    def settings(self, anchor: float) -> dict[str, Any]:
        return {
            "T_0": self.period,
            "T_mult": self.t_mult,
            "eta_min": Abs(self.last / self.first),
            "decay_rate": self.decay,
            "restart_limit": self.limit,
        }


@dataclasses.dataclass(frozen=True)
class Approx(Leaf):
    """A node to approximate with LinearLR segments (it has no exact equivalent)."""

    reason: str = ""
    kind: str = "approximation"
    error: NotLowerable | None = dataclasses.field(default=None, compare=False)

    @property
    def start(self) -> float:
        return self.origin.source.at(0)

    def _stretched(self, n: int) -> Leaf:
        return self  # its values come from the (stretched) source
