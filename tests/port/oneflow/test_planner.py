"""The OneFlow plan of a recipe (main venv, no oneflow): every recipe plans or names its
node, its schedules by name, the explanation, the native schedulers and their clocks."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings

import schedcore as sc
from schedcore.examples import BERT_RECIPE
from schedcore.port import oneflow as of
from strategies import recipes

from .cases import COS, LIN, NOT_LOWERABLE
from .kernel_model import applied

TOLERANCE = 1e-3


def node_at(doc: dict, path: str) -> dict:
    """The node a plan's error path names, in the recipe's explicit document (a derived node's
    expansion, ``schedule (expanded: ...)``, is named by the derived node)."""
    node: object = doc
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.split(" (")[0]):
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]  # type: ignore[index]
    assert isinstance(node, dict) and "type" in node, (path, node)
    return node


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=recipes())
def test_every_recipe_lowers_or_names_its_node(case):
    """Every schedule of a recipe lowers exactly, or within a tolerance, or raises NotLowerable
    naming a real node of the recipe (its path and type) and why."""
    recipe = sc.load(case[0])
    explicit = recipe.to_dict()
    for name in ["default", *recipe.schedules]:
        path = "schedule" if name == "default" else f"schedules.{name}"
        schedule = recipe.schedule_named(name)
        for tolerance in (None, TOLERANCE):
            try:
                plan = of.plan(schedule, tolerance, path)
            except of.NotLowerable as err:
                node = node_at(explicit, err.path)
                derived = " (expanded: " in err.path
                assert derived or node["type"] == err.node_type, (err, node)
                assert str(err).startswith(f"{err.path} ({err.node_type}): {err.reason}")
                continue
            # exact without a tolerance; with one (after NotLowerable without) approximated
            assert plan.exact == (tolerance is None)
            assert plan.max_error <= (tolerance or 0.0)
            assert {s.kind for s in plan.schedulers} <= NATIVE
            break


NATIVE = {
    "ConstantLR", "LinearLR", "CosineDecayLR", "CosineAnnealingLR", "PolynomialLR",
    "ExponentialLR", "StepLR", "MultiStepLR", "CosineAnnealingWarmRestarts",
}  # fmt: skip


def test_errors_in_named_schedules_name_them():
    recipe = sc.load({"lr": 0.1, "schedules": {"head": NOT_LOWERABLE["noam"]}})
    with pytest.raises(of.NotLowerable, match=r"^schedules\.head \(noam\): "):
        of.explain(recipe)
    with pytest.raises(of.NotLowerable, match=r"^schedules\.head \(noam\): "):
        of.plan_schedules(recipe, ["head"])


def test_explain_lowering_shows_each_node_and_the_schedulers():
    text = of.explain(sc.load(BERT_RECIPE))
    assert "schedule 'default' (exact)" in text
    assert "schedule.schedule" in text and "CosineDecayLR(decay_steps=1850" in text
    assert "SequentialLR(milestones=[100], interval_rescaling=[True])" in text
    assert "LinearLR(start_factor=0, end_factor=1, total_iters=100)" in text


def test_plan_schedules_plans_each_named_schedule_once():
    recipe = sc.load({"lr": 0.1, "schedule": LIN, "schedules": {"head": COS}})
    plans = of.plan_schedules(recipe)
    assert list(plans) == ["default", "head"]
    assert plans["head"].key() == of.plan(sc.from_dict(COS), path="schedules.head").key()
    assert list(of.plan_schedules(recipe, ["head"])) == ["head"]


def test_the_native_scheduler_is_the_hand_written_one():
    """BERT's warmup then cosine: SequentialLR([LinearLR, CosineDecayLR]) rescaled at 100,
    absolute arguments in units of the given base lr."""
    plan = of.plan(sc.load(BERT_RECIPE).schedule)
    native = plan.native(0.1)
    assert native == of.Native(
        "SequentialLR",
        {"milestones": [100], "interval_rescaling": [True]},
        (
            of.Native("LinearLR", {"start_factor": 0.0, "end_factor": 1.0, "total_iters": 100}),
            of.Native("CosineDecayLR", {"decay_steps": 1850, "alpha": 0.0}),
        ),
    )
    annealing = of.plan(sc.from_dict({**COS, "after": "periodic", "start": 0.5}))
    assert annealing.native(0.2).arguments["eta_min"] == pytest.approx(0.2 * 0.05 / 0.5)


def test_a_scheduler_that_looks_back_before_the_clock_is_nested():
    """A global phase over a local sequence: its cosine sees k - 5 from step 10, which no
    rescaling milestone gives, so a nested SequentialLR (rescaled at 5) subtracts it."""
    schedule = sc.from_dict({"type": "sequence", "phases": [
        {"schedule": {"type": "constant", "value": 0.5}, "steps": 10},
        {"clock": "global", "schedule": {"type": "sequence", "phases": [
            {"schedule": {"type": "linear", "steps": 5, "start": 0.0}},
            {"schedule": COS}]}},
    ]})  # fmt: skip
    plan = of.plan(schedule)
    native = plan.native(plan.anchor)
    assert native.arguments == {"milestones": [10], "interval_rescaling": [False]}
    nested = native.children[1]
    assert nested.arguments == {"milestones": [5], "interval_rescaling": [True]}
    assert [c.kind for c in nested.children] == ["CosineDecayLR", "CosineDecayLR"]
    steps = list(range(60))
    assert applied(plan, steps) == pytest.approx(schedule(steps), rel=1e-9)
