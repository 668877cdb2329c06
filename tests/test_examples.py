"""The runnable examples in examples/ run, and apply the lrs the recipe defines."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import schedcore as sc
from schedcore.examples import BERT_RECIPE

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _examples_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


def test_torch_bert_layered_lr(capsys):
    import torch_bert_layered_lr as example

    applied = np.array(example.main(["--steps", "15"])).T
    out = capsys.readouterr().out
    assert "head+no_decay: 3 params, lr 0.01, weight_decay 0" in out
    curve = sc.load(BERT_RECIPE).schedule(np.arange(15))
    np.testing.assert_array_equal(applied, np.array([1e-5, 1e-2, 1e-2, 1e-5])[:, None] * curve)
    assert "torch_bert_layered_lr" in sys.modules


def test_keras_bert_ner(capsys):
    import keras_bert_ner as example

    from schedcore.port import calc_train_steps, from_keras_bert

    applied = example.main(["--examples", "96", "--epochs", "2", "--batch-size", "16"])
    out = capsys.readouterr().out
    total, warmup = calc_train_steps(96, 16, 2, warmup_proportion=0.2)
    assert (total, warmup) == (12, 2)
    assert "12 updates, 2 of warmup" in out and "weight decay 0.01 on" in out
    # keras-bert's curve, 1-based: lr * t / W, then min_lr + (lr - min_lr)(1 - t / D)
    curve = from_keras_bert(total, warmup, min_lr=1e-7, learning_rate=1e-4).lr(np.arange(total))
    np.testing.assert_allclose(applied, curve, rtol=1e-6)
    assert applied[warmup - 1] == np.float32(1e-4) and applied[-1] == np.float32(1e-7)


def test_shared_recipe_gives_the_same_lr_table_in_torch_and_keras(capsys):
    import shared_recipe as example

    recipe = sc.load(example.RECIPE)
    tables = {name: example.main(["--framework", name]) for name in ("torch", "keras")}
    out = capsys.readouterr().out
    # each framework's own parameter names, resolved to the same five groups
    assert "  head: lr 0.01, weight decay 0.01: head.weight" in out
    assert "  head: lr 0.01, weight decay 0.01: head.kernel" in out
    assert "  no_decay: lr 0.001, weight decay 0: body.bias, norm.gamma, norm.beta" in out
    assert out.count("max relative difference from the core's recipe.lr(k)") == 2
    # the core's table: the base curve scaled per group (head 10x, embeddings 0.1x)
    curve = recipe.schedule(np.arange(recipe.total_steps))
    core = np.array([1e-3, 1e-2, 1e-2, 1e-4, 1e-3])[:, None] * curve  # groups in rule order
    np.testing.assert_allclose(tables["torch"], core, rtol=1e-12, atol=0)
    np.testing.assert_allclose(tables["keras"], core, rtol=1e-6, atol=0)  # float32 lr
    assert tables["torch"][:, 0].max() == 0 and tables["torch"][1, 3] == 1e-2


def test_shared_recipe_gives_the_same_lr_table_in_jax(capsys):
    pytest.importorskip("flax")
    import shared_recipe as example

    recipe = sc.load(example.RECIPE)
    table = example.main(["--framework", "jax"])
    out = capsys.readouterr().out
    assert "  head: lr 0.01, weight decay 0.01: head.kernel" in out
    assert "  no_decay: lr 0.001, weight decay 0: body.bias, norm.bias, norm.scale" in out
    curve = recipe.schedule(np.arange(recipe.total_steps))
    core = np.array([1e-3, 1e-2, 1e-2, 1e-4, 1e-3])[:, None] * curve  # groups in rule order
    np.testing.assert_allclose(table, core, rtol=1e-6, atol=0)  # float32 lr


def test_lightning_recipe_runs_a_real_trainer_and_applies_the_recipe(capsys):
    import warnings

    pytest.importorskip("lightning")
    import lightning_recipe as example

    with warnings.catch_warnings():
        warnings.simplefilter("error", sc.PastEndWarning)  # max_steps == the horizon
        applied = example.main(["--steps", "8"])
    out = capsys.readouterr().out
    recipe = example.recipe_for(8)
    assert applied.shape == (4, 8)  # 4 named groups, 8 updates
    assert "head+no_decay: 0, 0.025, 0.05" in out
    assert "max difference from recipe.lr(k): 0" in out
    np.testing.assert_array_equal(applied[0], 0.01 * recipe.schedule(np.arange(8)))
