"""Golden files: a recipe's normalized form and sampled curve, to catch silent changes.

A golden file (JSON) holds the normalized recipe, its resolved groups when a parameter
table was bound, the lr of every group at sampled steps (every boundary and its
neighbours, key points, a dense sample and steps past the end) and a content hash.
:func:`check` recomputes the curve from the current recipe and reports any drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError
from ..recipe import Recipe, from_document
from ..recipe.fingerprint import canonical_json, fingerprint
from ..schedules.breakpoints import boundaries
from .compare import GroupDiff, compare, curves
from .keypoints import horizon, key_points

FORMAT = 1
DENSE = 512


def sample_steps(recipe: Recipe) -> np.ndarray:
    """Boundaries and their neighbours, key points, a dense grid and steps past the end."""
    total = horizon(recipe)
    steps = {0, total - 1, total, total + 1, 2 * total}
    for b in boundaries(recipe.schedule, 2 * total):
        steps.update((b - 1, b, b + 1))
    for schedule in recipe.schedules.values():
        for b in boundaries(schedule, 2 * total):
            steps.update((b - 1, b, b + 1))
    steps.update(p.step for p in key_points(recipe))
    steps.update(np.linspace(0, total, DENSE).astype(np.int64).tolist())
    return np.array(sorted(s for s in steps if s >= 0), dtype=np.int64)


def snapshot(recipe: Recipe) -> dict[str, Any]:
    """The golden document for ``recipe`` (bound or not)."""
    steps = sample_steps(recipe)
    body: dict[str, Any] = {
        "schedcore_golden": FORMAT,
        "recipe": recipe.to_dict(),
        "groups": None
        if recipe.resolution is None
        else [
            {
                "params": list(g.params),
                "lr": g.lr,
                "weight_decay": g.weight_decay,
                "schedule": g.schedule,
            }
            for g in recipe.resolution.groups
        ],
        "steps": steps.tolist(),
        "lr": curves(recipe, steps).tolist(),
    }
    body["hash"] = fingerprint(body)
    return body


def write(recipe: Recipe, path: str | Path) -> dict[str, Any]:
    data = snapshot(recipe)
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


def read(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError("--golden", f"golden file {str(path)!r} does not exist") from None
    except (OSError, ValueError) as err:
        raise SpecError("--golden", f"cannot read golden file {str(path)!r}: {err}") from None
    if not isinstance(data, dict) or data.get("schedcore_golden") != FORMAT:
        raise SpecError(
            "--golden", f"{str(path)!r} is not a schedcore golden file (format {FORMAT})"
        )
    for key in ("recipe", "steps", "lr", "hash"):
        if key not in data:
            raise SpecError(f"golden.{key}", "is missing; regenerate with schedcore snapshot")
    body = {k: v for k, v in data.items() if k != "hash"}
    if fingerprint(body) != data["hash"]:
        raise SpecError("golden.hash", "does not match the file's content: it was edited by hand")
    return data


class Drift:
    """The differences between a recipe and its golden file."""

    def __init__(self, groups: list[GroupDiff], fields: list[str], notes: list[str]) -> None:
        self.groups, self.fields, self.notes = groups, fields, notes

    @property
    def clean(self) -> bool:
        return not self.fields and not self.notes and all(g.same for g in self.groups)

    def report(self) -> str:
        if self.clean:
            return "no drift: the recipe matches its golden file"
        lines = ["the recipe drifted from its golden file:"]
        lines += [f"  {note}" for note in self.notes]
        lines += [f"  changed field: {field}" for field in self.fields]
        lines += [f"  {g.describe()}" for g in self.groups if not g.same]
        return "\n".join(lines)


def check(recipe: Recipe, golden: dict[str, Any], rtol: float = 1e-12) -> Drift:
    """Compare ``recipe`` with a golden document."""
    steps = np.asarray(golden["steps"], dtype=np.int64)
    expected = np.asarray(golden["lr"], dtype=np.float64)
    actual = curves(recipe, steps)
    notes = []
    if actual.shape != expected.shape:
        notes.append(f"group count changed: golden {expected.shape[0]}, now {actual.shape[0]}")
        n = min(actual.shape[0], expected.shape[0])
        actual, expected = actual[:n], expected[:n]
    fields = changed_fields(golden["recipe"], recipe.to_dict())
    return Drift(compare(steps, expected, actual, rtol), fields, notes)


def changed_fields(a: Any, b: Any, path: str = "") -> list[str]:
    """Dotted paths where two plain-data documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(f"{where} ({'added' if key not in a else 'removed'})")
            else:
                out += changed_fields(a[key], b[key], where)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            f
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for f in changed_fields(x, y, f"{path}[{i}]")
        ]
    return (
        []
        if canonical_json(a) == canonical_json(b)
        else [f"{path}: {json.dumps(a)} -> {json.dumps(b)}"]
    )


def recipe_of(golden: dict[str, Any]) -> Recipe:
    """The recipe stored in a golden document."""
    try:
        return from_document(golden["recipe"])
    except SpecError as err:
        raise err.within("golden.recipe") from None
