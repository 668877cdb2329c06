"""Reading a recipe document: TOML, JSON or a dict, short or explicit form.

Loading never executes code; every malformed input raises a
:class:`~schedcore.errors.SpecError` naming the path of the field. Files are read with a
size cap (:data:`MAX_DOCUMENT_BYTES`) and decoded as UTF-8 (a BOM is accepted, other
encodings are refused by name). In JSON a key given twice in one object is an error, as it
is in TOML. Every key of a document is a string, and every string is valid Unicode text
(no lone surrogates), so a loaded recipe can always be printed and written back.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import numbers
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import SpecError, describe
from ..fields import LR_RANGE, Real
from ..files import MAX_DOCUMENT_BYTES, parse_text, read_text
from ..groups.policy import GroupPolicy
from ..groups.resolve import DEFAULT_SCHEDULE
from ..schedules.node import Schedule, from_dict
from .recipe import VERSION, Recipe
from .shortform import normalize
from .training import Training

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised in the Python 3.10 environment
    import tomli as tomllib

TOP_KEYS = ("version", "name", "lr", "training", "schedule", "schedules", "groups")


def as_recipe(
    value: Recipe | Schedule | Mapping[str, Any] | str | Path,
    lr: float | None = None,
    what: str = "recipe",
) -> Recipe:
    """What the adapters accept wherever a recipe goes: a :class:`Recipe`, a schedule (a
    node, or a node's dict form with a ``type``), a recipe dict, or a TOML / JSON path or
    text. ``lr`` sets the base lr (it overrides a recipe's ``lr``); a bare schedule needs it.
    Errors name ``what``, the caller's argument."""
    if lr is not None:
        lr = Real(*LR_RANGE).coerce(lr, "lr")
    if isinstance(value, Mapping) and "type" in value:
        value = from_dict(dict(value), what)
    if isinstance(value, Schedule):
        if lr is None:
            raise SpecError(
                "lr", f"is required with a bare schedule as {what} (the base lr it multiplies)"
            )
        return Recipe(base_lr=lr, schedule=value)
    if isinstance(value, Recipe):
        recipe = value
    elif isinstance(value, (Mapping, str, Path)):
        recipe = load(value)
    else:
        raise SpecError(
            what,
            "must be a schedcore.Recipe, a schedule, a recipe dict or a TOML/JSON path, "
            f"got {describe(value)}",
        )
    if lr is None or lr == recipe.base_lr:
        return recipe
    return dataclasses.replace(recipe, base_lr=lr, resolution=None)  # groups: bind again


def as_recipe_argument(value: Any, what: str = "recipe", lr: float | None = None) -> Recipe:
    """:func:`as_recipe` for a Python argument: a value of none of the accepted types is a
    ``TypeError`` naming ``what`` (a wrong type, not a wrong document)."""
    if not isinstance(value, (Recipe, Schedule, Mapping, str, Path)):
        raise TypeError(
            f"{what} must be a schedcore.Recipe, a schedule, a recipe dict or a TOML/JSON "
            f"path, got {describe(value)}"
        )
    return as_recipe(value, lr=lr, what=what)


def load(source: str | Path | Mapping[str, Any]) -> Recipe:
    """A recipe from a TOML or JSON file path, a TOML/JSON string, or a dict.

    A :class:`~pathlib.Path` is always a file. A string is a file when a file of that name
    exists (``"[v2] recipe.toml"`` included); otherwise it is the document's text when it
    spans lines or starts with ``{`` or ``[``, and a file name (that does not exist) else.
    """
    if isinstance(source, Mapping):
        return from_document(dict(source))
    text, origin = _read(source)
    return from_document(_parse(text, origin))


def _read(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path):
        return read_text(source), str(source)
    if not isinstance(source, str):
        raise SpecError(
            "", f"a recipe is a file path, TOML/JSON text or a dict, got {describe(source)}"
        )
    if len(source) > MAX_DOCUMENT_BYTES:
        raise SpecError("", f"recipe text is longer than {MAX_DOCUMENT_BYTES >> 20} MiB")
    text = source.removeprefix("\ufeff")
    if "\n" not in text and _exists(text):
        return read_text(text), text
    if "\n" in text or text.lstrip().startswith(("{", "[")):
        return text, "<string>"
    return read_text(text), text


def _exists(name: str) -> bool:
    try:
        return bool(name) and os.path.exists(name)
    except (OSError, ValueError):  # a name too long, a NUL or a lone surrogate in it
        return False


class _Duplicate:
    """Stands, in parsed JSON, for an object that gives ``key`` twice."""

    def __init__(self, key: str) -> None:
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Duplicate:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            return _Duplicate(key)
        out[key] = value
    return out


def _parse(text: str, origin: str) -> dict[str, Any]:
    stripped = text.lstrip()
    if origin.endswith(".json") or stripped.startswith("{"):
        loads = functools.partial(json.loads, object_pairs_hook=_object)
        data = parse_text(loads, json.JSONDecodeError, text, origin, "JSON", "recipe")
        if not isinstance(data, (dict, _Duplicate)):
            raise SpecError("", f"{origin}: a recipe must be a JSON object, got {describe(data)}")
        return data  # type: ignore[return-value]  # a _Duplicate: refused by _check_plain
    one_line = origin == "<string>" and "\n" not in text
    if one_line and stripped.endswith((".toml", ".json")) and not _parses_as_toml(text):
        raise SpecError("", f"recipe file {describe(text)} does not exist")  # a file name
    return parse_text(tomllib.loads, tomllib.TOMLDecodeError, text, origin, "TOML", "recipe")


def _parses_as_toml(text: str) -> bool:
    try:
        tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return False
    return True


def _key_path(path: str, key: str) -> str:
    shown = key.encode("utf-8", "backslashreplace").decode("utf-8") or repr(key)
    return f"{path}.{shown}" if path else shown


def _check_plain(data: Any) -> None:
    """Refuse what no TOML or JSON text can hold and what could not be printed back: a key
    that is not a string, a string with a lone surrogate, and (from JSON text) an object
    that gives a key twice. An iterative walk: any depth, shared sub-tables seen once."""
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and not _is_text(value):
                raise SpecError(path, "contains a lone surrogate: not valid Unicode text")
        elif isinstance(value, _Duplicate):
            raise SpecError(
                _key_path(path, value.key),
                "is given twice in one JSON object; a recipe gives each key once "
                "(as TOML requires)",
            )
        elif isinstance(value, (dict, list, tuple)):
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise SpecError(
                            _key_path(path, describe(key)),
                            f"keys must be strings, got {describe(key)} ({type(key).__name__})",
                        )
                    if not key.isascii() and not _is_text(key):
                        raise SpecError(
                            _key_path(path, key),
                            "this key contains a lone surrogate: not valid Unicode text",
                        )
                    stack.append((item, _key_path(path, key)))
            else:
                stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def from_document(data: dict[str, Any]) -> Recipe:
    """A recipe from its (short or explicit) dict form; every error names its path. A dict
    built in Python may hold schedule nodes (``{"lr": 0.1, "schedule": sc.cosine(steps=100)}``),
    a :class:`Training` and a :class:`GroupPolicy` where their tables go."""
    _check_plain(data)
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(
                str(key) or repr(key), "unknown field; a recipe accepts: " + ", ".join(TOP_KEYS)
            )
    version = data.get("version", VERSION)
    if (
        isinstance(version, bool)
        or not isinstance(version, numbers.Real)  # a numpy array, a string, None
        or version != VERSION
    ):
        raise SpecError("version", f"must be {VERSION}, got {describe(version)}")
    name = data.get("name", "")
    if not isinstance(name, str):
        raise SpecError("name", f"must be a string, got {describe(name)}")
    if "lr" not in data:
        raise SpecError("lr", "is required: the base learning rate")
    lr = Real(*LR_RANGE).coerce(data["lr"], "lr")
    training = Training.from_dict(data["training"]) if "training" in data else None
    schedule = _schedule(data.get("schedule", {"decay": "constant"}), "schedule", lr, training)
    raw_named = data.get("schedules", {})
    if not isinstance(raw_named, dict):
        raise SpecError(
            "schedules", f"must be a table of named schedules, got {describe(raw_named)}"
        )
    named = {}
    for key, value in raw_named.items():
        if key == DEFAULT_SCHEDULE:
            raise SpecError(f"schedules.{key}", f"{DEFAULT_SCHEDULE!r} is the name of `schedule`")
        named[key] = _schedule(value, f"schedules.{key}", lr, training)
    policy = data.get("groups")
    if "groups" in data and not isinstance(policy, GroupPolicy):
        policy = GroupPolicy.from_dict(policy)
    if policy is not None:
        policy.check_schedules({DEFAULT_SCHEDULE, *named})
    recipe = Recipe(lr, schedule, named, training, policy, name)
    peak = max([schedule.peak(), *(s.peak() for s in named.values())])
    if not lr * peak < 1e300:
        raise SpecError("lr", f"times the schedule's peak ({peak:g}) is not finite")
    return recipe


def _schedule(raw: Any, path: str, lr: float, training: Training | None) -> Schedule:
    if isinstance(raw, Schedule):  # a dict built in Python may hold nodes
        return raw
    if not isinstance(raw, dict):
        raise SpecError(path, f"must be a schedule table, got {describe(raw)}")
    if "type" in raw:
        return from_dict(raw, path)
    return normalize(raw, path, lr, training)
