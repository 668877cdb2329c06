"""The OneFlow plan of a recipe (main venv, no oneflow): every recipe plans or names its
node, its schedules by name, the explanation, the native schedulers and their clocks."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import schedcore as sc
from schedcore.examples import BERT_RECIPE
from schedcore.port import oneflow as of
from strategies import key_steps, recipes

from .cases import COS, LIN, NOT_LOWERABLE
from .kernel_model import FLOAT32_ATOL, MODEL_ATOL, MODEL_RTOL, applied

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


# -- a finite horizon: every recipe plans within a tolerance ----------------------------------
EXPONENTIAL_WARMUP = {
    "lr": 0.1,
    "training": {"total_steps": 1000},
    "schedule": {
        "warmup": 100, "warmup_shape": "exponential", "warmup_start_factor": 0.05,
        "decay": "linear",
    },
}  # fmt: skip


def horizon_steps(recipe: sc.Recipe, plan: of.GraphPlan) -> np.ndarray:
    """Steps in [0, horizon]: the first ones, every plan boundary and its neighbours, the tree's
    own key steps, and a spread of others."""
    horizon = recipe.training.steps
    steps = set(range(min(horizon + 1, 300))) | set(key_steps(recipe.schedule))
    starts = [s.start for s in plan.schedulers]  # the model scans them all at each step:
    for start in starts[:: max(len(starts) // 100, 1)]:  # 100 spread over many
        steps |= {start - 1, start, start + 1}
    steps |= set(np.linspace(0, horizon, 200).astype(int).tolist())
    return np.array(sorted(k for k in steps if 0 <= k <= horizon), dtype=np.int64)


def check_within(recipe: sc.Recipe, name: str, plan: of.GraphPlan, tolerance: float) -> None:
    schedule = recipe.schedule_named(name)
    steps = horizon_steps(recipe, plan)
    assert plan.max_error <= tolerance
    np.testing.assert_allclose(
        applied(plan, steps),
        schedule(steps),
        rtol=plan.max_error + MODEL_RTOL,
        atol=max(MODEL_ATOL * schedule.peak(), FLOAT32_ATOL),
        err_msg=plan.explain(),
    )


def test_a_ramp_above_an_anchored_base_plans_over_the_horizon():
    """The exponential warmup (ExponentialLR, anchored) fixes the base lr at 0.05 x the lr,
    below the linear decay's start: without a tolerance the refusal names the warmup and
    offers a tolerance (the horizon makes it work); with one, LinearLR segments over the
    1000 steps, as few as the greedy cut needs, reported in the explanation."""
    recipe = sc.load(EXPONENTIAL_WARMUP)
    with pytest.raises(of.NotLowerable) as info:
        of.plan_schedules(recipe)
    assert info.value.node_type == "geometric" and "fixes that at 0.05" in str(info.value)
    assert "schedule.schedule (linear)" in str(info.value)
    assert str(info.value).endswith("pass tolerance=... to approximate it with LinearLR segments")
    for tolerance in (1e-2, 1e-3):
        plan = of.plan_schedules(recipe, tolerance=tolerance)["default"]
        (record,) = plan.approximations
        assert (record.first, record.last) == (0, 1000)
        assert len(plan.schedulers) == record.segments + 1  # and the hold after the horizon
        assert f"by {record.segments} LinearLR segments" in plan.explain()
        check_within(recipe, "default", plan, tolerance)
    # without a horizon no tolerance can lift it: no hint
    with pytest.raises(of.NotLowerable) as info:
        of.plan(recipe.schedule)
    assert "tolerance" not in str(info.value)
    with pytest.raises(of.NotLowerable):
        of.plan(recipe.schedule, 1e-2)


def test_the_hint_is_offered_only_where_a_tolerance_works():
    never = sc.from_dict({"type": "inverse_sqrt", "timescale": 10})
    with pytest.raises(of.NotLowerable) as info:
        of.plan(sc.from_dict({"type": "cosine", "steps": 25, "exponent": 2.0, "after": "periodic"}))
    assert "tolerance" not in str(info.value), str(info.value)  # it never becomes constant
    approximable = sc.from_dict({"type": "onecycle", "steps": 40})
    with pytest.raises(of.NotLowerable, match=r"pass tolerance=\.\.\."):
        of.plan(approximable)
    assert of.plan(approximable, 1e-3).max_error <= 1e-3
    recipe = sc.load({"lr": 0.1, "training": {"total_steps": 500}, "schedule": never.to_dict()})
    plan = of.plan_schedules(recipe, tolerance=1e-3)["default"]
    check_within(recipe, "default", plan, 1e-3)


def test_wording_agrees_with_the_count():
    assert of.kernels.plural(1, "step") == "1 step" and of.kernels.plural(2, "cycle") == "2 cycles"
    recipe = sc.load({"lr": 0.1, "training": {"total_steps": 3}, "schedule": {
        "type": "sequence", "phases": [
            {"schedule": {"type": "constant", "value": 0.5}, "steps": 2},
            {"schedule": {"type": "inverse_sqrt", "timescale": 1}},
        ]}})  # fmt: skip
    text = of.explain(recipe, 0.5)
    assert "1 LinearLR segments" not in text and "1 steps" not in text


def test_explain_plans_only_the_schedules_groups_follow():
    """A bound recipe's explanation plans what graph_optimizers plans: the schedules its groups
    follow; one that no group follows is listed, not planned (nor refused)."""
    recipe = sc.load({
        "lr": 0.1, "schedule": LIN, "schedules": {"spare": NOT_LOWERABLE["noam"]},
    }).bind([{"name": "w", "shape": [2, 2]}])  # fmt: skip
    text = of.explain(recipe)
    assert "schedule 'spare' (no group follows it: not planned)" in text
    assert "schedule 'default' (exact, groups" in text


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=recipes())
def test_survey_every_finite_horizon_recipe_plans_within_the_tolerance(case):
    """The survey: every schedule of a recipe with a training horizon plans with tolerance
    1e-3 (100% of them), and the kernel model applies values within the plan's bound."""
    recipe = sc.load(case[0])
    assume(recipe.training is not None and recipe.training.steps <= 200_000)
    for name, plan in of.plan_schedules(recipe, tolerance=TOLERANCE).items():
        check_within(recipe, name, plan, TOLERANCE)


def test_values_decayed_to_subnormals_still_plan_within_the_tolerance():
    """A step decay by 0.1 every 13 steps times SGDR reaches subnormal multipliers (below
    1e-308) after ~4,000 steps, where ``tolerance * value`` rounds by up to half: segments
    are checked on the relative error itself (found by the survey: 0.00117 for 1e-3)."""
    recipe = sc.load(
        {
            "lr": 0.001,
            "training": {"epochs": 45, "steps_per_epoch": 93},
            "schedules": {
                "head_schedule": {
                    "type": "product",
                    "schedules": [{"type": "step", "every": 13}, {"type": "sgdr", "period": 20}],
                }
            },
        }
    )
    plan = of.plan_schedules(recipe, tolerance=TOLERANCE)["head_schedule"]
    assert plan.max_error <= TOLERANCE
    check_within(recipe, "head_schedule", plan, TOLERANCE)
