"""Plot a recipe's lr curve: with matplotlib (the ``[plot]`` extra) or in the terminal.

One line per distinct curve: groups whose curves are identical share one line and one
legend entry (``2 groups: no_decay, default``). The lr axis is logarithmic when the
groups' peak lrs span more than :data:`LOG_SPAN` (a 1e-5 encoder next to a 1e-2 head would
look like 0 on a linear axis). Phase boundaries are shaded; the end of warmup is labelled
along its line at the bottom and the peak above the curve, in headroom kept for it; the
legend sits below the axes, so neither covers a curve. Several recipes overlay in one
figure (:func:`plot_recipes`).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..groups.resolve import DEFAULT_SCHEDULE
from ..recipes import Recipe
from ..schedules.breakpoints import boundaries
from .compare import curves as lr_curves
from .keypoints import defined, group_names, horizon, warmup_steps

FORMATS = (".png", ".svg", ".pdf")
LOG_SPAN = 100.0
"""Peak lrs spanning more than this factor get a log lr axis (unless told otherwise)."""
MAX_POINTS = 20_001
"""Steps drawn per curve at most (plus every boundary): longer horizons are sampled."""


def marked_steps(recipe: Recipe, total: int | None = None) -> list[int]:
    """The steps both plots mark as boundaries: the schedule's own, up to the horizon."""
    return boundaries(recipe.schedule, horizon(recipe) if total is None else total)


def plot_steps(total: int, marks: list[int] = ()) -> np.ndarray:
    """Every step up to ``total`` (included), or an even sample plus the marked steps and
    their neighbours when there are more than :data:`MAX_POINTS`."""
    if total < MAX_POINTS:
        return np.arange(total + 1, dtype=np.int64)
    grid = np.linspace(0, total, MAX_POINTS).astype(np.int64)
    near = [s for m in marks for s in (m - 1, m) if 0 <= s <= total]
    return np.unique(np.concatenate([grid, np.asarray(near, dtype=np.int64)]))


def series(recipe: Recipe, steps: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``(label, lr values)`` per distinct curve; identical group curves are merged into
    one entry naming its groups."""
    values = lr_curves(recipe, steps)
    if recipe.resolution is None:
        return [(f"lr {recipe.base_lr:g}", values[0])]
    assert recipe.resolution is not None
    groups, names = recipe.resolution.groups, group_names(recipe)
    merged: dict[bytes, list[int]] = {}
    for i in range(values.shape[0]):
        merged.setdefault(values[i].tobytes(), []).append(i)
    out = []
    for members in merged.values():
        first = groups[members[0]]
        who = (
            names[members[0]]
            if len(members) == 1
            else f"{len(members)} groups: {', '.join(names[i] for i in members)}"
        )
        count = sum(len(groups[i].params) for i in members)
        schedule = "" if first.schedule == DEFAULT_SCHEDULE else f", schedule {first.schedule}"
        out.append((f"{who} (lr {first.lr:g}{schedule}, {count} params)", values[members[0]]))
    return out


def wants_log(curves: list[np.ndarray]) -> bool:
    """Whether the curves' peaks span more than :data:`LOG_SPAN`."""
    peaks = [float(np.max(c)) for c in curves if c.size and np.max(c) > 0]
    return len(peaks) > 1 and max(peaks) > LOG_SPAN * min(peaks)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise SpecError("plot", "needs matplotlib: pip install 'schedcore[plot]'") from None
    return plt


def _check_output(output: Path, what: str = "--output") -> Path:
    """``output`` ready for a figure: a known format, its folder created, not a folder."""
    from .output import prepare

    output = Path(output)
    if output.suffix.lower() not in FORMATS:
        raise SpecError(what, f"must end in {', '.join(FORMATS)}, got {output.name!r}")
    return prepare(output, what)


def _axes(plt):
    return plt.subplots(figsize=(9, 4.8), dpi=120)


def _finish(plt, fig, ax, curves: list[np.ndarray], log: bool, title: str, output: Path) -> Path:
    """Scales with headroom for the peak label, the legend below the axes, and the file."""
    top = max((float(np.max(c)) for c in curves if c.size), default=1.0) or 1.0
    if log:
        low = min(float(np.max(c)) for c in curves if c.size and np.max(c) > 0)
        ax.set_yscale("log")
        ax.set_ylim(low * 1e-3, top * 4)
    else:
        ax.set_ylim(0 if min(float(np.min(c)) for c in curves) >= 0 else None, top * 1.15)
    ax.set_xlabel("optimizer update k")
    ax.set_ylabel("learning rate" + (" (log scale)" if log else ""))
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    entries = len(ax.get_legend_handles_labels()[0])
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        fontsize=8,
        ncol=1 if entries <= 2 else 2,
        frameon=False,
    )
    try:
        fig.savefig(output, bbox_inches="tight")
    except OSError as err:
        raise SpecError("--output", f"cannot write {str(output)!r}: {err}") from None
    finally:
        plt.close(fig)
    return output


def plot_recipe(
    recipe: Recipe, output: Path, log: bool | None = None, total: int | None = None
) -> Path:
    """Draw the recipe (one line per distinct group curve) into ``output`` (.png, .svg or
    .pdf) over ``total`` steps (default: its horizon). ``log=None`` picks the lr axis
    (:func:`wants_log`)."""
    output = _check_output(output)
    plt = _pyplot()
    total = horizon(recipe) if total is None else total
    marks = marked_steps(recipe, total)
    steps = defined(recipe, plot_steps(total, marks))
    drawn = series(recipe, steps)
    curves = [c for _, c in drawn]
    log = wants_log(curves) if log is None else log
    fig, ax = _axes(plt)
    edges = [0, *marks, total]
    for n, (a, b) in enumerate(itertools.pairwise(edges)):
        if n % 2:
            ax.axvspan(a, b, color="0.93", zorder=0, linewidth=0)
    for label, curve in drawn:
        ax.plot(steps, curve, label=label, linewidth=1.6)
    warm = warmup_steps(recipe.schedule)
    if warm and warm <= total:
        ax.axvline(warm, color="0.45", linestyle=":", linewidth=1)
        ax.text(  # along the line, at the bottom: the curves are high after a warmup
            warm,
            0.03,
            f" warmup ends: step {warm}",
            transform=ax.get_xaxis_transform(),
            rotation=90,
            va="bottom",
            ha="left",
            fontsize=8,
            color="0.3",
        )
    curve = max(curves, key=lambda c: float(c.max()))  # the highest
    k = int(np.argmax(curve))
    ax.plot([steps[k]], [curve[k]], marker="o", color="black", markersize=4)
    ax.annotate(  # above the peak, in the headroom _finish keeps
        f"peak {curve[k]:.3g} at step {int(steps[k])}",
        (steps[k], curve[k]),
        xytext=(0, 7),
        textcoords="offset points",
        ha="left" if steps[k] < 0.7 * total else "right",
        fontsize=8,
    )
    return _finish(plt, fig, ax, curves, log, recipe.name or "learning-rate schedule", output)


def plot_recipes(
    recipes: list[tuple[str, Recipe]],
    output: Path,
    log: bool | None = None,
    total: int | None = None,
) -> Path:
    """Overlay several recipes (each ``(label, recipe)``) in one figure, over ``total``
    steps (default: the longest horizon); one line style per recipe, one color per curve."""
    if len(recipes) == 1:
        return plot_recipe(recipes[0][1], output, log, total)
    output = _check_output(output)
    plt = _pyplot()
    total = max(horizon(r) for _, r in recipes) if total is None else total
    steps = plot_steps(total)
    fig, ax = _axes(plt)
    curves = []
    styles = ("-", "--", ":", "-.")  # one per recipe, so curves that coincide stay visible
    for n, (label, recipe) in enumerate(recipes):
        style, width = styles[n % len(styles)], max(2.4 - 0.5 * n, 1.0)
        mine = defined(recipe, steps)
        for g, (name, curve) in enumerate(series(recipe, mine)):
            color = f"C{(n + g * len(recipes)) % 10}"
            ax.plot(mine, curve, style, color=color, label=f"{label}: {name}", linewidth=width)
            curves.append(curve)
    log = wants_log(curves) if log is None else log
    title = " vs ".join(label for label, _ in recipes)
    return _finish(plt, fig, ax, curves, log, title, output)


def plot_curves(
    steps: np.ndarray,
    sides: list[tuple[str, np.ndarray, list[str]]],
    output: Path,
    title: str,
) -> Path:
    """Overlay curves (each side: a label, a (groups, steps) array and the group names),
    e.g. for a diff."""
    output = _check_output(output, "--plot")
    plt = _pyplot()
    fig, ax = _axes(plt)
    curves = []
    for (label, rows, names), style in zip(sides, ("-", "--"), strict=False):
        for g, curve in enumerate(rows):
            name = names[g] if g < len(names) else f"group {g}"
            ax.plot(steps, curve, style, label=f"{label} {name}", linewidth=1.4)
            curves.append(curve)
    return _finish(plt, fig, ax, curves, wants_log(curves), title, output)


def terminal_plot(
    recipe: Recipe,
    log: bool | None = None,
    width: int = 72,
    height: int = 16,
    total: int | None = None,
) -> str:
    """The recipe's distinct curves as text, with the phase boundaries marked."""
    from .termplot import render

    total = horizon(recipe) if total is None else total
    steps = defined(recipe, np.unique(np.linspace(0, total, width * 4).astype(np.int64)))
    drawn = series(recipe, steps)
    log = wants_log([c for _, c in drawn]) if log is None else log
    title = f"{recipe.name or 'recipe'}: lr over {total} steps" + (" (log scale)" if log else "")
    body = render(steps, drawn, width, height, log, marked_steps(recipe, total))
    return title + "\n" + body
