"""fvcore: read a ``fvcore.common.param_scheduler`` ParamScheduler (detectron2's too).

Nothing here imports fvcore, and no scheduler is called: the importer reads the attributes
fvcore's constructors keep (``_start_value``, ``_lengths``, ``_milestones``, ...). detectron2's
``LRMultiplier`` applies ``lr * scheduler(k / max_iter)`` at update ``k``; so does the recipe.

**Which piece, which value index.** fvcore picks a composite's piece and a step scheduler's
value with float arithmetic: ``where + 1e-6`` (``WHERE_EPSILON``) against running sums of
the lengths, ``int((where + 1e-6) * n)`` for an index. This module runs those selection
rules (not the curves) on every candidate step, by bisection, to find each boundary step
exactly as fvcore does; the curve between two boundaries is a core node.

**Curves.** A piece sees ``where' = (k - c) / D``: ``c`` and ``D`` follow from the
composites above it (``fixed`` passes ``where`` on, ``rescaled`` maps the piece's interval
onto [0, 1]). A cosine, linear, exponential or polynomial piece is the core's cosine,
linear, geometric or polynomial node over ``D`` steps from ``c``, so ``c`` and ``D`` must
be whole numbers of updates (``lengths[i] * max_iter`` integral, up to 1e-9); otherwise the
piece's curve starts between two updates and the importer refuses, naming the composite's
``lengths``. Constant and step pieces need no such thing.

**Float residues.** fvcore rescales ``where`` in float (``(where - start) / length``, with
``start`` a running sum), so its ``where'`` differs from the exact ``(k - c) / D`` by a
residue ``delta`` of a few ulp (``|delta| <= 1e-14`` for lengths of at least 1e-2). Where
``where'`` is exactly 1 (a piece's end, reached only at ``k = max_iter`` by the last piece)
a polynomial piece of power ``p < 1`` is ``base * delta ** p`` in fvcore and 0 in the
recipe: at most ``base * 1e-14 ** p`` (1e-7 times the base for ``p = 0.5``). Elsewhere the
two agree to a relative 1e-12.

**Where fvcore raises.** ConstantParamScheduler at ``where >= 1``, MultiStep past 1, Step
and StepWithFixedGamma where the index passes the last value: the recipe runs to the step
before and raises StepRangeError there. So it does where a polynomial of fractional power
sees ``where' > 1`` (its base ``1 - where'`` negative: fvcore returns a complex number,
which happens at ``max_iter`` when a rescaled last piece's start rounds up). Past
``max_iter`` (``where > 1``, outside the [0, 1] fvcore documents) the recipe continues a
cosine piece (a periodic wave, as fvcore); a linear, exponential or polynomial last piece
ends at ``max_iter`` (StepRangeError after).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import SpecError, describe
from ..recipes import Recipe
from ..schedules.combinators import Phase, Sequence, Shift
from ..schedules.families import Constant, Cosine, Geometric, Linear, Polynomial
from ..schedules.node import Schedule
from ..schedules.piecewise import PiecewiseConstant
from .common import integer, lr_value, phases, real, recipe, until

EPS = 1e-6  # fvcore's ParamScheduler.WHERE_EPSILON
MODULE = "fvcore.common.param_scheduler"
KINDS = (
    "ConstantParamScheduler",
    "CosineParamScheduler",
    "ExponentialParamScheduler",
    "LinearParamScheduler",
    "MultiStepParamScheduler",
    "PolynomialDecayParamScheduler",
    "StepParamScheduler",
    "StepWithFixedGammaParamScheduler",
    "CompositeParamScheduler",
)
CURVES = (
    "CosineParamScheduler",
    "ExponentialParamScheduler",
    "LinearParamScheduler",
    "PolynomialDecayParamScheduler",
)


def first_step(predicate: Callable[[int], bool], low: int, high: int) -> int:
    """The first ``k`` in ``[low, high]`` where a monotone ``predicate`` holds (``high + 1``
    if none)."""
    while low <= high:
        mid = (low + high) // 2
        if predicate(mid):
            high = mid - 1
        else:
            low = mid + 1
    return low


def even_start(cosine: Schedule, lead: int) -> Schedule:
    """``cosine(|j - lead|)`` at local step ``j``: a cosine piece that fvcore's 1e-6 margin
    starts ``lead`` updates before its interval (a negative ``where'``, where the cosine,
    even in its argument, has the values it has after the start). The core's nodes hold
    their start before step 0, so the lead's values are the node's own at ``lead .. 1``."""
    if lead <= 0:
        return cosine
    values = tuple(float(cosine(lead - j)) for j in range(lead))
    head: Schedule = (
        Constant(values[0])
        if lead == 1
        else PiecewiseConstant(boundaries=tuple(range(1, lead)), values=values)
    )
    return Sequence(phases=(Phase(head, lead), Phase(cosine)))


def _kind(s: Any, path: str) -> str:
    """fvcore's class of ``s``: its own, or the fvcore class whose ``__call__`` it runs (a
    subclass such as detectron2's WarmupParamScheduler that only changes the constructor)."""
    for cls in type(s).__mro__:
        if "__call__" in vars(cls):
            if getattr(cls, "__module__", "") == MODULE and cls.__name__ in KINDS:
                return cls.__name__
            break
    cls = type(s)
    raise SpecError(
        path,
        f"from_fvcore reads fvcore ParamScheduler objects ({', '.join(KINDS)}, or a subclass "
        f"that keeps their __call__); got {cls.__module__}.{cls.__name__} ({describe(s)})",
    )


@dataclass(frozen=True)
class _Piece:
    """The leaf scheduler fvcore evaluates at one step: which one (``key``: the composites'
    piece indices, then a step scheduler's value index), its path, and where' = (k - c) / D
    with the composite whose ``lengths`` set ``c`` and ``D`` (``cause``)."""

    key: tuple[int, ...]
    leaf: Any
    kind: str
    path: str
    c: float
    D: float
    cause: str


class _Raises(Exception):
    """fvcore raises at this step."""


def _locate(s: Any, where: float, path: str, c: float, D: float, cause: str) -> _Piece:
    """Mirror of fvcore's selection at ``where`` (its floats, not the curves)."""
    kind = _kind(s, path)
    if kind == "CompositeParamScheduler":
        lengths = list(s._lengths)
        i, running = 0, lengths[0]
        while where + EPS > running and i < len(s._schedulers) - 1:
            i += 1
            running += lengths[i]
        child_where = where
        if s._interval_scaling[i] == "rescaled":
            start = running - lengths[i]
            child_where = (where - start) / lengths[i]
            c, D, cause = c + start * D, lengths[i] * D, f"{path}.lengths[{i}]"
        inner = _locate(s._schedulers[i], child_where, f"{path}._schedulers[{i}]", c, D, cause)
        return replace(inner, key=(i, *inner.key))
    if kind == "StepWithFixedGammaParamScheduler":
        return _locate(s._step_param_scheduler, where, f"{path}._step_param_scheduler", c, D, cause)
    index: tuple[int, ...] = ()
    if kind == "ConstantParamScheduler" and where >= 1.0:
        raise _Raises
    if kind == "MultiStepParamScheduler":
        if where > 1.0:
            raise _Raises
        epoch = int((where + EPS) * s._num_updates)
        index = (bisect.bisect_right(list(s._milestones), epoch),)
    if kind == "StepParamScheduler":
        i = int((where + EPS) * len(s._param_schedule))
        if i >= len(s._param_schedule):
            raise _Raises
        index = (i,)
    if kind == "PolynomialDecayParamScheduler" and where > 1.0 and _whole(s._power) is None:
        raise _Raises  # a negative base to a fractional power: fvcore returns a complex number
    return _Piece(index, s, kind, path, c, D, cause)


def _whole(x: float) -> int | None:
    n = round(x)
    return n if abs(x - n) <= 1e-9 * max(1.0, abs(x)) else None


def _value(v: Any, path: str) -> float:
    return real(v, path, 0.0)


def _curve(p: _Piece, first: int) -> Schedule:
    """The node of piece ``p`` on a local clock that starts at step ``first``."""
    s, path = p.leaf, p.path
    if p.kind == "ConstantParamScheduler":
        return Constant(_value(s._value, f"{path}._value"))
    if p.kind == "MultiStepParamScheduler":
        return Constant(_value(s._param_schedule[p.key[-1]], f"{path}._param_schedule"))
    if p.kind == "StepParamScheduler":
        return Constant(_value(s._param_schedule[p.key[-1]], f"{path}._param_schedule"))
    c, D = _whole(p.c), _whole(p.D)
    if c is None or D is None or D < 1:
        raise SpecError(
            p.cause or path,
            f"puts the {p.kind} at {path} on updates {p.c:.6g} to {p.c + p.D:.6g} of max_iter: "
            "its curve starts or ends between two updates (schedcore's nodes run on whole "
            "steps); accepted: lengths that are whole numbers of updates",
        )
    node: Schedule
    if p.kind == "CosineParamScheduler":
        start = _value(s._start_value, f"{path}._start_value")
        end = _value(s._end_value, f"{path}._end_value")
        node = Cosine(steps=D, start=start, end=end, after="periodic")
    elif p.kind == "LinearParamScheduler":
        start = _value(s._start_value, f"{path}._start_value")
        end = _value(s._end_value, f"{path}._end_value")
        node = Linear(steps=D, start=start, end=end)
    elif p.kind == "ExponentialParamScheduler":
        start = _value(s._start_value, f"{path}._start_value")
        decay = real(s._decay, f"{path}._decay", 0.0, open_low=True)
        node = Geometric(steps=D, start=start, end=start * decay) if start else Constant(0.0)
    else:  # PolynomialDecayParamScheduler
        base = _value(s._base_value, f"{path}._base_value")
        power = real(s._power, f"{path}._power", 0.0)
        node = Polynomial(steps=D, start=base, end=0.0, power=power)
    if first == c:
        return node
    if first < c and p.kind == "CosineParamScheduler":
        return even_start(node, c - first)
    if first < c:
        raise SpecError(
            p.cause or path,
            f"with max_iter this large, fvcore's 1e-6 margin starts the {p.kind} at {path} at "
            f"update {first}, before its interval's start ({c}): its where' is negative "
            "there, which the core's node does not extrapolate",
        )
    return Shift(schedule=node, offset=first - c)


def from_fvcore(scheduler: Any, max_iter: int, lr: float = 1.0) -> Recipe:
    """The recipe of an fvcore ParamScheduler driven as detectron2's ``LRMultiplier``:
    ``recipe.lr(k) == lr * scheduler(k / max_iter)`` at update ``k``.

    Read: Constant, Cosine, Linear, Exponential, PolynomialDecay, MultiStep, Step,
    StepWithFixedGamma and Composite (``rescaled`` or ``fixed`` pieces, nested to any
    depth), and subclasses that keep their ``__call__`` (detectron2's WarmupParamScheduler).
    Boundaries fall where fvcore's float arithmetic puts them (see the module docstring for
    the residue bound at a piece's end and what happens past ``max_iter``).
    """
    total = integer(max_iter, "max_iter", 1)
    base = lr_value(lr, "lr")

    def at(k: int) -> _Piece:
        return _locate(scheduler, k / total, "scheduler", 0.0, float(total), "")

    def raises(k: int) -> bool:
        try:
            at(k)
        except _Raises:
            return True
        return False

    _kind(scheduler, "scheduler")
    stop = first_step(raises, 0, total + 1)  # fvcore raises from here (total + 2: not yet)
    if stop == 0:
        raise SpecError("scheduler", "raises at update 0 (where = 0) in fvcore")
    last = min(stop - 1, total)
    parts: list[tuple[Schedule, int | None, str]] = []
    k = 0
    while k <= last:
        piece = at(k)
        nxt = first_step(lambda j, key=piece.key: at(j).key != key, k + 1, last)
        length = None if nxt > last else nxt - k
        parts.append((_curve(piece, k), length, "local"))
        k = nxt
    node = phases(*parts)
    open_end = stop > total + 1 and piece.kind == "CosineParamScheduler"
    return recipe(base, node if open_end else until(node, last), "fvcore", total)
