"""The schedule node: an immutable step -> multiplier function, and the registry of node types.

A schedule maps ``k``, the 0-based count of completed optimizer updates, to a float64
multiplier; update ``k`` uses ``s(k)``. ``s(k)`` with an int returns a float, ``s(steps)``
with an int ndarray returns a float64 ndarray of the same shape, and both give identical
values (the scalar path runs the same vectorized code).

Adding a node type is one place: a frozen dataclass decorated with :func:`node`, whose
fields are declared with :func:`~schedcore.fields.param`. The registry drives construction
from dicts, serialization, validation and the generated reference docs.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import functools
import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

import numpy as np

from ..errors import SpecError, StepRangeError, describe
from ..fields import (
    MAX_STEP,
    Choice,
    Declared,
    Kind,
    as_argument_error,
    build,
    declared,
    fields_to_data,
    frozen,
    unknown_keywords,
)
from .ops import NUMPY, NumpyOps

CHUNK = 1 << 17
"""Vectorized evaluation runs in chunks of this many steps: few enough Python calls per
step, and temporaries (1 MiB) large enough for numpy to reuse them in place within an
expression (it elides temporaries from 256 KiB on)."""

BREAKPOINT_LIMIT = 64
"""Breakpoints listed per periodic pattern (restarts, cycles, drops) before stopping."""

LISTED_LIMIT = 4096
"""Most breakpoints one node lists (the earliest ones): nested periodic patterns (a
``repeat`` of a ``repeat``) would otherwise multiply their counts level by level."""

MAX_DEPTH = 64
"""Deepest nesting of nodes accepted from a document."""

MAX_NODES = 10_000
"""Most nodes one document may build. A dict may share a sub-dict between several places
(as a YAML alias does): each place builds its own copy, so without a bound a few hundred
bytes could expand to millions of nodes."""

MAX_PEAK = 1e100
"""Largest multiplier bound a schedule may have: with lrs and group factors bounded too,
every lr stays finite."""

NODE_TYPES: dict[str, type[Schedule]] = {}
"""The registry: each recipe node type name (``"cosine"``) -> its class, in registration
order. Serialization, validation and the generated reference all read it."""

AFTER_MODES = ("hold", "periodic", "error")


def after_param(default: str = "hold") -> Any:
    from ..fields import param

    return param(
        Choice(*AFTER_MODES),
        "past the end: 'hold' the last value, repeat 'periodic'ally, or raise an 'error'",
        default,
    )


S = TypeVar("S", bound="type[Schedule]")


def node(type_name: str) -> Callable[[S], S]:
    """Register a frozen-dataclass schedule class under ``type_name``."""

    def register(cls: S) -> S:
        if type_name in NODE_TYPES:
            raise RuntimeError(f"node type {type_name!r} registered twice")
        cls.type_name = type_name
        cls.call_name = type_name  # errors from Python name the argument: warmup(steps=...)
        NODE_TYPES[type_name] = cls
        init = cls.__init__
        accepted = [f.name for f in dataclasses.fields(cls) if f.init]

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            unknown_keywords(type_name, kwargs, accepted)  # a misspelt name: did you mean
            init(self, *args, **kwargs)

        cls.__init__ = __init__  # type: ignore[method-assign]
        return cls

    return register


@frozen
class Schedule(Declared):
    """Base of every node. Subclasses implement :meth:`dense` (or :meth:`expand`)."""

    type_name: ClassVar[str] = ""
    per_step_fields: ClassVar[tuple[str, ...]] = ()
    """Fields the formula uses only in arithmetic with values shaped like the steps, so that
    :meth:`with_per_step_fields` may give them one value per step."""

    def __post_init__(self) -> None:
        super().__post_init__()  # every declared field, then _check
        peak = self.peak()
        if not (math.isfinite(peak) and peak <= MAX_PEAK):
            raise as_argument_error(
                self.call_name,
                SpecError("", f"values are unbounded (bound {peak:g}); reduce the factors"),
            )

    # -- to implement -----------------------------------------------------------------
    def _check(self) -> None:
        """Cross-field validation; raise SpecError naming the field."""

    def dense(self, ops: Any, t: Any) -> Any:
        """The formula: multipliers at int64 steps ``t``, written against ``ops``
        (:mod:`schedcore.schedules.ops`) so that numpy and every adapter evaluate the same
        formula. It is the only evaluation path: calling a node runs ``dense(NUMPY, t)``;
        speed-ups for numpy (running only the phase a step falls in) live in the ops."""
        return self.expansion.dense(ops, t)

    def with_per_step_fields(self, **values: Any) -> Schedule:
        """A copy whose named :attr:`per_step_fields` hold arrays, one value per step, for
        :meth:`dense` alone (it is not validated): a run of phases that differ only in such
        fields is then evaluated as one formula (``Sequence``, ``ops.gathers_phases``)."""
        unknown = sorted(set(values) - set(self.per_step_fields))
        if unknown:
            raise TypeError(f"{self.type_name}: {unknown} are not per-step fields")
        view = copy.copy(self)
        for name, value in values.items():
            object.__setattr__(view, name, value)
        return view

    def expand(self) -> Schedule:
        """For derived nodes: the equivalent tree of primitive nodes."""
        raise NotImplementedError(f"{type(self).__name__} must implement dense or expand")

    def peak(self) -> float:
        """An upper bound of the multiplier over all steps."""
        return self.expansion.peak()

    @property
    def length(self) -> int | None:
        """Steps after which the node's past-the-end rule applies (None: it never ends)."""
        return None

    @property
    def constant_from(self) -> int | None:
        """A step from which the value no longer changes: ``s(k) == s(constant_from)`` for
        every ``k >= constant_from``. None when it keeps changing or no such step is known
        (a conservative answer: a node may settle earlier than it says)."""
        return self.expansion.constant_from if self.is_derived else None

    # -- where the node changes character (plots, lint, golden files) -------------------
    def breakpoints(self, horizon: int) -> list[int]:
        """Sorted local steps in (0, horizon] where the node starts a new piece: its end
        (:attr:`length`), the pieces of its own formula (:meth:`_pieces`) and its
        children's breakpoints, which run on the node's clock. A combinator that gives its
        children another clock (``sequence``, ``shift``, ``repeat``, ``per_epoch``)
        overrides this to map their breakpoints onto its own."""
        if horizon < 1:
            return []
        if self.is_derived:
            return self.expansion.breakpoints(horizon)
        found = {math.ceil(b) for b in self._pieces(horizon)}
        if self.length is not None:
            found.add(self.length)
        for child in self.children():
            found.update(child.breakpoints(horizon))
        return sorted(b for b in found if 0 < b <= horizon)[:LISTED_LIMIT]

    def _pieces(self, horizon: int) -> list[float]:
        """Local steps besides the end where the node's own formula starts a new piece
        (milestones, restarts, phase ends; a real step counts from the next whole step).
        Periodic patterns list at most :data:`BREAKPOINT_LIMIT`, and a node lists at most
        :data:`LISTED_LIMIT` breakpoints in all, the earliest."""
        return []

    def cycle_span(self, step: int) -> tuple[int, int] | None:
        """For a node that repeats in cycles without end (``cyclic``, ``sgdr`` without a
        ``cycle_limit``): the first step of the cycle that holds local ``step`` and the first
        step of the next one. None for every other node."""
        return None

    def varies(self) -> bool:
        """Whether the node is meant to change the value from step to step: a node with a
        formula of its own, or a combinator over at least one such node (a constant, or a
        combinator over constants only, is not)."""
        if self.is_derived:
            return self.expansion.varies()
        children = self.children()
        return any(c.varies() for c in children) if children else True

    def epoch_steps(self) -> int | None:
        """Steps per epoch where the node runs its child on an epoch clock (``per_epoch``);
        None for every other node."""
        return None

    # -- shared machinery -------------------------------------------------------------
    @functools.cached_property
    def expansion(self) -> Schedule:
        return self.expand()

    @property
    def is_derived(self) -> bool:
        return type(self).expand is not Schedule.expand

    def children(self) -> tuple[Schedule, ...]:
        """The direct child schedules, in field order."""
        out: list[Schedule] = []
        for f in declared(self):
            out.extend(_schedules_in(getattr(self, f.name)))
        return tuple(out)

    def walk(self) -> Iterator[Schedule]:
        """This node and every node below it (depth first, without recursion)."""
        stack: list[Schedule] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children())

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"type": name, field: value, ...}`` with every field explicit."""
        return {"type": self.type_name, **fields_to_data(self)}

    def __call__(self, steps: Any) -> Any:
        if isinstance(steps, (numbers.Integral, np.integer)) and not isinstance(steps, bool):
            return float(self.dense(NUMPY, _as_steps(np.array([int(steps)]), "step"))[0])
        array = np.asarray(steps)
        if array.ndim == 0:
            raise TypeError(f"steps must be an int or an int array, got {describe(steps)}")
        flat = _as_steps(array.reshape(-1), "steps", check_range=False)
        out = np.empty(flat.shape[0], dtype=np.float64)
        ops = NumpyOps()  # this call's own: it carries each chunk's range (threads stay apart)
        for lo in range(0, flat.shape[0], CHUNK):  # checked chunk by chunk, while in cache
            chunk = flat[lo : lo + CHUNK]
            ops.known_range = (chunk, *_step_range(chunk, "steps"))
            out[lo : lo + CHUNK] = self.dense(ops, chunk)
        return out.reshape(array.shape)

    def _position(self, ops: Any, t: Any, mode: str, wrap: bool = True) -> Any:
        """The step a finite node evaluates its formula at, by its past-the-end ``mode``.

        ``hold`` clamps at the end; ``periodic`` wraps modulo the length (or, with
        ``wrap=False``, leaves the step as is, for formulas that are periodic by themselves);
        ``error`` raises :class:`StepRangeError` for a step past the end (backends that
        cannot raise inside a compiled graph hold instead).
        """
        end = self.length
        assert end is not None
        if mode == "periodic":
            return ops.mod(t, end) if wrap else t
        if mode == "hold" or not ops.can_raise:
            return ops.minimum(t, end)
        if t.shape[0] and int(t.max()) > end:
            raise StepRangeError(
                f"{self.type_name}: step {int(t.max())} is past its end ({end} steps) "
                "and after = 'error'"
            )
        return t


def _as_steps(array: np.ndarray, what: str, check_range: bool = True) -> np.ndarray:
    if array.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers (0-based update counts), got dtype {array.dtype}")
    if check_range and array.shape[0]:
        _step_range(array, what)
    return array.astype(np.int64, copy=False)


def _step_range(array: np.ndarray, what: str) -> tuple[int, int]:
    """The lowest and highest of non-empty steps, refused outside ``[0, 2**53]``."""
    low, high = int(array.min()), int(array.max())
    if low < 0:
        raise StepRangeError(f"{what} must be >= 0, got {low}")
    if high > MAX_STEP:
        raise StepRangeError(f"{what} must be <= 2**53, got {high}")
    return low, high


def _schedules_in(value: Any) -> list[Schedule]:
    if isinstance(value, Schedule):
        return [value]
    if isinstance(value, tuple):
        return [s for v in value for s in _schedules_in(v)]
    if dataclasses.is_dataclass(value):
        return [s for f in declared(value) for s in _schedules_in(getattr(value, f.name))]
    return []


class NodeKind(Kind):
    """A child schedule: a :class:`Schedule` or its dict form."""

    accepts = "a schedule (a table with a 'type')"

    def coerce(self, value: Any, path: str) -> Schedule:
        if isinstance(value, Schedule):
            return value
        if not isinstance(value, dict):
            raise SpecError(
                path,
                "expected a schedule (a node such as cosine(...), or a table with a 'type'), "
                f"got {type(value).__name__} {describe(value)}",
            )
        return from_dict(value, path)

    def to_data(self, value: Any) -> dict[str, Any]:
        return value.to_dict()


@dataclasses.dataclass
class _Budget:
    """What one document has used so far: the nesting depth and the nodes built."""

    depth: int = 0
    nodes: int = 0


# Per thread (and per async task): the budget of the document being built, set by the
# outermost from_dict. No module-level counter, so threads loading at once never interfere.
_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "schedcore_from_dict_budget", default=None
)


def from_dict(data: Any, path: str = "") -> Schedule:
    """Build a schedule from its dict form; errors name the path of the offending field.

    A document nests at most :data:`MAX_DEPTH` nodes deep and builds at most
    :data:`MAX_NODES` nodes (shared sub-dicts count once per place they appear)."""
    if not isinstance(data, dict):
        raise SpecError(path, f"must be a schedule table with a 'type', got {describe(data)}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in NODE_TYPES:
        where = f"{path}.type" if path else "type"
        if "type" not in data:
            raise SpecError(where, "is required; node types: " + ", ".join(sorted(NODE_TYPES)))
        raise SpecError(
            where, f"unknown node type {describe(kind)}; accepted: " + ", ".join(sorted(NODE_TYPES))
        )
    budget = _BUDGET.get()
    token = _BUDGET.set(_Budget()) if budget is None else None
    budget = _BUDGET.get()
    assert budget is not None
    try:
        if budget.depth >= MAX_DEPTH:
            raise SpecError(path, f"schedules nest deeper than {MAX_DEPTH} levels")
        budget.nodes += 1
        if budget.nodes > MAX_NODES:
            raise SpecError(
                path,
                f"the document builds more than {MAX_NODES} schedule nodes (a sub-table "
                "shared between places counts once per place); simplify the schedule",
            )
        budget.depth += 1
        try:
            fields = {k: v for k, v in data.items() if k != "type"}
            return build(NODE_TYPES[kind], fields, path)
        finally:
            budget.depth -= 1
    finally:
        if token is not None:
            _BUDGET.reset(token)
