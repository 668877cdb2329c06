"""Lowering a schedcore schedule to OneFlow's graph-capable lr schedulers.

In ``nn.Graph`` the lr schedule is compiled into the job: only schedulers that generate a
Graph conf run there (LambdaLR does not), and a group's ``lr_scale`` is a static float. So
a schedule is *lowered*: each core node maps, by its type and parameters, to OneFlow
schedulers. The Graph kernels of OneFlow 0.9.0 compute, at update ``k`` (local step ``j``
of a scheduler, ``B`` the optimizer's base lr, rounded to float32 by the kernel):

=========================== ===============================================================
ConstantLR(f, n)            ``B * f`` for ``j < n``, then ``B``
LinearLR(a, b, n)           ``B * (a + (b - a) * j / n)`` for ``j < n`` (j, n as float32),
                            then ``B * b``; ``a, b`` in [0, 1]
CosineDecayLR(n, alpha)     ``B * ((1 - alpha) * (1 + cos(pi * min(j, n) / n)) / 2 + alpha)``
CosineAnnealingLR(T, eta)   ``eta + (B - eta) * (1 + cos(pi * j / T)) / 2`` (periodic),
                            ``eta < B`` (absolute)
PolynomialLR(n, E, p)       ``(B - E) * (1 - min(j, n) / n) ** p + E`` (E absolute); with
                            ``cycle``: ``n * ceil(j / n)`` for ``n`` and no ``min``, except
                            that ``j = 0`` counts as ``j = 1``
ExponentialLR(g)            ``B * g ** j``
StepLR(s, g)                ``B * g ** floor(j / s)``
MultiStepLR(m, g)           ``B * g ** (number of milestones <= j)``
CosineAnnealingWarmRestarts cosine cycles of ``T_0 * T_mult ** i`` steps, peak ``B * r ** i``
                            (``T_mult = 1``: integer cycle arithmetic; ``T_mult > 1``: the
                            cycle from ``floor(log(...))``), ``eta_min`` (absolute) from
                            cycle ``restart_limit`` on
SequentialLR(c, m, r)       child ``i`` from milestone ``m[i-1]`` on, seeing ``k - m[j]``,
                            ``m[j]`` the last milestone passed with ``r[j]``
                            (interval_rescaling), or ``k`` if none
=========================== ===============================================================

Every scheduler but ConstantLR and LinearLR starts at ``B``: its *anchor*. One optimizer has
one ``B``, so all anchored schedulers of a lowered schedule must start at the same value;
``B`` is a group's lr times that value (``lr_scale`` gives the others theirs), and
ConstantLR / LinearLR take factors of it.
Nothing here re-derives a formula: parameters are the core node's own (divided by the
anchor), and where a value is needed (a held end value, a per-step ratio) the core node is
evaluated.

A node without an exact equivalent raises :class:`NotLowerable`, naming the node and its
path; with a ``tolerance`` it is approximated instead by LinearLR segments (greedy longest
segments, every integer step of each verified against the core's values).
"""

from __future__ import annotations

import dataclasses
import fractions
import itertools
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from schedcore import NODE_TYPES, Schedule, from_dict
from schedcore.fields import MAX_STEP, declared
from schedcore.schedules.combinators import Sequence
from schedcore.schedules.ops import NUMPY

FLOAT32_EXACT = 2**24
"""Graph-mode LinearLR converts its step and total_iters to float32: exact up to 2**24."""
FOREVER = MAX_STEP + 1
"""``total_iters`` of a ConstantLR that lasts for every step schedcore accepts."""
MAX_SEGMENTS = 2_000
"""Most LinearLR segments one approximation may use."""
MAX_VERIFIED = 4_000_000
"""Most steps one approximation may span (every one of them is verified)."""
_SAME = 1e-12  # relative difference under which two anchors are the same value


class NotLowerable(ValueError):
    """A schedule node has no exact equivalent among OneFlow's Graph-mode schedulers.

    ``path`` is the node's path in the recipe (``schedule.phases[1].schedule``),
    ``node_type`` its type and ``reason`` why it cannot be lowered.
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
    values of the node a scheduler was lowered from."""

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
    """Where a lowered scheduler comes from: the core node (for values) and its path."""

    source: Source
    path: str
    node_type: str


# -- lowered leaves: one OneFlow scheduler each, parameters in multiplier units ------------------


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


@dataclasses.dataclass(frozen=True)
class Abs:
    """An absolute lr argument (eta_min, end_learning_rate): ``ratio * base_lr``."""

    ratio: float

    def __repr__(self) -> str:
        return f"{self.ratio:.6g}*base"


def _factor(value: float, anchor: float) -> float:
    return min(value / anchor, 1.0) if value <= anchor * (1 + _SAME) else value / anchor


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
        if self.value <= anchor * (1 + _SAME):
            return {"factor": _factor(self.value, anchor)}
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
            "start_factor": _factor(self.first, anchor),
            "end_factor": _factor(self.last, anchor),
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


# -- pieces: a schedule as consecutive schedulers on the global step -----------------------------


@dataclasses.dataclass(frozen=True)
class Piece:
    """``leaf`` runs from global step ``start`` until the next piece, seeing ``k - offset``."""

    start: int
    leaf: Leaf
    offset: int


Pieces = list[Piece]


def _merge(pieces: Pieces) -> Pieces:
    """Pieces with strictly increasing starts; equal neighbouring constants joined."""
    out: Pieces = []
    for p in pieces:
        if out and p.start <= out[-1].start:
            out.pop()  # an empty piece: the next one starts at the same step
        if (
            out
            and isinstance(p.leaf, Const)
            and isinstance(out[-1].leaf, Const)
            and p.leaf.value == out[-1].leaf.value
        ):
            continue
        out.append(p)
    return out


def _clip(pieces: Pieces, begin: int, end: int | None) -> Pieces:
    """The pieces active on ``[begin, end)``, the first starting at ``begin``."""
    out: Pieces = []
    for i, p in enumerate(pieces):
        stop = pieces[i + 1].start if i + 1 < len(pieces) else None
        if stop is not None and stop <= begin:
            continue
        if end is not None and p.start >= end:
            break
        out.append(dataclasses.replace(p, start=max(p.start, begin)))
    return out


def _moved(pieces: Pieces, by: int) -> Pieces:
    return [Piece(p.start + by, p.leaf, p.offset + by) for p in pieces]


def _single_const(pieces: Pieces) -> float | None:
    pieces = _merge(pieces)
    if len(pieces) == 1 and isinstance(pieces[0].leaf, Const):
        return pieces[0].leaf.value
    return None


# -- the lowering of each node type ------------------------------------------------------------


@dataclasses.dataclass
class _Context:
    tolerance: float | None
    log: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def note(self, path: str, node: Schedule | str, text: str) -> None:
        self.log.append((path, node if isinstance(node, str) else node.type_name, text))


Lower = Callable[[Schedule, str, _Context], Pieces]
APPROXIMATED = "approximated with LinearLR segments: "
_LOWER: dict[str, Lower] = {}

NOT_LOWERABLE: dict[str, str] = {
    "one_minus_sqrt": "OneFlow has no 1-sqrt scheduler",
    "inverse_sqrt": "OneFlow has no inverse-square-root scheduler",
    "inverse_time": "OneFlow has no inverse-time scheduler with a Graph conf",
    "noam": "OneFlow has no Noam (inverse-square-root with warmup) scheduler",
    "cyclic": "OneFlow has no cyclical (triangular) scheduler",
    "onecycle": (
        "OneFlow has no one-cycle scheduler (its phases end between steps and each anneals "
        "from a different start)"
    ),
    "repeat": "OneFlow's Graph schedulers cannot repeat a stretch of steps",
}
"""Node types with no exact OneFlow equivalent, and why."""


def lowers(type_name: str) -> Callable[[Lower], Lower]:
    def register(fn: Lower) -> Lower:
        _LOWER[type_name] = fn
        return fn

    return register


def _origin(node: Schedule, path: str, shift: int = 0) -> Origin:
    return Origin(Source(node, shift=shift), path, node.type_name)


def _one(leaf: Leaf) -> Pieces:
    return [Piece(0, leaf, 0)]


def _fail(node: Schedule, path: str, reason: str) -> NotLowerable:
    return NotLowerable(path, node.type_name, reason)


def _const(node: Schedule, path: str, value: float, shift: int = 0) -> Const:
    return Const(_origin(node, path, shift), value=value)


def _periodic(node: Schedule, path: str) -> None:
    if getattr(node, "after", "hold") == "periodic":
        raise _fail(
            node,
            path,
            "repeats past its end (after = 'periodic'); its OneFlow scheduler holds there",
        )


def _ramp(node: Schedule, path: str, first: float, last: float, steps: int, shift: int = 0) -> Leaf:
    if first == last:
        return _const(node, path, first, shift)
    if steps > FLOAT32_EXACT:
        raise _fail(
            node,
            path,
            f"ramps over {steps} steps; Graph-mode LinearLR converts steps to "
            "float32, exact up to 2**24 steps",
        )
    return Ramp(_origin(node, path, shift), first=first, last=last, steps=steps)


@lowers("constant")
def _constant(node, path, ctx):
    ctx.note(path, node, f"ConstantLR at {node.value:g}")
    return _one(_const(node, path, node.value))


@lowers("linear")
def _linear(node, path, ctx):
    _periodic(node, path)
    ctx.note(path, node, f"LinearLR {node.start:g} -> {node.end:g} over {node.steps} steps")
    # LinearLR holds its end value: the core's (start + (end - start) * 1 may round off end)
    return _one(_ramp(node, path, node.start, node(node.steps), node.steps))


@lowers("cosine")
def _cosine(node, path, ctx):
    if node.exponent != 1.0:
        raise _fail(node, path, f"exponent {node.exponent:g}: OneFlow's cosines have none")
    if node.start == node.end:
        ctx.note(path, node, f"ConstantLR at {node.start:g}")
        return _one(_const(node, path, node.start))
    if node.restarts:
        return _cosine_restarts(node, path, ctx)
    origin = _origin(node, path)
    if node.after != "periodic" and node.cycles == 0.5:
        if node.start == 0:
            raise _fail(
                node,
                path,
                "rises from 0; OneFlow's cosine schedulers start at the "
                "optimizer's base lr, which cannot be 0",
            )
        ctx.note(path, node, f"CosineDecayLR over {node.steps} steps (alpha = end / start)")
        return _one(CosineDecay(origin, first=node.start, last=node.end, steps=node.steps))
    half = fractions.Fraction(node.steps) / (2 * fractions.Fraction(node.cycles))
    if half.denominator != 1:
        raise _fail(
            node,
            path,
            f"{node.cycles:g} cycles over {node.steps} steps give a half-period of "
            f"{float(half):g} steps; CosineAnnealingLR needs a whole number",
        )
    if node.start < node.end:
        raise _fail(
            node, path, "rises (start < end); CosineAnnealingLR needs eta_min below the base lr"
        )
    annealing = CosineAnnealing(origin, first=node.start, last=node.end, t_max=int(half))
    if node.after == "periodic":
        ctx.note(path, node, f"CosineAnnealingLR with T_max = {int(half)} (periodic)")
        return _one(annealing)
    held = node(node.steps)
    ctx.note(
        path,
        node,
        f"CosineAnnealingLR with T_max = {int(half)}, then ConstantLR at "
        f"{held:g} from step {node.steps}",
    )
    tail = _const(node, path, held, node.steps)
    return [Piece(0, annealing, 0), Piece(node.steps, tail, node.steps)]


def _cosine_restarts(node: Schedule, path: str, ctx: _Context) -> Pieces:
    """Hard restarts: ``2 * cycles`` descents of ``steps / (2 * cycles)`` steps each, as
    CosineAnnealingWarmRestarts with ``T_mult = 1`` (its cycles by integer division), where
    the descents are whole steps long and the core restarts exactly at their ends."""
    length = fractions.Fraction(node.steps) / (2 * fractions.Fraction(node.cycles))
    if length.denominator != 1:
        raise _fail(
            node,
            path,
            f"restarts every {float(length):g} steps ({node.cycles:g} cycles over "
            f"{node.steps} steps); CosineAnnealingWarmRestarts restarts every whole T_0 steps",
        )
    period = int(length)
    descents = -(-node.steps // period)  # the last one may end part-way, at `steps`
    whole = descents * period == node.steps
    if node.after == "periodic" and not whole:
        raise _fail(
            node,
            path,
            f"repeats every {node.steps} steps, part-way through a descent of {period} "
            "steps (after = 'periodic'); CosineAnnealingWarmRestarts repeats whole descents",
        )
    if node.start == 0:
        raise _fail(
            node,
            path,
            "restarts at 0; CosineAnnealingWarmRestarts starts at the optimizer's base lr, "
            "which cannot be 0",
        )
    if descents - 1 > MAX_VERIFIED:
        raise _fail(
            node,
            path,
            f"{descents - 1} restarts, beyond the {MAX_VERIFIED} this adapter verifies",
        )
    # transformers' order of operations, (2 * cycles) * (k / steps) mod 1, can land a hair
    # below a whole number at a restart: the core then ends the descent there instead
    restarts = np.arange(1, descents, dtype=np.int64) * period
    late = np.flatnonzero(node(restarts) != node(0))
    if late.shape[0]:
        raise _fail(
            node,
            path,
            f"step {int(restarts[late[0]])} ends a descent instead of restarting "
            "((2 * cycles) * (k / steps) rounds below a whole number there); "
            "CosineAnnealingWarmRestarts restarts there",
        )
    limit = 0 if node.after == "periodic" else descents  # 'periodic' is whole descents
    ctx.note(
        path,
        node,
        f"CosineAnnealingWarmRestarts(T_0={period}, T_mult=1, restart_limit={limit})"
        + ("" if whole else f", then ConstantLR at {node.end:g} from step {node.steps}"),
    )
    leaf = WarmRestarts(
        _origin(node, path), first=node.start, last=node.end, period=period, limit=limit
    )
    if whole:
        return _one(leaf)
    tail = _const(node, path, node(node.steps), node.steps)
    return [Piece(0, leaf, 0), Piece(node.steps, tail, node.steps)]


@lowers("polynomial")
def _polynomial(node, path, ctx):
    _periodic(node, path)
    if node.start == node.end or node.power == 0:
        ctx.note(path, node, f"ConstantLR at {node.start:g}")
        return _one(_const(node, path, node.start))
    if node.start == 0:
        raise _fail(
            node,
            path,
            "rises from 0; PolynomialLR starts at the optimizer's base lr, which cannot be 0",
        )
    stretch = node.after == "stretch"
    leaf = Poly(
        _origin(node, path),
        first=node.start,
        last=node.end,
        steps=node.steps,
        power=node.power,
        cycle=stretch,
    )
    if not stretch:
        ctx.note(path, node, f"PolynomialLR over {node.steps} steps, power {node.power:g}")
        return _one(leaf)
    # OneFlow's cycle=True is Keras' stretching decay, but for step 0, which it takes as 1
    ctx.note(
        path,
        node,
        f"ConstantLR at {node.start:g} for step 0, then PolynomialLR over {node.steps} "
        f"steps, power {node.power:g}, cycle=True (on the global step)",
    )
    return [Piece(0, _const(node, path, node.start), 0), Piece(1, leaf, 0)]


@lowers("geometric")
def _geometric(node, path, ctx):
    _periodic(node, path)
    if node.start == node.end:
        ctx.note(path, node, f"ConstantLR at {node.start:g}")
        return _one(_const(node, path, node.start))
    gamma = node(1) / node(0)  # the per-step ratio, from the core
    ctx.note(
        path,
        node,
        f"ExponentialLR(gamma={gamma:.10g}) for {node.steps} steps, then "
        f"ConstantLR at {node.end:g}",
    )
    leaf = Exp(_origin(node, path), first=node.start, gamma=gamma)
    tail = _const(node, path, node(node.steps), node.steps)
    return [Piece(0, leaf, 0), Piece(node.steps, tail, node.steps)]


@lowers("exponential")
def _exponential(node, path, ctx):
    origin = _origin(node, path)
    if node.start == 0 or node.rate == 1:
        ctx.note(path, node, f"ConstantLR at {node.start:g}")
        return _one(_const(node, path, node.start))
    if node.staircase:
        ctx.note(path, node, f"StepLR(step_size={node.every}, gamma={node.rate:g})")
        return _one(StepDecay(origin, first=node.start, every=node.every, gamma=node.rate))
    gamma = node.rate if node.every == 1 else node(1) / node(0)
    ctx.note(path, node, f"ExponentialLR(gamma={gamma:.10g})")
    return _one(Exp(origin, first=node.start, gamma=gamma))


@lowers("step")
def _step(node, path, ctx):
    if node.gamma == 1:
        ctx.note(path, node, "ConstantLR at 1")
        return _one(_const(node, path, 1.0))
    ctx.note(path, node, f"StepLR(step_size={node.every}, gamma={node.gamma:g})")
    return _one(StepDecay(_origin(node, path), first=1.0, every=node.every, gamma=node.gamma))


@lowers("multistep")
def _multistep(node, path, ctx):
    ms = node.milestones
    if all(a < b for a, b in itertools.pairwise(ms)):
        ctx.note(path, node, f"MultiStepLR(milestones={list(ms)}, gamma={node.gamma:g})")
        leaf = MultiStepDecay(_origin(node, path), first=1.0, milestones=ms, gamma=node.gamma)
        return _one(leaf)
    # repeated milestones (MultiStepLR needs increasing ones): a constant per stretch
    points = sorted({0, *ms})
    ctx.note(path, node, f"ConstantLR pieces at steps {points} (repeated milestones)")
    return _merge([Piece(p, _const(node, path, node(p), p), p) for p in points])


@lowers("piecewise_constant")
def _piecewise_constant(node, path, ctx):
    shift = 1 if node.change == "after" else 0
    starts = [0, *(b + shift for b in node.boundaries)]
    ctx.note(path, node, f"ConstantLR pieces from steps {starts}")
    pieces = [
        Piece(s, _const(node, path, v, s), s) for s, v in zip(starts, node.values, strict=True)
    ]
    return _merge(pieces)


@lowers("piecewise_interpolate")
def _piecewise_interpolate(node, path, ctx):
    _periodic(node, path)
    xs, vs = node.steps, node.values
    pieces = [Piece(0, _const(node, path, vs[0]), 0)]
    for i in range(len(xs) - 1):
        a, b, span = vs[i], vs[i + 1], xs[i + 1] - xs[i]
        if node.interpolation == "linear" or a == b:
            leaf = _ramp(node, path, a, b, span, xs[i])
        elif a == 0:
            raise _fail(
                node,
                path,
                f"its cosine from point {i} rises from 0; CosineDecayLR "
                "starts at the optimizer's base lr, which cannot be 0",
            )
        else:
            leaf = CosineDecay(_origin(node, path, xs[i]), first=a, last=b, steps=span)
        pieces.append(Piece(xs[i], leaf, xs[i]))
    # the held value is the core's (its last segment at p = 1 may round off the last value)
    pieces.append(Piece(xs[-1], _const(node, path, node(xs[-1]), xs[-1]), xs[-1]))
    kind = "LinearLR" if node.interpolation == "linear" else "CosineDecayLR"
    ctx.note(path, node, f"{kind} pieces between steps {list(xs)}")
    return _merge(pieces)


def _restarts(node: Schedule) -> list[int]:
    """The first step of every cycle after the first, up to 2**53 (or ``cycle_limit``)."""
    last = node.cycle_limit if node.cycle_limit is not None else math.inf
    out, begin, length = [], 0, node.period
    while begin + length <= MAX_STEP and len(out) < last:
        begin, length = begin + length, length * int(node.t_mul)
        out.append(begin)
    return out


def _same_as_exact_cycles(node: Schedule, path: str) -> None:
    """``cycle_index = 'log'`` follows timm's and OneFlow's eager rounding (float division),
    which OneFlow's Graph kernel (integer division) does not share: lower it only where it
    gives the same values as exact restarts, around every restart."""
    exact = dataclasses.replace(node, cycle_index="exact")
    for restart in _restarts(node):
        steps = np.arange(max(restart - 3, 0), restart + 4, dtype=np.int64)
        steps = steps[steps <= MAX_STEP]
        differ = np.flatnonzero(node(steps) != exact(steps))
        if differ.shape[0]:
            raise _fail(
                node,
                path,
                f"cycle_index = 'log' rounds step {int(steps[differ[0]])} into another cycle "
                f"than the restart at {restart}; OneFlow's Graph kernel rounds differently",
            )


def _warm_restart_epoch(step: int, period: int, t_mult: int) -> int:
    """The cycle OneFlow's CosineAnnealingWarmRestarts kernel (0.9.0) finds for ``step``:
    ``floor(log(1 - step / T_0 * (1 - T_mult)) / log(T_mult))`` with C++ integer division."""
    return math.floor(math.log(1 - step // period * (1 - t_mult)) / math.log(t_mult))


@lowers("sgdr")
def _sgdr(node, path, ctx):
    if node.k_decay != 1.0:
        raise _fail(node, path, f"k_decay {node.k_decay:g}: OneFlow's restarts have none")
    if not node.t_mul.is_integer():
        raise _fail(
            node, path, f"t_mul {node.t_mul:g}: CosineAnnealingWarmRestarts needs an integer T_mult"
        )
    if node.m_mul_applies_to == "range" and node.m_mul != 1 and node.end != 0:
        raise _fail(
            node,
            path,
            "m_mul shrinks the range above `end`; OneFlow's decay_rate "
            "scales the peak (m_mul_applies_to = 'peak')",
        )
    if node.start == 0:
        raise _fail(
            node,
            path,
            "starts at 0; CosineAnnealingWarmRestarts starts at the "
            "optimizer's base lr, which cannot be 0",
        )
    t_mult = int(node.t_mul)
    if (MAX_STEP // node.period) * (t_mult - 1) + 1 > 2**63 - 1:
        raise _fail(
            node,
            path,
            f"t_mul {node.t_mul:g} over a period of {node.period}: CosineAnnealingWarmRestarts "
            "finds cycles with (step / T_0) * (T_mult - 1) in int64, which overflows "
            "before step 2**53",
        )
    if node.cycle_index == "log" and t_mult > 1:
        _same_as_exact_cycles(node, path)
    if t_mult > 1:
        # the kernel finds cycles with floor(log(...)), exact only where that rounds right; it
        # is monotone in the step, so checking both sides of every restart checks every step
        # (past cycle_limit only "at or past the limit" matters)
        for cycle, begin in enumerate(_restarts(node), start=1):
            for step, expected in ((begin - 1, cycle - 1), (begin, cycle)):
                found = _warm_restart_epoch(step, node.period, t_mult)
                if found != expected:
                    raise _fail(
                        node,
                        path,
                        f"CosineAnnealingWarmRestarts puts step {step} in cycle "
                        f"{found}, not {expected} (it finds cycles with floor(log(...)), which "
                        "rounds)",
                    )
    limit = node.cycle_limit or 0
    ctx.note(
        path,
        node,
        f"CosineAnnealingWarmRestarts(T_0={node.period}, T_mult={t_mult}, "
        f"decay_rate={node.m_mul:g}, restart_limit={limit})",
    )
    leaf = WarmRestarts(
        _origin(node, path),
        first=node.start,
        last=node.end,
        period=node.period,
        t_mult=t_mult,
        decay=node.m_mul,
        limit=limit,
    )
    return _one(leaf)


@lowers("sequence")
def _sequence(node, path, ctx, child_path: Callable[[int, Schedule], str] | None = None):
    starts = node.starts
    pieces: Pieces = []
    for i, phase in enumerate(node.phases):
        where = child_path(i, phase.schedule) if child_path else f"{path}.phases[{i}].schedule"
        inner = _lower(phase.schedule, where, ctx)
        end = starts[i + 1] if i + 1 < len(node.phases) else None
        if phase.clock == "local":
            inner = _moved(inner, starts[i])
        pieces.extend(_clip(inner, starts[i], end))
    ctx.note(path, node, f"SequentialLR with milestones {starts[1 : len(node.phases)]}")
    return _merge(pieces)


@lowers("scale")
def _scale(node, path, ctx):
    inner = _lower(node.schedule, f"{path}.schedule", ctx)
    ctx.note(path, node, f"its schedule's schedulers with every value times {node.factor:g}")
    if node.factor == 0:
        return _one(_const(node, path, 0.0))
    return [dataclasses.replace(p, leaf=p.leaf.scaled(node.factor)) for p in inner]


@lowers("product")
def _product(node, path, ctx):
    lowered = [_lower(s, f"{path}.schedules[{i}]", ctx) for i, s in enumerate(node.schedules)]
    constants = [_single_const(p) for p in lowered]
    varying = [p for p, c in zip(lowered, constants, strict=True) if c is None]
    if len(varying) > 1:
        raise _fail(
            node,
            path,
            f"multiplies {len(varying)} varying schedules; OneFlow's Graph "
            "has no product of schedulers (ChainedScheduler is eager-only)",
        )
    factor = math.prod(c for c in constants if c is not None)
    ctx.note(path, node, f"its varying factor's schedulers times {factor:g}")
    if not varying or factor == 0:
        return _one(_const(node, path, factor if not varying else 0.0))
    return [dataclasses.replace(p, leaf=p.leaf.scaled(factor)) for p in varying[0]]


@lowers("clamp")
def _clamp(node, path, ctx):
    inner = _lower(node.schedule, f"{path}.schedule", ctx)
    low, high = node.min, node.max
    if all(isinstance(p.leaf, Const) for p in inner):
        ctx.note(path, node, "ConstantLR pieces, clamped")
        out = []
        for p in inner:
            value = p.leaf.value if low is None else max(p.leaf.value, low)
            value = value if high is None else min(value, high)
            out.append(dataclasses.replace(p, leaf=_const(node, path, value)))
        return _merge(out)
    if (high is None or high >= node.schedule.peak()) and (low is None or low == 0):
        ctx.note(path, node, "its schedule's schedulers (the bounds never bind)")
        return inner  # values are >= 0 and <= peak: the clamp never acts
    raise _fail(node, path, "clamps a varying schedule; OneFlow has no clamping scheduler")


@lowers("shift")
def _shift(node, path, ctx):
    inner = _lower(node.schedule, f"{path}.schedule", ctx)
    if node.offset == 0:
        ctx.note(path, node, "its schedule's schedulers (offset 0)")
        return inner
    if node.offset < 0:
        delay = -node.offset
        ctx.note(path, node, f"ConstantLR at schedule(0) for {delay} steps, then its schedule")
        head = Piece(0, _const(node, path, node.schedule(0)), 0)
        return _merge([head, *_moved(inner, delay)])
    ahead = node.offset
    out = []
    for i, p in enumerate(inner):
        stop = inner[i + 1].start if i + 1 < len(inner) else None
        if stop is not None and stop <= ahead:
            continue
        start, offset = max(p.start - ahead, 0), p.offset - ahead
        if offset < 0 and isinstance(p.leaf, Const):
            offset = start
        elif offset < 0 and not isinstance(p.leaf, Approx):
            raise _fail(
                node,
                path,
                f"looks {ahead} steps ahead into {p.leaf.origin.path} "
                f"({p.leaf.kind}), which OneFlow cannot start part-way",
            )
        out.append(Piece(start, p.leaf, offset))
    ctx.note(path, node, f"its schedule's schedulers, {ahead} steps earlier")
    return _merge(out)


@lowers("per_epoch")
def _per_epoch(node, path, ctx):
    inner = _lower(node.schedule, f"{path}.schedule", ctx)
    n = node.steps_per_epoch
    out = []
    for p in inner:
        leaf = p.leaf.stretched(n)
        if leaf is None:
            raise _fail(
                node,
                path,
                f"a per-epoch staircase of {p.leaf.origin.path} "
                f"({p.leaf.kind}); only step-shaped OneFlow schedulers (StepLR, "
                "MultiStepLR, ExponentialLR as StepLR, constants) stretch to epochs",
            )
        out.append(Piece(p.start * n, leaf, p.offset * n))
    ctx.note(path, node, f"its schedule's schedulers on a clock {n} times slower")
    return out


def _derived(node: Schedule, path: str, ctx: _Context) -> Pieces:
    """A derived node (warmup, wsd): its expansion, with paths in the recipe's terms."""
    own = {
        id(getattr(node, f.name)): f"{path}.{f.name}"
        for f in declared(node)
        if isinstance(getattr(node, f.name), Schedule)
    }
    expansion = node.expansion
    ctx.note(path, node, f"its expansion ({_describe(expansion)})")
    if not isinstance(expansion, Sequence):  # pragma: no cover - every derived node expands so
        return _lower(expansion, f"{path} (expanded)", ctx)

    def child_path(i: int, child: Schedule) -> str:
        return own.get(id(child), f"{path} (expanded: phases[{i}].schedule)")

    return _sequence(expansion, f"{path} (expanded)", ctx, child_path)


def _describe(node: Schedule) -> str:
    if isinstance(node, Sequence):
        return "a sequence of " + ", ".join(p.schedule.type_name for p in node.phases)
    return node.type_name


def _lower(node: Schedule, path: str, ctx: _Context) -> Pieces:
    if node.constant_from == 0:  # constant, whatever its type (a scale by 0, a repeated constant)
        value = node(0)
        ctx.note(path, node, f"ConstantLR at {value:g} (the same value at every step)")
        return _one(_const(node, path, value))
    try:
        if node.type_name in NOT_LOWERABLE:
            raise _fail(node, path, NOT_LOWERABLE[node.type_name])
        if node.is_derived:
            return _derived(node, path, ctx)
        if node.type_name not in _LOWER:  # a node type added to the core since
            raise _fail(node, path, "schedcore_oneflow has no lowering for this node type")
        return _LOWER[node.type_name](node, path, ctx)
    except NotLowerable as err:
        if err.path != path:
            raise
        # approximated with a tolerance; without one, raised once the node is known to be
        # used (a phase or a shift ahead can cut it away: see lower)
        inside = (path + ".", path + " (")
        ctx.log[:] = [e for e in ctx.log if not e[0].startswith(inside)]
        ctx.note(path, node, APPROXIMATED + err.reason)
        return _one(Approx(_origin(node, path), reason=err.reason, error=err))


LOWERABLE = frozenset(_LOWER) | {
    name for name, cls in NODE_TYPES.items() if cls.expand is not Schedule.expand
}
"""Node types with exact OneFlow lowerings (for some or all of their parameters; derived
types through their expansion)."""


# -- resolving the base lr, approximating, and the final plan -------------------------------------


@dataclasses.dataclass(frozen=True)
class Approximation:
    """One approximated stretch: the node, why, how many segments, the largest error."""

    path: str
    node_type: str
    reason: str
    first: int
    last: int | None
    segments: int
    max_error: float


@dataclasses.dataclass(frozen=True)
class Scheduler:
    """One scheduler of the plan: active from ``start``, seeing ``k - offset``."""

    start: int
    offset: int
    kind: str
    settings: dict[str, Any]
    path: str

    def key(self) -> tuple[Any, ...]:
        return (self.start, self.offset, self.kind, _rounded(self.settings))

    def describe(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.settings.items())
        return f"{self.kind}({args})"


def _rounded(settings: dict[str, Any]) -> tuple[Any, ...]:
    out = []
    for k, v in settings.items():
        if isinstance(v, Abs):
            v = ("abs", float(f"{v.ratio:.12g}"))
        elif isinstance(v, float):
            v = float(f"{v:.12g}")
        elif isinstance(v, list):
            v = tuple(v)
        out.append((k, v))
    return tuple(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.10g}"
    if v == FOREVER:
        return "2**53+1"
    return repr(v)


@dataclasses.dataclass(frozen=True)
class Lowering:
    """A schedule lowered to OneFlow schedulers.

    ``schedulers``: consecutive schedulers (one SequentialLR when there are several).
    ``anchor``: the optimizer's base lr in multiples of the recipe's lr (the value every
    anchored scheduler starts at). ``approximations`` and ``max_error`` (the largest relative
    error over every step, 0 when exact) report what a tolerance approximated.
    """

    schedulers: tuple[Scheduler, ...]
    anchor: float
    approximations: tuple[Approximation, ...]
    log: tuple[tuple[str, str, str], ...]
    tolerance: float | None = None

    @property
    def exact(self) -> bool:
        return not self.approximations

    @property
    def max_error(self) -> float:
        return max((a.max_error for a in self.approximations), default=0.0)

    def key(self) -> tuple[Any, ...]:
        """Equal keys: the same shape (the same schedulers up to the base lr)."""
        return tuple(s.key() for s in self.schedulers)

    def clocks(self) -> list[tuple[bool, int]]:
        """How SequentialLR gives each scheduler its step ``k - offset``: per scheduler,
        ``(rescale, nested)``: ``interval_rescaling`` at its milestone (none for the first),
        and the milestone of a nested SequentialLR that subtracts the rest (0: none).

        OneFlow's Graph SequentialLR passes ``k - m`` on, ``m`` the last milestone passed
        whose ``interval_rescaling`` is true (0 if none): so a scheduler rescales (sees
        ``k - start``) only where no later one looks back before its start; the others
        see the clock of the last one that did and subtract the rest of their offset.
        """
        parts = self.schedulers
        later = [FOREVER] * len(parts)  # the earliest offset of the schedulers after each
        for i in range(len(parts) - 2, -1, -1):
            later[i] = min(later[i + 1], parts[i + 1].offset)
        out, clock = [], 0
        for i, s in enumerate(parts):
            rescale = i > 0 and s.offset == s.start and later[i] >= s.start
            clock = s.start if rescale else clock
            assert s.offset >= clock, (s, clock)
            out.append((rescale, s.offset - clock))
        return out

    def explain(self) -> str:
        lines = []
        width = max([len(p) for p, _, _ in self.log] + [4])
        for path, node_type, text in self.log:
            lines.append(f"  {path.ljust(width)}  {node_type:<21}  {text}")
        lines.append(f"  base lr: {self.anchor:g} x the lr (where the anchored schedulers start)")
        if len(self.schedulers) == 1:
            lines.append(f"  OneFlow: {self.schedulers[0].describe()}")
        else:
            s = self.schedulers
            milestones = [x.start for x in s[1:]]
            rescaling = [rescale for rescale, _ in self.clocks()[1:]]
            lines.append(
                f"  OneFlow: SequentialLR(milestones={milestones}, interval_rescaling={rescaling})"
            )
            for i, x in enumerate(s):
                stop = str(s[i + 1].start) if i + 1 < len(s) else "inf"
                clock = "" if x.offset in (0, x.start) else f"  (sees k - {x.offset})"
                lines.append(f"    [{x.start}, {stop})  {x.describe()}{clock}")
        for a in self.approximations:
            last = "inf" if a.last is None else str(a.last)
            lines.append(
                f"  approximated {a.path} ({a.node_type}) on [{a.first}, {last}) with "
                f"{a.segments} LinearLR segment(s), max relative error {a.max_error:.3g} "
                f"(tolerance {self.tolerance:g}): {a.reason}"
            )
        return "\n".join(lines)


def _holding(schedule: Schedule) -> Schedule:
    """The schedule with ``after = 'error'`` read as ``'hold'`` (a compiled graph cannot
    raise; the core's ops say such backends hold)."""

    def swap(data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: ("hold" if k == "after" and v == "error" else swap(v)) for k, v in data.items()
            }
        if isinstance(data, list):
            return [swap(v) for v in data]
        return data

    data = schedule.to_dict()
    swapped = swap(data)
    return schedule if swapped == data else from_dict(swapped)


def lower(schedule: Schedule, tolerance: float | None = None, path: str = "schedule") -> Lowering:
    """Lower ``schedule`` to OneFlow's Graph-mode schedulers.

    Raises :class:`NotLowerable` (naming the node and its ``path``) for a node without an
    exact equivalent, unless ``tolerance`` (a relative error, e.g. ``1e-3``) is given: then
    such nodes are approximated by LinearLR segments whose error, checked at every step,
    is at most ``tolerance``.
    """
    if tolerance is not None and not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise ValueError(f"tolerance must be a relative error in (0, 1), got {tolerance!r}")
    ctx = _Context(tolerance)
    schedule = _holding(schedule)
    pieces = _merge(_lower(schedule, path, ctx))
    unlowered = [p.leaf for p in pieces if isinstance(p.leaf, Approx)]
    if tolerance is None and unlowered:
        raise unlowered[0].error  # type: ignore[misc]
    used = {leaf.origin.path for leaf in unlowered}
    for i, (where, node_type, text) in enumerate(ctx.log):
        if text.startswith(APPROXIMATED) and where not in used:
            reason = text[len(APPROXIMATED) :]
            ctx.log[i] = (where, node_type, f"not lowered, never used (cut away): {reason}")
    pieces, anchor, approximations = _resolve(pieces, ctx)
    schedulers = tuple(_scheduler(p, pieces, i, anchor) for i, p in enumerate(pieces))
    return Lowering(schedulers, anchor, tuple(approximations), tuple(ctx.log), tolerance)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _SAME * max(abs(a), abs(b))


def _resolve(pieces: Pieces, ctx: _Context) -> tuple[Pieces, float, list[Approximation]]:
    """Fix the base lr (anchor), turn conflicting schedulers into approximations where a
    tolerance allows, and approximate."""
    ends = [p.start for p in pieces[1:]] + [None]
    anchored = [i for i, p in enumerate(pieces) if p.leaf.anchored]
    anchor: float | None = None
    if anchored:
        # an unbounded scheduler that never settles cannot be approximated: it decides
        fixed = [
            i
            for i in anchored
            if ends[i] is None and pieces[i].leaf.origin.source.constant_from is None
        ]
        # else the largest start: the others, approximated, must stay below it
        decider = fixed[0] if fixed else max(anchored, key=lambda i: pieces[i].leaf.start)
        anchor = pieces[decider].leaf.start
        if not anchor >= sys.float_info.min:  # 0, or a subnormal whose ratios overflow
            leaf = pieces[decider].leaf
            raise NotLowerable(
                leaf.origin.path,
                leaf.origin.node_type,
                f"its {leaf.kind} would start at {anchor:g} x the lr (scale factors that "
                "underflow float64); OneFlow's schedulers scale the optimizer's base lr, "
                "which must be a positive normal number",
                hint=False,
            )
        for i in anchored:
            leaf = pieces[i].leaf
            if _same(leaf.start, anchor):
                continue
            if ctx.tolerance is None or i in fixed:
                other = pieces[decider].leaf
                raise NotLowerable(
                    leaf.origin.path,
                    leaf.origin.node_type,
                    f"its {leaf.kind} would start at {leaf.start:g} x the lr, but OneFlow's "
                    f"{leaf.kind} starts at the optimizer's base lr, which "
                    f"{other.origin.path} ({other.kind}) fixes at {anchor:g} x the lr; one "
                    "optimizer has one base lr",
                    hint=i not in fixed,
                )
            reason = f"its {leaf.kind} would start at {leaf.start:g}, not at the base lr {anchor:g}"
            ctx.note(leaf.origin.path, leaf.origin.node_type, APPROXIMATED + reason)
            pieces[i] = dataclasses.replace(pieces[i], leaf=Approx(leaf.origin, reason=reason))
    out: Pieces = []
    approximations = []
    for i, p in enumerate(pieces):
        if isinstance(p.leaf, Approx):
            segments, record = _approximate(p, ends[i], ctx.tolerance, anchor)
            out.extend(segments)
            approximations.append(record)
        else:
            out.append(p)
    out = _merge(out)
    if anchor is None:
        top = max((p.leaf.top() for p in out), default=0.0)
        anchor = top if top > 0 else 1.0
    for p in out:
        leaf = p.leaf
        if isinstance(leaf, Ramp) and leaf.top() > anchor * (1 + _SAME):
            raise NotLowerable(
                leaf.origin.path,
                leaf.origin.node_type,
                f"its LinearLR reaches {leaf.top():g} x the lr, above the optimizer's base lr "
                f"({anchor:g} x the lr, where the anchored schedulers start); LinearLR factors "
                "must be in [0, 1]",
                hint=False,
            )
    return out, anchor, approximations


def _approximate(
    piece: Piece, end: int | None, tolerance: float | None, anchor: float | None
) -> tuple[Pieces, Approximation]:
    """LinearLR segments (local clocks) for ``piece`` on ``[piece.start, end)``."""
    assert tolerance is not None
    leaf = piece.leaf
    origin = leaf.origin
    source = origin.source
    reason = getattr(leaf, "reason", "")
    lo = piece.start - piece.offset  # first local step
    if end is None:
        settled = source.constant_from
        if settled is None:
            raise NotLowerable(
                origin.path,
                origin.node_type,
                f"{reason}; and it never becomes constant, so no finite number of "
                "LinearLR segments can follow it, whatever the tolerance",
                hint=False,
            )
        hi = max(settled, lo)
    else:
        hi = end - piece.offset
    if hi - lo > MAX_VERIFIED:
        raise NotLowerable(
            origin.path,
            origin.node_type,
            f"{reason}; approximating it spans {hi - lo} steps, beyond the "
            f"{MAX_VERIFIED} this adapter verifies step by step",
            hint=False,
        )
    values = source(np.arange(lo, hi + 1, dtype=np.int64))
    if anchor is not None and values.max() > anchor * (1 + _SAME):
        raise NotLowerable(
            origin.path,
            origin.node_type,
            f"{reason}; it reaches {values.max():g} x the lr, above the optimizer's base "
            f"lr ({anchor:g} x the lr), and LinearLR factors must be in [0, 1]",
            hint=False,
        )
    cuts, worst = greedy_segments(values, tolerance, most=MAX_SEGMENTS)
    if len(cuts) - 1 > MAX_SEGMENTS:
        raise NotLowerable(
            origin.path,
            origin.node_type,
            f"{reason}; approximating it to tolerance {tolerance:g} needs more than "
            f"{MAX_SEGMENTS} LinearLR segments; raise the tolerance",
            hint=False,
        )
    out = []
    for a, b in itertools.pairwise(cuts):
        first, last = float(values[a]), float(values[b])
        step = piece.offset + lo + a
        if first == last:
            seg: Leaf = Const(origin, value=first)
        else:
            seg = Ramp(origin, first=first, last=last, steps=b - a)
        out.append(Piece(step, seg, step))
    if end is None:
        step = piece.offset + hi
        out.append(Piece(step, Const(origin, value=float(values[-1])), step))
    record = Approximation(
        origin.path, origin.node_type, reason, piece.start, end, len(cuts) - 1, worst
    )
    return out, record


def greedy_segments(
    values: np.ndarray,
    tolerance: float,
    longest: int = FLOAT32_EXACT,
    most: int | None = None,
) -> tuple[list[int], float]:
    """Cut points ``c`` of straight segments through ``values[c[i]] -> values[c[i+1]]``
    covering indices ``[0, len(values) - 1)``, each as long as possible (galloping, then
    bisection) with relative error at most ``tolerance`` at every index it covers, and
    the largest such error.

    ``values[-1]`` is only an end point. For values convex or concave on each segment the
    error grows with the segment, so the greedy cuts are as few as possible. With ``most``,
    it stops once more than ``most`` segments are needed.
    """
    n = len(values) - 1
    cuts, worst, s = [0], 0.0, 0

    def error(s: int, e: int) -> float:
        j = np.arange(e - s, dtype=np.float64)
        exact = values[s:e]
        approx = values[s] + (values[e] - values[s]) * (j / (e - s))
        miss = np.abs(approx - exact)
        if np.any(miss > tolerance * np.abs(exact)):
            return math.inf
        nonzero = exact != 0
        return float(np.max(miss[nonzero] / np.abs(exact[nonzero]), initial=0.0))

    while s < n:
        room = min(n - s, longest)
        good, good_error, bad = 1, error(s, s + 1), None
        length = 2
        while length <= room:
            e = error(s, s + length)
            if e == math.inf:
                bad = length
                break
            good, good_error = length, e
            length *= 2
        if bad is None and good < room:
            e = error(s, s + room)
            if e == math.inf:
                bad = room
            else:
                good, good_error = room, e
        while bad is not None and bad - good > 1:
            mid = (good + bad) // 2
            e = error(s, s + mid)
            if e == math.inf:
                bad = mid
            else:
                good, good_error = mid, e
        s += good
        cuts.append(s)
        worst = max(worst, good_error)
        if most is not None and len(cuts) - 1 > most:
            break
    return cuts, worst


def _scheduler(p: Piece, pieces: Pieces, i: int, anchor: float) -> Scheduler:
    leaf = p.leaf
    settings = leaf.settings(anchor)
    kind = leaf.kind
    offset = p.offset
    if isinstance(leaf, Const):
        offset = p.start  # a constant ignores its clock
        if "factor" in settings:
            stop = pieces[i + 1].start if i + 1 < len(pieces) else None
            settings["total_iters"] = FOREVER if stop is None else stop - p.start
        else:
            kind = "MultiStepLR"
    return Scheduler(p.start, offset, kind, settings, leaf.origin.path)
