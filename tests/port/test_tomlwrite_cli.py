"""The TOML writer (load(write(recipe)) == recipe), the `schedcore port` command, and
keras-bert's importer re-exported from schedcore.port."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedcore as sc
from schedcore import port
from schedcore.recipes import tomlwrite
from schedcore.tools.cli import main
from strategies import recipes

from .helpers import FAST

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@FAST
@given(case=recipes())
def test_load_of_written_toml_is_the_same_recipe(case):
    doc, _rows = case
    recipe = sc.load(doc)
    text = tomlwrite.dumps(recipe.to_dict())
    assert sc.load(text) == recipe


@FAST
@given(
    name=st.text(max_size=20),
    value=st.floats(allow_nan=False, allow_infinity=False),
    key=st.text(min_size=1, max_size=10),
)
def test_strings_keys_and_floats_read_back_exactly(name, value, key):
    data = {"name": name, "x": value, "t": {key: [1, 2.5, True, 'a"b\\c']}, "n": None}
    back = tomllib.loads(tomlwrite.dumps(data))
    assert back == {"name": name, "x": value, "t": {key: [1, 2.5, True, 'a"b\\c']}}
    assert math.copysign(1.0, back["x"]) == math.copysign(1.0, value)


def test_arrays_of_tables_nest():
    recipe = sc.load(
        {
            "lr": 1e-3,
            "schedule": {
                "type": "sequence",
                "phases": [
                    {"schedule": {"type": "linear", "steps": 5, "start": 0.0}, "steps": 5},
                    {
                        "schedule": {
                            "type": "sequence",
                            "phases": [
                                {"schedule": {"type": "constant"}, "steps": 3},
                                {"schedule": {"type": "cosine", "steps": 9}},
                            ],
                        }
                    },
                ],
            },
        }
    )
    text = tomlwrite.dumps(recipe.to_dict())
    assert "[[schedule.phases.schedule.phases]]" in text
    assert sc.load(text) == recipe


def test_per_group_recipe_writes_and_binds_back():
    recipe = port.from_timm(lr=[0.1, 0.02], t_initial=10, t_in_epochs=False, lr_min=1e-3)
    loaded = sc.load(tomlwrite.dumps(recipe.to_dict())).bind(["param_groups.0", "param_groups.1"])
    np.testing.assert_array_equal(loaded.lr(np.arange(30)), recipe.lr(np.arange(30)))


# -- the command line ---------------------------------------------------------------------------
def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_port_transformers_writes_a_recipe(tmp_path, capsys):
    out = tmp_path / "recipe.toml"
    code, text, _ = run(
        capsys,
        "port",
        "--from",
        "transformers",
        "cosine",
        "--lr",
        "2e-5",
        "--warmup-steps",
        "500",
        "--total-steps",
        "10000",
        "-o",
        str(out),
    )
    assert code == 0 and "wrote" in text
    recipe = sc.load(out)
    expected = port.from_transformers(
        "cosine", lr=2e-5, num_warmup_steps=500, num_training_steps=10000
    )
    assert recipe == expected
    code, text, _ = run(capsys, "port", "--to", "transformers", str(out))
    assert code == 0
    exported = json.loads(text)
    assert exported == {
        "name": "cosine",
        "lr": 2e-5,
        "num_warmup_steps": 500,
        "num_training_steps": 10000,
        "num_cycles": 0.5,
    }


@pytest.mark.parametrize(
    "argv, call",
    [
        (
            [
                "optax",
                "warmup_cosine_decay_schedule",
                "--kwargs",
                '{"init_value": 0.0, "peak_value": 1e-3, "warmup_steps": 10, "decay_steps": 100}',
            ],
            lambda: port.from_optax(
                "warmup_cosine_decay_schedule",
                init_value=0.0,
                peak_value=1e-3,
                warmup_steps=10,
                decay_steps=100,
            ),
        ),
        (
            [
                "keras",
                '{"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, '
                '"decay_steps": 100, "warmup_target": 1.0, "warmup_steps": 10}}',
            ],
            lambda: port.from_keras(
                {
                    "class_name": "CosineDecay",
                    "config": {
                        "initial_learning_rate": 0.1,
                        "decay_steps": 100,
                        "warmup_target": 1.0,
                        "warmup_steps": 10,
                    },
                }
            ),
        ),
        (
            ["fairseq", "inverse_sqrt", "--lr", "5e-4", "--kwargs", '{"warmup_updates": 4000}'],
            lambda: port.from_fairseq("inverse_sqrt", lr=5e-4, warmup_updates=4000),
        ),
        (
            ["detectron2", '{"SOLVER": {"LR_SCHEDULER_NAME": "WarmupCosineLR", "MAX_ITER": 900}}'],
            lambda: port.from_detectron2(
                {"SOLVER": {"LR_SCHEDULER_NAME": "WarmupCosineLR", "MAX_ITER": 900}}
            ),
        ),
        (
            ["timm", "--lr", "0.1", "--kwargs", '{"t_initial": 30, "updates_per_epoch": 7}'],
            lambda: port.from_timm(lr=0.1, t_initial=30, updates_per_epoch=7),
        ),
        (
            [
                "keras-bert",
                "--lr",
                "1e-4",
                "--total-steps",
                "120",
                "--warmup-steps",
                "24",
                "--kwargs",
                '{"min_lr": 1e-7}',
            ],
            lambda: port.from_keras_bert(120, 24, min_lr=1e-7, learning_rate=1e-4),
        ),
        (
            ["training-args", '{"learning_rate": 3e-5, "max_steps": 100, "warmup_steps": 0.1}'],
            lambda: port.from_training_args(
                {"learning_rate": 3e-5, "max_steps": 100, "warmup_steps": 0.1}
            ),
        ),
    ],
)
def test_port_from_each_source_prints_toml(capsys, argv, call):
    code, text, err = run(capsys, "port", "--from", *argv)
    assert code == 0, err
    assert sc.load(text) == call()


def test_port_json_output_and_keras_export(tmp_path, capsys):
    out = tmp_path / "r.json"
    config = tmp_path / "keras.json"
    config.write_text(
        json.dumps(
            {
                "class_name": "ExponentialDecay",
                "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
            }
        )
    )
    assert run(capsys, "port", "--from", "keras", str(config), "-o", str(out))[0] == 0
    assert json.loads(out.read_text())["lr"] == 0.1
    code, text, _ = run(capsys, "port", "--to", "keras", str(out))
    assert code == 0 and json.loads(text)["class_name"] == "ExponentialDecay"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--from", "transformers", "cosine", "--warmup-steps", "5"], "--lr"),
        (["--from", "optax", "linear_schedule", "--kwargs", "{bad json"], "--kwargs"),
        (["--from", "transformers", "cosin", "--lr", "1"], "name"),
        (["--to", "transformers"], "name"),
        (["--from", "keras-bert", "--lr", "1e-4", "--total-steps", "120"], "--warmup-steps"),
    ],
)
def test_port_errors_exit_2(capsys, argv, words):
    code, _, err = run(capsys, "port", *argv)
    assert code == 2 and words in err


# -- keras-bert (the Keras adapter's importer, re-exported) ----------------------------------
def test_keras_bert_is_one_based_with_decay_from_step_zero():
    """keras-bert (keras_bert/optimizers/warmup.py, recorded in the anchors; keras-bert cannot
    run here): t = k + 1; lr * t / W while t <= W, then min_lr + (lr - min_lr) * (1 - min(t, D)
    / D). lr = 1, W = 10, D = 100: 1.0 at t = 10, 0.89 at t = 11."""
    recipe = port.from_keras_bert(decay_steps=100, warmup_steps=10, learning_rate=1.0)
    assert recipe.lr(9) == 1.0 and recipe.lr(10) == pytest.approx(0.89)
    assert recipe.lr(0) == pytest.approx(0.1)
    assert port.calc_train_steps(1000, 32, 3, 0.1) == (96, 9)
