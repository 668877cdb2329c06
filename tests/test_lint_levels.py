"""Lint can gate CI: levels, exit codes, the safety net, dead pattern items as errors, and
no finding at warning level or above on the recipes people actually use (the bundled
example, every transformers schedule, the seeds' recipes, what schedcore.port produces)."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

import schedcore as sc
from schedcore.examples import BERT_PARAMS, BERT_RECIPE
from schedcore.port import (
    from_detectron2,
    from_fairseq,
    from_keras,
    from_keras_bert,
    from_optax,
    from_timm,
    from_training_args,
    from_transformers,
)
from schedcore.port.transformers import NAMES
from schedcore.tools.cli import main
from schedcore.tools.lint import CODES, LEVELS, Finding, lint


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def serious(recipe: sc.Recipe) -> list[str]:
    return [str(f) for f in lint(recipe) if f.level in ("error", "warning")]


TRANSFORMERS_SPECIFIC = {
    "warmup_stable_decay": {"num_decay_steps": 2000},
    "cosine_with_min_lr": {"min_lr_rate": 0.1},
    "cosine_warmup_with_min_lr": {"min_lr_rate": 0.1},
}


@pytest.mark.parametrize("name", NAMES)
def test_every_transformers_schedule_lints_clean(name):
    kw = TRANSFORMERS_SPECIFIC.get(name, {})
    recipe = from_transformers(name, lr=2e-5, num_warmup_steps=500, num_training_steps=10_000, **kw)
    assert serious(recipe) == []


def _seeds() -> dict[str, sc.Recipe]:
    noam = {"type": "noam", "d_model": 512, "warmup": 4000}
    return {
        # seed 000: the layered-lr BERT fine-tune, i.e. the bundled example
        "bundled": sc.load(BERT_RECIPE).bind(BERT_PARAMS),
        # seed 001: transformers' get_scheduler over 50 epochs of 1235 examples at batch 32
        "seed001": from_transformers(
            "cosine", lr=1e-3, num_warmup_steps=100, num_training_steps=50 * 39
        ),
        # seed 003: Noam with a training horizon, and its LambdaLR warmup-then-linear form
        "noam": sc.load({"lr": 1.0, "training": {"total_steps": 20_000}, "schedule": noam}),
        "noam_unbounded": sc.load({"lr": 1.0, "schedule": noam}),
        # seed 004: keras-bert's AdamWarmup from calc_train_steps
        "keras_bert": from_keras_bert(120, 24, learning_rate=1e-4, min_lr=1e-7),
    }


@pytest.mark.parametrize("name", sorted(_seeds()))
def test_the_seeds_recipes_lint_clean(name):
    assert serious(_seeds()[name]) == []


PORTED = {
    "fairseq inverse_sqrt": lambda: from_fairseq("inverse_sqrt", lr=5e-4, warmup_updates=4000),
    "fairseq tri_stage": lambda: from_fairseq(
        "tri_stage", lr=1.0, phase_ratio=[0.1, 0.4, 0.5], max_update=1000
    ),
    "timm cosine": lambda: from_timm(lr=0.1, t_initial=30, updates_per_epoch=7),
    "timm per-group": lambda: from_timm(
        lr=[0.1, 0.02], t_initial=10, t_in_epochs=False, lr_min=1e-3
    ),
    "detectron2 defaults": lambda: from_detectron2({}),
    "detectron2 cosine": lambda: from_detectron2(
        {"SOLVER": {"LR_SCHEDULER_NAME": "WarmupCosineLR", "WARMUP_ITERS": 100, "MAX_ITER": 5000}}
    ),
    "keras CosineDecay": lambda: from_keras(
        {
            "class_name": "CosineDecay",
            "config": {"initial_learning_rate": 0.1, "decay_steps": 100, "warmup_steps": 10},
        }
    ),
    "keras PiecewiseConstantDecay": lambda: from_keras(
        {
            "class_name": "PiecewiseConstantDecay",
            "config": {"boundaries": [10], "values": [1.0, 0.5]},
        }
    ),
    "optax warmup_cosine_decay": lambda: from_optax(
        "warmup_cosine_decay_schedule",
        init_value=0.0,
        peak_value=1e-3,
        warmup_steps=100,
        decay_steps=1000,
        end_value=1e-5,
    ),
    "optax onecycle": lambda: from_optax(
        "linear_onecycle_schedule", transition_steps=1000, peak_value=0.1
    ),
    "training_args": lambda: from_training_args(
        {"learning_rate": 1e-3, "lr_scheduler_type": "cosine", "max_steps": 900}
    ),
    "keras-bert": lambda: from_keras_bert(1000, 100, learning_rate=1e-3),
}


@pytest.mark.parametrize("name", sorted(PORTED))
def test_ported_recipes_lint_clean(name, tmp_path, capsys):
    recipe = PORTED[name]()
    assert serious(recipe) == []
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recipe.to_dict()))
    code, out, _ = run(capsys, "lint", path, "--strict")
    assert code == 0, out


def test_bundled_example_exits_0_even_strict(capsys):
    code, out, _ = run(capsys, "lint", "--strict")
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines()[:-1]] == [["W007", "info:"]]


def test_every_code_has_a_level():
    assert {level for level, _ in CODES.values()} <= set(LEVELS)
    assert Finding("W007", "x").level == "info"
    assert Finding("E001", "x").level == "error"


# -- the checks fixed so they do not fire on ordinary recipes --------------------------------


def test_w004_still_fires_on_a_decay_that_does_not_decay():
    flat = sc.load(
        {
            "lr": 0.1,
            "training": {"total_steps": 100},
            "schedule": {"decay": "cosine", "min_lr": 0.1},
        }
    )
    assert [f.code for f in lint(flat)] == ["W004"]
    held = sc.load(
        {
            "lr": 0.1,
            "training": {"total_steps": 100},
            "schedule": {"warmup": 10, "decay": "constant"},
        }
    )
    assert lint(held) == []  # a constant after warmup is what was asked for


def test_w008_fires_only_when_the_lr_is_highest_at_the_end():
    rising = sc.load(
        {
            "lr": 0.1,
            "training": {"total_steps": 100},
            "schedule": {"type": "linear", "steps": 100, "start": 0.1, "end": 1.0},
        }
    )
    assert [f.code for f in lint(rising)] == ["W008"]
    noam = _seeds()["noam"]
    assert lint(noam) == [] and noam.schedule.length is None


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1e-3])
def test_e001_safety_net_on_nan_inf_negative(bad):
    class Bad(sc.Recipe):
        def lr(self, steps):
            values = np.full(np.shape(steps), 0.1)
            values[np.asarray(steps) == 7] = bad
            return values

    base = sc.load({"lr": 0.1, "training": {"total_steps": 20}})
    recipe = Bad(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    findings = lint(recipe)
    assert findings[0].code == "E001" and findings[0].level == "error"
    assert "at step 7" in findings[0].message and repr(float(bad)) in findings[0].message


def test_dead_pattern_items_are_error_findings(tmp_path, capsys):
    text = BERT_RECIPE.read_text()
    typo = tmp_path / "typo.toml"
    # a whole rule that matches nothing: an error at bind, reported as a finding (exit 1),
    # not as bad input (exit 2)
    typo.write_text(text.replace('"lstm.", "linear_layer."', '"lsmt.", "linaer_layer."'))
    code, out, err = run(capsys, "lint", typo, "--params", BERT_PARAMS)
    assert code == 1 and err == ""
    first = out.splitlines()[0]
    assert first.startswith("E002 error: groups.rules[") and "matches no parameter" in first
    assert run(capsys, "lint", typo)[0] == 0  # without a table there is nothing to check
    code, _, err = run(capsys, "lint", typo, "--params", tmp_path / "absent.csv")
    assert code == 2 and "does not exist" in err  # bad input


def test_lint_cli_strict_and_ignore(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(
        textwrap.dedent(
            """
            lr = 0.1
            [training]
            total_steps = 100
            [schedule]
            type = "linear"
            steps = 60
            """
        )
    )
    assert run(capsys, "lint", path)[0] == 0  # W002 is a warning
    assert run(capsys, "lint", path, "--strict")[0] == 1
    assert run(capsys, "lint", path, "--strict", "--ignore", "W002")[0] == 0
