"""Reading a recipe document: TOML, JSON or a dict, short or explicit form.

Loading never executes code; every malformed input raises a
:class:`~schedcore.errors.SpecError` naming the path of the field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import SpecError, describe
from ..fields import LR_RANGE, Real, build
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


def load(source: str | Path | Mapping[str, Any]) -> Recipe:
    """A recipe from a TOML or JSON file path, a TOML/JSON string, or a dict."""
    if isinstance(source, Mapping):
        return from_document(dict(source))
    text, origin = _read(source)
    return from_document(_parse(text, origin))


def _read(source: str | Path) -> tuple[str, str]:
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith(("{", "["))):
        return source, "<string>"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise SpecError("", f"recipe file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise SpecError("", f"cannot read recipe file {str(path)!r}: {err}") from None


def _parse(text: str, origin: str) -> dict[str, Any]:
    if origin.endswith(".json") or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError("", f"{origin} is not valid JSON: {err}") from None
        except RecursionError:
            raise SpecError("", f"{origin} nests too deeply to be a recipe") from None
        except ValueError as err:  # e.g. an integer longer than Python's digit limit
            raise SpecError("", f"{origin} is not a usable JSON recipe: {err}") from None
        if not isinstance(data, dict):
            raise SpecError("", f"{origin}: a recipe must be a JSON object, got {describe(data)}")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError("", f"{origin} is not valid TOML: {err}") from None
    except RecursionError:
        raise SpecError("", f"{origin} nests too deeply to be a recipe") from None
    except ValueError as err:  # e.g. an integer longer than Python's digit limit
        raise SpecError("", f"{origin} is not a usable TOML recipe: {err}") from None


def from_document(data: dict[str, Any]) -> Recipe:
    """A recipe from its (short or explicit) dict form; every error names its path."""
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(
                str(key) or repr(key), "unknown field; a recipe accepts: " + ", ".join(TOP_KEYS)
            )
    version = data.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        raise SpecError("version", f"must be {VERSION}, got {describe(version)}")
    name = data.get("name", "")
    if not isinstance(name, str):
        raise SpecError("name", f"must be a string, got {describe(name)}")
    if "lr" not in data:
        raise SpecError("lr", "is required: the base learning rate")
    lr = Real(*LR_RANGE).coerce(data["lr"], "lr")
    training = None
    if "training" in data:
        raw = data["training"]
        if not isinstance(raw, dict):
            raise SpecError("training", f"must be a table, got {describe(raw)}")
        training = build(Training, raw, "training")
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
    policy = GroupPolicy.from_dict(data["groups"]) if "groups" in data else None
    if policy is not None:
        policy.check_schedules({DEFAULT_SCHEDULE, *named})
    recipe = Recipe(lr, schedule, named, training, policy, name)
    peak = max([schedule.peak(), *(s.peak() for s in named.values())])
    if not lr * peak < 1e300:
        raise SpecError("lr", f"times the schedule's peak ({peak:g}) is not finite")
    return recipe


def _schedule(raw: Any, path: str, lr: float, training: Training | None) -> Schedule:
    if not isinstance(raw, dict):
        raise SpecError(path, f"must be a schedule table, got {describe(raw)}")
    if "type" in raw:
        return from_dict(raw, path)
    return normalize(raw, path, lr, training)
