"""Plot a recipe's lr curve: with matplotlib (the ``[plot]`` extra) or in the terminal.

One line per group; phase boundaries are shaded, and the end of warmup and the peak are
annotated.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..groups.resolve import DEFAULT_SCHEDULE
from ..recipe import Recipe
from ..schedules.breakpoints import boundaries
from .keypoints import horizon, warmup_steps

FORMATS = (".png", ".svg", ".pdf")


def marked_steps(recipe: Recipe) -> list[int]:
    """The steps both plots mark as boundaries: the schedule's own, up to the horizon."""
    return boundaries(recipe.schedule, horizon(recipe))


def _series(recipe: Recipe, steps: np.ndarray) -> list[tuple[str, np.ndarray]]:
    values = recipe.lr(steps)
    if values.ndim == 1:
        return [("lr", values)]
    assert recipe.resolution is not None
    out = []
    for i, g in enumerate(recipe.resolution.groups):
        wd = "default" if g.weight_decay is None else f"{g.weight_decay:g}"
        schedule = "" if g.schedule == DEFAULT_SCHEDULE else f", schedule {g.schedule}"
        label = f"group {i}: lr {g.lr:g}, wd {wd}{schedule} ({len(g.params)} params)"
        out.append((label, values[i]))
    return out


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise SpecError("plot", "needs matplotlib: pip install 'schedcore[plot]'") from None
    return plt


def _check_output(output: Path) -> None:
    if output.suffix.lower() not in FORMATS:
        raise SpecError("--output", f"must end in {', '.join(FORMATS)}, got {output.name!r}")


def plot_recipe(recipe: Recipe, output: Path, log: bool = False) -> Path:
    """Draw the recipe (one line per group) into ``output`` (.png, .svg or .pdf)."""
    _check_output(output)
    plt = _pyplot()
    total = horizon(recipe)
    steps = np.arange(total + 1, dtype=np.int64)
    series = _series(recipe, steps)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=120)
    edges = [0, *marked_steps(recipe), total]
    for n, (a, b) in enumerate(itertools.pairwise(edges)):
        if n % 2:
            ax.axvspan(a, b, color="0.93", zorder=0, linewidth=0)
    for label, curve in series:
        ax.plot(steps, curve, label=label, linewidth=1.6)
    top = max(float(c.max()) for _, c in series)
    warm = warmup_steps(recipe.schedule)
    if warm and warm <= total:
        ax.axvline(warm, color="0.45", linestyle=":", linewidth=1)
        ax.annotate(
            f"warmup ends: step {warm}",
            (warm, top),
            xytext=(6, -14),
            textcoords="offset points",
            fontsize=8,
        )
    curve = max((c for _, c in series), key=lambda c: float(c.max()))  # the highest
    k = int(np.argmax(curve))
    ax.plot([k], [curve[k]], marker="o", color="black", markersize=4)
    ax.annotate(
        f"peak {curve[k]:.3g} at step {k}",
        (k, curve[k]),
        xytext=(6, 6),
        textcoords="offset points",
        fontsize=8,
    )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer update k")
    ax.set_ylabel("learning rate")
    ax.set_title(recipe.name or "learning-rate schedule")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output)
    plt.close(fig)
    return output


def plot_curves(
    steps: np.ndarray, sides: list[tuple[str, np.ndarray]], output: Path, title: str
) -> Path:
    """Overlay curves (each side: a label and a (groups, steps) array), e.g. for a diff."""
    _check_output(output)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=120)
    for (label, curves), style in zip(sides, ("-", "--"), strict=False):
        for g, curve in enumerate(curves):
            ax.plot(steps, curve, style, label=f"{label} group {g}", linewidth=1.4)
    ax.set_xlabel("optimizer update k")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(output)
    plt.close(fig)
    return output


def terminal_plot(recipe: Recipe, log: bool = False, width: int = 72, height: int = 16) -> str:
    """The recipe's curves as text, with the phase boundaries marked."""
    from .termplot import render

    total = horizon(recipe)
    steps = np.unique(np.linspace(0, total, width * 4).astype(np.int64))
    title = f"{recipe.name or 'recipe'}: lr over {total} steps" + (" (log scale)" if log else "")
    body = render(steps, _series(recipe, steps), width, height, log, marked_steps(recipe))
    return title + "\n" + body
