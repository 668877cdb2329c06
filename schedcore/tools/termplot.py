"""Draw lr curves in the terminal: a quick look over SSH, no matplotlib needed."""

from __future__ import annotations

import math

import numpy as np

MARKS = "*o+x#@%&"


def render(
    steps: np.ndarray,
    series: list[tuple[str, np.ndarray]],
    width: int = 72,
    height: int = 16,
    log: bool = False,
    marks: list[int] = (),
) -> str:
    """A text plot of ``series`` (label, values) over ``steps``; ``marks`` draws '|' columns."""
    values = np.concatenate([v for _, v in series])
    shown = values[values > 0] if log else values
    if shown.size == 0:
        shown = np.array([1.0])
    low, high = float(shown.min()), float(shown.max())
    if log:
        low, high = math.log10(low), math.log10(high)
    if high == low:
        high = low + 1.0
    grid = [[" "] * width for _ in range(height)]
    span = max(int(steps[-1] - steps[0]), 1)

    def column(step: float) -> int:
        return min(width - 1, int((step - steps[0]) / span * (width - 1) + 0.5))

    for m in marks:
        if steps[0] <= m <= steps[-1]:
            for row in grid:
                row[column(m)] = "|"
    for n, (_, curve) in enumerate(series):
        mark = MARKS[n % len(MARKS)]
        for step, value in zip(steps, curve, strict=True):
            if log and value <= 0:
                continue
            y = math.log10(value) if log else float(value)
            row = height - 1 - int((y - low) / (high - low) * (height - 1) + 0.5)
            grid[row][column(float(step))] = mark
    label = (lambda y: f"{10**y:9.3g}") if log else (lambda y: f"{y:9.3g}")
    lines = []
    for r, row in enumerate(grid):
        y = high - (high - low) * r / (height - 1)
        tick = label(y) if r in (0, height // 2, height - 1) else " " * 9
        lines.append(f"{tick} |{''.join(row)}")
    lines.append(" " * 10 + "+" + "-" * width)
    left, right = str(int(steps[0])), str(int(steps[-1]))
    lines.append(" " * 11 + left + " " * max(1, width - len(left) - len(right)) + right)
    for n, (name, _) in enumerate(series):
        lines.append(" " * 11 + f"{MARKS[n % len(MARKS)]} {name}")
    if marks:
        lines.append(" " * 11 + "| phase boundaries")
    return "\n".join(lines)
