"""Compare two lr curves per group: where they first diverge and by how much."""

from __future__ import annotations

import dataclasses

import numpy as np


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

    @property
    def same(self) -> bool:
        return self.first_step is None

    def describe(self) -> str:
        if self.same:
            return f"group {self.group}: identical (max abs diff {self.max_abs:.3g})"
        return (
            f"group {self.group}: diverges at step {self.first_step} "
            f"(A {self.a_at_first:.6g}, B {self.b_at_first:.6g}); "
            f"max abs diff {self.max_abs:.3g} at step {self.max_abs_step}, "
            f"max rel diff {self.max_rel:.3g} at step {self.max_rel_step}"
        )


def compare(steps: np.ndarray, a: np.ndarray, b: np.ndarray, rtol: float, atol: float = 0.0):
    """Per-group differences of curves ``a`` and ``b`` (shape (groups, len(steps)))."""
    out = []
    for g in range(a.shape[0]):
        diff = np.abs(a[g] - b[g])
        scale = np.maximum(np.abs(a[g]), np.abs(b[g]))
        rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
        bad = np.flatnonzero(diff > atol + rtol * scale)
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
            )
        )
    return out


def curves(recipe, steps: np.ndarray) -> np.ndarray:
    """The recipe's lr per group (one row without groups) at ``steps``."""
    values = recipe.lr(steps)
    return values[None, :] if values.ndim == 1 else values
