"""Compare two lr curves per group: where they first diverge and by how much.

A step differs when ``|a - b| > atol + rtol * max(|a|, |b|)`` or when either value is NaN
or infinite: a NaN or an inf is always a difference, whatever the tolerance."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from ..errors import SpecError, describe


def tolerance(value: object, what: str = "--rtol") -> float:
    """``value`` as a tolerance: a finite number >= 0, else a SpecError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise SpecError(what, f"must be a number >= 0, got {describe(value)}")
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise SpecError(what, f"must be a finite number >= 0, got {describe(value)}")
    return number


@dataclasses.dataclass(frozen=True)
class GroupDiff:
    """How group ``group`` of curve B differs from curve A (steps are update indices)."""

    group: int
    first_step: int | None  # first step beyond tolerance; None when identical within it
    a_at_first: float | None
    b_at_first: float | None
    max_abs: float
    max_abs_step: int
    max_rel: float
    max_rel_step: int
    name: str = ""  # the group's name; "" for an unnamed group (shown as "group i")

    @property
    def same(self) -> bool:
        return self.first_step is None

    @property
    def label(self) -> str:
        return self.name or f"group {self.group}"

    def describe(self) -> str:
        if self.same:
            return f"{self.label}: identical (max abs diff {self.max_abs:.3g})"
        return (
            f"{self.label}: diverges at step {self.first_step} "
            f"(A {self.a_at_first:.6g}, B {self.b_at_first:.6g}); "
            f"max abs diff {self.max_abs:.3g} at step {self.max_abs_step}, "
            f"max rel diff {self.max_rel:.3g} at step {self.max_rel_step}"
        )


def compare(
    steps: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    rtol: float,
    atol: float = 0.0,
    names: list[str] | None = None,
) -> list[GroupDiff]:
    """Per-group differences of curves ``a`` and ``b`` (shape (groups, len(steps))); group
    ``g`` is called ``names[g]`` when given. A NaN or inf on either side always differs."""
    rtol, atol = tolerance(rtol, "rtol"), tolerance(atol, "atol")
    out = []
    for g in range(a.shape[0]):
        finite = np.isfinite(a[g]) & np.isfinite(b[g])
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.where(finite, np.abs(a[g] - b[g]), np.inf)
            scale = np.maximum(np.abs(a[g]), np.abs(b[g]))
            rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
        rel[~finite] = np.inf
        bad = np.flatnonzero(~finite | (diff > atol + rtol * scale))
        first = int(bad[0]) if bad.shape[0] else None
        i_abs, i_rel = int(np.argmax(diff)), int(np.argmax(rel))
        out.append(
            GroupDiff(
                g,
                None if first is None else int(steps[first]),
                None if first is None else float(a[g, first]),
                None if first is None else float(b[g, first]),
                float(diff[i_abs]),
                int(steps[i_abs]),
                float(rel[i_rel]),
                int(steps[i_rel]),
                names[g] if names and g < len(names) else "",
            )
        )
    return out


def compare_chunked(
    steps: np.ndarray,
    a: Callable[[np.ndarray], np.ndarray],
    b: Callable[[np.ndarray], np.ndarray],
    rtol: float,
    names: list[str] | None = None,
    chunk: int = 1 << 16,
) -> list[GroupDiff]:
    """:func:`compare` of ``a(steps)`` and ``b(steps)`` (functions giving (groups, n)
    curves), evaluated ``chunk`` steps at a time so that memory stays bounded."""
    merged: list[GroupDiff] | None = None
    for lo in range(0, max(steps.shape[0], 1), chunk):
        at = steps[lo : lo + chunk]
        part = compare(at, a(at), b(at), rtol, names=names)
        if merged is None:
            merged = part
        else:
            merged = [_merge(x, y) for x, y in zip(merged, part, strict=True)]
    return merged or []


def _merge(x: GroupDiff, y: GroupDiff) -> GroupDiff:
    """``x`` (earlier steps) and ``y`` (later ones) as one difference."""
    first = x if x.first_step is not None else y
    big = x if x.max_abs >= y.max_abs else y
    rel = x if x.max_rel >= y.max_rel else y
    return dataclasses.replace(
        x,
        first_step=first.first_step,
        a_at_first=first.a_at_first,
        b_at_first=first.b_at_first,
        max_abs=big.max_abs,
        max_abs_step=big.max_abs_step,
        max_rel=rel.max_rel,
        max_rel_step=rel.max_rel_step,
    )


def curves(recipe, steps: np.ndarray) -> np.ndarray:
    """The recipe's lr per group (one row without groups) at ``steps``: ``recipe.lr``, the
    one place lrs are computed, as a (groups, steps) float64 array."""
    values = np.asarray(recipe.lr(np.asarray(steps, dtype=np.int64)), dtype=np.float64)
    return values[None, :] if values.ndim == 1 else values
