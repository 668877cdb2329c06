"""examples/shared_recipe.py in OneFlow eager mode: the same lr table as the core (and so
as torch and Keras, which tests/test_examples.py checks in the main venv)."""

from __future__ import annotations

import numpy as np
import shared_recipe as example

import schedcore as sc


def test_shared_recipe_gives_the_core_lr_table_in_oneflow(capsys):
    table = example.main(["--framework", "oneflow"])
    out = capsys.readouterr().out
    assert "  head: lr 0.01, weight decay 0.01: head.weight" in out
    assert "  no_decay: lr 0.001, weight decay 0: body.bias, norm.weight, norm.bias" in out
    recipe = sc.load(example.RECIPE)
    curve = recipe.schedule(np.arange(recipe.total_steps))
    core = np.array([1e-3, 1e-2, 1e-2, 1e-4, 1e-3])[:, None] * curve  # groups in rule order
    np.testing.assert_allclose(table, core, rtol=1e-12, atol=0)
