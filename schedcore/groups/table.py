"""The framework-neutral parameter table that group policies are resolved against.

Each row is one parameter (one tensor): its canonical dotted name, shape, whether it is
trainable, tags derived from its module type (``norm``, ``bias``, ``embedding``, ...)
and aliases (other names of a tied tensor). Adapters fill it from a model through
:mod:`schedcore.groups.walk`; here it comes from plain data: JSON, CSV or Python.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import gc
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import SpecError, describe
from ..files import parse_text, read_text

_NAME = re.compile(r"^\S+$")
_SPACE = re.compile(r"\s")


class Param(NamedTuple):
    """One row of the parameter table (a named tuple: cheap for 100,000-row models)."""

    name: str
    shape: tuple[int, ...] = ()
    trainable: bool = True
    tags: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()

    @property
    def ndim(self) -> int:
        return len(self.shape)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block builds many small acyclic objects
    (a 100,000-row table, its resolution): each collection it would trigger rescans every
    live object, and they would take more time than the building itself. It is turned back
    on at the end if it was on; blocks nest."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class _TableColumns(NamedTuple):
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    trainable: tuple[bool, ...]
    tags: tuple[frozenset[str], ...]
    aliases: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(frozen=True)
class ParamTable:
    """An ordered, name-unique collection of :class:`Param` rows."""

    rows: tuple[Param, ...]

    def __post_init__(self) -> None:
        names = self._columns.names
        aliases = [name for row in self._columns.aliases for name in row]
        every = [*names, *aliases] if aliases else names
        # Fast path: every name is non-empty, has no whitespace and is unique (C-level
        # passes over 100,000 names); anything else is looked at row by row, below.
        if (
            every
            and all(map(str.__instancecheck__, every))
            and min(map(len, every)) > 0
            and _SPACE.search("/".join(every)) is None
            and len(set(every)) == len(every)
        ):
            return
        seen: dict[str, int] = {}
        for i, row in enumerate(self.rows):
            for name in (row.name, *row.aliases):
                if not _NAME.match(name):
                    raise SpecError(
                        f"params[{i}].name",
                        f"must be a non-empty name without spaces, got {name!r}",
                    )
                if name in seen:
                    raise SpecError(
                        f"params[{i}]", f"name {name!r} already appears in params[{seen[name]}]"
                    )
                seen[name] = i

    @functools.cached_property
    def _columns(self) -> _TableColumns:
        """The table as columns (names, shapes, trainable, tags, aliases): what the resolver
        reads, without a pass over the rows per question."""
        if not self.rows:
            return _TableColumns((), (), (), (), ())
        return _TableColumns(*map(tuple, zip(*self.rows, strict=True)))

    @classmethod
    def from_columns(
        cls,
        names: Sequence[str],
        shapes: Sequence[tuple[int, ...]],
        trainable: Sequence[bool],
        tags: Sequence[frozenset[str]],
        aliases: Sequence[tuple[str, ...]],
    ) -> ParamTable:
        """The table whose rows are the given columns, row by row (already of the row
        fields' types: what a model walk builds), checked like any table."""
        columns = _TableColumns(
            tuple(names), tuple(shapes), tuple(trainable), tuple(tags), tuple(aliases)
        )
        # tuple.__new__ makes each Param without a Python-level call per row
        rows = tuple(map(tuple.__new__, itertools.repeat(Param), zip(*columns, strict=True)))
        table = cls.__new__(cls)
        object.__setattr__(table, "rows", rows)
        table.__dict__["_columns"] = columns
        table.__post_init__()
        return table

    def __iter__(self) -> Iterator[Param]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def names(self) -> list[str]:
        return list(self._columns.names)

    @classmethod
    def of(
        cls, rows: ParamTable | Iterable[Param | dict[str, Any] | Sequence[Any] | str]
    ) -> ParamTable:
        """From Params, dicts (``{"name", "shape", "trainable", "tags", "aliases"}``),
        ``(name, shape)`` tuples or bare names (a ParamTable is returned as it is)."""
        if isinstance(rows, ParamTable):
            return rows
        if isinstance(rows, (str, bytes, dict)) or not isinstance(rows, Iterable):
            raise SpecError(
                "params", f"must be a list of parameter rows or a ParamTable, got {describe(rows)}"
            )
        return cls(tuple(_row(r, f"params[{i}]") for i, r in enumerate(rows)))

    def save(self, path: str | Path) -> Path:
        """Write the table to ``path``: CSV for a ``.csv`` suffix, else JSON (``{"params":
        [...]}``); :meth:`load` and the CLI's ``--params`` read it back to an equal table.
        Returns the path."""
        target = Path(path)
        if target.suffix.lower() == ".csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["name", "shape", "trainable", "tags", "aliases"])
            for i, r in enumerate(self.rows):
                for key in ("tags", "aliases"):
                    bad = [x for x in getattr(r, key) if ";" in x or x != x.strip()]
                    if bad:
                        raise SpecError(
                            f"params[{i}].{key}",
                            f"{bad[0]!r} cannot be written to a CSV table (';' separates "
                            "items there); save the table as .json",
                        )
                writer.writerow(
                    [
                        r.name,
                        "x".join(map(str, r.shape)) if r.shape else "",
                        "true" if r.trainable else "false",
                        ";".join(sorted(r.tags)),
                        ";".join(r.aliases),
                    ]
                )
            text = out.getvalue()
        else:
            text = json.dumps({"params": self.to_data()}, indent=1) + "\n"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    @classmethod
    def load(cls, source: str | Path) -> ParamTable:
        """From a ``.json`` (a list of row objects, or ``{"params": [...]}``) or ``.csv`` file
        with columns ``name, shape, trainable, tags, aliases`` (shape like ``768x768``,
        tags and aliases separated by ``;``)."""
        path = Path(source)
        text = read_text(path, "parameter table")
        if path.suffix.lower() == ".csv":
            return cls.from_csv(text)
        origin = repr(str(path))
        data = parse_text(json.loads, json.JSONDecodeError, text, origin, "JSON", "table", "params")
        if isinstance(data, dict) and "params" in data:
            data = data["params"]
        if not isinstance(data, list):
            raise SpecError("params", f"must be a list of parameter rows, got {describe(data)}")
        return cls.of(data)

    @classmethod
    def from_csv(cls, text: str) -> ParamTable:
        try:
            return cls.of(_csv_rows(text))
        except csv.Error as err:  # e.g. a field over the csv module's size limit
            raise SpecError("params", f"is not a readable CSV parameter table: {err}") from None

    def to_data(self) -> list[dict[str, Any]]:
        return [
            {
                "name": r.name,
                "shape": list(r.shape),
                "trainable": r.trainable,
                "tags": sorted(r.tags),
                "aliases": list(r.aliases),
            }
            for r in self.rows
        ]


_ROW_KEYS = frozenset({"name", "shape", "trainable", "tags", "aliases"})


def _row(value: Any, path: str) -> Param:
    if isinstance(value, Param):
        return value
    if type(value) is dict and value.keys() <= _ROW_KEYS:
        fast = _fast_row(value)
        if fast is not None:
            return fast
    if isinstance(value, str):
        return Param(value)
    if isinstance(value, (tuple, list)):
        if not 1 <= len(value) <= 2:
            raise SpecError(path, f"a row tuple is (name, shape), got {describe(value)}")
        value = {"name": value[0], **({"shape": value[1]} if len(value) == 2 else {})}
    if not isinstance(value, dict):
        raise SpecError(path, f"must be a parameter row, got {describe(value)}")
    unknown = set(value) - {"name", "shape", "trainable", "tags", "aliases"}
    if unknown:
        raise SpecError(
            f"{path}.{sorted(unknown, key=str)[0]}",
            "unknown field; a row accepts: name, shape, trainable, tags, aliases",
        )
    name = value.get("name")
    if not isinstance(name, str):
        raise SpecError(f"{path}.name", f"must be a string, got {describe(name)}")
    shape = value.get("shape", ())
    if (
        isinstance(shape, (str, bytes))
        or not isinstance(shape, (list, tuple))
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise SpecError(
            f"{path}.shape", f"must be a list of non-negative ints, got {describe(shape)}"
        )
    trainable = value.get("trainable", True)
    if not isinstance(trainable, bool):
        raise SpecError(f"{path}.trainable", f"must be true or false, got {describe(trainable)}")
    tags, aliases = value.get("tags", ()), value.get("aliases", ())
    for key, items in (("tags", tags), ("aliases", aliases)):
        if not isinstance(items, (list, tuple, set, frozenset)) or not all(
            isinstance(x, str) for x in items
        ):
            raise SpecError(f"{path}.{key}", f"must be a list of strings, got {describe(items)}")
    return Param(name, tuple(shape), trainable, frozenset(tags), tuple(aliases))


def _csv_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "name" not in reader.fieldnames:
        raise SpecError("params", "a CSV parameter table needs a 'name' column")
    rows = []
    for i, rec in enumerate(reader):
        row: dict[str, Any] = {"name": (rec.get("name") or "").strip()}
        if rec.get("shape"):
            row["shape"] = _csv_shape(rec["shape"], f"params[{i}].shape")
        if rec.get("trainable"):
            row["trainable"] = _csv_bool(rec["trainable"], f"params[{i}].trainable")
        for key in ("tags", "aliases"):
            if rec.get(key):
                row[key] = [x.strip() for x in rec[key].split(";") if x.strip()]
        rows.append(row)
    return rows


def _csv_shape(text: str, path: str) -> list[int]:
    parts = [p for p in re.split(r"[x,\[\]()\s]+", text.strip()) if p]
    if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        raise SpecError(path, f"must look like 768x768 or [768, 768], got {text!r}")
    return [int(p) for p in parts]


def _csv_bool(text: str, path: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise SpecError(path, f"must be true or false, got {text!r}")


_INTS, _STRS = frozenset({int}), frozenset({str})


def _fast_row(value: dict[str, Any]) -> Param | None:
    """The row, when every field already has its exact type (else None: full validation).
    Type checks run as C-level set operations: 100,000 rows build in a fraction of a second."""
    name = value.get("name")
    shape = value.get("shape", ())
    trainable = value.get("trainable", True)
    tags = value.get("tags", ())
    aliases = value.get("aliases", ())
    if (
        type(name) is not str
        or (trainable is not True and trainable is not False)
        or type(shape) not in (list, tuple)
        or type(tags) not in (list, tuple)
        or type(aliases) not in (list, tuple)
    ):
        return None
    if shape and (not _INTS.issuperset(map(type, shape)) or min(shape) < 0):
        return None
    if (tags and not _STRS.issuperset(map(type, tags))) or (
        aliases and not _STRS.issuperset(map(type, aliases))
    ):
        return None
    return Param(name, tuple(shape), trainable, frozenset(tags), tuple(aliases))
