"""Cross-backend equivalence: the lr OneFlow actually applies equals the core's ``recipe.lr(k)``.

Recipes come from the shared strategy (``tests/strategies.py``); the applied lr is measured
from SGD deltas (``probes.py``), per group and per update, in three windows: the start,
around the end of the schedule (past it too), and far past the end.

- Eager: the group's lr equals ``recipe.lr(k)`` to rtol 1e-12, and the applied update equals
  it rounded to float32, exactly (OneFlow's eager update kernels take the lr as a float32
  attribute, so that rounding is all any eager scheduler can get).
- Graph: a recipe that plans exactly applies ``recipe.lr(k)`` to float32 precision (rtol
  1e-6); one that plans only with a tolerance applies it within that tolerance (plus the
  same float32 rounding). That a recipe which cannot be planned raises NotLowerable naming
  a real node is checked without oneflow (``tests/port/oneflow/test_planner.py``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as hs
from probes import eager_applied

import schedcore as sc
import schedcore_oneflow as so
from schedcore.port.oneflow import plan_schedules
from strategies import recipes

EAGER_WINDOW, GRAPH_WINDOW = 40, 24
TOLERANCE = 1e-3
FLOAT32_RTOL = 1e-6
# float32 cannot hold values below its normal range to any relative precision
FLOAT32_ATOL = 2 * float(np.finfo(np.float32).tiny)


def windows(recipe: sc.Recipe, far: int, window: int) -> list[int]:
    end = recipe.total_steps or recipe.schedule.length or window
    return sorted({0, max(end - window // 2, 0), end + far})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=recipes(), far=hs.integers(0, 10**6))
def test_eager_applied_lr_equals_core(case, far):
    doc, rows = case
    recipe = sc.load(doc).bind(rows)
    if not recipe.groups:
        return
    for first in windows(recipe, far, EAGER_WINDOW):
        held, applied = eager_applied(recipe, first, EAGER_WINDOW)
        expected = recipe.lr(np.arange(first, first + EAGER_WINDOW))
        np.testing.assert_allclose(held, expected, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(applied, expected.astype(np.float32))


def plan_of(recipe: sc.Recipe) -> tuple[str, float | None]:
    """("exact" | "approximated" | "not lowerable", the tolerance to use)."""
    names = dict.fromkeys(g.schedule for g in recipe.groups)
    try:
        plan_schedules(recipe, names)
        return "exact", None
    except so.NotLowerable as err:
        assert err.path.startswith(("schedule", "schedules.")), err
    try:
        plan_schedules(recipe, names, TOLERANCE)
        return "approximated", TOLERANCE
    except so.NotLowerable as err:
        assert err.path.startswith(("schedule", "schedules.")) and err.node_type in str(err)
        return "not lowerable", None


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=recipes(), far=hs.integers(0, 10**6))
def test_graph_applied_lr_equals_core(graph_worker, case, far):
    doc, rows = case
    recipe = sc.load(doc).bind(rows)
    if not recipe.groups:
        return
    kind, tolerance = plan_of(recipe)
    # those: tests/port/oneflow/test_planner.py::test_every_recipe_lowers_or_names_its_node
    assume(kind != "not lowerable")
    event(kind)  # pytest --hypothesis-show-statistics shows the mix
    # an approximation holds within the tolerance over the training horizon (past it a
    # whole-horizon approximation holds its last value; training does not go there)
    horizon = recipe.training.steps if tolerance is not None and recipe.training else None
    for first in windows(recipe, far, GRAPH_WINDOW):
        if horizon is not None and first > horizon:
            continue
        reply = graph_worker.measure(doc, rows, first, GRAPH_WINDOW, tolerance)
        assert reply["ok"], reply
        steps = np.arange(first, first + GRAPH_WINDOW)
        expected = recipe.lr(steps)
        applied = np.asarray(reply["applied"]).reshape(expected.shape)
        if horizon is not None:
            inside = steps <= horizon
            expected, applied = expected[:, inside], applied[:, inside]
        reported = reply["max_error"]
        assert reply["exact"] == (tolerance is None) or reported == 0, reply
        assert reported <= TOLERANCE
        np.testing.assert_allclose(
            applied,
            expected,
            rtol=reported + FLOAT32_RTOL,
            atol=FLOAT32_ATOL,
            err_msg=kind,
        )
