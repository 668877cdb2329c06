"""Python first: schedule objects wherever a recipe goes, a keyword builder giving the same
recipe as the TOML, and errors from Python calls that name the Python argument."""

from __future__ import annotations

import numpy as np
import pytest

import schedcore as sc
from schedcore import SpecError
from schedcore.fields import ArgumentError

TOML = """
lr = 3e-4
[training]
total_steps = 10000
gradient_accumulation_steps = 4
[schedule]
warmup = "10%"
decay = "cosine"
min_lr = 3e-6
[[groups.rules]]
name = "no_decay"
match = { tags = ["bias"] }
weight_decay = 0.0
"""


def test_keyword_builder_gives_the_toml_recipe():
    built = sc.recipe(
        lr=3e-4,
        warmup="10%",
        decay="cosine",
        min_lr=3e-6,
        total_steps=10_000,
        gradient_accumulation_steps=4,
        groups=[{"name": "no_decay", "match": {"tags": ["bias"]}, "weight_decay": 0.0}],
    )
    loaded = sc.load(TOML)
    assert built == loaded and built.to_dict() == loaded.to_dict()
    assert built.training is not None and built.training.grad_accum == 4
    assert sc.recipe(lr=0.1, schedule=sc.cosine(steps=10)).schedule == sc.cosine(steps=10)


def test_keyword_builder_errors_name_the_keyword():
    with pytest.raises(ArgumentError, match=r"^recipe\(warmup=\.\.\.\): .*'10%'.*got 'ten'"):
        sc.recipe(lr=1e-3, warmup="ten", decay="linear", total_steps=100)
    with pytest.raises(ArgumentError, match=r"^recipe\(total_steps=\.\.\.\): .*got -1"):
        sc.recipe(lr=1e-3, total_steps=-1)
    with pytest.raises(ArgumentError, match=r"^recipe\(groups=\.\.\.\): groups\[0\]\.nme"):
        sc.recipe(lr=1e-3, groups=[{"nme": "x"}])
    with pytest.raises(TypeError, match=r"'decya'; did you mean 'decay'\?"):
        sc.recipe(lr=1e-3, decya="cosine")
    with pytest.raises(ArgumentError, match=r"give schedule=\.\.\. or short-form keys"):
        sc.recipe(lr=1e-3, schedule=sc.constant(1.0), decay="cosine")


def test_load_accepts_a_dict_holding_nodes():
    s = sc.warmup(sc.cosine(steps=90), steps=10)
    r = sc.load({"lr": 0.1, "schedule": s, "schedules": {"head": sc.constant(0.5)}})
    assert r.schedule is s and r.schedules["head"] == sc.constant(0.5)
    assert r == sc.load(
        {
            "lr": 0.1,
            "schedule": s.to_dict(),
            "schedules": {"head": {"type": "constant", "value": 0.5}},
        }
    )
    k = np.arange(120)
    np.testing.assert_array_equal(r.lr(k), 0.1 * s(k))
    assert sc.as_recipe(s, lr=0.1).schedule is s
    with pytest.raises(SpecError, match="lr: is required with a bare schedule"):
        sc.as_recipe(s)


def test_training_accepts_transformers_accumulation_name():
    a = sc.load(
        {
            "lr": 1,
            "training": {
                "epochs": 2,
                "dataset_size": 100,
                "batch_size": 10,
                "gradient_accumulation_steps": 3,
            },
        }
    )
    assert a.training is not None and a.training.grad_accum == 3 and a.total_steps == 2 * 4
    with pytest.raises(SpecError, match=r"training\.gradient_accumulation_steps: names grad_accum"):
        sc.load(
            {
                "lr": 1,
                "training": {"total_steps": 5, "grad_accum": 2, "gradient_accumulation_steps": 2},
            }
        )
    with pytest.raises(SpecError, match=r"^training.gradient_accumulation_steps: must be a pos"):
        sc.load({"lr": 1, "training": {"total_steps": 5, "gradient_accumulation_steps": 0}})


def test_constructor_errors_name_the_python_argument():
    body = sc.cosine(steps=100)
    with pytest.raises(SpecError) as info:
        sc.warmup(100, body)
    assert str(info.value).startswith("warmup(schedule=...): expected a schedule")
    assert "got int 100" in str(info.value) and info.value.path == "schedule"
    with pytest.raises(SpecError, match=r"^cosine\(steps=\.\.\.\): must be a positive integer"):
        sc.cosine(steps=-1)
    with pytest.raises(SpecError, match=r"^warmup\(steps=\.\.\.\): .*got 'x'"):
        sc.warmup(body, steps="x")
    with pytest.raises(SpecError, match=r"^scale\(\.\.\.\): values are unbounded"):
        sc.scale(body, factor=1e200)
    # nested: the inner call fails first and names itself
    with pytest.raises(SpecError, match=r"^cosine\(end=\.\.\.\)"):
        sc.warmup(sc.cosine(steps=10, end=float("nan")), steps=3)


def test_documents_keep_naming_document_paths():
    with pytest.raises(SpecError) as info:
        sc.load({"lr": 1, "schedule": {"type": "warmup", "steps": 3, "schedule": 100}})
    assert not isinstance(info.value, ArgumentError)
    assert str(info.value).startswith("schedule.schedule: expected a schedule")
    with pytest.raises(SpecError, match=r"^steps: must be a positive integer, got -1"):
        sc.from_dict({"type": "cosine", "steps": -1})


def test_unknown_keywords_suggest_the_closest_name():
    with pytest.raises(
        TypeError,
        match=r"cosine\(\) got an unexpected keyword argument 'stpes'; "
        r"did you mean 'steps'\? cosine accepts: steps, start, end",
    ):
        sc.cosine(stpes=10)
    with pytest.raises(TypeError, match=r"'min_lr'; cosine accepts: steps, start, end"):
        sc.cosine(steps=10, min_lr=0.1)
    with pytest.raises(TypeError, match=r"did you mean 'steps'\?"):
        sc.warmup(sc.constant(1.0), step=5)


def test_torch_one_liners_from_a_python_schedule():
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("schedcore_torch")
    s = sc.warmup(sc.cosine(steps=90, end=0.1), steps=10)
    model = torch.nn.Linear(4, 2)
    opt, sched = st.build(model, s, lr=3e-4, optimizer=torch.optim.SGD)
    lrs = []
    for _ in range(100):  # the schedule's length: no past-the-end warning
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(lrs, 3e-4 * s(np.arange(100)), rtol=1e-12, atol=0)
    # st.scheduler on a plain optimizer: a bare schedule multiplies each group's own lr
    sgd = torch.optim.SGD(
        [{"params": [model.weight], "lr": 0.1}, {"params": [model.bias], "lr": 0.01}]
    )
    plain = st.scheduler(sgd, s)
    for _ in range(15):
        sgd.step()
        plain.step()
    np.testing.assert_allclose(
        [g["lr"] for g in sgd.param_groups], [0.1 * s(15), 0.01 * s(15)], rtol=1e-12
    )
    # a recipe with lr given in build overrides its base lr
    opt2, _ = st.build(model, sc.recipe(lr=1.0, decay="linear", total_steps=10), lr=0.5)
    assert opt2.param_groups[0]["lr"] == 0.5
    with pytest.raises(SpecError, match="lr: is required with a bare schedule"):
        st.build(model, s)
