"""Plots people read: identical curves are one legend entry, a log axis when group lrs
span more than 100x, labels that cover no curve, the legend outside the axes, and several
recipes overlaid in one figure."""

from __future__ import annotations

import numpy as np
import pytest

import schedcore as sc
from schedcore.examples import BERT_PARAMS, BERT_RECIPE
from schedcore.port import from_transformers
from schedcore.tools import plotting
from schedcore.tools.cli import main

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402

NOAM = sc.load(
    {"name": "noam", "lr": 2.0, "schedule": {"type": "noam", "d_model": 512, "warmup": 4000}}
)


@pytest.fixture
def figures(monkeypatch):
    """The figures the plotting code closes, kept for inspection."""
    kept = []
    monkeypatch.setattr(plt, "close", kept.append)
    yield kept
    monkeypatch.undo()
    plt.close("all")


def test_identical_group_curves_are_one_legend_entry():
    recipe = sc.load(BERT_RECIPE).bind(BERT_PARAMS)
    drawn = plotting.series(recipe, np.arange(200))
    assert len(recipe.groups) == 4 and len(drawn) == 2
    for label, curve in drawn:
        members = [
            g
            for g in recipe.groups
            if np.array_equal(g.lr * recipe.schedule(np.arange(200)), curve)
        ]
        names = [getattr(g, "name", "") for g in members]
        assert label.startswith(f"2 groups: {', '.join(names)} (lr {members[0].lr:g}")
        assert f"{sum(len(g.params) for g in members)} params" in label


def test_log_axis_when_peaks_span_more_than_100x():
    bert = sc.load(BERT_RECIPE).bind(BERT_PARAMS)
    steps = np.arange(1950)
    assert plotting.wants_log([c for _, c in plotting.series(bert, steps)])
    assert not plotting.wants_log([c for _, c in plotting.series(NOAM, steps)])
    assert not plotting.wants_log([np.array([0.0, 1.0]), np.array([0.0, 0.011])])
    assert plotting.wants_log([np.array([0.0, 1.0]), np.array([0.0, 0.0099])])


def _overlaps(fig) -> list[str]:
    """Texts (annotations, labels) that cover a drawn curve point, and whether the legend
    sits on the axes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    bad = []
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]  # curves only
    for text in [
        *ax.texts,
        *[c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)],
    ]:
        box = text.get_window_extent(renderer)
        for line in lines:
            xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
            xy = xy[np.isfinite(xy).all(axis=1)]
            inside = (
                (xy[:, 0] > box.x0)
                & (xy[:, 0] < box.x1)
                & (xy[:, 1] > box.y0)
                & (xy[:, 1] < box.y1)
            )
            if inside.any():
                bad.append(f"{text.get_text()!r} covers {line.get_label()!r}")
    legend = ax.get_legend().get_window_extent(renderer)
    if legend.overlaps(ax.get_window_extent(renderer)):
        bad.append("the legend sits on the axes")
    return bad


@pytest.mark.parametrize("which", ["bert", "noam", "cosine"])
def test_labels_cover_no_curve_and_the_legend_is_outside(tmp_path, figures, which):
    recipe = {
        "bert": sc.load(BERT_RECIPE).bind(BERT_PARAMS),
        "noam": NOAM,
        "cosine": from_transformers(
            "cosine", lr=1e-3, num_warmup_steps=100, num_training_steps=1950
        ),
    }[which]
    plotting.plot_recipe(recipe, tmp_path / "lr.png")
    (fig,) = figures
    assert _overlaps(fig) == []
    ax = fig.axes[0]
    assert ax.get_yscale() == ("log" if which == "bert" else "linear")
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("peak ") for t in texts)
    if which != "noam":  # noam's warmup is a field of the node, not a warmup phase
        assert any("warmup ends: step 100" in t for t in texts)


def test_overlay_of_several_recipes_in_one_figure(tmp_path, capsys, figures):
    paths = []
    for name in ("linear", "cosine", "polynomial"):
        r = (
            from_transformers(
                name, lr=1e-3, num_warmup_steps=100, num_training_steps=1550, power=2.0
            )
            if name == "polynomial"
            else from_transformers(name, lr=1e-3, num_warmup_steps=100, num_training_steps=1550)
        )
        path = tmp_path / f"{name}.json"
        path.write_text(r.to_json())
        paths.append(str(path))
    out = tmp_path / "out" / "overlay.png"
    assert main(["plot", *paths, "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    (fig,) = figures
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert [label.split(":")[0] for label in labels] == [
        "transformers linear",
        "transformers cosine",
        "transformers polynomial",
    ]
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert len(set(styles)) == 3  # coinciding curves stay visible
    assert ax.get_title() == "transformers linear vs transformers cosine vs transformers polynomial"
    assert _overlaps(fig) == []


def test_overlay_of_grouped_recipes_keeps_each_group(tmp_path, figures):
    bert = sc.load(BERT_RECIPE).bind(BERT_PARAMS)
    plotting.plot_recipes([("a", bert), ("b", NOAM)], tmp_path / "x.svg", total=2000)
    labels = figures[0].axes[0].get_legend_handles_labels()[1]
    assert (
        len(labels) == 3 and labels[0].startswith("a: 2 groups") and labels[2].startswith("b: lr 2")
    )
