"""The recipe: base lr, schedule(s), training horizon and group policy in one document.

TOML, JSON and Python dicts all load; loading never executes code. ``to_dict`` gives the
normalized document, which loads back to an equal recipe.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SpecError, describe
from .node import Schedule, from_dict
from .params import LR_RANGE, Real
from .policy import GroupPolicy
from .resolve import DEFAULT_SCHEDULE, Resolution, resolve
from .shortform import normalize
from .table import ParamTable
from .training import Training

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised in the Python 3.10 environment
    import tomli as tomllib

VERSION = 1
TOP_KEYS = ("version", "name", "lr", "training", "schedule", "schedules", "groups")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A learning-rate recipe. ``lr(steps)`` gives the absolute lr that update ``k`` applies.

    Without a bound parameter table ``lr`` returns ``base_lr * schedule(k)``; bound with
    :meth:`bind`, it returns one row per resolved group, shape ``(groups, *steps.shape)``.
    """

    lr_base: float
    schedule: Schedule
    schedules: Mapping[str, Schedule] = dataclasses.field(default_factory=dict)
    training: Training | None = None
    policy: GroupPolicy | None = None
    name: str = ""
    resolution: Resolution | None = dataclasses.field(default=None, compare=False)
    version: int = VERSION

    # -- evaluation ---------------------------------------------------------------------
    def schedule_named(self, name: str) -> Schedule:
        if name == DEFAULT_SCHEDULE:
            return self.schedule
        return self.schedules[name]

    def lr(self, steps: Any) -> Any:
        if self.resolution is None:
            return self.lr_base * self.schedule(steps)
        rows = [g.lr * self.schedule_named(g.schedule)(steps) for g in self.resolution.groups]
        # reshape: with no group (every parameter frozen) still (0, *steps.shape)
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), *np.shape(steps))

    # -- groups -------------------------------------------------------------------------
    def bind(self, table: ParamTable | str | Path | list[Any]) -> Recipe:
        """This recipe with its group policy resolved against a parameter table."""
        if not isinstance(table, ParamTable):
            table = (
                ParamTable.load(table) if isinstance(table, (str, Path)) else ParamTable.of(table)
            )
        policy = self.policy or GroupPolicy.from_dict({"defaults": {}})
        names = {DEFAULT_SCHEDULE, *self.schedules}
        return dataclasses.replace(self, resolution=resolve(policy, table, self.lr_base, names))

    @property
    def groups(self) -> tuple[Any, ...]:
        """The resolved groups (needs :meth:`bind`)."""
        if self.resolution is None:
            raise RuntimeError(
                "recipe.groups needs a parameter table: use recipe.bind(table) "
                "(adapters do this from the model)"
            )
        return self.resolution.groups

    @property
    def total_steps(self) -> int | None:
        return self.training.steps if self.training else self.schedule.length

    # -- documents ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        if self.name:
            out["name"] = self.name
        out["lr"] = self.lr_base
        if self.training is not None:
            out["training"] = self.training.to_dict()
        out["schedule"] = self.schedule.to_dict()
        if self.schedules:
            out["schedules"] = {k: v.to_dict() for k, v in self.schedules.items()}
        if self.policy is not None:
            out["groups"] = self.policy.to_dict()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)


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
        from .params import build

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
