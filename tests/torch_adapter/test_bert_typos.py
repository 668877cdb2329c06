"""Seed 000 on a real ``transformers.BertModel``: every typo in the no-decay or head lists
fails at build time naming its item, and the bundled recipe decays nothing it should not.

The model is the seed's: a BERT encoder (a small ``BertConfig``, randomly initialised,
nothing downloaded) with an LSTM and a linear head (``examples/torch_bert_layered_lr.py``).
The seed's own lists were ``no_decay = ['bias,', 'LayerNorm']`` and ``other = ['lstm',
'linear_layer']``: each variant below is one slip a user makes in such a list. Before
schedcore checked every item, all but ``'bias,'`` resolved cleanly and silently put weight
decay on the parameters the misspelled item should have caught.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import transformers
from torch_bert_layered_lr import BertTest

import schedcore as sc
import schedcore_torch as st
from schedcore.examples import BERT_RECIPE

ENCODER_LR, HEAD_LR, DECAY = 1e-5, 1e-2, 0.01
GROUP_NAMES = {  # (in the head, no decay): the group's name, from the rules that formed it
    (False, False): "default",
    (False, True): "no_decay",
    (True, False): "head",
    (True, True): "head+no_decay",
}


def bundled() -> dict:
    return sc.load(BERT_RECIPE).to_dict()


def variant(rule: int, match: dict) -> dict:
    """The bundled recipe with rule ``rule`` (0: head, 1: no_decay) matching ``match``."""
    data = bundled()
    assert [r["name"] for r in data["groups"]["rules"]] == ["head", "no_decay"]
    data["groups"]["rules"][rule]["match"] = match
    return data


@pytest.fixture(scope="module")
def model() -> BertTest:
    torch.manual_seed(0)
    return BertTest()


def token_count(model: torch.nn.Module, token: str) -> int:
    """How many parameters have ``token`` as a part of their dotted / underscored name."""
    return sum(token in re.split(r"[._]", n) for n, _ in model.named_parameters())


def test_the_model_is_a_real_bert_with_the_seeds_head(model):
    names = [n for n, _ in model.named_parameters()]
    assert isinstance(model.bert_model, transformers.BertModel)
    assert "bert_model.encoder.layer.1.attention.output.LayerNorm.weight" in names
    assert {"lstm.bias_ih_l0", "linear_layer.bias"} <= set(names)
    assert token_count(model, "bias") > 20 and token_count(model, "LayerNorm") == 10


@pytest.mark.parametrize(
    ("rule", "match", "path", "item", "suggestion"),
    [
        (1, {"contains": ["bais", "LayerNorm"]}, "groups.rules[1].match.contains[0]", "bais",
         "bias"),
        (1, {"contains": ["bias", "LayerNrom"]}, "groups.rules[1].match.contains[1]",
         "LayerNrom", "LayerNorm"),
        (0, {"prefix": ["lstm.", "classifier."]}, "groups.rules[0].match.prefix[1]",
         "classifier.", None),
    ],
    ids=["bais", "LayerNrom", "dead-prefix"],
)  # fmt: skip
def test_a_misspelled_item_fails_at_build_naming_its_path_and_the_real_name(
    model, rule, match, path, item, suggestion
):
    recipe = sc.load(variant(rule, match))  # loads: each item alone is well formed
    with pytest.raises(sc.SpecError) as caught:
        st.build(model, recipe)
    message = str(caught.value)
    assert message.startswith(f"{path}: {item!r} matches no parameter"), message
    if suggestion is not None:
        count = token_count(model, suggestion)
        assert f"did you mean {suggestion!r} ({count} parameters)" in message, message
    # and not only through build: binding the table alone fails the same way
    with pytest.raises(sc.SpecError, match=re.escape(path)):
        recipe.bind(st.param_table(model))


def test_a_stray_comma_fails_at_load():
    with pytest.raises(sc.SpecError, match=r"groups\.rules\[1\]\.match\.contains\[0\]: 'bias,'"):
        sc.load(variant(1, {"contains": ["bias,", "LayerNorm"]}))


def test_a_name_spelling_of_a_tag_that_matches_nothing_hints_at_the_tag():
    """``LayerNorm`` is torch's spelling; in a model without it the error points at tags."""
    torch.manual_seed(0)
    other = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2))  # 0., 1.
    rules = [{"name": "no_decay", "match": {"contains": ["bias", "LayerNorm"]},
              "weight_decay": 0.0}]  # fmt: skip
    recipe = sc.load({"lr": 0.1, "groups": {"defaults": {}, "rules": rules}})
    with pytest.raises(sc.SpecError, match=r"contains\[1\]: 'LayerNorm'.*tags") as caught:
        st.param_groups(other, recipe)
    assert "norm" in str(caught.value)


@pytest.mark.parametrize(
    "match",
    [None, {"contains": ["bias", "LayerNorm"]}],
    ids=["bundled", "seed-spelling"],
)
def test_the_corrected_recipe_decays_no_bias_or_layernorm_and_sets_the_lrs(model, match):
    data = bundled() if match is None else variant(1, match)
    recipe = sc.load(data)
    optimizer, scheduler = st.build(model, recipe)
    settings = {
        name: (group["name"], group["initial_lr"], group["weight_decay"])
        for group in optimizer.param_groups
        for name in group["param_names"]
    }
    assert sorted(settings) == sorted(n for n, _ in model.named_parameters())
    for name, (group, lr, wd) in settings.items():
        head = name.startswith(("lstm.", "linear_layer."))
        no_decay = "bias" in name or "LayerNorm" in name
        assert lr == (HEAD_LR if head else ENCODER_LR), name
        assert wd == (0.0 if no_decay else DECAY), name
        assert group == GROUP_NAMES[head, no_decay], name
    # the applied lrs are the recipe's, step by step
    expected = recipe.bind(st.param_table(model)).lr(np.arange(5))
    for k in range(5):
        assert [g["lr"] for g in optimizer.param_groups] == list(expected[:, k])
        optimizer.step()
        scheduler.step()
