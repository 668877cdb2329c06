"""Plans run in OneFlow: every plannable node type applies the core's values in nn.Graph (to
float32 precision, past the end too), tolerances approximate within them, and the confs
OneFlow compiles are the ones the kernel model (``tests/port/oneflow/kernel_model.py``)
evaluates, so the main venv's model-based tests of every option speak for nn.Graph.

The planner itself is framework-free and tested in the main venv (``tests/port/oneflow``);
this file holds what needs oneflow. Graphs run in worker processes (``graph_worker.py``).
Several cases share one graph: each is a named schedule of one recipe, followed by its own
parameter, so each gets its own optimizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import oneflow as flow
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from oneflow.core.job.learning_rate_schedule_conf_pb2 import LearningRateDecayConf
from port.oneflow.cases import APPROXIMATED, COS, EXACT, LIN, holding, recipe_of
from port.oneflow.kernel_model import graph_conf as model_conf

import schedcore as sc
import schedcore_oneflow as so
from schedcore.port.oneflow import explain
from strategies import node_dicts

FLOAT32_RTOL = 1e-6
FLOAT32_ATOL = 2 * float(np.finfo(np.float32).tiny)


def check_graph(graph_worker, doc, rows, first, count, tolerance=None):
    reply = graph_worker.measure(doc, rows, first, count, tolerance)
    assert reply["ok"], reply["message"]
    recipe = sc.load(holding(doc)).bind(rows)
    expected = recipe.lr(np.arange(first, first + count))
    got = np.asarray(reply["applied"]).reshape(expected.shape)
    rtol = reply["max_error"] + FLOAT32_RTOL
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=FLOAT32_ATOL)
    return reply


@pytest.mark.parametrize("type_name", sorted(EXACT))
def test_lowerable_type_lowers_exactly_in_graph(graph_worker, type_name):
    cases = EXACT[type_name]
    for i, case in enumerate(cases):
        plan = so.plan(sc.from_dict(case))
        assert plan.exact, (i, plan.explain())
        assert type_name in plan.explain()
    doc, rows = recipe_of(cases)
    lengths = [sc.from_dict(c).length or 30 for c in cases]
    span = min(max(lengths) + 12, 120)
    reply = check_graph(graph_worker, doc, rows, 0, span)  # start, the end, and past it
    assert reply["exact"] and reply["max_error"] == 0
    check_graph(graph_worker, doc, rows, 10**6 + 7, 5)  # far past the end


@pytest.mark.parametrize("tolerance", [1e-2, 1e-4])
def test_tolerance_approximates_within_it_in_graph(graph_worker, tolerance):
    for case in APPROXIMATED:
        plan = so.plan(sc.from_dict(case), tolerance)
        assert not plan.exact and 0 <= plan.max_error <= tolerance
        assert "approximated" in plan.explain()
        assert all(s.kind in ("LinearLR", "ConstantLR", "CosineDecayLR") for s in
                   plan.schedulers)  # fmt: skip
    doc, rows = recipe_of(APPROXIMATED)
    reply = check_graph(graph_worker, doc, rows, 0, 72, tolerance)
    assert not reply["exact"] and 0 < reply["max_error"] <= tolerance
    check_graph(graph_worker, doc, rows, 5_000, 3, tolerance)


def test_restarts_of_warm_restarts_land_where_the_core_puts_them(graph_worker):
    """CosineAnnealingWarmRestarts with T_mult = 2 finds cycles with floor(log(...)); the
    plan checked every restart up to 2**53; the Graph agrees at restarts far out."""
    case = {"type": "sgdr", "period": 40, "t_mul": 2.0, "m_mul": 0.9, "end": 0.01}
    assert so.plan(sc.from_dict(case)).schedulers[0].kind == "CosineAnnealingWarmRestarts"
    doc, rows = recipe_of([case])
    for cycle in (1, 6, 20, 35):
        restart = 40 * (2**cycle - 1)
        check_graph(graph_worker, doc, rows, restart - 2, 4)


def test_shapes_share_optimizers_and_scales_become_lr_scale(graph_worker):
    warm = {"type": "warmup", "steps": 5, "schedule": COS}
    doc = {
        "lr": 0.1,
        "schedule": warm,
        "schedules": {
            "half": {"type": "scale", "factor": 0.5, "schedule": warm},  # same shape
            "other": LIN,  # another shape
        },
        "groups": {
            "defaults": {"weight_decay": 0.01},
            "rules": [
                {"name": "h", "match": {"prefix": "head."}, "lr": 0.4, "schedule": "half"},
                {"name": "o", "match": {"prefix": "other."}, "schedule": "other"},
                {"name": "nd", "match": {"tags": ["bias"]}, "weight_decay": 0.0},
            ],
        },
    }
    rows = [
        {"name": "body.weight"},
        {"name": "body.bias", "tags": ["bias"]},
        {"name": "head.weight"},
        {"name": "other.weight"},
    ]
    reply = check_graph(graph_worker, doc, rows, 0, 40)
    groups = sorted(sorted(g) for g in reply["optimizers"])
    assert groups == [[["body.bias"], ["body.weight"], ["head.weight"]], [["other.weight"]]]
    i = next(i for i, o in enumerate(reply["optimizers"]) if ["head.weight"] in o)
    scales = dict(zip(map(tuple, reply["optimizers"][i]), reply["lr_scales"][i], strict=True))
    # head: 0.4 * 0.5 = 0.2 is the largest peak, so the base lr; body 0.1: half of it
    assert reply["base_lrs"][i] == pytest.approx(0.2)
    assert scales[("head.weight",)] == pytest.approx(1.0)
    assert scales[("body.weight",)] == pytest.approx(0.5)
    assert reply["kinds"][i] == "SequentialLR"


def graph_conf(lr_scheduler) -> bytes:
    """The Graph conf OneFlow compiles a scheduler to (what nn.Graph runs)."""
    message = LearningRateDecayConf()
    lr_scheduler._generate_conf_for_graph(message)
    return message.SerializeToString()


def test_the_planned_scheduler_compiles_to_the_hand_written_native_one():
    from schedcore.examples import BERT_RECIPE

    L = flow.optim.lr_scheduler
    recipe = sc.load(BERT_RECIPE)  # warmup 100, cosine to 0 over 1850 steps
    opt = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=recipe.base_lr)
    ours = so.build_scheduler(so.plan(recipe.schedule), opt, recipe.base_lr)
    opt2 = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=recipe.base_lr)
    warmup = L.LinearLR(opt2, start_factor=0.0, end_factor=1.0, total_iters=100)
    cosine = L.CosineDecayLR(opt2, decay_steps=1850, alpha=0.0)
    native = L.SequentialLR(opt2, [warmup, cosine], milestones=[100], interval_rescaling=[True])
    assert graph_conf(ours) == graph_conf(native)


def oneflow_conf(lr_scheduler) -> dict[str, Any]:
    """OneFlow's Graph conf of a scheduler, as the nested dicts the kernel model writes."""
    message = LearningRateDecayConf()
    lr_scheduler._generate_conf_for_graph(message)
    return _as_dict(message)


def _as_dict(message) -> dict[str, Any]:
    which = message.WhichOneof("type")
    inner = getattr(message, which)
    fields = {}
    for field in inner.DESCRIPTOR.fields:
        value = getattr(inner, field.name)
        if field.message_type is not None:
            value = [_as_dict(m) for m in value]
        elif field.label == field.LABEL_REPEATED:
            value = list(value)
        fields[field.name] = value
    return {which: fields}


def check_conf(plan: so.GraphPlan, base: float) -> None:
    """The conf OneFlow compiles the constructed plan to is the kernel model's, field for
    field (no argument dropped, renamed or converted on the way)."""
    opt = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=base)
    ours = oneflow_conf(so.build_scheduler(plan, opt, base))
    assert ours == model_conf(plan.native(base)), plan.explain()


def test_the_kernel_model_reads_oneflows_conf_of_every_case():
    cases = [c for group in EXACT.values() for c in group]
    for case in cases:
        plan = so.plan(sc.from_dict(holding(case)))
        for base in (plan.anchor, 0.37 * plan.anchor):  # absolute arguments scale with it
            check_conf(plan, base)
    for case in APPROXIMATED:
        check_conf(so.plan(sc.from_dict(case), 1e-3), 0.1)


@pytest.mark.parametrize("type_name", sorted(so.LOWERABLE))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data(), base=hs.floats(1e-4, 10.0))
def test_the_kernel_model_reads_oneflows_conf_of_every_option(type_name, data, base):
    """The main venv checks every drawn node's plan in the kernel model; here the model's conf
    of such plans is OneFlow's own."""
    schedule = sc.from_dict(data.draw(node_dicts(type_name)))
    for tolerance in (None, 1e-3):
        try:
            plan = so.plan(schedule, tolerance)
        except so.NotLowerable:
            continue
        check_conf(plan, base)
        return


def test_explain_lowering_with_a_model_adds_the_optimizers():
    model = flow.nn.Sequential(flow.nn.Linear(2, 2))
    bias = {"name": "b", "match": {"tags": ["bias"]}, "schedule": "other"}
    recipe = sc.load(
        {
            "lr": 0.1,
            "schedule": {"type": "warmup", "steps": 5, "schedule": COS},
            "schedules": {"other": LIN},
            "groups": {"defaults": {}, "rules": [bias]},
        }
    )
    text = so.explain_lowering(model, recipe)
    assert text.startswith(explain(recipe.bind(so.param_table(model))) + "\n")
    assert "optimizer 0 (schedules default):" in text
    assert "optimizer 1 (schedules other):" in text and "0.weight" in text and "0.bias" in text
