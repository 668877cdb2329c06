"""The benchmark scripts run (tiny sizes) and cross-check their baselines' values.

Timing is not asserted here: speed is measured by the scripts themselves, in one run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(autouse=True)
def _bench_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))


def test_curve_benchmark_runs_and_agrees_with_hf(capsys):
    import bench_curve

    assert bench_curve.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "HF lambda loop / schedcore" in out


def test_groups_benchmark_runs(capsys):
    import bench_groups

    assert bench_groups.main(["--quick"]) == 0
    assert "schedcore param_groups(model, recipe)" in capsys.readouterr().out


def test_startup_benchmark_runs(capsys):
    import bench_startup

    assert bench_startup.main(["--quick"]) == 0
    assert "import schedcore / import numpy" in capsys.readouterr().out


def test_torch_scheduler_benchmark_runs(capsys):
    import bench_torch_scheduler

    assert bench_torch_scheduler.main(["--quick"]) == 0
    assert "RecipeLR / CosineAnnealingLR" in capsys.readouterr().out


def test_jax_benchmark_runs(capsys):
    import bench_jax

    assert bench_jax.main(["--quick"]) == 0
    assert "schedcore / optax" in capsys.readouterr().out


def test_seed_style_grouping_matches_schedcore_on_the_benchmark_table():
    import bench_groups

    import schedcore as sc

    rows = bench_groups.table_rows(3)
    names = [r["name"] for r in rows]
    seed = bench_groups.seed_style(names, 3, llrd=False)
    recipe = sc.load(
        {
            "lr": 1.0,
            "groups": {
                "defaults": {"weight_decay": 0.01},
                "rules": [
                    {"name": "head", "match": {"prefix": "head."}, "lr": 2.0},
                    {"name": "no_decay", "match": {"tags": ["bias", "norm"]}, "weight_decay": 0.0},
                ],
            },
        }
    ).bind(rows)
    ours = {(g.lr, g.weight_decay): set(g.params) for g in recipe.groups}
    assert ours[(1.0, 0.01)] == set(seed[0])
    assert ours[(1.0, 0.0)] == set(seed[1])
    assert ours[(2.0, 0.0)] == set(seed[2])
    assert ours[(2.0, 0.01)] == set(seed[3])
    assert sys.modules["bench_groups"] is bench_groups


def test_keras_benchmark_runs_and_matches_cosine_decay(capsys):
    import bench_keras

    assert bench_keras.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "schedcore / CosineDecay" in out and "20 phases / 1 phase" in out
    gap = float(out.split("max relative difference ")[1].split()[0])
    assert gap <= 1e-5
