"""from_transformers / from_training_args / to_transformers against transformers 5.23 itself.

Each example builds the real scheduler with ``transformers.get_scheduler`` on a torch SGD
optimizer and steps it past three times the schedule's horizon; the recipe must give the
lr transformers applies at every update (float64: rtol 1e-12).
"""

from __future__ import annotations

import math
import types
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from transformers import TrainingArguments, get_scheduler

import schedcore as sc
from schedcore import SpecError
from schedcore.errors import StepRangeError
from schedcore.port import from_training_args, from_transformers, to_transformers

from .helpers import F64, FAST, assert_lr, torch_lrs, torch_run

NAMES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)


def optimizer(lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def hf_lrs(name, lr, w, t, kwargs, n):
    opt = optimizer(lr)
    sched = get_scheduler(
        name, opt, num_warmup_steps=w, num_training_steps=t, scheduler_specific_kwargs=dict(kwargs)
    )
    return torch_lrs(sched, opt, n)[0]


FRACTION = st.floats(0.0, 0.9, allow_nan=False)
SHAPES = st.sampled_from(["linear", "cosine", "1-sqrt"])


@st.composite
def specific(draw, name: str, lr: float, w: int, t: int) -> dict:
    """Scheduler-specific kwargs get_scheduler accepts for ``name``."""
    kw: dict = {}
    if name in ("cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr") and draw(
        st.booleans()
    ):
        kw["num_cycles"] = draw(st.sampled_from([0.5, 1.0, 1.5]) | st.floats(0.1, 3.0))
    if name == "cosine_with_restarts" and draw(st.booleans()):
        kw["num_cycles"] = draw(st.integers(1, 7) | st.sampled_from([1.5, 2.5]))
    if name == "polynomial":
        if draw(st.booleans()):
            kw["lr_end"] = lr * draw(st.floats(0.0, 0.9) | st.sampled_from([1.0, 1.1]))
        if draw(st.booleans()):
            kw["power"] = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.1, 4.0))
    if name == "inverse_sqrt" and draw(st.booleans()):
        kw["timescale"] = draw(st.integers(1, 50))
    if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        if draw(st.booleans()):
            kw["min_lr"] = lr * draw(FRACTION)
        else:
            kw["min_lr_rate"] = draw(FRACTION)
    if name == "cosine_warmup_with_min_lr" and draw(st.booleans()):
        kw["warmup_lr_rate"] = draw(FRACTION)
    if name == "warmup_stable_decay":
        kw["num_decay_steps"] = draw(st.integers(0, t))
        if draw(st.booleans()):
            kw["num_stable_steps"] = draw(st.integers(0, 40))
        kw["warmup_type"] = draw(SHAPES)
        kw["decay_type"] = draw(SHAPES)
        if draw(st.booleans()):
            kw["min_lr_ratio"] = draw(FRACTION)
        if draw(st.booleans()):
            kw["num_cycles"] = draw(st.sampled_from([0.5, 1.0]) | st.floats(0.1, 2.0))
    return kw


@st.composite
def hf_cases(draw):
    name = draw(st.sampled_from(NAMES))
    lr = draw(st.sampled_from([1e-3, 2e-5, 0.1]) | st.floats(1e-5, 1.0))
    w = draw(st.integers(0, 30))
    t = draw(st.integers(0, 120))
    return name, lr, w, t, draw(specific(name, lr, w, t))


@FAST
@given(case=hf_cases())
def test_every_name_matches_get_scheduler_at_every_step(case):
    name, lr, w, t, kw = case
    n = 3 * max(t, w) + 5  # three horizons, past the end
    try:
        opt = optimizer(lr)
        sched = get_scheduler(
            name, opt, num_warmup_steps=w, num_training_steps=t, scheduler_specific_kwargs=kw
        )
    except (ValueError, ZeroDivisionError) as err:  # transformers refuses (or crashes)
        with pytest.raises(SpecError):
            from_transformers(name, lr=lr, num_warmup_steps=w, num_training_steps=t, **kw)
        assume(False)
        raise AssertionError from err  # pragma: no cover
    # a step that crashes in transformers (polynomial with W == T) ends the run there
    ref, stop = torch_run(sched, opt, n, errors=(ZeroDivisionError,))
    recipe = from_transformers(name, lr=lr, num_warmup_steps=w, num_training_steps=t, **kw)
    reached = ref.shape[1]
    assert_lr(recipe.lr(np.arange(reached)), ref[0], F64, f"{name} W={w} T={t} {kw}")
    if stop is not None:  # the recipe raises at the same step, as transformers does
        with pytest.raises(StepRangeError):
            recipe.lr(stop)


def test_refusal_counts_of_the_strategy(capsys):
    """The share of :func:`hf_cases` draws the importer refuses, by reason (printed for the
    fidelity report): each one transformers refuses too; a draw that transformers builds
    but crashes on later (polynomial with W == T) is reproduced up to that step."""
    counts: Counter[str] = Counter()

    @settings(max_examples=500, derandomize=True, database=None, deadline=None)
    @given(case=hf_cases())
    def draw(case):
        name, lr, w, t, kw = case
        try:
            recipe = from_transformers(
                name, lr=lr, num_warmup_steps=w, num_training_steps=t, **kw
            )
        except SpecError as err:
            counts[f"refused: {name} {err.path}"] += 1
            with pytest.raises((ValueError, ZeroDivisionError)):  # as transformers does
                get_scheduler(name, optimizer(lr), w, t, scheduler_specific_kwargs=dict(kw))
            return
        try:
            recipe.lr(np.arange(3 * max(t, w) + 5))
            counts["reproduced"] += 1
        except StepRangeError:
            counts["reproduced up to the step where transformers raises"] += 1

    draw()
    total = sum(counts.values())
    refused = sum(v for k, v in counts.items() if k.startswith("refused"))
    with capsys.disabled():
        print(f"\ntransformers importer: {refused}/{total} draws refused ({refused / total:.1%})")
        for reason, count in counts.most_common():
            print(f"  {count:4d}  {reason}")
    assert counts["reproduced"] > total // 2
    assert counts["reproduced up to the step where transformers raises"] > 0


@FAST
@given(case=hf_cases())
def test_to_transformers_round_trips(case):
    name, lr, w, t, kw = case
    try:
        recipe = from_transformers(name, lr=lr, num_warmup_steps=w, num_training_steps=t, **kw)
    except SpecError:
        assume(False)
        raise
    try:
        exported, kwargs = to_transformers(recipe)
    except SpecError:
        # only the shapes transformers builds from degenerate arguments are not recognized
        assume(False)
        raise
    again = from_transformers(exported, **kwargs)
    n = 3 * max(t, w) + 5
    assert_lr(again.lr(np.arange(n)), recipe.lr(np.arange(n)), F64, f"{exported} {kwargs}")
    # and the exported arguments drive the real transformers scheduler to the same lrs
    lr_ = kwargs.pop("lr")
    ref = hf_lrs(
        exported,
        lr_,
        kwargs.pop("num_warmup_steps", None),
        kwargs.pop("num_training_steps", None),
        kwargs,
        n,
    )
    assert_lr(recipe.lr(np.arange(n)), ref, F64)


@pytest.mark.parametrize(
    "name, kw",
    [
        ("linear", {}),
        ("cosine", {"num_cycles": 0.5}),
        ("cosine_with_restarts", {"num_cycles": 3}),
        ("polynomial", {"lr_end": 1e-4, "power": 2.0}),
        ("constant_with_warmup", {}),
        ("inverse_sqrt", {"timescale": 40}),
        ("cosine_with_min_lr", {"min_lr_rate": 0.1}),
        ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1, "warmup_lr_rate": 0.2}),
        ("warmup_stable_decay", {"num_decay_steps": 20, "decay_type": "1-sqrt"}),
    ],
)
def test_export_names_each_scheduler(name, kw):
    recipe = from_transformers(name, lr=0.01, num_warmup_steps=10, num_training_steps=100, **kw)
    exported, kwargs = to_transformers(recipe)
    assert exported == name
    assert kwargs["lr"] == 0.01 and kwargs["num_warmup_steps"] == 10


# -- quirks, pinned ------------------------------------------------------------------------
def test_cosine_rises_again_past_the_end():
    """p is not clamped: 0.587 at 1.5 T, 0.970 at 2 T (T = 100, W = 10; anchors)."""
    recipe = from_transformers("cosine", lr=1.0, num_warmup_steps=10, num_training_steps=100)
    assert recipe.lr(150) == pytest.approx(0.5 * (1 + math.cos(math.pi * 140 / 90)))
    assert round(recipe.lr(150), 3) == 0.587 and round(recipe.lr(200), 3) == 0.970


def test_cosine_warmup_with_min_lr_is_one_step_ahead():
    recipe = from_transformers(
        "cosine_warmup_with_min_lr",
        lr=1.0,
        num_warmup_steps=10,
        num_training_steps=100,
        min_lr_rate=0.1,
    )
    assert recipe.lr(0) == pytest.approx(0.1)  # (0 + 1) / W
    assert recipe.lr(9) == 1.0  # the peak is reached at W - 1
    assert recipe.lr(10) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 90)))
    assert recipe.lr(99) == pytest.approx(0.1)  # min at T - 1, then it rises


def test_hard_restarts_keep_transformers_rounding():
    """(22 * (15 / 22)) mod 1 = 0.999...: transformers gives ~0 at the restart at j = 15."""
    ref = hf_lrs("cosine_with_restarts", 1.0, 0, 22, {"num_cycles": 22}, 30)
    recipe = from_transformers(
        "cosine_with_restarts", lr=1.0, num_warmup_steps=0, num_training_steps=22, num_cycles=22
    )
    assert ref[15] < 1e-20 and ref[14] == 1.0
    assert_lr(recipe.lr(np.arange(30)), ref, F64)


def test_polynomial_power_zero_holds_lr_up_to_the_end():
    recipe = from_transformers(
        "polynomial", lr=1.0, num_warmup_steps=2, num_training_steps=10, power=0.0, lr_end=0.1
    )
    assert recipe.lr(10) == 1.0 and recipe.lr(11) == pytest.approx(0.1)


def test_constant_ignores_warmup_as_get_scheduler_does():
    recipe = from_transformers("constant", lr=0.3, num_warmup_steps=100, num_training_steps=10)
    assert recipe.lr(0) == 0.3
    assert_lr(recipe.lr(np.arange(20)), hf_lrs("constant", 0.3, 100, 10, {}, 20), F64)


def test_polynomial_lr_end_is_absolute():
    recipe = from_transformers(
        "polynomial", lr=0.5, num_warmup_steps=0, num_training_steps=10, lr_end=0.05
    )
    assert recipe.lr(10) == pytest.approx(0.05) and recipe.lr(1000) == pytest.approx(0.05)


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, path, given",
    [
        (
            lambda: from_transformers("cosin", lr=1.0, num_warmup_steps=0, num_training_steps=9),
            "name",
            "'cosin'",
        ),
        (lambda: from_transformers("reduce_lr_on_plateau", lr=1.0), "name", "reduce_lr_on_plateau"),
        (
            lambda: from_transformers("linear", lr=1.0, num_training_steps=9),
            "num_warmup_steps",
            None,
        ),
        (
            lambda: from_transformers("linear", lr=1.0, num_warmup_steps=0),
            "num_training_steps",
            None,
        ),
        (
            lambda: from_transformers(
                "cosine", lr=1.0, num_warmup_steps=0, num_training_steps=9, cycles=2
            ),
            "cycles",
            None,
        ),
        (
            lambda: from_transformers(
                "polynomial", lr=1e-3, num_warmup_steps=0, num_training_steps=9, lr_end=1e-3
            ),
            "lr_end",
            "0.001",
        ),
        (
            lambda: from_transformers(
                "polynomial", lr=1.0, num_warmup_steps=0, num_training_steps=0
            ),
            "num_training_steps",
            "ZeroDivisionError",
        ),
        (
            lambda: from_transformers(
                "cosine_with_min_lr", lr=1.0, num_warmup_steps=0, num_training_steps=9
            ),
            "min_lr",
            None,
        ),
        (
            lambda: from_transformers(
                "cosine_with_min_lr",
                lr=1.0,
                num_warmup_steps=0,
                num_training_steps=9,
                min_lr=0.1,
                min_lr_rate=0.1,
            ),
            "min_lr_rate",
            None,
        ),
        (
            lambda: from_transformers(
                "warmup_stable_decay",
                lr=1.0,
                num_warmup_steps=0,
                num_training_steps=9,
                num_decay_steps=3,
                decay_type="exp",
            ),
            "decay_type",
            "'exp'",
        ),
        (
            lambda: from_transformers("linear", lr=-1.0, num_warmup_steps=0, num_training_steps=9),
            "lr",
            "-1.0",
        ),
    ],
)
def test_errors_name_the_argument(call, path, given):
    with pytest.raises(SpecError) as info:
        call()
    assert info.value.path == path, str(info.value)
    if given is not None:
        assert given in str(info.value)


def test_transformers_also_refuses_what_is_refused():
    """The refusals above mirror transformers' own."""
    with pytest.raises(ValueError):
        get_scheduler("polynomial", optimizer(1e-3), 0, 9, {"lr_end": 1e-3})
    with pytest.raises(ZeroDivisionError):  # made: LambdaLR evaluates step 0
        hf_lrs("polynomial", 1.0, 0, 0, {}, 1)
    with pytest.raises(ValueError):
        get_scheduler("cosine_with_min_lr", optimizer(1.0), 0, 9)


def test_polynomial_with_warmup_equal_to_total_runs_until_transformers_raises():
    """W == T: transformers warms up, then divides by T - W = 0 at step W."""
    opt = optimizer(0.5)
    sched = get_scheduler("polynomial", opt, 9, 9, {"power": 2.0})
    ref, stop = torch_run(sched, opt, 20, errors=(ZeroDivisionError,))
    assert stop == 9
    recipe = from_transformers("polynomial", lr=0.5, num_warmup_steps=9, num_training_steps=9)
    assert_lr(recipe.lr(np.arange(9)), ref[0], F64)
    with pytest.raises(StepRangeError):
        recipe.lr(9)
    with pytest.raises(StepRangeError):
        recipe.lr(np.arange(12))


def test_export_refuses_what_transformers_has_not():
    recipe = sc.load({"lr": 0.1, "schedule": {"type": "step", "every": 10, "gamma": 0.5}})
    with pytest.raises(SpecError, match="not one of transformers' schedules"):
        to_transformers(recipe)
    held = sc.load(
        {
            "lr": 0.1,
            "training": {"total_steps": 100},
            "schedule": {"warmup": 10, "decay": "cosine", "min_lr_ratio": 0.1},
        }
    )
    with pytest.raises(SpecError, match="continue the wave"):
        to_transformers(held)


def test_shortform_recipes_export_to_their_transformers_equivalent():
    """A short-form cosine holds 0 past T: that is cosine_with_restarts with one cycle."""
    recipe = sc.load(
        {"lr": 0.1, "training": {"total_steps": 50}, "schedule": {"warmup": 5, "decay": "cosine"}}
    )
    name, kwargs = to_transformers(recipe)
    assert (name, kwargs["num_cycles"]) == ("cosine_with_restarts", 1)
    n = 160
    lr_ = kwargs.pop("lr")
    ref = hf_lrs(
        name, lr_, kwargs.pop("num_warmup_steps"), kwargs.pop("num_training_steps"), kwargs, n
    )
    assert_lr(recipe.lr(np.arange(n)), ref, F64)


# -- TrainingArguments -----------------------------------------------------------------------
# TrainingArguments cannot be instantiated here (it needs `accelerate`); its warmup rule is
# called unbound on a plain namespace. The horizon follows Trainer.set_initial_training_values
# (transformers 5.23), written out: T = max_steps if > 0, else ceil(num_train_epochs *
# max(len_dataloader // ga + (len_dataloader % ga > 0), 1)).
def trainer_warmup(warmup_steps, total):
    return TrainingArguments.get_warmup_steps(
        types.SimpleNamespace(warmup_steps=warmup_steps), total
    )


@FAST
@given(
    warmup=st.integers(0, 50) | st.floats(0.0, 0.99) | st.floats(1.0, 40.0),
    max_steps=st.integers(-1, 200),
    epochs=st.floats(0.5, 4.0),
    batches=st.integers(1, 60),
    accum=st.integers(1, 5),
    name=st.sampled_from(["linear", "cosine", "constant_with_warmup"]),
)
def test_training_args_match_the_trainer(warmup, max_steps, epochs, batches, accum, name):
    per_epoch = max(batches // accum + int(batches % accum > 0), 1)
    total = max_steps if max_steps > 0 else math.ceil(epochs * per_epoch)
    w = trainer_warmup(warmup, total)
    args = {
        "learning_rate": 3e-4,
        "lr_scheduler_type": name,
        "warmup_steps": warmup,
        "max_steps": max_steps,
        "num_train_epochs": epochs,
        "dataset_size": batches * 8 - 3,
        "per_device_train_batch_size": 8,
        "gradient_accumulation_steps": accum,
    }
    recipe = from_training_args(args)
    n = 3 * max(total, w) + 3
    assert_lr(recipe.lr(np.arange(n)), hf_lrs(name, 3e-4, w, total, {}, n), F64)
    if name != "constant_with_warmup":
        assert recipe.total_steps == total


def test_training_args_fractional_warmup_is_a_ratio():
    recipe = from_training_args(
        {
            "learning_rate": 1.0,
            "warmup_steps": 0.05,
            "max_steps": 101,
            "lr_scheduler_type": "linear",
        }
    )
    warm = math.ceil(101 * 0.05)
    assert trainer_warmup(0.05, 101) == warm == 6
    assert recipe.lr(warm - 1) == pytest.approx((warm - 1) / warm) and recipe.lr(warm) == 1.0


def test_training_args_kwargs_as_json_text_and_legacy_warmup_ratio():
    recipe = from_training_args(
        {
            "lr_scheduler_type": "cosine_with_min_lr",
            "lr_scheduler_kwargs": '{"min_lr_rate": 0.1}',
            "warmup_ratio": 0.1,
            "max_steps": 50,
        }
    )
    ref = hf_lrs("cosine_with_min_lr", 5e-5, 5, 50, {"min_lr_rate": 0.1}, 150)
    assert_lr(recipe.lr(np.arange(150)), ref, F64)


def test_training_args_errors():
    with pytest.raises(SpecError) as info:
        from_training_args({"learning_rate": 1e-3, "lr_sheduler_type": "cosine", "max_steps": 9})
    assert info.value.path == "lr_sheduler_type"
    with pytest.raises(SpecError) as info:
        from_training_args({"num_train_epochs": 3})
    assert info.value.path == "max_steps" and "steps_per_epoch" in str(info.value)
    # strict=False ignores the rest of a full TrainingArguments dict
    recipe = from_training_args({"max_steps": 10, "output_dir": "x", "seed": 1}, strict=False)
    assert recipe.lr(10) == 0.0


# -- a live LambdaLR from get_scheduler -----------------------------------------------------
def test_from_torch_reads_transformers_lambdas():
    from schedcore.port import from_torch

    opt = torch.optim.SGD(
        [
            {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1},
            {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.02},
        ],
        lr=0.1,
    )
    sched = get_scheduler("polynomial", opt, 5, 40, {"lr_end": 1e-3, "power": 2.0})
    recipe = from_torch(sched)
    assert_lr(recipe.lr(np.arange(130)), torch_lrs(sched, opt, 130), F64)
    # lr_end is absolute for optimizer.defaults["lr"]: the second group gets lr_end / 5
    assert recipe.lr(100)[1] == pytest.approx(1e-3 * 0.02 / 0.1)
