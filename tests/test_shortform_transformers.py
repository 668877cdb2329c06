"""The short form in transformers' vocabulary (``lr_scheduler_type`` names and their
arguments), against transformers' own ``get_scheduler``: the same tree as the importer
(:func:`schedcore.port.from_transformers`), and the lr transformers applies at every update."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedcore as sc
from schedcore import SpecError
from schedcore.port import from_training_args, from_transformers

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LR, TOTAL = 0.1, 200

# (short-form table, get_scheduler's name, its scheduler_specific_kwargs, warmup steps)
ALIASES = [
    ({"lr_scheduler_type": "linear", "warmup_steps": 20}, "linear", {}, 20),
    ({"lr_scheduler_type": "cosine", "warmup_ratio": 0.1}, "cosine", {}, 20),
    (
        {"lr_scheduler_type": "cosine", "warmup_steps": 0.05, "num_cycles": 1.5},
        "cosine",
        {"num_cycles": 1.5},
        10,
    ),
    (
        {"lr_scheduler_type": "cosine_with_restarts", "warmup_steps": 10, "num_cycles": 3},
        "cosine_with_restarts",
        {"num_cycles": 3},
        10,
    ),
    (
        {"decay": "cosine_with_restarts", "warmup": "10%", "num_cycles": 2},
        "cosine_with_restarts",
        {"num_cycles": 2},
        20,
    ),
    (
        {"lr_scheduler_type": "polynomial", "warmup_steps": 10, "power": 2.0, "lr_end": 1e-3},
        "polynomial",
        {"power": 2.0, "lr_end": 1e-3},
        10,
    ),
    ({"lr_scheduler_type": "polynomial"}, "polynomial", {}, 0),
    ({"lr_scheduler_type": "constant"}, "constant", {}, 0),
    (
        {"lr_scheduler_type": "constant_with_warmup", "warmup_steps": 15},
        "constant_with_warmup",
        {},
        15,
    ),
    ({"decay": "constant_with_warmup", "warmup_ratio": 0.25}, "constant_with_warmup", {}, 50),
    ({"lr_scheduler_type": "inverse_sqrt", "warmup_steps": 16}, "inverse_sqrt", {}, 16),
    ({"lr_scheduler_type": "inverse_sqrt", "timescale": 7}, "inverse_sqrt", {"timescale": 7}, 0),
    (
        {"lr_scheduler_type": "cosine_with_min_lr", "warmup_steps": 10, "min_lr": 1e-3},
        "cosine_with_min_lr",
        {"min_lr": 1e-3},
        10,
    ),
    (
        {"decay": "cosine_with_min_lr", "warmup_ratio": 0.1, "min_lr_rate": 0.2, "num_cycles": 1},
        "cosine_with_min_lr",
        {"min_lr_rate": 0.2, "num_cycles": 1},
        20,
    ),
    (
        {
            "lr_scheduler_type": "warmup_stable_decay",
            "warmup_steps": 20,
            "num_decay_steps": 50,
            "min_lr_ratio": 0.05,
        },
        "warmup_stable_decay",
        {"num_decay_steps": 50, "min_lr_ratio": 0.05},
        20,
    ),
    (
        {
            "decay": "warmup_stable_decay",
            "warmup_ratio": 0.1,
            "num_decay_steps": 40,
            "decay_type": "1-sqrt",
            "num_stable_steps": 100,
        },
        "warmup_stable_decay",
        {"num_decay_steps": 40, "decay_type": "1-sqrt", "num_stable_steps": 100},
        20,
    ),
]


def hf_lrs(name: str, warmup: int, specific: dict, n: int) -> np.ndarray:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    sched = transformers.get_scheduler(
        name,
        opt,
        num_warmup_steps=warmup,
        num_training_steps=TOTAL,
        scheduler_specific_kwargs=dict(specific),
    )
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.asarray(out)


@pytest.mark.parametrize("table,name,specific,warmup", ALIASES, ids=[a[1] for a in ALIASES])
def test_alias_matches_get_scheduler_and_the_importer(table, name, specific, warmup):
    recipe = sc.load({"lr": LR, "training": {"total_steps": TOTAL}, "schedule": table})
    imported = from_transformers(
        name,
        lr=LR,
        num_warmup_steps=warmup,
        num_training_steps=TOTAL,
        scheduler_specific_kwargs=specific,
    )
    assert recipe.schedule == imported.schedule  # one mapping, one tree
    n = 3 * TOTAL  # past the end too: transformers' quirks (the cosine wave goes on) kept
    np.testing.assert_allclose(
        recipe.lr(np.arange(n)), hf_lrs(name, warmup, specific, n), rtol=1e-12, atol=1e-18
    )
    # the same words as keywords, and a TOML round trip of the explicit tree
    assert sc.recipe(lr=LR, total_steps=TOTAL, **table) == recipe
    assert sc.load(recipe.to_dict()) == recipe


def test_training_arguments_vocabulary_end_to_end():
    recipe = sc.load("""
lr = 5e-5
[training]
epochs = 3
dataset_size = 1000
batch_size = 8
gradient_accumulation_steps = 4
[schedule]
lr_scheduler_type = "cosine_with_restarts"
warmup_ratio = 0.06
num_cycles = 2
""")
    total = 3 * math.ceil(math.ceil(1000 / 8) / 4)
    assert recipe.total_steps == total
    assert (
        recipe.schedule
        == from_transformers(
            "cosine_with_restarts",
            lr=5e-5,
            num_warmup_steps=math.ceil(0.06 * total),
            num_training_steps=total,
            num_cycles=2,
        ).schedule
    )


@pytest.mark.parametrize(
    "table,path,text",
    [
        ({"lr_scheduler_type": "cosin"}, "schedule.lr_scheduler_type", "did you mean 'cosine'"),
        (
            {"lr_scheduler_type": "cosine", "num_cyles": 2},
            "schedule.num_cyles",
            "did you mean 'num_cycles'",
        ),
        (
            {"decay": "cosine", "num_cycles": 2},
            "schedule.num_cycles",
            "write lr_scheduler_type = 'cosine'",
        ),
        ({"lr_scheduler_type": "cosine", "decay": "cosine"}, "schedule.decay", "not both"),
        (
            {"lr_scheduler_type": "constant", "warmup_steps": 5},
            "schedule.warmup_steps",
            "constant_with_warmup",
        ),
        (
            {"lr_scheduler_type": "linear", "warmup": 5, "warmup_steps": 5},
            "schedule.warmup",
            "give warmup or warmup_steps",
        ),
        ({"lr_scheduler_type": "polynomial", "lr_end": 1.0}, "schedule.lr_end", "below lr"),
        ({"lr_scheduler_type": "cosine_with_min_lr"}, "schedule.min_lr", "min_lr_rate"),
        (
            {"lr_scheduler_type": "reduce_lr_on_plateau"},
            "schedule.lr_scheduler_type",
            "driven by a metric",
        ),
        ({"warmpu": 5}, "schedule.warmpu", "did you mean 'warmup'"),
    ],
)
def test_alias_errors_name_the_field(table, path, text):
    with pytest.raises(SpecError) as info:
        sc.load({"lr": LR, "training": {"total_steps": TOTAL}, "schedule": table})
    assert info.value.path == path and text in info.value.problem, str(info.value)


def test_alias_without_a_horizon_says_what_to_give():
    with pytest.raises(
        SpecError,
        match=r"schedule.lr_scheduler_type: 'linear' needs the number "
        r"of training steps: give training.total_steps",
    ):
        sc.load({"lr": LR, "schedule": {"lr_scheduler_type": "linear"}})
    with pytest.raises(SpecError, match=r"schedule.warmup_ratio: a ratio .* needs"):
        sc.load(
            {
                "lr": LR,
                "schedule": {"lr_scheduler_type": "constant_with_warmup", "warmup_ratio": 0.1},
            }
        )
    # a step count needs no horizon where transformers needs none
    r = sc.load({"lr": LR, "schedule": {"lr_scheduler_type": "inverse_sqrt", "warmup_steps": 4}})
    assert r.schedule == from_transformers("inverse_sqrt", lr=LR, num_warmup_steps=4).schedule



# -- a percentage rounds as HF's Trainer rounds warmup_ratio -------------------------------
def trainer_warmup(ratio: float, total: int) -> int:
    """transformers' own ``TrainingArguments.get_warmup_steps`` for a ratio."""
    args = types.SimpleNamespace(warmup_steps=ratio)
    return transformers.TrainingArguments.get_warmup_steps(args, total)


def short_form_warmup(percent: str, total: int) -> int:
    recipe = sc.load(
        {
            "lr": 1.0,
            "training": {"total_steps": total},
            "schedule": {"warmup": percent, "decay": "linear"},
        }
    )
    return recipe.schedule.steps


def test_percent_warmup_rounds_as_the_trainer():
    """7% of 100 steps: 100 * 0.07 is 7.000000000000001 in float, so HF's Trainer (and
    from_training_args) warm up for 8 steps; the short form too."""
    assert 100 * 0.07 > 7 and trainer_warmup(0.07, 100) == 8
    assert short_form_warmup("7%", 100) == 8
    hf = from_training_args({"learning_rate": 1.0, "warmup_ratio": 0.07, "max_steps": 100})
    ours = sc.load(
        {
            "lr": 1.0,
            "training": {"total_steps": 100},
            "schedule": {"warmup": "7%", "decay": "linear"},
        }
    )
    assert hf.lr(7) < 1.0 and hf.lr(8) == 1.0 and ours.lr(7) < 1.0 and ours.lr(8) == 1.0
    # the same rounding for a percentage in transformers' vocabulary
    table = {"lr_scheduler_type": "linear", "warmup": "7%"}
    alias = sc.load({"lr": 1.0, "training": {"total_steps": 100}, "schedule": table})
    np.testing.assert_array_equal(alias.lr(np.arange(120)), hf.lr(np.arange(120)))


PERCENTS = st.integers(1, 99).map(str) | st.builds(
    "{}.{}".format, st.integers(0, 99), st.integers(0, 999).map(lambda f: f"{f:03d}")
).filter(lambda p: float(p) > 0)


@settings(max_examples=300, deadline=None)
@given(percent=PERCENTS, total=st.integers(2, 5000))
def test_percent_warmup_equals_the_trainer_for_any_ratio(percent, total):
    ratio = float(f"{percent}e-2")  # the float a user writes as warmup_ratio
    warmup = trainer_warmup(ratio, total)
    if warmup >= total:
        return  # no steps left to decay: refused (tested with the short form's errors)
    assert short_form_warmup(f"{percent}%", total) == warmup
