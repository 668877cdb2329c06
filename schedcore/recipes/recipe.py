"""The recipe: base lr, schedule(s), training horizon and group policy in one object.

``to_dict`` gives the normalized document, which :func:`schedcore.load` reads back to an
equal recipe (see :mod:`schedcore.recipes.document`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..groups.policy import GroupPolicy
from ..groups.resolve import DEFAULT_SCHEDULE, Resolution, resolve
from ..groups.table import ParamTable
from ..schedules.node import Schedule
from .training import Training

VERSION = 1


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A learning-rate recipe. ``lr(steps)`` gives the absolute lr that update ``k`` applies.

    Without a bound parameter table ``lr`` returns ``base_lr * schedule(k)``; bound with
    :meth:`bind`, it returns one row per resolved group, shape ``(groups, *steps.shape)``.
    """

    base_lr: float
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
            return self.base_lr * self.schedule(steps)
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
        return dataclasses.replace(self, resolution=resolve(policy, table, self.base_lr, names))

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
        out["lr"] = self.base_lr
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
