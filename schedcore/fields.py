"""Typed fields: the one place where a user value is checked.

Each field of a value object (a schedule node, a phase, the training horizon, a group rule)
is declared with :func:`param` and a *kind* that coerces and validates a user value
(raising :class:`~schedcore.errors.SpecError` with the field's path, what was given and
what is accepted), renders the value back to plain data, and describes itself for the
generated docs. :class:`Declared` runs the validation at construction; the importers call
the same kinds on a source's arguments. One declaration drives construction,
serialization, validation and documentation.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from .errors import SpecError, describe

MAX_STEP = 2**53
"""Largest step (and step count) schedcore accepts: every integer up to it is exact in float64."""

_MISSING = dataclasses.MISSING

LR_RANGE = (1e-30, 1e6)
"""Learning rates schedcore accepts: far beyond any real one, and every ratio stays finite."""
FACTOR_MAX = 1e6
"""Largest lr or weight-decay multiplier a group rule may apply."""


def did_you_mean(word: Any, options: Sequence[Any]) -> str:
    """``"did you mean 'x'? "`` for the option closest to ``word`` (``difflib``), or ``""``."""
    if not isinstance(word, str):
        return ""
    import difflib  # only when a message is written (start-up time)

    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


class Kind:
    """Base of parameter kinds."""

    accepts: str = "a value"

    def coerce(self, value: Any, path: str) -> Any:
        raise NotImplementedError

    def to_data(self, value: Any) -> Any:
        return value

    def fail(self, path: str, value: Any, accepts: str | None = None) -> SpecError:
        return SpecError(path, f"must be {accepts or self.accepts}, got {describe(value)}")


class Int(Kind):
    def __init__(self, low: int = 0, high: int = MAX_STEP) -> None:
        self.low, self.high = low, high
        if low == 1 and high == MAX_STEP:
            self.accepts = "a positive integer"
        elif low == 0 and high == MAX_STEP:
            self.accepts = "a non-negative integer"
        elif high == MAX_STEP:
            self.accepts = f"an integer >= {low}"
        else:
            self.accepts = f"an integer in [{low}, {high}]"

    def coerce(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.fail(path, value)
        integral = isinstance(value, numbers.Integral)
        try:
            whole = integral or (math.isfinite(float(value)) and float(value).is_integer())
        except (OverflowError, ValueError):  # a Fraction beyond float range, Decimal('sNaN')
            whole = False
        if not whole:
            raise self.fail(path, value)
        number = int(value)
        if not self.low <= number <= self.high:
            raise self.fail(path, value)
        return number


class Real(Kind):
    """A finite float in a range; ``open_low`` excludes the lower bound."""

    def __init__(
        self, low: float = -math.inf, high: float = math.inf, open_low: bool = False
    ) -> None:
        self.low, self.high, self.open_low = low, high, open_low
        if low == 0 and high == math.inf:
            self.accepts = "a positive number" if open_low else "a non-negative number"
        elif low == -math.inf and high == math.inf:
            self.accepts = "a finite number"
        else:
            bracket = "(" if open_low else "["
            self.accepts = f"a number in {bracket}{low:g}, {high:g}]"

    def coerce(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.fail(path, value)
        try:
            number = float(value)
        except (OverflowError, ValueError):  # an int beyond float range, Decimal('sNaN')
            raise self.fail(path, value) from None
        if not math.isfinite(number):
            raise self.fail(path, value)
        too_low = number <= self.low if self.open_low else number < self.low
        if too_low or number > self.high:
            raise self.fail(path, value)
        return number


class Bool(Kind):
    accepts = "true or false"

    def coerce(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, value)
        return value


class Choice(Kind):
    def __init__(self, *options: str) -> None:
        self.options = options
        self.accepts = "one of " + ", ".join(repr(o) for o in options)

    def coerce(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in self.options:
            hint = did_you_mean(value, self.options)
            raise SpecError(path, f"{hint}must be {self.accepts}, got {describe(value)}")
        return value


class Optional(Kind):
    def __init__(self, inner: Kind) -> None:
        self.inner = inner
        self.accepts = f"{inner.accepts}, or omitted"

    def coerce(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.coerce(value, path)

    def to_data(self, value: Any) -> Any:
        return None if value is None else self.inner.to_data(value)


class ListOf(Kind):
    """A list (stored as a tuple) of items of one kind, with an optional order constraint."""

    def __init__(
        self, item: Kind, min_len: int = 0, order: str | None = None, max_len: int = 10_000
    ) -> None:
        self.item, self.min_len, self.order, self.max_len = item, min_len, order, max_len
        self.accepts = f"a list of {item.accepts.removeprefix('a ').removeprefix('an ')}s"
        if order:
            self.accepts += f" in {order} order"

    def coerce(self, value: Any, path: str) -> tuple[Any, ...]:
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Sequence):
            raise self.fail(path, value)
        if not self.min_len <= len(value) <= self.max_len:
            raise SpecError(
                path,
                f"must have between {self.min_len} and {self.max_len} items, got {len(value)}",
            )
        items = tuple(self.item.coerce(v, f"{path}[{i}]") for i, v in enumerate(value))
        for i in range(1, len(items)):
            bad = (self.order == "increasing" and items[i] <= items[i - 1]) or (
                self.order == "non-decreasing" and items[i] < items[i - 1]
            )
            if bad:
                raise SpecError(
                    f"{path}[{i}]",
                    f"must be in {self.order} order, got {describe(items[i])} "
                    f"after {describe(items[i - 1])}",
                )
        return items

    def to_data(self, value: Any) -> list[Any]:
        return [self.item.to_data(v) for v in value]


class Record(Kind):
    """A nested frozen dataclass whose fields are themselves declared with :func:`param`."""

    def __init__(self, cls: type, accepts: str) -> None:
        self.cls, self.accepts = cls, accepts

    def coerce(self, value: Any, path: str) -> Any:
        if isinstance(value, self.cls):
            return value
        if not isinstance(value, dict):
            raise self.fail(path, value)
        return build(self.cls, value, path)

    def to_data(self, value: Any) -> dict[str, Any]:
        return fields_to_data(value)


def param(kind: Kind, doc: str, default: Any = _MISSING) -> Any:
    """Declare a node field: its kind, its one-line doc and its default."""
    return dataclasses.field(default=default, metadata={"kind": kind, "doc": doc})


def declared(cls_or_obj: Any) -> list[dataclasses.Field[Any]]:
    """The fields of a node or record declared with :func:`param`."""
    return [f for f in dataclasses.fields(cls_or_obj) if "kind" in f.metadata]


def validate_fields(obj: Any) -> None:
    """Coerce every declared field of a frozen dataclass in place (see :class:`Declared`)."""
    for f in declared(obj):
        value = getattr(obj, f.name)
        object.__setattr__(obj, f.name, f.metadata["kind"].coerce(value, f.name))


class ArgumentError(SpecError):
    """A :class:`~schedcore.errors.SpecError` raised by a constructor called from Python,
    shown with the Python argument: ``warmup(schedule=...): expected a schedule, got int 100``.

    ``path`` and ``problem`` are the field's, as for any SpecError; :meth:`within` (what
    document loading does to locate an error under its table) gives back a plain SpecError,
    so a document's errors keep naming document paths.
    """

    def __init__(self, call: str, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.call = call
        arg = re.split(r"[.\[]", path, maxsplit=1)[0]
        where = f"{call}({arg}=...)" if arg else f"{call}(...)"
        self.args = (f"{where}: {path}: {problem}" if path != arg else f"{where}: {problem}",)

    def within(self, prefix: str) -> SpecError:
        return SpecError(self.path, self.problem).within(prefix)


def as_argument_error(call: str, err: SpecError) -> SpecError:
    """``err`` named after the Python call ``call`` (unchanged when ``call`` is empty or the
    error is already an :class:`ArgumentError` of an inner call)."""
    if not call or isinstance(err, ArgumentError):
        return err
    return ArgumentError(call, err.path, err.problem)


def unknown_keywords(call: str, given: Any, accepted: Sequence[str]) -> None:
    """Raise TypeError for the first keyword of ``given`` that ``call`` does not accept,
    suggesting the closest accepted name and listing them all."""
    for key in given:
        if key not in accepted:
            raise TypeError(
                f"{call}() got an unexpected keyword argument {key!r}; "
                f"{did_you_mean(key, accepted)}{call} accepts: {', '.join(accepted)}"
            )


@dataclasses.dataclass(frozen=True)
class Declared:
    """Base of the frozen dataclasses whose fields are declared with :func:`param`.

    Construction coerces and validates every declared field in declaration order (a
    :class:`~schedcore.errors.SpecError` names the field, the value given and what is
    accepted), then calls :meth:`_check`, the hook for rules that involve several fields.
    Subclasses are ``@dataclasses.dataclass(frozen=True)`` and implement only ``_check``.
    A class with a ``call_name`` (a schedule node's type name) raises its errors as
    :class:`ArgumentError`, naming the Python argument.
    """

    call_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        try:
            validate_fields(self)
            self._check()
        except SpecError as err:
            raise as_argument_error(self.call_name, err) from None

    # Equality, hash and repr as dataclasses generates them, written once for every class
    # declared with ``frozen`` below (which does not generate them): a generated method
    # costs the import its compilation, per class.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _values(self) == _values(other)

    def __hash__(self) -> int:
        return hash(_values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in _field_names(type(self)))
        return f"{type(self).__qualname__}({shown})"


frozen = dataclasses.dataclass(frozen=True, eq=False, repr=False)
"""The decorator of :class:`Declared` classes: immutable, with Declared's equality, hash
and repr (those of ``dataclasses.dataclass(frozen=True)``)."""


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _values(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, n) for n in _field_names(type(obj)))

    def _check(self) -> None:
        """Cross-field validation (and defaults derived from other fields); raise
        SpecError naming the field. Runs after every declared field is valid."""


def fields_to_data(obj: Any) -> dict[str, Any]:
    return {f.name: f.metadata["kind"].to_data(getattr(obj, f.name)) for f in declared(obj)}


def build(cls: type, data: dict[str, Any], path: str, extra: Callable[[str], str] | None = None):
    """``cls`` from a plain dict, rejecting unknown keys, locating errors under ``path``."""
    known = {f.name: f for f in declared(cls)}
    for key in data:
        if key not in known:
            accepted = ", ".join(known) or "no fields"
            raise SpecError(
                f"{path}.{key}" if path else str(key) or repr(key),
                f"unknown field; {did_you_mean(key, list(known))}"
                f"{cls.__name__.lower()} accepts: {accepted}",
            )
    missing = [
        name
        for name, f in known.items()
        if name not in data and f.default is _MISSING and f.default_factory is _MISSING
    ]
    if missing:
        raise SpecError(f"{path}.{missing[0]}" if path else missing[0], "is required")
    try:
        return cls(**data)
    except SpecError as err:
        raise err.within(path) from None
