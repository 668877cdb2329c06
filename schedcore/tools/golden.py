"""Golden files: a recipe's normalized form, its sampled curve and a digest of every step.

A golden file (JSON, format :data:`FORMAT`) holds

- ``recipe``: the normalized recipe, and ``groups``: its resolved groups (name, parameters,
  lr, weight decay, schedule) when a parameter table was bound;
- ``steps`` and ``curves``: the lr at every boundary of every schedule and its neighbours
  (at most :data:`MAX_BOUNDARIES` boundaries per schedule), the key points, an even sample
  of :data:`DENSE` steps and steps past the end; ``curves`` holds each distinct row once and
  ``rows`` says which row each group has (so the file stays small however many groups);
- ``digest``: a BLAKE2b digest of the float64 lr of every group at *every* step of
  ``[0, digest.steps)``, one per block of :data:`BLOCK` steps, over the horizon plus 25%
  up to :data:`DIGEST_LIMIT` steps, computed in blocks so memory stays bounded;
- ``hash``: a content hash of all of the above (a hand-edited file is refused).

:func:`check` reports drift: a changed recipe field or group, a sampled lr beyond ``rtol``
(NaN and inf always), and a block whose digest differs: any change at any step of the
digested range, even one no sample sees. The digest is exact (bit for bit); ``full=False``
compares the samples only, within ``rtol`` (a golden file from a platform whose float math
differs in the last bits).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError, StepRangeError, describe
from ..fields import MAX_STEP
from ..files import read_text
from ..recipes import Recipe, from_document
from ..recipes.fingerprint import canonical_json, fingerprint
from ..schedules.breakpoints import boundaries
from .compare import GroupDiff, compare, curves, tolerance
from .keypoints import defined, group_names, horizon, key_points, schedules_of

FORMAT = 2
DENSE = 1024
"""Evenly spaced sampled steps over the horizon."""
MAX_BOUNDARIES = 256
"""Boundaries sampled (with their neighbours) per schedule, evenly chosen among its first
4,096: the digest covers every step in between."""
BLOCK = 1 << 16
"""Steps per digest block."""
DIGEST_LIMIT = 1 << 22
"""Most steps digested (about 4.2 million, a fraction of a second per distinct schedule)."""


def sample_steps(recipe: Recipe, total: int | None = None) -> np.ndarray:
    """Boundaries and their neighbours, key points, an even grid and steps past the end of
    ``total`` steps (default: the recipe's horizon), where the recipe is defined."""
    total = horizon(recipe) if total is None else total
    end = min(2 * total, MAX_STEP)
    steps = {0, total - 1, total, total + 1, end}
    for schedule in schedules_of(recipe):
        found = boundaries(schedule, end)
        if len(found) > MAX_BOUNDARIES:
            found = [found[i] for i in np.linspace(0, len(found) - 1, MAX_BOUNDARIES).astype(int)]
        for b in found:
            steps.update((b - 1, b, b + 1))
    steps.update(p.step for p in key_points(recipe, total))
    steps.update(np.linspace(0, total, DENSE).astype(np.int64).tolist())
    picked = np.array(sorted(s for s in steps if 0 <= s <= MAX_STEP), dtype=np.int64)
    return defined(recipe, picked)


def digest_blocks(recipe: Recipe, steps: int, block: int = BLOCK) -> list[str]:
    """The digest of every group's float64 lr over ``[0, steps)``, one per ``block`` steps
    (16 hex digits each)."""
    out = []
    for lo in range(0, steps, block):
        values = curves(recipe, np.arange(lo, min(lo + block, steps), dtype=np.int64))
        data = np.ascontiguousarray(values, dtype="<f8").tobytes()
        out.append(hashlib.blake2b(data, digest_size=8).hexdigest())
    return out


def _groups(recipe: Recipe) -> list[dict[str, Any]] | None:
    if recipe.resolution is None:
        return None
    return [
        {
            "name": name,
            "params": list(g.params),
            "lr": g.lr,
            "weight_decay": g.weight_decay,
            "schedule": g.schedule,
        }
        for name, g in zip(group_names(recipe), recipe.resolution.groups, strict=True)
    ]


def snapshot(recipe: Recipe, total: int | None = None) -> dict[str, Any]:
    """The golden document for ``recipe`` (bound or not), over ``total`` steps (default:
    its horizon). A recipe whose lr is NaN or infinite at a sampled step is refused."""
    total = horizon(recipe) if total is None else total
    steps = sample_steps(recipe, total)
    values = curves(recipe, steps)
    bad = np.argwhere(~np.isfinite(values))
    if bad.shape[0]:
        g, j = (int(i) for i in bad[0])
        raise SpecError(
            "recipe", f"lr is {float(values[g, j])!r} at step {int(steps[j])}: nothing to snapshot"
        )
    distinct: dict[bytes, int] = {}
    rows = [distinct.setdefault(row.tobytes(), len(distinct)) for row in values]
    firsts = {index: i for i, index in reversed(list(enumerate(rows)))}
    span = _digest_end(recipe, total)
    body: dict[str, Any] = {
        "schedcore_golden": FORMAT,
        "recipe": recipe.to_dict(),
        "groups": _groups(recipe),
        "horizon": total,
        "steps": steps.tolist(),
        "curves": [values[firsts[k]].tolist() for k in range(len(distinct))],
        "rows": rows,
        "digest": {"steps": span, "block": BLOCK, "blocks": digest_blocks(recipe, span)},
    }
    body["hash"] = fingerprint(body)
    return body


def _digest_end(recipe: Recipe, total: int) -> int:
    want = min(total + max(total // 4, 1) + 1, DIGEST_LIMIT)
    probe = defined(recipe, np.array([want - 1], dtype=np.int64))
    if probe.shape[0]:
        return want
    from .keypoints import defined_end

    return defined_end(recipe, want - 1)


def dumps(data: dict[str, Any]) -> str:
    """A golden document as text: one top-level key per line (readable diffs, small)."""
    lines = [
        f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':'), allow_nan=False)}"
        for k, v in data.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write(
    recipe: Recipe, path: str | Path, total: int | None = None, what: str = "--output"
) -> dict[str, Any]:
    """Write the golden file for ``recipe`` to ``path`` (its folder created; a failure is a
    SpecError naming ``what``)."""
    from .output import prepare, write_text

    prepare(path, what)  # a folder given as the file fails before the work
    data = snapshot(recipe, total)
    write_text(path, dumps(data), what)
    return data


def read(path: str | Path) -> dict[str, Any]:
    """A golden file, validated in full (every failure is a SpecError naming the field)."""
    name = repr(str(path))
    try:
        text = read_text(path, "golden file")
    except SpecError as err:
        raise SpecError("--golden", err.problem) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise SpecError("--golden", f"golden file {name} is not valid JSON: {err}") from None
    if not isinstance(data, dict) or data.get("schedcore_golden") != FORMAT:
        raise SpecError(
            "--golden",
            f"{name} is not a schedcore golden file (format {FORMAT}); "
            "regenerate it with schedcore snapshot",
        )
    validate(data)
    body = {k: v for k, v in data.items() if k != "hash"}
    if fingerprint(body) != data["hash"]:
        raise SpecError("golden.hash", "does not match the file's content: it was edited by hand")
    return data


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(data: dict[str, Any]) -> None:
    """Check a golden document's structure: types, strictly increasing integer steps in
    [0, 2**53], one finite number per step in every curve, one row per group, a digest
    block per :data:`BLOCK` steps."""
    keys = ("recipe", "groups", "horizon", "steps", "curves", "rows", "digest", "hash")
    for key in keys:
        if key not in data:
            raise SpecError(f"golden.{key}", "is missing; regenerate with schedcore snapshot")
    if not isinstance(data["recipe"], dict):
        raise SpecError("golden.recipe", f"must be an object, got {describe(data['recipe'])}")
    if not isinstance(data["hash"], str):
        raise SpecError("golden.hash", f"must be a string, got {describe(data['hash'])}")
    horizon_ = data["horizon"]
    if not _int(horizon_) or not 1 <= horizon_ <= MAX_STEP:
        raise SpecError("golden.horizon", f"must be an integer >= 1, got {describe(horizon_)}")
    steps = data["steps"]
    if not isinstance(steps, list) or not steps:
        raise SpecError("golden.steps", f"must be a non-empty list, got {describe(steps)}")
    previous = -1
    for i, s in enumerate(steps):
        if not _int(s) or not previous < s <= MAX_STEP:
            raise SpecError(
                f"golden.steps[{i}]",
                f"must be an integer step above the one before ({previous}), got {describe(s)}",
            )
        previous = s
    rows = data["curves"]
    if not isinstance(rows, list) or not rows:
        raise SpecError("golden.curves", f"must be a non-empty list, got {describe(rows)}")
    for r, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(steps):
            got = len(row) if isinstance(row, list) else describe(row)
            raise SpecError(f"golden.curves[{r}]", f"must hold {len(steps)} lrs, got {got}")
        for j, v in enumerate(row):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise SpecError(f"golden.curves[{r}][{j}]", f"must be a finite number, got {v!r}")
    groups = data["groups"]
    if groups is not None:
        if not isinstance(groups, list):
            raise SpecError("golden.groups", f"must be a list or null, got {describe(groups)}")
        for i, g in enumerate(groups):
            if not isinstance(g, dict) or not isinstance(g.get("name"), str):
                raise SpecError(f"golden.groups[{i}]", "must be an object with a string name")
    index = data["rows"]
    count = 1 if groups is None else len(groups)
    if not isinstance(index, list) or len(index) != count:
        raise SpecError("golden.rows", f"must be a list of {count} curve indices")
    for i, k in enumerate(index):
        if not _int(k) or not 0 <= k < len(rows):
            raise SpecError(f"golden.rows[{i}]", f"must index golden.curves, got {describe(k)}")
    digest = data["digest"]
    if not isinstance(digest, dict) or set(digest) != {"steps", "block", "blocks"}:
        raise SpecError("golden.digest", "must be an object with steps, block and blocks")
    span, block, blocks = digest["steps"], digest["block"], digest["blocks"]
    if not _int(span) or not 0 <= span <= DIGEST_LIMIT:
        raise SpecError("golden.digest.steps", f"must be an integer in [0, {DIGEST_LIMIT}]")
    if not _int(block) or block < 1:
        raise SpecError("golden.digest.block", f"must be a positive integer, got {describe(block)}")
    if not isinstance(blocks, list) or len(blocks) != -(-span // block):
        raise SpecError("golden.digest.blocks", f"must hold {-(-span // block)} block digests")
    for i, h in enumerate(blocks):
        if not (isinstance(h, str) and len(h) == 16 and all(c in "0123456789abcdef" for c in h)):
            raise SpecError(f"golden.digest.blocks[{i}]", f"must be 16 hex digits, got {h!r}")


def stored_curves(golden: dict[str, Any]) -> np.ndarray:
    """The lr per group (one row without groups) at the golden file's steps."""
    rows = np.asarray(golden["curves"], dtype=np.float64)
    return rows[np.asarray(golden["rows"], dtype=np.int64)]


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


def check(recipe: Recipe, golden: dict[str, Any], rtol: float = 0.0, full: bool = True) -> Drift:
    """Compare ``recipe`` with a golden document (:func:`read`): its fields and groups,
    its lr at the stored steps within ``rtol`` (NaN and inf always drift), and, with
    ``full``, the digest of every step of the digested range, bit for bit."""
    rtol = tolerance(rtol, "rtol")
    validate(golden)
    steps = np.asarray(golden["steps"], dtype=np.int64)
    expected = stored_curves(golden)
    notes = []
    usable = defined(recipe, steps)
    if usable.shape[0] < steps.shape[0]:
        notes.append(
            f"the recipe now raises at step {int(steps[usable.shape[0]])} (after = 'error'), "
            "where the golden file has an lr"
        )
        steps, expected = usable, expected[:, : usable.shape[0]]
    actual = curves(recipe, steps)
    if actual.shape[0] != expected.shape[0]:
        notes.append(f"group count changed: golden {expected.shape[0]}, now {actual.shape[0]}")
        n = min(actual.shape[0], expected.shape[0])
        actual, expected = actual[:n], expected[:n]
    fields = changed_fields(golden["recipe"], recipe.to_dict())
    if golden["groups"] is not None or recipe.resolution is not None:
        fields += changed_fields(golden["groups"], _groups(recipe), "groups")
    diffs = compare(steps, expected, actual, rtol, names=golden_names(golden))
    if full:
        notes += _digest_notes(recipe, golden["digest"], all(d.same for d in diffs))
    return Drift(diffs, fields, notes)


def _digest_notes(recipe: Recipe, digest: dict[str, Any], samples_same: bool) -> list[str]:
    span, block = digest["steps"], digest["block"]
    try:
        now = digest_blocks(recipe, span, block)
    except StepRangeError as err:
        return [f"the recipe now raises within the digested steps [0, {span}): {err}"]
    changed = [i for i, (a, b) in enumerate(zip(digest["blocks"], now, strict=True)) if a != b]
    if not changed:
        return []
    first, last = changed[0] * block, min((changed[-1] + 1) * block, span) - 1
    where = "" if not samples_same else " (where every stored sample still matches)"
    return [
        f"the lr differs from the golden curve at some step in [{first}, {last}]{where}: "
        f"{len(changed)} of {len(now)} blocks of {block} steps changed bit for bit; "
        "schedcore diff shows where (--sampled-only compares the samples within --rtol only)"
    ]


def golden_names(golden: dict[str, Any]) -> list[str]:
    """The group names a golden document stores ("" where it has none)."""
    groups = golden.get("groups") or []
    return [str(g.get("name", "")) if isinstance(g, dict) else "" for g in groups]


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
    if canonical_json(a) == canonical_json(b):
        return []
    return [f"{path}: {describe_json(a)} -> {describe_json(b)}"]


def describe_json(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def recipe_of(golden: dict[str, Any]) -> Recipe:
    """The recipe stored in a golden document."""
    try:
        return from_document(golden["recipe"])
    except SpecError as err:
        raise err.within("golden.recipe") from None
