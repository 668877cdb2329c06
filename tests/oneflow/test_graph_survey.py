"""The survey in OneFlow: every recipe with a finite horizon lowers to nn.Graph with tolerance
1e-3 (real OneFlow schedulers constructed), and real nn.Graph runs apply, at every step of the
horizon, an lr within the tolerance of the recipe's.

The stated bound: an approximated plan's ``max_error`` (Graph-mode LinearLR's arithmetic in
double, see ``schedcore.port.oneflow.approximate``) is at most the tolerance less
``FLOAT32_MARGIN``, which covers nn.Graph's float32 rounding; so what nn.Graph applies is
within the tolerance itself. The main venv checks the same plans in the kernel model
(``tests/port/oneflow``); here OneFlow runs them. Graphs run in worker processes
(``graph_worker.py``), a few: each compiles slowly.
"""

from __future__ import annotations

import numpy as np
import oneflow as flow
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as hs
from port.oneflow.kernel_model import applied as model_applied
from probes import probe_tensors

import schedcore as sc
import schedcore_oneflow as so
from schedcore.port.oneflow import FLOAT32_MARGIN, plan_schedules
from strategies import recipes, short_forms

TOLERANCE = 1e-3
FLOAT32_ATOL = 2 * float(np.finfo(np.float32).tiny)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=recipes())
def test_survey_every_finite_horizon_recipe_lowers_with_a_tolerance(case):
    """100% of the drawn recipes with a training horizon give real OneFlow optimizers and
    schedulers with tolerance 1e-3, each plan within the tolerance less the float32 margin."""
    doc, rows = case
    recipe = sc.load(doc)
    assume(recipe.training is not None)
    recipe = recipe.bind(rows)
    tensors = probe_tensors(recipe, flow.float32)
    pairs = so.optimizers_from(
        recipe, recipe.resolution, tensors, flow.optim.SGD, TOLERANCE, momentum=0.0
    )
    followed = {g.schedule for g in recipe.resolution.groups}
    assert {name for pair in pairs for name in pair.schedules} == followed
    for pair in pairs:
        assert pair.plan.max_error <= TOLERANCE - FLOAT32_MARGIN, pair.plan.explain()


def sample_doc(schedules: list[dict], horizon: int) -> tuple[dict, list[dict]]:
    """One recipe holding ``schedules`` as named schedules over ``horizon`` steps, each
    followed by its own parameter (its own group, at its own lr): one graph runs them all."""
    rules = [
        {"name": f"g{i}", "match": {"name": [f"p{i}"]}, "schedule": f"s{i}", "lr": 0.01 * (i + 1)}
        for i in range(len(schedules))
    ]
    doc = {
        "lr": 0.1,
        "training": {"total_steps": horizon},
        "schedules": {f"s{i}": s for i, s in enumerate(schedules)},
        "groups": {"defaults": {}, "rules": rules},
    }
    return doc, [{"name": f"p{i}"} for i in range(len(schedules))]


def check_horizon(graph_worker, doc: dict, rows: list[dict], count: int) -> dict:
    """Run every update ``0 .. count - 1`` in nn.Graph (SGD, a constant gradient: the applied
    lr read from the parameter update) and compare each group's lr with the recipe's."""
    reply = graph_worker.measure(doc, rows, 0, count, TOLERANCE)
    assert reply["ok"], reply["message"]
    assert reply["max_error"] <= TOLERANCE - FLOAT32_MARGIN
    recipe = sc.load(doc).bind(rows)
    expected = recipe.lr(np.arange(count))
    got = np.asarray(reply["applied"]).reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=FLOAT32_ATOL)
    return reply


@settings(max_examples=2, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=hs.data(), horizon=hs.integers(200, 400))
def test_graph_runs_of_random_recipes_apply_the_recipe_within_the_tolerance(
    graph_worker, data, horizon
):
    """A sample (2 draws of 5 short-form schedules, seeded): every update of the horizon
    ``[0, horizon]``, in one nn.Graph per draw, within the tolerance of the recipe's lr (past
    the horizon an approximated plan holds its last value)."""
    training = {"total_steps": horizon}
    schedules = [data.draw(short_forms(0.1, training)) for _ in range(5)]
    doc, rows = sample_doc(schedules, horizon)
    check_horizon(graph_worker, doc, rows, horizon + 1)


THE_REPRO = {"warmup": 100, "warmup_shape": "exponential", "warmup_start_factor": 0.05}


def test_graph_runs_of_the_issue_repro_apply_the_recipe_within_the_tolerance(graph_worker):
    """The issue's repro (an exponential warmup above the anchored base, then linear, wsd or
    inverse_sqrt), which plans over the whole horizon, runs in nn.Graph within 1e-3."""
    schedules = [
        {**THE_REPRO, "decay": "linear"},
        {**THE_REPRO, "decay": "wsd", "cooldown": "20%"},
        {**THE_REPRO, "decay": "inverse_sqrt"},
    ]
    doc, rows = sample_doc(schedules, 300)
    check_horizon(graph_worker, doc, rows, 301)


def test_a_sequential_of_many_linear_segments_applies_what_the_kernel_model_says(graph_worker):
    """2,000 steps of inverse_sqrt at tolerance 1e-5: a SequentialLR of hundreds of LinearLR
    children, rescaled at each milestone. nn.Graph applies the kernel model's values (to
    float32) at every step, and the recipe's within the tolerance."""
    tolerance, horizon = 1e-5, 2_000
    doc = {
        "lr": 0.1,
        "training": {"total_steps": horizon},
        "schedule": {"warmup": 50, "decay": "inverse_sqrt", "timescale": 20},
    }
    rows = [{"name": "w"}]
    recipe = sc.load(doc).bind(rows)
    plan = plan_schedules(recipe, ["default"], tolerance)["default"]
    assert len(plan.schedulers) >= 200 and plan.max_error <= tolerance
    reply = graph_worker.measure(doc, rows, 0, horizon + 3, tolerance)
    assert reply["ok"], reply["message"]
    got = np.asarray(reply["applied"])[0]
    steps = np.arange(horizon + 3)
    model = model_applied(plan, steps) * doc["lr"]
    np.testing.assert_allclose(got, model, rtol=4 * 2.0**-24, atol=FLOAT32_ATOL)
    within = steps <= horizon  # past it the plan holds its value at the horizon
    np.testing.assert_allclose(
        got[within], recipe.lr(steps[within])[0], rtol=tolerance, atol=FLOAT32_ATOL
    )
    assert np.all(got[~within] == got[horizon])
