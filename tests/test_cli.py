"""The schedcore command line: show, plot, groups, on the bundled example and on bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import schedcore as sc
from schedcore.examples import BERT_PARAMS, BERT_RECIPE
from schedcore.tools.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(out: str) -> dict[str, list[str]]:
    """The key-point rows of ``show``'s output, by label (columns are 2+ spaces apart)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("point "))
    cells = [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :] if line.strip()]
    return {row[0]: row[1:] for row in cells}


def test_show_bundled_prints_key_points_per_group(capsys):
    code, out, _ = run(capsys, "show")
    assert code == 0
    lines = out.splitlines()
    table = table_rows(out)
    # 1,235 examples at batch 32 for 50 epochs: 39 updates per epoch, 1,950 in all
    assert "1950 steps" in lines[0]
    assert table["start"][:2] == ["0", "0"]
    peak = table["end of warmup, peak"]
    assert peak[0] == "100" and float(peak[1]) == 1.0
    # encoder groups peak at 1e-5, head groups at 1e-2
    assert sorted({float(x) for x in peak[2:]}) == [1e-5, 1e-2]
    last = table["last step"]
    assert last[0] == "1949"
    expected = 0.5 * (1 + np.cos(np.pi * (1949 - 100) / 1850))
    assert float(last[1]) == pytest.approx(expected, rel=1e-5)


def test_show_prints_each_key_point_once_with_merged_labels(capsys):
    _, out, _ = run(capsys, "show")
    table = table_rows(out)
    steps = [row[0] for row in table.values()]
    assert len(steps) == len(set(steps)) == 6
    assert "end of warmup, peak" in table and "peak" not in table
    assert sum("end of warmup" in line for line in out.splitlines()) == 1


def test_show_names_the_groups(capsys):
    recipe = sc.load(BERT_RECIPE).bind(BERT_PARAMS)
    names = [getattr(g, "name", None) or f"group {i}" for i, g in enumerate(recipe.groups)]
    _, out, _ = run(capsys, "show")
    header = next(line for line in out.splitlines() if line.startswith("point "))
    assert [f"{n} lr" for n in names] == re.split(r"\s{2,}", header.strip())[3:]
    for name, g in zip(names, recipe.groups, strict=True):
        assert f"  {name}: {len(g.params)} params, peak lr {g.lr:g}" in out


def test_plot_writes_png_and_svg(tmp_path, capsys):
    png = tmp_path / "lr.png"
    code, out, _ = run(capsys, "plot", "-o", str(png), "--log")
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in out
    svg = tmp_path / "lr.svg"
    assert run(capsys, "plot", "-o", str(svg))[0] == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_plot_rejects_unknown_format(tmp_path, capsys):
    code, _, err = run(capsys, "plot", "-o", str(tmp_path / "lr.gif"))
    assert code == 2 and "--output" in err and ".png" in err


def test_show_recipe_file_without_groups(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text('{"lr": 0.1, "training": {"total_steps": 40}, "schedule": {"decay": "linear"}}')
    code, out, _ = run(capsys, "show", str(path))
    assert code == 0
    # a linear decay peaks at its start: one row with both labels
    assert table_rows(out)["start, peak"] == ["0", "1", "0.1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("lr = -1\n", "lr: must be a number in [1e-30, 1e+06], got -1"),
        (
            'lr = 1\n[schedule]\ntype = "cosine"\nsteps = 0\n',
            "schedule.steps: must be a positive integer, got 0",
        ),
        ("lr = \n", "is not valid TOML"),
        ('lr = 1\n[schedule]\ntype = "nope"\n', "schedule.type: unknown node type 'nope'"),
    ],
)
def test_bad_recipe_exits_2_with_a_clear_message(tmp_path, capsys, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    code, out, err = run(capsys, "show", str(path))
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_missing_file_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "show", str(tmp_path / "absent.toml"))
    assert code == 2 and "does not exist" in err


def test_groups_needs_a_table_for_a_user_recipe(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(BERT_RECIPE.read_text())
    code, _, err = run(capsys, "groups", str(path))
    assert code == 2 and "--params" in err


def test_entry_point_runs_as_a_program():
    exe = Path(sys.executable).with_name("schedcore")
    done = subprocess.run([str(exe), "show"], capture_output=True, text=True, check=True)
    assert "end of warmup" in done.stdout
    assert sc.load(BERT_RECIPE).total_steps == 1950


# -- horizons -----------------------------------------------------------------------------

NOAM = 'name = "noam"\nlr = 2.0\n[schedule]\ntype = "noam"\nd_model = 512\nwarmup = 4000\n'


def test_unbounded_recipe_gets_a_derived_horizon_and_says_so(tmp_path, capsys):
    path = tmp_path / "noam.toml"
    path.write_text(NOAM)
    code, out, err = run(capsys, "show", str(path))
    assert code == 0
    assert err.count("\n") == 1 and "10x its 4000-step warmup" in err and "40000 steps" in err
    assert table_rows(out)["peak"][0] == "4000"  # noam's warmup is its own field
    assert table_rows(out)["last step"][0] == "39999"
    assert "unbounded, 40000 steps shown" in out


@pytest.mark.parametrize("command", ["show", "plot", "lint", "snapshot", "check", "diff"])
def test_steps_sets_the_horizon_of_every_command(tmp_path, capsys, command):
    path = tmp_path / "noam.toml"
    path.write_text(NOAM)
    golden = tmp_path / "g.json"
    argv = {
        "show": ["show", path],
        "plot": ["plot", path, "--terminal"],
        "lint": ["lint", path],
        "snapshot": ["snapshot", path, "-o", golden],
        "check": ["check", path, "--golden", golden, "--update"],
        "diff": ["diff", path, path],
    }[command]
    code, out, err = run(capsys, *map(str, argv), "--steps", "600")
    assert code == 0 and err == ""  # a given horizon needs no note
    if command == "show":
        assert max(int(row[0]) for row in table_rows(out).values()) == 599
    elif command == "plot":
        assert "lr over 600 steps" in out
    elif command in ("snapshot", "check"):
        assert max(json.loads(golden.read_text())["steps"]) == 1200  # twice the horizon


def test_steps_must_be_positive(capsys):
    code, out, err = run(capsys, "show", "--steps", "0")
    assert code == 2 and out == "" and "--steps" in err and err.count("\n") == 1


# -- hygiene ------------------------------------------------------------------------------


def test_a_closed_pipe_stops_quietly():
    exe = Path(sys.executable).with_name("schedcore")
    proc = subprocess.Popen(
        [str(exe), "show"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.stdout.close()  # the reader goes away before the first line, like `| head -0`
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_explain_suggests_close_names_with_difflib(capsys):
    code, _, err = run(capsys, "groups", "--explain", "linear_layer.wieght")
    assert code == 2
    assert "no parameter named 'linear_layer.wieght'" in err
    assert "similar: linear_layer.weight" in err  # not a substring of the typo


# -- groups from a model ------------------------------------------------------------------

MODEL_MODULE = """
import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = nn.Embedding(10, 4)
        self.LayerNorm = nn.LayerNorm(4)
        self.encoder = nn.Linear(4, 4)
        self.lstm = nn.LSTM(4, 3)
        self.linear_layer = nn.Linear(3, 2)


def build():
    torch.manual_seed(0)
    return Tagger()


NOT_A_MODEL = 3


def broken():
    raise RuntimeError("no weights here")
"""


@pytest.fixture
def model_module(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    name = f"cli_models_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(MODEL_MODULE)
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


def test_groups_from_a_model_factory(capsys, model_module):
    import schedcore_torch

    code, out, err = run(capsys, "groups", str(BERT_RECIPE), "--model", f"{model_module}:build")
    assert code == 0, err
    table = schedcore_torch.param_table(__import__(model_module).build())
    table = table[0] if isinstance(table, tuple) else table
    expected = sc.load(BERT_RECIPE).bind(table)
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["group", "params", "lr"]
    rows = [line.split() for line in lines[1:] if line.strip()]
    assert [int(r[1]) for r in rows] == [len(g.params) for g in expected.groups]
    assert sum(int(r[1]) for r in rows) == len(table) == 11
    names = [getattr(g, "name", None) or f"group {i}" for i, g in enumerate(expected.groups)]
    assert [line[: len(n)] for line, n in zip(lines[1:], names, strict=True)] == names


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:build", "cannot import 'no_such_module_xyz'"),
        ("{mod}:biuld", "has no 'biuld'; did you mean 'build'?"),
        ("{mod}:NOT_A_MODEL", "is not callable"),
        ("{mod}:broken", "raised RuntimeError: no weights here"),
        ("{mod}:Tagger.__init__", "raised TypeError"),
        ("{mod}", "must be package.module:factory"),
    ],
)
def test_groups_model_errors_exit_2_with_one_line(capsys, model_module, spec, message):
    code, out, err = run(capsys, "groups", "--model", spec.format(mod=model_module))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_groups_layer_column_for_layer_wise_decay(tmp_path, capsys):
    recipe = tmp_path / "llrd.toml"
    recipe.write_text(
        "lr = 1e-3\n[groups.defaults]\n[groups.layers]\n"
        "pattern = 'layer\\.(\\d+)\\.'\n"
        '[[groups.rules]]\nname = "llrd"\nmatch = { prefix = "layer." }\nlayer_decay = 0.5\n'
    )
    params = tmp_path / "p.json"
    params.write_text(json.dumps([{"name": f"layer.{i}.w"} for i in range(3)] + ["head.w"]))
    code, out, err = run(capsys, "groups", str(recipe), "--params", str(params))
    assert code == 0, err
    header, *rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    col = header.index("layer")
    # head.w (no layer) has layer 2's settings: one group
    by_layer = {r[col]: float(r[header.index("lr")]) for r in rows}
    assert by_layer == {"0": 2.5e-4, "1": 5e-4, "2": 1e-3}
    assert sum(int(r[1]) for r in rows) == 4
