"""Hostile arguments and files for every subcommand: each ends with the right exit code
(0 fine, 1 a finding, 2 bad input or usage, 3 a bug) and bad input with one line on stderr,
never a traceback. Output folders are created; a 2**53-step horizon is handled from
boundaries and bounded samples."""

from __future__ import annotations

import json
import time

import pytest

from schedcore.examples import BERT_RECIPE
from schedcore.tools import cli
from schedcore.tools.cli import main

RECIPE = 'lr = 0.1\n[training]\ntotal_steps = 300\n[schedule]\nwarmup = 30\ndecay = "cosine"\n'
AFTER_ERROR = 'lr = 0.1\n[schedule]\ntype = "cosine"\nsteps = 100\nafter = "error"\n'
HUGE = (
    f"lr = 0.1\n[training]\ntotal_steps = {2**53}\n"
    '[schedule]\nwarmup = 1000\ndecay = "cosine"\nmin_lr_ratio = 0.01\n'
)


@pytest.fixture
def files(tmp_path):
    made = {
        "recipe": ("r.toml", RECIPE),
        "bom": ("bom.toml", "\ufeff" + RECIPE),
        "bracket": ("[v2] recipe.toml", RECIPE),
        "after_error": ("after.toml", AFTER_ERROR),
        "huge": ("huge.toml", HUGE),
        "latin1_csv": ("p.csv", None),
        "binary": ("blob.json", None),
        "deep": ("deep.json", "[" * 100_000 + "]" * 100_000),
        "shape": ("shape.csv", "name,shape\nw,768x\u00b2\n"),
        "long_field": ("long.csv", "name,tags\nw," + "t" * (200 * 1024) + "\n"),
        "big_int": ("bigint.json", '[{"name": "w", "shape": [' + "9" * 5000 + "]}]"),
        "surrogate": ("sur.json", '{"lr": 0.1, "name": "\\ud800"}'),
        "utf16": ("u16.toml", None),
    }
    out = {}
    for key, (name, text) in made.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        out[key] = str(path)
    (tmp_path / "p.csv").write_bytes("name,tags\ncaf\u00e9.w,x\n".encode("latin-1"))
    (tmp_path / "blob.json").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "u16.toml").write_bytes(RECIPE.encode("utf-16"))
    out["dir"] = str(tmp_path)
    out["tmp"] = tmp_path
    return out


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


BAD_INPUT = {
    # argparse usage errors: one line, exit 2
    "no command": ([], "required"),
    "unknown command": (["frobnicate"], "invalid choice"),
    "unknown option": (["show", "--frob"], "unrecognized"),
    "steps zero": (["show", "--steps", "0"], "--steps"),
    "steps 5000 digits": (["show", "--steps", "9" * 5000], "--steps"),
    "steps over 2**53": (["lint", "--steps", str(2**53 + 1)], "--steps"),
    "check rtol nan": (["check", "{recipe}", "--golden", "g.json", "--rtol", "nan"], "--rtol"),
    "check rtol inf": (["check", "{recipe}", "--golden", "g.json", "--rtol", "inf"], "--rtol"),
    "check rtol -1": (["check", "{recipe}", "--golden", "g.json", "--rtol", "-1"], "--rtol"),
    "diff rtol nan": (["diff", "{recipe}", "{recipe}", "--rtol", "nan"], "--rtol"),
    "diff rtol -1": (["diff", "{recipe}", "{recipe}", "--rtol", "-1"], "--rtol"),
    "diff rtol text": (["diff", "{recipe}", "{recipe}", "--rtol", "x"], "--rtol"),
    "port no way": (["port"], "--from"),
    # bad files
    "missing recipe": (["show", "{dir}/nope.toml"], "does not exist"),
    "recipe is a folder": (["lint", "{dir}"], "cannot read"),
    "recipe /dev/zero": (["show", "/dev/zero"], "MiB"),
    "recipe UTF-16": (["show", "{utf16}"], "UTF-8"),
    "recipe binary": (["lint", "{binary}"], "UTF-8"),
    "recipe surrogate name": (["show", "{surrogate}"], "name"),
    "text is not a path": (["show", "{dir}/lr = 0.1"], "does not exist"),
    "params latin-1": (["groups", "{recipe}", "--params", "{latin1_csv}"], "UTF-8"),
    "params shape": (["groups", "{recipe}", "--params", "{shape}"], "shape"),
    "params deep JSON": (["groups", "{recipe}", "--params", "{deep}"], "params"),
    "params long field": (["groups", "{recipe}", "--params", "{long_field}"], "params"),
    "params big int": (["show", "{recipe}", "--params", "{big_int}"], "params"),
    "params /dev/zero": (["groups", "{recipe}", "--params", "/dev/zero"], "--params"),
    "kwargs binary": (
        ["port", "--from", "optax", "cosine_decay_schedule", "--kwargs", "{binary}"],
        "--kwargs",
    ),
    "kwargs deep": (["port", "--from", "optax", "x", "--kwargs", "[" * 100_000], "--kwargs"),
    "port --to missing": (["port", "--to", "keras", "{dir}/nope.toml"], "does not exist"),
    "golden missing": (["check", "{recipe}", "--golden", "{dir}/nope.json"], "does not exist"),
    "golden binary": (["check", "{recipe}", "--golden", "{binary}"], "UTF-8"),
    "golden /dev/zero": (["check", "{recipe}", "--golden", "/dev/zero"], "MiB"),
    "golden deep": (["check", "{recipe}", "--golden", "{deep}"], "golden"),
    # outputs that are folders
    "snapshot -o folder": (["snapshot", "{recipe}", "-o", "{dir}"], "is a folder"),
    "check --update folder": (["check", "{recipe}", "--golden", "{dir}", "--update"], "folder"),
    "plot -o folder": (["plot", "{recipe}", "-o", "{dir}/x.png/"], "is a folder"),
    "plot -o bad format": (["plot", "{recipe}", "-o", "{dir}/x.txt"], "--output"),
    "diff --plot folder": (["diff", "{recipe}", "{recipe}", "--plot", "{dir}/d.svg/"], "folder"),
    "port -o folder": (
        [
            "port",
            "--from",
            "fairseq",
            "inverse_sqrt",
            "--lr",
            "1e-3",
            "--kwargs",
            '{{"warmup_updates": 10}}',
            "-o",
            "{dir}",
        ],
        "is a folder",
    ),
    "output under a file": (["snapshot", "{recipe}", "-o", "{recipe}/g.json"], "--output"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_exits_2_with_one_line(files, capsys, case):
    argv, needle = BAD_INPUT[case]
    if case == "plot -o folder":
        (files["tmp"] / "x.png").mkdir()
    if case == "diff --plot folder":
        (files["tmp"] / "d.svg").mkdir()
    code, _, err = run(capsys, [a.format(**files) for a in argv])
    assert code == 2, (case, code, err)
    assert one_line(err), err
    assert needle in err, err


FINE = {
    "bom recipe": (["show", "{bom}"], 0),
    "bracketed file name": (["lint", "{bracket}"], 0),
    "snapshot into new folders": (["snapshot", "{recipe}", "-o", "{dir}/a/b/g.json"], 0),
    "check --update into new folders": (
        ["check", "{recipe}", "--golden", "{dir}/c/d/g.json", "--update"],
        0,
    ),
    "plot into new folders": (["plot", "{recipe}", "-o", "{dir}/e/f/lr.svg"], 0),
    "diff --plot into new folders": (["diff", "{recipe}", "{bom}", "--plot", "{dir}/g/h/d.svg"], 0),
    "port into new folders": (
        [
            "port",
            "--from",
            "fairseq",
            "inverse_sqrt",
            "--lr",
            "1e-3",
            "--kwargs",
            '{{"warmup_updates": 10}}',
            "-o",
            "{dir}/i/r.toml",
        ],
        0,
    ),
    "help": (["show", "--help"], 0),
}


@pytest.mark.parametrize("case", sorted(FINE))
def test_everyday_inputs_work(files, capsys, case):
    argv, expected = FINE[case]
    code, _, err = run(capsys, [a.format(**files) for a in argv])
    assert code == expected, (case, err)
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "{after_error}"],
        ["lint", "{after_error}"],
        ["plot", "{after_error}", "--terminal"],
        ["plot", "{after_error}", "-o", "{dir}/a.svg"],
        ["snapshot", "{after_error}", "-o", "{dir}/after.json"],
        ["diff", "{after_error}", "{after_error}"],
    ],
)
def test_after_error_recipes_are_looked_at_where_defined(files, capsys, argv):
    code, _, err = run(capsys, [a.format(**files) for a in argv])
    assert code == 0, err
    assert "Traceback" not in err  # past its end it is not evaluated (it would raise)


def test_after_error_snapshot_checks_clean(files, capsys):
    g = files["tmp"] / "after.json"
    assert run(capsys, ["snapshot", files["after_error"], "-o", g])[0] == 0
    code, out, _ = run(capsys, ["check", files["after_error"], "--golden", g])
    assert code == 0 and out.startswith("no drift")
    assert max(json.loads(g.read_text())["steps"]) == 100  # the last defined step


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "{huge}"],
        ["lint", "{huge}"],
        ["plot", "{huge}", "--terminal"],
        ["plot", "{huge}", "-o", "{dir}/huge.png"],
        ["snapshot", "{huge}", "-o", "{dir}/huge.json"],
        ["diff", "{huge}", "{huge}"],
    ],
)
def test_a_2_pow_53_horizon_is_handled_from_samples(files, capsys, argv):
    start = time.perf_counter()
    code, out, err = run(capsys, [a.format(**files) for a in argv])
    assert code == 0, err
    assert time.perf_counter() - start < 10  # about 1 s alone; generous on a shared machine
    if argv[0] == "show":
        assert str(2**53 - 1) in out  # the last step is shown
    if argv[0] == "snapshot":
        g = files["tmp"] / "huge.json"
        assert g.stat().st_size < 100_000
        assert run(capsys, ["check", files["huge"], "--golden", g])[0] == 0


def test_a_bug_is_exit_3_internal_error_one_line_traceback_with_debug(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(cli, "cmd_show", broken)
    code, _, err = run(capsys, ["show"])
    assert code == 3 and one_line(err)
    assert "internal error, please report" in err and "ZeroDivisionError: boom" in err
    for argv in (["--debug", "show"], ["show", "--debug"]):
        code, _, err = run(capsys, argv)
        assert code == 3 and "Traceback" in err and "internal error, please report" in err


def test_findings_are_exit_1(files, capsys, tmp_path):
    other = tmp_path / "o.toml"
    other.write_text(RECIPE.replace("cosine", "linear"))
    assert run(capsys, ["diff", files["recipe"], other])[0] == 1
    g = tmp_path / "g.json"
    assert run(capsys, ["snapshot", files["recipe"], "-o", g])[0] == 0
    assert run(capsys, ["check", other, "--golden", g])[0] == 1
    assert run(capsys, ["check", BERT_RECIPE, "--golden", g])[0] == 1


def test_a_horizon_past_an_after_error_end_is_cut_with_a_note(files, capsys):
    code, out, err = run(capsys, ["show", files["after_error"], "--steps", "500"])
    assert code == 0 and one_line(err)
    assert "raises past step 100 (after = 'error'): looking at 101 steps" in err
    assert "100" in out.splitlines()[-1]  # the last step shown is the last defined one
