"""The schedcore command line: show, plot, groups, on the bundled example and on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import schedcore as sc
from schedcore.examples import BERT_RECIPE
from schedcore.tools.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_bundled_prints_key_points_per_group(capsys):
    code, out, _ = run(capsys, "show")
    assert code == 0
    lines = out.splitlines()
    table = {
        line.split()[0]: line
        for line in lines
        if line and line.split()[0] in ("start", "peak", "last")
    }
    # 1,235 examples at batch 32 for 50 epochs: 39 updates per epoch, 1,950 in all
    assert "1950 steps" in lines[0]
    assert table["start"].split()[1:3] == ["0", "0"]
    peak = table["peak"].split()
    assert peak[1] == "100" and float(peak[2]) == 1.0
    # encoder groups peak at 1e-5, head groups at 1e-2
    assert sorted({float(x) for x in peak[3:]}) == [1e-5, 1e-2]
    last = table["last"].split()
    assert last[2] == "1949"
    expected = 0.5 * (1 + np.cos(np.pi * (1949 - 100) / 1850))
    assert float(last[3]) == pytest.approx(expected, rel=1e-5)


def test_show_end_of_warmup_row(capsys):
    _, out, _ = run(capsys, "show")
    row = next(line for line in out.splitlines() if line.startswith("end of warmup"))
    assert row.split()[3] == "100"


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
    start = next(line for line in out.splitlines() if line.startswith("start"))
    assert start.split()[1:] == ["0", "1", "0.1"]


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
