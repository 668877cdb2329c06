"""schedcore.port.keras_bert: keras-bert's AdamWarmup curve and calc_train_steps, exactly.

The reference is keras-bert's formula as anchors/schedules.md §4 records it from the
library's source (keras-bert's optimizer cannot run on today's tf-keras, see platform.md).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedcore as sc
from schedcore.port import calc_train_steps, from_keras_bert


def keras_bert_lr(k, decay_steps, warmup_steps, lr, min_lr):
    """warmup.py: t = iterations + 1; lr * t / W while t <= W, then
    min_lr + (lr - min_lr) * (1 - min(t, D) / D)."""
    t = k + 1
    if t <= warmup_steps:
        return lr * t / warmup_steps
    return min_lr + (lr - min_lr) * (1.0 - min(t, decay_steps) / decay_steps)


def test_the_anchor_example():
    # lr = 1, W = 10, D = 100: 1.0 at t = 10, 0.89 at t = 11 (decay counted from step 0)
    recipe = from_keras_bert(100, 10, learning_rate=1.0)
    assert recipe.lr(9) == 1.0 and recipe.lr(10) == pytest.approx(0.89, abs=1e-15)
    assert recipe.lr(0) == pytest.approx(0.1, abs=1e-15) and recipe.lr(99) == 0.0
    assert recipe.total_steps == 100 and recipe.name == "keras-bert AdamWarmup"


@settings(max_examples=300, deadline=None)
@given(
    decay=st.integers(1, 10**6),
    warmup=st.one_of(st.integers(0, 20), st.integers(0, 10**6)),
    lr=st.floats(1e-6, 1.0),
    floor=st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
    data=st.data(),
)
def test_lr_equals_keras_berts_formula(decay, warmup, lr, floor, data):
    min_lr = floor * lr * data.draw(st.sampled_from([1.0, 0.5, 2.0]))  # min_lr > lr allowed
    recipe = from_keras_bert(decay, warmup, min_lr, lr)
    around = [0, 1, warmup - 1, warmup, warmup + 1, decay - 2, decay - 1, decay, decay + 5]
    steps = sorted({k for k in around if k >= 0} | set(data.draw(
        st.lists(st.integers(0, 3 * max(decay, warmup)), max_size=20), label="steps")))  # fmt: skip
    got = recipe.lr(np.array(steps))
    want = [keras_bert_lr(k, decay, warmup, lr, min_lr) for k in steps]
    # to float64 rounding of the lr scale: 1 + (ratio - 1) * p is not keras-bert's
    # min_lr + (lr - min_lr) * (1 - p) bit for bit (keras-bert itself computes in float32)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15 * lr)
    if max(decay, warmup + 1) <= steps[-1]:  # past the end: min_lr, exactly
        assert got[-1] == pytest.approx(min_lr, rel=1e-15, abs=0)


def test_recipe_is_plain_core_nodes_and_round_trips():
    recipe = from_keras_bert(50, 5, 1e-5, 1e-3)
    again = sc.load(recipe.to_dict())
    assert again.schedule == recipe.schedule and again.base_lr == recipe.base_lr
    assert recipe.schedule.type_name == "shift" and recipe.schedule.offset == 1
    np.testing.assert_array_equal(again.lr(np.arange(60)), recipe.lr(np.arange(60)))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 1), "decay_steps: must be a positive integer, got 0"),
        ((10, -1), "warmup_steps: must be a non-negative integer, got -1"),
        ((10, 1, -1e-5), r"min_lr: must be a number in \[0, "),
        ((10, 1, 0.0, 0.0), r"learning_rate: must be a number in \[1e-30, "),
        ((10.5, 1), "decay_steps: must be a positive integer, got 10.5"),
    ],
)
def test_argument_errors_name_the_argument(args, match):
    with pytest.raises(sc.SpecError, match=match):
        from_keras_bert(*args)


@given(
    n=st.integers(1, 10**7), batch=st.integers(1, 4096), epochs=st.integers(1, 1000),
    proportion=st.floats(0.0, 1.0),
)  # fmt: skip
def test_calc_train_steps_is_keras_berts(n, batch, epochs, proportion):
    total, warmup = calc_train_steps(n, batch, epochs, proportion)
    assert total == math.ceil(n / batch) * epochs == ((n + batch - 1) // batch) * epochs
    assert warmup == int(total * proportion)


def test_calc_train_steps_defaults_and_errors():
    assert calc_train_steps(1024, 32, 10) == (320, 32)  # the seed's numbers, p = 0.1
    with pytest.raises(sc.SpecError, match="batch_size: must be a positive integer, got 0"):
        calc_train_steps(10, 0, 1)
    with pytest.raises(sc.SpecError, match=r"warmup_proportion: must be a number in \[0, 1\]"):
        calc_train_steps(10, 2, 1, warmup_proportion=1.5)
