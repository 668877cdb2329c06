"""The golden guard cannot be fooled: a x(1+1e-6) drift at any single step of a 3M-step
recipe, a NaN or an inf, a 1-ulp edit and a malformed golden file are all caught, by
``golden.check``, ``schedcore check`` and the ``schedule_regression`` fixture."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

import numpy as np
import pytest

import schedcore as sc
from schedcore.tools import golden
from schedcore.tools.cli import main

LONG = 3_000_000
LONG_RECIPE = (
    f"lr = 0.1\n[training]\ntotal_steps = {LONG}\n"
    '[schedule]\nwarmup = 1000\ndecay = "cosine"\nmin_lr_ratio = 0.01\n'
)


def short(total: int = 2000) -> str:
    return LONG_RECIPE.replace(str(LONG), str(total))


class Drifted(sc.Recipe):
    """The same recipe whose lr is off at one step: what a bug in an evaluation path (a
    chunk edge, a phase lookup) looks like to the guard."""

    at: int = -1
    factor: float = 1.0

    def lr(self, steps):
        values = np.array(super().lr(steps), dtype=np.float64)
        values[..., np.asarray(steps) == self.at] *= self.factor
        return values


def drifted(recipe: sc.Recipe, at: int, factor: float) -> sc.Recipe:
    out = Drifted(**{f: getattr(recipe, f) for f in recipe.__dataclass_fields__})
    object.__setattr__(out, "at", at)
    object.__setattr__(out, "factor", factor)
    return out


@pytest.fixture(scope="module")
def long_golden(tmp_path_factory):
    recipe = sc.load(LONG_RECIPE)
    path = tmp_path_factory.mktemp("golden") / "long.json"
    golden.write(recipe, path)
    return recipe, path


def test_long_golden_file_is_small_and_clean(long_golden):
    recipe, path = long_golden
    assert path.stat().st_size < 100_000
    data = golden.read(path)
    assert data["digest"]["steps"] >= LONG + LONG // 4  # every step, past the end too
    assert golden.check(recipe, data).clean


BETWEEN = (1, 10**6 + 1, 123_457, 2_345_679, LONG + 7)
"""Steps no sample holds: only the digest of every step can see a change there."""


@pytest.mark.parametrize("at", [10**6, 1000, 1001, LONG - 1, *BETWEEN])
def test_a_relative_drift_of_1e_6_at_any_single_step_is_caught(long_golden, at):
    recipe, path = long_golden
    data = golden.read(path)
    assert at in data["steps"] or at in BETWEEN
    assert at not in BETWEEN or at not in data["steps"]
    drift = golden.check(drifted(recipe, at, 1 + 1e-6), data)
    assert not drift.clean
    assert any(f"{at // golden.BLOCK * golden.BLOCK}" in n for n in drift.notes), drift.report()
    # a tolerance loosens the stored samples only, never the digest of every step
    assert not golden.check(drifted(recipe, at, 1 + 1e-6), data, rtol=1e-3).clean


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_always_drift(long_golden, bad):
    recipe, path = long_golden
    data = golden.read(path)
    sampled = data["steps"][len(data["steps"]) // 2]
    for full in (True, False):
        drift = golden.check(drifted(recipe, sampled, bad), data, rtol=1e300, full=full)
        assert not drift.clean and "diverges at step" in drift.report()


def test_one_ulp_is_drift_by_default(tmp_path):
    recipe = sc.load(short())
    data = golden.snapshot(recipe)
    step = data["steps"][100]
    ulp = drifted(recipe, step, 1 + np.finfo(float).eps)
    assert not golden.check(ulp, data).clean
    assert not golden.check(ulp, data, rtol=1e-12).clean  # the digest still sees it
    assert golden.check(ulp, data, rtol=1e-12, full=False).clean  # asked for: samples only


@pytest.mark.parametrize("rtol", [np.nan, np.inf, -1.0, "1e-3", None, True])
def test_tolerances_are_validated(rtol):
    data = golden.snapshot(sc.load(short()))
    with pytest.raises(sc.SpecError, match="rtol"):
        golden.check(sc.load(short()), data, rtol=rtol)


def test_a_recipe_with_nan_is_not_snapshotted(tmp_path):
    recipe = drifted(sc.load(short()), 50, np.nan)
    with pytest.raises(sc.SpecError, match="nan at step 50"):
        golden.write(recipe, tmp_path / "g.json")


def _rehash(data):
    body = {k: v for k, v in data.items() if k != "hash"}
    # a NaN has no canonical JSON (no hash): the structure check refuses it first
    with contextlib.suppress(ValueError):
        data["hash"] = golden.fingerprint(body)
    return data


CRAFTED = {
    "lr all null": lambda d: d.update(curves=[[None] * len(d["steps"]) for _ in d["curves"]]),
    "a NaN stored": lambda d: d["curves"][0].__setitem__(3, float("nan")),
    "a string lr": lambda d: d["curves"][0].__setitem__(3, "0.1"),
    "non-integer step": lambda d: d["steps"].__setitem__(3, 2.5),
    "negative step": lambda d: d["steps"].__setitem__(0, -1),
    "steps not increasing": lambda d: d["steps"].__setitem__(3, d["steps"][2]),
    "a bool step": lambda d: d["steps"].__setitem__(0, False),
    "short row": lambda d: d["curves"][0].pop(),
    "rows out of range": lambda d: d.update(rows=[7]),
    "missing digest": lambda d: d.pop("digest"),
    "short digest": lambda d: d["digest"]["blocks"].pop(),
    "bad digest text": lambda d: d["digest"]["blocks"].__setitem__(0, "xyz"),
    "groups not a list": lambda d: d.update(groups=3),
    "steps empty": lambda d: d.update(steps=[]),
    "horizon zero": lambda d: d.update(horizon=0),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_golden_files_with_a_valid_hash_exit_2_in_one_line(tmp_path, capsys, case):
    recipe = tmp_path / "r.toml"
    recipe.write_text(short())
    path = tmp_path / "g.json"
    data = golden.snapshot(sc.load(recipe))
    CRAFTED[case](data)
    path.write_text(json.dumps(_rehash(data)))
    for argv in (["check", str(recipe), "--golden", str(path)], ["diff", str(path), str(recipe)]):
        code = main(argv)
        _, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1 and "golden" in err, (case, err)


def test_the_fixture_fails_on_a_single_step_drift_and_on_nan(tmp_path):
    module = tmp_path / "recipes_mod.py"
    module.write_text(
        "import numpy as np\nimport schedcore as sc\n"
        f"TEXT = {LONG_RECIPE!r}\n"
        "class Off(sc.Recipe):\n"
        "    def lr(self, steps):\n"
        "        v = np.array(super().lr(steps), dtype=np.float64)\n"
        "        v[..., np.asarray(steps) == 1_000_000] *= FACTOR\n"
        "        return v\n"
        "FACTOR = 1.0\n"
        "def recipe():\n"
        "    r = sc.load(TEXT)\n"
        "    return Off(**{f: getattr(r, f) for f in r.__dataclass_fields__})\n"
    )
    test = tmp_path / "test_long.py"
    test.write_text(
        "import os\nimport recipes_mod\n"
        "def test_it(schedule_regression):\n"
        "    recipes_mod.FACTOR = float(os.environ.get('FACTOR', '1'))\n"
        "    schedule_regression.check(recipes_mod.recipe(), 'golden/long.json')\n"
    )

    def pytest_run(factor: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)]
        env = {**__import__("os").environ, "FACTOR": factor, "PYTHONPATH": str(tmp_path)}
        return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)

    assert pytest_run("1").returncode == 1  # written the first time
    assert pytest_run("1").returncode == 0
    drift = pytest_run(repr(1 + 1e-6))
    assert drift.returncode == 1 and "[983040, 1048575]" in drift.stdout
    nan = pytest_run("nan")
    assert nan.returncode == 1 and "drifted" in nan.stdout
    assert golden.read(tmp_path / "golden" / "long.json")["digest"]["steps"] > LONG
