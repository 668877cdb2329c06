"""The shape of a catalog entry, and the building blocks its strategies and cases share.

Importable on Python 3.10 (the OneFlow venv): numpy, hypothesis and schedcore only.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

import schedcore
from schedcore.fields import MAX_STEP

Strategy = st.SearchStrategy

# -- scalar building blocks of the strategies ----------------------------------------------------

#: positive step counts: mostly small, sometimes up to 10**6
STEPS = st.one_of(st.integers(1, 20), st.integers(1, 2_000), st.integers(1, 10**6))
#: non-negative step counts
COUNTS = st.one_of(st.integers(0, 20), st.integers(0, 2_000), st.integers(0, 10**6))
#: per-epoch and repeat factors: smaller, so nested lengths stay far below 2**53
FACTORS = st.one_of(st.integers(1, 10), st.integers(1, 1_000))


@functools.cache
def floats(low: float, high: float) -> Strategy[float]:
    """Finite, normal floats in [low, high]."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


#: multipliers in [0, 10], with the common exact values over-represented
MULT = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.1, 1e-3]), floats(0.0, 10.0))
#: strictly positive multipliers
POSITIVE = st.one_of(st.sampled_from([1.0, 0.5, 0.1, 1e-3]), floats(1e-6, 10.0))
#: factors in (0, 1]
UNIT = st.one_of(st.sampled_from([1.0, 0.5, 0.1]), floats(0.01, 1.0))
#: fractions in [0, 1]
FRACTION = st.one_of(st.sampled_from([0.0, 1.0, 0.1]), floats(0.0, 1.0))
#: exponents in (0, 4]
EXPONENT = st.one_of(st.just(1.0), floats(0.25, 4.0))
CYCLES = st.one_of(st.sampled_from([0.5, 1.0, 2.0]), floats(0.1, 4.0))
#: SGDR growth: 1 (plain restarts), dyadic and integer values, and general reals >= 1
T_MUL = st.one_of(st.sampled_from([1.0, 1.5, 2.0, 3.0]), floats(1.0, 4.0), floats(1.0, 1.001))
#: shift offsets: small both ways, and occasionally far ahead (2**53) or far behind
OFFSETS = st.one_of(
    st.integers(-1_000, 1_000),
    st.integers(-(10**6), 10**6),
    st.sampled_from([1, -1, MAX_STEP, -(2**40)]),
)

AFTER_SAFE = ("hold", "periodic")
AFTER_ALL = ("hold", "periodic", "error")


def node(
    type_name: str, required: dict[str, Strategy[Any]], optional: dict[str, Strategy[Any]] | None
) -> Strategy[dict[str, Any]]:
    """A node dict: the required fields always, each optional field present or left out
    (so defaults are exercised)."""
    return st.fixed_dictionaries({"type": st.just(type_name), **required}, optional=optional or {})


def anneal(type_name: str, after: Strategy[str], **extra: Strategy[Any]) -> Strategy[dict]:
    """A start -> end family over ``steps``: start and end multipliers, ``after``, ``extra``."""
    return node(type_name, {"steps": STEPS}, {"start": MULT, "end": MULT, "after": after, **extra})


def with_hold(data: Any) -> Any:
    """A schedule dict with every ``after = "error"`` turned into ``"hold"``."""
    if isinstance(data, dict):
        return {k: ("hold" if k == "after" else with_hold(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [with_hold(v) for v in data]
    return data


def length(child: dict[str, Any]) -> int | None:
    """The length of the schedule a dict describes."""
    return schedcore.from_dict(child).length


@dataclasses.dataclass(frozen=True)
class Draw:
    """What a node type's strategy is drawn with.

    ``after``: the past-the-end modes a finite node may take (with or without ``"error"``);
    ``allow_after_error``: whether ``"error"`` is among them; ``children``: the dicts a
    combinator draws its child schedules from (``st.nothing()`` for leaves).
    """

    after: Strategy[str]
    allow_after_error: bool
    children: Strategy[dict[str, Any]]


# -- exact values --------------------------------------------------------------------------------


def around(*points: int) -> list[int]:
    """The step before, at and after each boundary (steps below 0 left out), sorted."""
    return sorted({k for p in points for k in (p - 1, p, p + 1) if k >= 0})


def position(k: int, length: int, after: str) -> int:
    """The step a finite node's formula sees under its past-the-end mode (by the node docs:
    hold clamps at the end, periodic wraps modulo the length, error leaves k as is)."""
    if after == "hold":
        return min(k, length)
    if after == "periodic":
        return k % length
    return k


def anneal_steps(n: int, after: str) -> list[int]:
    """0, 1, the middle, around the end and, unless after = 'error', well past it."""
    base = [0, 1, n // 2, *around(n)]
    if after == "error":
        return [k for k in base if k <= n]
    return [*base, *around(2 * n), 5 * n + 3, 2**40 + 1]


@dataclasses.dataclass(frozen=True)
class Case:
    """Exact values: ``build()`` evaluates to ``expect(k)`` at every step of ``steps``.

    ``expect`` is computed independently of schedcore (the node's documented formula in
    plain ``math``, or the source library's own expression written out). ``after``: the
    node's past-the-end mode, where it has one. ``type`` is filled in by :class:`Entry`.
    """

    id: str
    build: Callable[[], schedcore.Schedule]
    expect: Callable[[int], float]
    steps: Sequence[int]
    after: str | None = None
    type: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(sorted(set(self.steps))))


@dataclasses.dataclass(frozen=True)
class Bad:
    """Invalid arguments: ``build()`` raises SpecError whose path is ``path`` and whose
    message shows ``given`` (the value's text; None for a missing field)."""

    path: str
    build: Callable[[], object]
    given: str | None
    type: str = ""


@dataclasses.dataclass(frozen=True)
class OneFlow:
    """What the OneFlow Graph planner (``schedcore.port.oneflow.plan``) does with the type.

    ``exact``: node dicts that plan exactly (one per rule branch, distinct scheduler
    layouts); empty for a type that never plans exactly. ``refused``: a node dict that
    raises ``NotLowerable`` whose message contains ``reason``. ``approximable``: whether
    ``refused`` is approximated with a tolerance (it is when the node becomes constant at
    some step, ``Schedule.constant_from``).
    """

    exact: tuple[dict[str, Any], ...] = ()
    refused: dict[str, Any] | None = None
    reason: str = ""
    approximable: bool = False

    @property
    def lowerable(self) -> bool:
        return bool(self.exact)


@dataclasses.dataclass(frozen=True)
class Entry:
    """Everything the suites need about one node type, in one place.

    ``strategy(draw)``: valid dicts of the type (:class:`Draw`); ``combinator``: whether it
    has child schedules. ``cases``: exact values (:class:`Case`); ``errors``: invalid
    arguments (:class:`Bad`); ``after_error``: for a type with an ``after`` field,
    ``(make, last)``: ``make(after=...)`` builds a node whose last step is ``last``.
    ``seed``: a hand-written dict of the type for the fuzz tests. ``oneflow``: the
    OneFlow planner's expectation (:class:`OneFlow`).
    """

    type_name: str
    strategy: Callable[[Draw], Strategy[dict[str, Any]]]
    cases: Sequence[Case]
    errors: Sequence[Bad]
    seed: dict[str, Any]
    oneflow: OneFlow
    after_error: tuple[Callable[..., schedcore.Schedule], int] | None = None
    combinator: bool = False

    def __post_init__(self) -> None:
        typed = tuple(dataclasses.replace(c, type=self.type_name) for c in self.cases)
        object.__setattr__(self, "cases", typed)
        bad = tuple(dataclasses.replace(b, type=self.type_name) for b in self.errors)
        object.__setattr__(self, "errors", bad)


#: leaves the OneFlow cases share
LIN = {"type": "linear", "steps": 20, "start": 1.0, "end": 0.1}
COS = {"type": "cosine", "steps": 30, "start": 1.0, "end": 0.05}
