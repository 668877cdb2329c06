"""The planning rule of each node type: which OneFlow schedulers a node becomes, and when.

A rule turns a node (at a path in the recipe) into :mod:`pieces <.pieces>` of OneFlow
schedulers (:mod:`.kernels`), or raises :class:`~.kernels.NotLowerable` saying why it has no
exact equivalent. Parameters are the core node's own (divided by the anchor later); where a
value is needed (a held end value, a per-step ratio) the core node is evaluated, so no formula
is written twice. Derived nodes (warmup, wsd) are planned through their expansion; a node type
with neither a rule nor a reason in :data:`NOT_LOWERABLE` (a family added to the core since)
is refused with a generic reason, so adding a family needs no edit here. Each rule also says,
for the generated documentation, what it becomes and when that is exact (:func:`summary`).
"""

from __future__ import annotations

import dataclasses
import fractions
import itertools
import math
from collections.abc import Callable

import numpy as np

from ...fields import MAX_STEP, declared
from ...schedules.combinators import Sequence
from ...schedules.node import NODE_TYPES, Schedule
from .approximate import MAX_VERIFIED
from .kernels import (
    FLOAT32_EXACT,
    Approx,
    Const,
    CosineAnnealing,
    CosineDecay,
    Exp,
    Leaf,
    MultiStepDecay,
    NotLowerable,
    Origin,
    Poly,
    Ramp,
    Source,
    StepDecay,
    WarmRestarts,
    plural,
)
from .pieces import Piece, Pieces, clip, merge, moved, single_const


@dataclasses.dataclass
class Context:
    """What planning one schedule carries along: the tolerance, and a log of what each node
    became (``(path, node type, text)``, for :meth:`~.plan.GraphPlan.explain`)."""

    tolerance: float | None
    log: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def note(self, path: str, node: Schedule | str, text: str) -> None:
        self.log.append((path, node if isinstance(node, str) else node.type_name, text))


Lower = Callable[[Schedule, str, Context], Pieces]
APPROXIMATED = "approximated with LinearLR segments: "


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one node type is planned: ``lower(node, path, context)`` gives its pieces;
    ``schedulers`` (what it becomes) and ``exact_when`` (markdown) document it."""

    type_name: str
    lower: Lower
    schedulers: str
    exact_when: str


RULES: dict[str, Rule] = {}
"""The rule of each node type that has one, by type name."""

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

NO_RULE = "schedcore has no OneFlow planning rule for this node type yet"
"""The reason given for a node type with neither a rule nor a reason in NOT_LOWERABLE."""

DERIVED = ("its expansion (a sequence of other node types)", "its parts plan exactly")
"""What a derived node type (one that expands, such as warmup) becomes, and when it is exact."""


def rule(type_name: str, schedulers: str, exact_when: str) -> Callable[[Lower], Lower]:
    """Register ``fn`` as the rule of ``type_name`` (see :class:`Rule`)."""

    def register(fn: Lower) -> Lower:
        if type_name in RULES:
            raise RuntimeError(f"OneFlow planning rule for {type_name!r} registered twice")
        RULES[type_name] = Rule(type_name, fn, schedulers, exact_when)
        return fn

    return register


def _is_derived(cls: type[Schedule]) -> bool:
    return cls.expand is not Schedule.expand


def summary(type_name: str) -> tuple[str, str]:
    """``(OneFlow schedulers, exact when)`` of a registered node type, in markdown: its
    rule's, its expansion's for a derived type, else none with the reason it is refused."""
    if type_name in RULES:
        found = RULES[type_name]
        return found.schedulers, found.exact_when
    if type_name not in NOT_LOWERABLE and _is_derived(NODE_TYPES[type_name]):
        return DERIVED
    reason = NOT_LOWERABLE.get(type_name, NO_RULE)
    return "none", f"never ({reason}; approximated with a tolerance)"


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
            f"ramps over {plural(steps, 'step')}; Graph-mode LinearLR converts steps to "
            "float32, exact up to 2**24 steps",
        )
    return Ramp(_origin(node, path, shift), first=first, last=last, steps=steps)


@rule(
    "constant",
    "`ConstantLR(factor)`, or `MultiStepLR([0], gamma)` above the base",
    "always",
)
def _constant(node, path, ctx):
    ctx.note(path, node, f"ConstantLR at {node.value:g}")
    return _one(_const(node, path, node.value))


@rule(
    "linear",
    "`LinearLR(start, end, steps)`",
    "not periodic; at most 2**24 steps (float32 step)",
)
def _linear(node, path, ctx):
    _periodic(node, path)
    ctx.note(
        path, node, f"LinearLR {node.start:g} -> {node.end:g} over {plural(node.steps, 'step')}"
    )
    # LinearLR holds its end value: the core's (start + (end - start) * 1 may round off end)
    return _one(_ramp(node, path, node.start, node(node.steps), node.steps))


@rule(
    "cosine",
    (
        "`CosineDecayLR(steps, alpha)` (half wave, held); "
        "`CosineAnnealingLR(T_max, eta_min)` (periodic, or several cycles, then "
        "`ConstantLR`); with `restarts = true`: `CosineAnnealingWarmRestarts(T_0 "
        "= steps / (2 cycles), T_mult = 1, restart_limit)` (then `ConstantLR` "
        "where the last descent ends part-way)"
    ),
    (
        "exponent 1; no rise from 0; `steps / (2 cycles)` whole for "
        "`CosineAnnealingLR`, which also needs `end < start`; with restarts: "
        "`steps / (2 cycles)` whole (and `steps` a multiple of it when periodic), "
        "not 0 at a restart, and transformers' rounding of `(2 cycles) * (k / "
        "steps)` restarts at every restart step (checked at each: `steps = 22, "
        "cycles = 11` ends a descent at step 15 instead)"
    ),
)
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
        ctx.note(
            path, node, f"CosineDecayLR over {plural(node.steps, 'step')} (alpha = end / start)"
        )
        return _one(CosineDecay(origin, first=node.start, last=node.end, steps=node.steps))
    half = fractions.Fraction(node.steps) / (2 * fractions.Fraction(node.cycles))
    if half.denominator != 1:
        raise _fail(
            node,
            path,
            f"{plural(node.cycles, 'cycle')} over {plural(node.steps, 'step')} give a "
            f"half-period of "
            f"{plural(float(half), 'step')}; CosineAnnealingLR needs a whole number",
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


def _cosine_restarts(node: Schedule, path: str, ctx: Context) -> Pieces:
    """Hard restarts: ``2 * cycles`` descents of ``steps / (2 * cycles)`` steps each, as
    CosineAnnealingWarmRestarts with ``T_mult = 1`` (its cycles by integer division), where
    the descents are whole steps long and the core restarts exactly at their ends."""
    length = fractions.Fraction(node.steps) / (2 * fractions.Fraction(node.cycles))
    if length.denominator != 1:
        raise _fail(
            node,
            path,
            f"restarts every {plural(float(length), 'step')} ({plural(node.cycles, 'cycle')} "
            f"over {plural(node.steps, 'step')}); CosineAnnealingWarmRestarts restarts every "
            "whole T_0 steps",
        )
    period = int(length)
    descents = -(-node.steps // period)  # the last one may end part-way, at `steps`
    whole = descents * period == node.steps
    if node.after == "periodic" and not whole:
        raise _fail(
            node,
            path,
            f"repeats every {plural(node.steps, 'step')}, part-way through a descent of {period} "
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


@rule(
    "polynomial",
    (
        '`PolynomialLR(steps, end_learning_rate, power)`; `after = "stretch"`: '
        "`ConstantLR` for step 0, then `PolynomialLR(..., cycle=True)` on the "
        "global step (OneFlow's `cycle` takes step 0 as step 1)"
    ),
    "not periodic; no rise from 0",
)
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
    if node.k_decay != 1.0:
        raise _fail(node, path, f"k_decay {node.k_decay:g}: PolynomialLR has none")
    if node.after == "stretch_early":
        raise _fail(
            node, path, "stretches at each multiple itself; PolynomialLR(cycle=True) after it"
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
        ctx.note(
            path, node, f"PolynomialLR over {plural(node.steps, 'step')}, power {node.power:g}"
        )
        return _one(leaf)
    # OneFlow's cycle=True is Keras' stretching decay, but for step 0, which it takes as 1
    ctx.note(
        path,
        node,
        f"ConstantLR at {node.start:g} for step 0, then PolynomialLR over "
        f"{plural(node.steps, 'step')}, power {node.power:g}, cycle=True (on the global step)",
    )
    return [Piece(0, _const(node, path, node.start), 0), Piece(1, leaf, 0)]


@rule(
    "geometric",
    "`ExponentialLR(gamma)` then `ConstantLR`",
    "not periodic",
)
def _geometric(node, path, ctx):
    _periodic(node, path)
    if node.start == node.end:
        ctx.note(path, node, f"ConstantLR at {node.start:g}")
        return _one(_const(node, path, node.start))
    gamma = node(1) / node(0)  # the per-step ratio, from the core
    ctx.note(
        path,
        node,
        f"ExponentialLR(gamma={gamma:.10g}) for {plural(node.steps, 'step')}, then "
        f"ConstantLR at {node.end:g}",
    )
    leaf = Exp(_origin(node, path), first=node.start, gamma=gamma)
    tail = _const(node, path, node(node.steps), node.steps)
    return [Piece(0, leaf, 0), Piece(node.steps, tail, node.steps)]


@rule(
    "exponential",
    "`ExponentialLR`, or `StepLR` with `staircase`",
    "always",
)
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


@rule(
    "step",
    "`StepLR(every, gamma)`",
    "always",
)
def _step(node, path, ctx):
    if node.gamma == 1:
        ctx.note(path, node, "ConstantLR at 1")
        return _one(_const(node, path, 1.0))
    ctx.note(path, node, f"StepLR(step_size={node.every}, gamma={node.gamma:g})")
    return _one(StepDecay(_origin(node, path), first=1.0, every=node.every, gamma=node.gamma))


@rule(
    "multistep",
    "`MultiStepLR(milestones, gamma)`; repeated milestones: `ConstantLR` pieces",
    "always",
)
def _multistep(node, path, ctx):
    ms = node.milestones
    if all(a < b for a, b in itertools.pairwise(ms)):
        ctx.note(path, node, f"MultiStepLR(milestones={list(ms)}, gamma={node.gamma:g})")
        leaf = MultiStepDecay(_origin(node, path), first=1.0, milestones=ms, gamma=node.gamma)
        return _one(leaf)
    # repeated milestones (MultiStepLR needs increasing ones): a constant per stretch
    points = sorted({0, *ms})
    ctx.note(path, node, f"ConstantLR pieces at steps {points} (repeated milestones)")
    return merge([Piece(p, _const(node, path, node(p), p), p) for p in points])


@rule(
    "piecewise_constant",
    "`ConstantLR` pieces",
    "always",
)
def _piecewise_constant(node, path, ctx):
    shift = 1 if node.change == "after" else 0
    starts = [0, *(b + shift for b in node.boundaries)]
    ctx.note(path, node, f"ConstantLR pieces from steps {starts}")
    pieces = [
        Piece(s, _const(node, path, v, s), s) for s, v in zip(starts, node.values, strict=True)
    ]
    return merge(pieces)


@rule(
    "piecewise_interpolate",
    "`LinearLR` / `CosineDecayLR` pieces",
    "not periodic; cosine segments not rising from 0",
)
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
    return merge(pieces)


def _restarts(node: Schedule) -> tuple[int, ...]:
    """The first step of every cycle after the first up to 2**53 (and up to ``cycle_limit``:
    the last is where it holds ``end``), by exact integer arithmetic whatever the node's
    ``cycle_index``."""
    return dataclasses.replace(node, cycle_index="exact").restarts(MAX_STEP)


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


@rule(
    "sgdr",
    "`CosineAnnealingWarmRestarts(T_0, T_mult, eta_min, decay_rate, restart_limit)`",
    (
        "integer `t_mul`, `k_decay` 1, `m_mul` on the peak (or `end` 0), no int64 "
        "overflow in the kernel's `(step / T_0) * (T_mult - 1)` before 2**53; "
        "OneFlow's Graph cycle index (`floor(log(...))` of an integer) checked "
        'against every restart up to 2**53; `cycle_index = "log"` (timm\'s float '
        "rounding) also checked to agree with exact restarts (in practice only "
        "with a `cycle_limit`)"
    ),
)
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


@rule(
    "sequence",
    "`SequentialLR` over its phases (flattened)",
    "its phases plan exactly",
)
def _sequence(node, path, ctx, child_path: Callable[[int, Schedule], str] | None = None):
    starts = node.starts
    pieces: Pieces = []
    for i, phase in enumerate(node.phases):
        where = child_path(i, phase.schedule) if child_path else f"{path}.phases[{i}].schedule"
        inner = node_pieces(phase.schedule, where, ctx)
        end = starts[i + 1] if i + 1 < len(node.phases) else None
        if phase.clock == "local":
            inner = moved(inner, starts[i])
        pieces.extend(clip(inner, starts[i], end))
    ctx.note(path, node, f"SequentialLR with milestones {starts[1 : len(node.phases)]}")
    return merge(pieces)


@rule(
    "scale",
    "its schedule's schedulers, values scaled",
    "always",
)
def _scale(node, path, ctx):
    inner = node_pieces(node.schedule, f"{path}.schedule", ctx)
    ctx.note(path, node, f"its schedule's schedulers with every value times {node.factor:g}")
    if node.factor == 0:
        return _one(_const(node, path, 0.0))
    return [dataclasses.replace(p, leaf=p.leaf.scaled(node.factor)) for p in inner]


@rule(
    "product",
    "the varying factor's schedulers times the constant ones",
    "at most one varying factor",
)
def _product(node, path, ctx):
    lowered = [node_pieces(s, f"{path}.schedules[{i}]", ctx) for i, s in enumerate(node.schedules)]
    constants = [single_const(p) for p in lowered]
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


@rule(
    "clamp",
    "clamped `ConstantLR` pieces, or the schedule itself",
    "constant pieces, or bounds that never bind",
)
def _clamp(node, path, ctx):
    inner = node_pieces(node.schedule, f"{path}.schedule", ctx)
    low, high = node.min, node.max
    if all(isinstance(p.leaf, Const) for p in inner):
        ctx.note(path, node, "ConstantLR pieces, clamped")
        out = []
        for p in inner:
            value = p.leaf.value if low is None else max(p.leaf.value, low)
            value = value if high is None else min(value, high)
            out.append(dataclasses.replace(p, leaf=_const(node, path, value)))
        return merge(out)
    if (high is None or high >= node.schedule.peak()) and (low is None or low == 0):
        ctx.note(path, node, "its schedule's schedulers (the bounds never bind)")
        return inner  # values are >= 0 and <= peak: the clamp never acts
    raise _fail(node, path, "clamps a varying schedule; OneFlow has no clamping scheduler")


@rule(
    "shift",
    "a `ConstantLR` delay, then the schedule",
    "delays; advances only over constant pieces",
)
def _shift(node, path, ctx):
    inner = node_pieces(node.schedule, f"{path}.schedule", ctx)
    if node.offset == 0:
        ctx.note(path, node, "its schedule's schedulers (offset 0)")
        return inner
    if node.offset < 0:
        delay = -node.offset
        ctx.note(
            path, node, f"ConstantLR at schedule(0) for {plural(delay, 'step')}, then its schedule"
        )
        head = Piece(0, _const(node, path, node.schedule(0)), 0)
        return merge([head, *moved(inner, delay)])
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
                f"looks {plural(ahead, 'step')} ahead into {p.leaf.origin.path} "
                f"({p.leaf.kind}), which OneFlow cannot start part-way",
            )
        out.append(Piece(start, p.leaf, offset))
    ctx.note(path, node, f"its schedule's schedulers, {plural(ahead, 'step')} earlier")
    return merge(out)


@rule(
    "per_epoch",
    "`StepLR` / `MultiStepLR` / constants on a slower clock",
    "step-shaped schedules",
)
def _per_epoch(node, path, ctx):
    inner = node_pieces(node.schedule, f"{path}.schedule", ctx)
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


def _derived(node: Schedule, path: str, ctx: Context) -> Pieces:
    """A derived node (warmup, wsd): its expansion, with paths in the recipe's terms."""
    own = {
        id(getattr(node, f.name)): f"{path}.{f.name}"
        for f in declared(node)
        if isinstance(getattr(node, f.name), Schedule)
    }
    expansion = node.expansion
    ctx.note(path, node, f"its expansion ({_describe(expansion)})")
    if not isinstance(expansion, Sequence):  # pragma: no cover - every derived node expands so
        return node_pieces(expansion, f"{path} (expanded)", ctx)

    def child_path(i: int, child: Schedule) -> str:
        return own.get(id(child), f"{path} (expanded: phases[{i}].schedule)")

    return _sequence(expansion, f"{path} (expanded)", ctx, child_path)


def _describe(node: Schedule) -> str:
    if isinstance(node, Sequence):
        return "a sequence of " + ", ".join(p.schedule.type_name for p in node.phases)
    return node.type_name


def node_pieces(node: Schedule, path: str, ctx: Context) -> Pieces:
    """The pieces of ``node`` at ``path``; a node without an exact equivalent becomes one
    :class:`~.kernels.Approx` piece carrying its :class:`~.kernels.NotLowerable`."""
    if node.constant_from == 0:  # constant, whatever its type (a scale by 0, a repeated constant)
        value = node(0)
        ctx.note(path, node, f"ConstantLR at {value:g} (the same value at every step)")
        return _one(_const(node, path, value))
    try:
        if node.type_name in NOT_LOWERABLE:
            raise _fail(node, path, NOT_LOWERABLE[node.type_name])
        if node.is_derived:
            return _derived(node, path, ctx)
        if node.type_name not in RULES:  # a node type added to the core since
            raise _fail(node, path, NO_RULE)
        return RULES[node.type_name].lower(node, path, ctx)
    except NotLowerable as err:
        if err.path != path:
            raise
        # approximated with a tolerance; without one, raised once the node is known to be
        # used (a phase or a shift ahead can cut it away: see plan.plan)
        inside = (path + ".", path + " (")
        ctx.log[:] = [e for e in ctx.log if not e[0].startswith(inside)]
        ctx.note(path, node, APPROXIMATED + err.reason)
        return _one(Approx(_origin(node, path), reason=err.reason, error=err))


LOWERABLE = frozenset(RULES) | {
    name for name, cls in NODE_TYPES.items() if name not in NOT_LOWERABLE and _is_derived(cls)
}
"""Node types with exact OneFlow plans (for some or all of their parameters; derived types
through their expansion)."""
