"""The OneFlow planner's rules (main venv, no oneflow): every plannable node type plans
exactly; every other type, and every condition a rule refuses, raises NotLowerable naming
its path.

No option is silently ignored: every node the shared strategy draws either raises
NotLowerable or plans to schedulers whose Graph conf, evaluated by a model of OneFlow's
kernel (``kernel_model.py``, whose confs ``tests/oneflow/test_graph_plan.py`` checks against
OneFlow's own), gives the core's values. ``tests/oneflow`` runs the same cases in nn.Graph.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as hs

import schedcore as sc
from catalog import oneflow_expectation
from schedcore import NODE_TYPES
from schedcore.port import oneflow as of
from schedcore.port.oneflow import rules
from strategies import node_dicts

from .cases import COS, EXACT, LIN, NOT_LOWERABLE, holding
from .kernel_model import MODEL_FAR, check_model


def test_every_node_type_is_classified():
    """Each type plans (a case for each), is refused with its own reason (a case for each),
    or, added to the core without a rule, is refused with the generic one."""
    assert not set(of.LOWERABLE) & set(of.NOT_LOWERABLE)
    assert set(EXACT) == set(of.LOWERABLE)
    assert set(NOT_LOWERABLE) == set(NODE_TYPES) - set(of.LOWERABLE)
    assert set(of.NOT_LOWERABLE) <= set(NOT_LOWERABLE)
    for type_name in set(NODE_TYPES) - set(of.LOWERABLE) - set(of.NOT_LOWERABLE):
        assert rules.NO_RULE in of.summary(type_name)[1], type_name


@pytest.mark.parametrize("type_name", sorted(NOT_LOWERABLE))
def test_a_refused_type_gives_the_catalogs_reason_and_approximation(type_name):
    """The catalog's OneFlow expectation of each refused type: the reason the planner gives,
    and whether a tolerance approximates it."""
    expected = oneflow_expectation(type_name)
    schedule = sc.from_dict(expected.refused)
    with pytest.raises(of.NotLowerable) as info:
        of.plan(schedule)
    assert expected.reason in info.value.reason
    if expected.approximable:
        check_model(schedule, of.plan(schedule, tolerance=1e-3))
    else:
        with pytest.raises(of.NotLowerable):
            of.plan(schedule, tolerance=1e-3)


def test_a_node_type_without_a_rule_gets_a_generic_reason(monkeypatch):
    """A family added to the core without a planning rule is refused, naming its path, with
    the generic reason; approximated with a tolerance like any other."""
    monkeypatch.delitem(rules.NOT_LOWERABLE, "inverse_sqrt")
    scaled = {"type": "scale", "factor": 0.5, "schedule": NOT_LOWERABLE["inverse_sqrt"]}
    schedule = sc.from_dict({"type": "sequence", "phases": [{"schedule": LIN, "steps": 5},
                                                            {"schedule": scaled, "steps": 20},
                                                            {"schedule": COS}]})  # fmt: skip
    with pytest.raises(of.NotLowerable) as info:
        of.plan(schedule)
    assert info.value.path == "schedule.phases[1].schedule.schedule"
    assert info.value.reason == rules.NO_RULE
    assert "pass tolerance" in str(info.value)
    check_model(schedule, of.plan(schedule, tolerance=1e-3))
    assert of.summary("inverse_sqrt") == ("none", f"never ({rules.NO_RULE}; approximated "
                                          "with a tolerance)")  # fmt: skip


def test_after_error_lowers_as_hold():
    case = EXACT["linear"][1]
    assert case["after"] == "error"
    assert of.plan(sc.from_dict(case)).key() == of.plan(sc.from_dict(holding(case))).key()


def test_the_kernel_model_agrees_with_the_core_on_every_exact_case():
    for cases in EXACT.values():
        for case in cases:
            schedule = sc.from_dict(holding(case))
            check_model(schedule, of.plan(schedule), [10**6 + 7])


@pytest.mark.parametrize("type_name", sorted(of.LOWERABLE))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data(), far=hs.lists(hs.integers(0, MODEL_FAR), max_size=4))
def test_every_option_lowers_exactly_or_raises(type_name, data, far):
    """No option is silently ignored: every node of every plannable type, with every option
    the shared strategy draws, plans to schedulers that apply the core's values (in the
    kernel model), exactly or within a tolerance, or raises NotLowerable."""
    schedule = sc.from_dict(data.draw(node_dicts(type_name)))
    for tolerance in (None, 1e-3):
        try:
            plan = of.plan(schedule, tolerance)
        except of.NotLowerable:
            continue
        event(f"{type_name}: {'exact' if tolerance is None else 'approximated'}")
        check_model(schedule, plan, far)
        return
    event(f"{type_name}: not lowerable")


def test_cases_cover_each_lowering_branch():
    """Every case names a distinct scheduler layout (no two cases test the same thing)."""
    for type_name, cases in EXACT.items():
        layouts = [of.plan(sc.from_dict(c)).key() for c in cases]
        assert len(set(layouts)) == len(layouts), type_name


@pytest.mark.parametrize("type_name", sorted(NOT_LOWERABLE))
def test_non_lowerable_type_raises_with_its_path(type_name):
    scaled = {"type": "scale", "factor": 0.5, "schedule": NOT_LOWERABLE[type_name]}
    schedule = sc.from_dict(
        {"type": "sequence", "phases": [{"schedule": LIN}, {"schedule": scaled}]}
    )
    with pytest.raises(of.NotLowerable) as info:
        of.plan(schedule)
    err = info.value
    assert err.path == "schedule.phases[1].schedule.schedule"
    assert err.node_type == type_name
    assert str(err).startswith(f"schedule.phases[1].schedule.schedule ({type_name}): ")
    # a tolerance is offered exactly where one works (not for what never becomes constant)
    try:
        works = of.plan(schedule, 1e-3).max_error <= 1e-3
    except of.NotLowerable:
        works = False
    assert ("pass tolerance=" in str(err)) == works, str(err)
    with pytest.raises(of.NotLowerable) as info:
        of.plan(schedule, horizon=500)  # over a finite horizon, one does
    assert str(info.value).endswith("pass tolerance=... to approximate it with LinearLR segments")
    assert of.plan(schedule, 1e-3, horizon=500).max_error <= 1e-3


@pytest.mark.parametrize(
    ("schedule", "path", "words"),
    [
        ({"type": "cosine", "steps": 10, "exponent": 2.0}, "schedule", "exponent 2"),
        ({"type": "cosine", "steps": 10, "start": 0.0, "end": 1.0}, "schedule", "rises from 0"),
        ({"type": "linear", "steps": 10, "after": "periodic"}, "schedule", "periodic"),
        ({"type": "sgdr", "period": 1, "t_mul": 3.0}, "schedule", "step 121 in cycle 4, not 5"),
        ({"type": "sgdr", "period": 10, "t_mul": 1.5}, "schedule", "integer T_mult"),
        (  # the core follows timm's float rounding, which puts step 121 in cycle 4
            {"type": "sgdr", "period": 1, "t_mul": 3.0, "cycle_index": "log"},
            "schedule",
            "cycle_index = 'log' rounds step 121 into another cycle",
        ),
        ({"type": "sgdr", "period": 1, "t_mul": 3000.0}, "schedule", "overflows"),
        ({"type": "sgdr", "period": 5, "k_decay": 2.0}, "schedule", "k_decay 2"),
        ({"type": "polynomial", "steps": 5, "k_decay": 0.5}, "schedule", "k_decay 0.5"),
        (
            {"type": "polynomial", "steps": 5, "after": "stretch_early"},
            "schedule",
            "stretches at each multiple",
        ),
        (
            {"type": "sgdr", "period": 5, "m_mul": 0.5, "end": 0.1, "m_mul_applies_to": "range"},
            "schedule",
            "m_mul shrinks the range",
        ),
        (
            {"type": "cosine", "steps": 25, "cycles": 1.5, "restarts": True},
            "schedule",
            "restarts every 8.33333 steps",
        ),
        (  # transformers' (2 * cycles) * (k / steps) is 1 ulp below 15 at k = 15
            {"type": "cosine", "steps": 22, "cycles": 11.0, "end": 0.1, "restarts": True},
            "schedule",
            "step 15 ends a descent instead of restarting",
        ),
        (
            {"type": "cosine", "steps": 30, "cycles": 0.75, "restarts": True, "after": "periodic"},
            "schedule",
            "part-way through a descent of 20 steps",
        ),
        (
            {"type": "cosine", "steps": 10, "start": 0.0, "end": 1.0, "restarts": True},
            "schedule",
            "restarts at 0",
        ),
        (
            {"type": "polynomial", "steps": 10, "after": "periodic"},
            "schedule",
            "after = 'periodic'",
        ),
        (
            {"type": "polynomial", "steps": 10, "start": 0.0, "end": 1.0, "after": "stretch"},
            "schedule",
            "rises from 0",
        ),
        ({"type": "linear", "steps": 2**24 + 1}, "schedule", "float32"),
        (
            {"type": "warmup", "steps": 5, "shape": "cosine", "schedule": COS},
            "schedule (expanded: phases[0].schedule)",
            "rises from 0",
        ),
        (
            {"type": "product", "schedules": [LIN, COS]},
            "schedule",
            "multiplies 2 varying schedules",
        ),
        ({"type": "clamp", "min": 0.5, "schedule": COS}, "schedule", "clamps a varying"),
        ({"type": "shift", "offset": 4, "schedule": COS}, "schedule", "looks 4 steps ahead"),
        ({"type": "per_epoch", "steps_per_epoch": 3, "schedule": COS}, "schedule", "staircase"),
        (  # two cosines starting at different values cannot share one base lr
            {
                "type": "sequence",
                "phases": [{"schedule": COS}, {"schedule": {**COS, "start": 0.5}}],
            },
            "schedule.phases[1].schedule",
            "fixes at 1 x the lr",
        ),
        (  # a LinearLR above the base lr that a cosine fixes
            {
                "type": "sequence",
                "phases": [{"schedule": {**LIN, "start": 2.0}}, {"schedule": COS}],
            },
            # the cosine fixes the base lr (it starts there); the ramp above it is named too
            "schedule.phases[1].schedule",
            "but schedule.phases[0].schedule (linear) then ramps with LinearLR to 2 x the lr",
        ),
    ],
)
def test_conditions_of_lowerable_types_raise_with_their_path(schedule, path, words):
    with pytest.raises(of.NotLowerable) as info:
        of.plan(sc.from_dict(schedule))
    assert info.value.path == path, str(info.value)
    assert words in str(info.value)


def test_a_schedule_scaled_to_zero_raises_rather_than_divide_by_it():
    """Scale factors whose product underflows float64 make every value 0: OneFlow's
    schedulers scale a base lr, which cannot be 0 (found by the option test, derandomized)."""
    tiny = 2.2250738585072014e-308
    wsd = {"type": "wsd", "stable": 1, "decay": 1, "warmup": 0, "decay_shape": "cosine"}
    inner = {"type": "scale", "factor": tiny, "schedule": wsd}
    schedule = sc.from_dict({"type": "scale", "factor": tiny, "schedule": inner})
    for tolerance in (None, 1e-3):
        with pytest.raises(of.NotLowerable) as info:
            of.plan(schedule, tolerance)
        assert "positive normal number" in str(info.value)
