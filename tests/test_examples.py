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
    assert "group 2: 3 params, lr 0.01, weight_decay 0" in out
    curve = sc.load(BERT_RECIPE).schedule(np.arange(15))
    np.testing.assert_array_equal(applied, np.array([1e-5, 1e-5, 1e-2, 1e-2])[:, None] * curve)
    assert "torch_bert_layered_lr" in sys.modules
