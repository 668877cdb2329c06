"""diff, snapshot / check (golden files), lint, the terminal plot and the pytest fixture:
every command, including its failing paths and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import schedcore as sc
from schedcore.examples import BERT_PARAMS, BERT_RECIPE
from schedcore.tools import golden
from schedcore.tools.cli import main
from schedcore.tools.lint import lint


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


BASE = """
lr = 0.1
[training]
total_steps = 200
[schedule]
warmup = 20
decay = "{decay}"
"""


# -- diff -------------------------------------------------------------------------------


def test_diff_identical_recipes_exit_0(tmp_path, capsys):
    a = write(tmp_path, "a.toml", BASE.format(decay="cosine"))
    b = tmp_path / "b.json"
    b.write_text(json.dumps(sc.load(a).to_dict()))  # the normalized form of the same recipe
    code, out, _ = run(capsys, "diff", a, b)
    assert code == 0 and "identical within rtol" in out


def test_diff_reports_first_divergence_and_maxima(tmp_path, capsys):
    a = write(tmp_path, "a.toml", BASE.format(decay="cosine"))
    b = write(tmp_path, "b.toml", BASE.format(decay="linear"))
    code, out, _ = run(capsys, "diff", a, b, "--plot", tmp_path / "d.svg")
    assert code == 1 and out.strip().endswith("different")
    line = out.splitlines()[0]
    # equal through warmup and at the first decay step (both 1.0), different from step 21 on
    assert "diverges at step 21" in line
    ca, cb = sc.load(a).lr(np.arange(251)), sc.load(b).lr(np.arange(251))
    k = int(np.argmax(np.abs(ca - cb)))
    assert f"max abs diff {abs(ca[k] - cb[k]):.3g} at step {k}" in line
    assert (tmp_path / "d.svg").read_text().count("<svg") == 1


def test_diff_rtol_and_group_count(tmp_path, capsys):
    a = write(tmp_path, "a.toml", "lr = 0.1\n[training]\ntotal_steps = 50\n")
    b = write(tmp_path, "b.toml", "lr = 0.1000000001\n[training]\ntotal_steps = 50\n")
    assert run(capsys, "diff", a, b)[0] == 1
    assert run(capsys, "diff", a, b, "--rtol", "1e-6")[0] == 0
    code, out, _ = run(capsys, "diff", BERT_RECIPE, BERT_RECIPE, "--params", BERT_PARAMS)
    assert code == 0 and out.count("identical") == 5  # four groups and the verdict


def test_diff_against_a_golden_file(tmp_path, capsys):
    g = tmp_path / "g.json"
    assert run(capsys, "snapshot", BERT_RECIPE, "-o", g)[0] == 0
    lin = write(tmp_path, "lin.toml", BERT_RECIPE.read_text().replace('"cosine"', '"linear"'))
    code, out, _ = run(capsys, "diff", g, lin)
    assert code == 1 and "diverges at step 101" in out
    assert run(capsys, "diff", g, BERT_RECIPE)[0] == 0


def test_diff_bad_file_exits_2(tmp_path, capsys):
    bad = write(tmp_path, "bad.toml", "lr = 'x'\n")
    code, _, err = run(capsys, "diff", bad, BERT_RECIPE)
    assert code == 2 and "lr: must be a number" in err


# -- snapshot / check -------------------------------------------------------------------


def test_snapshot_holds_boundaries_dense_sample_and_hash(tmp_path, capsys):
    g = tmp_path / "g.json"
    code, out, _ = run(capsys, "snapshot", "-o", g)
    data = json.loads(g.read_text())
    assert code == 0 and data["hash"] in out
    assert data["recipe"] == sc.load(BERT_RECIPE).to_dict()
    assert {99, 100, 101, 1949, 1950, 1951, 3900} <= set(data["steps"])
    stored = golden.stored_curves(data)
    assert len(data["steps"]) >= 512 and stored.shape == (4, len(data["steps"]))
    assert len(data["curves"]) == 2  # four groups, two distinct curves: each stored once
    recipe = sc.load(BERT_RECIPE).bind(BERT_PARAMS)
    np.testing.assert_array_equal(stored, recipe.lr(np.array(data["steps"])))
    # every step of the horizon plus 25% is digested, one digest per block
    assert data["digest"]["steps"] == 1950 + 1950 // 4 + 1


def test_check_passes_then_reports_drift_then_update(tmp_path, capsys):
    recipe = write(tmp_path, "r.toml", BASE.format(decay="cosine"))
    g = tmp_path / "g.json"
    run(capsys, "snapshot", recipe, "-o", g)
    assert run(capsys, "check", recipe, "--golden", g)[:2] == (
        0,
        "no drift: the recipe matches its golden file\n",
    )
    recipe.write_text(recipe.read_text().replace("warmup = 20", "warmup = 25"))
    code, out, _ = run(capsys, "check", recipe, "--golden", g)
    assert code == 1
    assert "changed field: schedule.steps: 20 -> 25" in out
    assert "group 0: diverges at step 1 " in out  # the ramp is slower from the first step on
    assert run(capsys, "check", recipe, "--golden", g, "--update")[0] == 0
    assert run(capsys, "check", recipe, "--golden", g)[0] == 0


def test_check_rejects_missing_edited_and_foreign_golden_files(tmp_path, capsys):
    g = tmp_path / "g.json"
    code, _, err = run(capsys, "check", BERT_RECIPE, "--golden", g)
    assert code == 2 and "does not exist" in err
    run(capsys, "snapshot", BERT_RECIPE, "-o", g)
    data = json.loads(g.read_text())
    data["curves"][0][5] *= 2
    g.write_text(json.dumps(data))
    code, _, err = run(capsys, "check", BERT_RECIPE, "--golden", g)
    assert code == 2 and "edited by hand" in err
    g.write_text('{"some": "json"}')
    code, _, err = run(capsys, "check", BERT_RECIPE, "--golden", g)
    assert code == 2 and "not a schedcore golden file" in err


# -- lint -------------------------------------------------------------------------------

LINT_CASES = {
    "W001": 'lr = 0.1\n[training]\ntotal_steps = 100\n[schedule]\ntype = "warmup"\nsteps = 150\n'
    '[schedule.schedule]\ntype = "cosine"\nsteps = 50\n',
    "W002": 'lr = 0.1\n[training]\ntotal_steps = 100\n[schedule]\ntype = "linear"\nsteps = 60\n',
    "W003": "lr = 0.1\n[training]\ntotal_steps = 100\nepochs = 3\ndataset_size = 320\n"
    'batch_size = 32\ngrad_accum = 4\n[schedule]\ndecay = "cosine"\nmin_lr_ratio = 0.1\n',
    "W004": 'lr = 0.1\n[training]\ntotal_steps = 100\n[schedule]\ndecay = "cosine"\nmin_lr = 0.1\n',
    "W005": 'lr = 0.1\n[training]\ntotal_steps = 100\n[schedule]\ntype = "sgdr"\nperiod = 40\n'
    "end = 0.1\n",
    "W006": 'lr = 0.1\n[training]\ntotal_steps = 400\n[schedule]\ntype = "sequence"\n'
    '[[schedule.phases]]\nsteps = 10\nschedule = { type = "linear", steps = 10, start = 0.0, '
    'end = 1.0 }\n[[schedule.phases]]\nschedule = { type = "per_epoch", steps_per_epoch = 100,'
    ' schedule = { type = "step", every = 1, gamma = 0.5 } }\n',
    "W007": "lr = 1e-5\n[training]\ntotal_steps = 10\n[groups.defaults]\n[[groups.rules]]\n"
    'name = "head"\nmatch = { prefix = "head." }\nlr = 1e-2\n',
    "W008": 'lr = 0.1\n[training]\ntotal_steps = 100\n[schedule]\ntype = "linear"\nsteps = 100\n'
    "start = 0.1\nend = 1.0\n",
}


@pytest.mark.parametrize("code", sorted(LINT_CASES))
def test_each_lint_fires_alone_with_an_explanation(tmp_path, capsys, code):
    recipe = write(tmp_path, "r.toml", LINT_CASES[code])
    params = tmp_path / "p.json"
    params.write_text(json.dumps([{"name": "body.w"}, {"name": "head.w"}]))
    status, out, _ = run(capsys, "lint", recipe, "--params", params, "--strict")
    codes = [line.split()[0] for line in out.splitlines()[:-1]]
    assert codes == [code], out
    level = "info" if code == "W007" else "warning"
    assert out.splitlines()[0].startswith(f"{code} {level}: ")
    assert out.splitlines()[-1] == (
        "0 errors, 0 warnings, 1 info" if level == "info" else "0 errors, 1 warning, 0 info"
    )
    # warnings fail only with --strict; info never
    assert status == (1 if level == "warning" else 0)
    assert run(capsys, "lint", recipe, "--params", params)[0] == 0
    assert len(out.splitlines()[0]) > 40  # a sentence, not just a code
    assert run(capsys, "lint", recipe, "--params", params, "--ignore", code, "--strict") == (
        0,
        "no findings\n",
        "",
    )


def test_lint_clean_recipe_and_messages(tmp_path, capsys):
    recipe = write(tmp_path, "r.toml", BASE.format(decay="cosine") + "min_lr_ratio = 0.01\n")
    assert run(capsys, "lint", recipe, "--strict") == (0, "no findings\n", "")
    w003 = lint(sc.load(LINT_CASES["W003"]))[0].message
    assert "epochs x updates per epoch = 3 x 3 = 9" in w003 and "grad_accum 4" in w003


def test_lint_bad_recipe_exits_2(tmp_path, capsys):
    assert run(capsys, "lint", write(tmp_path, "r.toml", "lr = 0\n"))[0] == 2


# -- plots ------------------------------------------------------------------------------


def test_terminal_plot_draws_every_group_and_boundaries(capsys):
    code, out, _ = run(capsys, "plot", "--terminal")
    assert code == 0
    lines = out.splitlines()
    # 1e-5 and 1e-2 peaks: a log axis without being asked
    assert lines[0] == "bert-lstm-finetune: lr over 1950 steps (log scale)"
    body = "\n".join(lines[1:17])
    assert body.count("|") > 16 * 2  # axis plus the warmup boundary column
    # four groups, two distinct curves: one legend entry each, naming its groups
    recipe = sc.load(BERT_RECIPE).bind(BERT_PARAMS)
    names = [getattr(g, "name", None) or f"group {i}" for i, g in enumerate(recipe.groups)]
    legend = [line.strip() for line in lines if line.strip().startswith(("* ", "o ", "+ "))]
    by_lr = {}
    for name, g in zip(names, recipe.groups, strict=True):
        by_lr.setdefault(g.lr, []).append(name)
    assert sorted(entry.split(" (")[0][2:] for entry in legend) == sorted(
        f"2 groups: {', '.join(members)}" for members in by_lr.values()
    )
    assert run(capsys, "plot", "--terminal", "--linear")[1].splitlines()[0].endswith("steps")


def test_plot_log_scale_png(tmp_path, capsys):
    out = tmp_path / "lr.png"
    assert run(capsys, "plot", "--log", "-o", out)[0] == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


# -- the pytest fixture -----------------------------------------------------------------


def test_schedule_regression_fixture(tmp_path):
    recipe = write(tmp_path, "r.toml", BASE.format(decay="cosine"))
    test = tmp_path / "test_sched.py"
    test.write_text(
        "import schedcore\n"
        "def test_it(schedule_regression):\n"
        f"    schedule_regression.check(schedcore.load({str(recipe)!r}), 'golden/r.json')\n"
    )

    def pytest_run(*extra: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test), *extra]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)

    first = pytest_run()
    assert first.returncode == 1 and "did not exist: written now" in first.stdout
    assert (tmp_path / "golden" / "r.json").exists()
    assert pytest_run().returncode == 0
    recipe.write_text(recipe.read_text().replace("cosine", "linear"))
    drift = pytest_run()
    assert drift.returncode == 1 and "diverges at step" in drift.stdout
    assert pytest_run("--schedcore-update").returncode == 0
    assert pytest_run().returncode == 0
    assert golden.read(tmp_path / "golden" / "r.json")["recipe"] == sc.load(recipe).to_dict()
