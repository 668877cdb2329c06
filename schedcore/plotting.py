"""Plot a recipe's lr curve with matplotlib (the ``[plot]`` extra): one line per group."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import SpecError
from .keypoints import horizon, warmup_steps
from .recipe import Recipe


def plot_recipe(recipe: Recipe, output: Path, log: bool = False) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise SpecError("plot", "needs matplotlib: pip install 'schedcore[plot]'") from None
    if output.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise SpecError("--output", f"must end in .png, .svg or .pdf, got {output.name!r}")
    total = horizon(recipe)
    steps = np.arange(total + 1, dtype=np.int64)
    curves = recipe.lr(steps)
    if curves.ndim == 1:
        curves, labels = curves[None, :], ["lr"]
    else:
        assert recipe.resolution is not None
        labels = [
            f"group {i}: {len(g.params)} params, weight decay "
            + ("default" if g.weight_decay is None else f"{g.weight_decay:g}")
            for i, g in enumerate(recipe.resolution.groups)
        ]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for curve, label in zip(curves, labels, strict=True):
        ax.plot(steps, curve, label=label, linewidth=1.6)
    warm = warmup_steps(recipe.schedule)
    if warm:
        ax.axvspan(0, warm, color="0.9", zorder=0)
        ax.axvline(warm, color="0.5", linestyle=":", linewidth=1)
        ax.annotate(
            f"warmup ends ({warm})",
            (warm, float(curves.max())),
            fontsize=8,
            xytext=(4, -12),
            textcoords="offset points",
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
