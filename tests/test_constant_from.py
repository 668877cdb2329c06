"""``Schedule.constant_from``: the step from which a schedule's value no longer changes.

Adapters rely on it where a backend must hold a final value (the OneFlow lowering ends an
approximation there). It may be conservative (None, or later than the true settling step)
but never wrong: every step at or past it gives exactly ``s(constant_from)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedcore as sc
from schedcore import NODE_TYPES
from strategies import MAX_STEP, node_dicts, schedules

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_constant_after(s: sc.Schedule, extra: list[int]) -> None:
    start = s.constant_from
    if start is None or start > MAX_STEP:
        return
    later = [start + d for d in (0, 1, 2, 7, 1_000, 65_537, 10**6, *extra)]
    steps = np.array(sorted({k for k in [*later, MAX_STEP] if start <= k <= MAX_STEP}))
    values = s(steps)
    assert np.all(values == values[0]), (s.to_dict(), start, steps, values)


@SETTINGS
@given(s=schedules(max_leaves=6), extra=st.lists(st.integers(0, 10**9), max_size=3))
def test_values_do_not_change_from_constant_from_on(s, extra):
    check_constant_after(s, extra)


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_node_type(type_name, data):
    s = sc.from_dict(data.draw(node_dicts(type_name)))
    check_constant_after(s, [])


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (sc.constant(0.3), 0),
        (sc.linear(steps=10), 10),
        (sc.linear(steps=10, after="periodic"), None),
        (sc.cosine(steps=10, after="error"), None),
        (sc.exponential(rate=0.5), None),
        (sc.exponential(rate=1.0), 0),
        (sc.multistep(milestones=[3, 9]), 9),
        (sc.piecewise_constant(boundaries=[4], values=[1.0, 0.5], change="after"), 5),
        (sc.onecycle(steps=100), 99),
        (sc.sgdr(period=10, t_mul=2.0, cycle_limit=3), 70),
        (sc.sgdr(period=10), None),
        (sc.warmup(sc.linear(steps=50), steps=10), 60),
        (sc.warmup(sc.linear(steps=50), steps=10, prefix=False), 50),
        (sc.wsd(warmup=5, stable=10, decay=20), 35),
        (sc.sequence((sc.linear(steps=5), 8), sc.cosine(steps=4)), 12),
        (sc.shift(sc.linear(steps=10), offset=-5), 15),
        (sc.shift(sc.linear(steps=10), offset=15), 0),
        (sc.per_epoch(sc.multistep(milestones=[2]), steps_per_epoch=7), 14),
        (sc.repeat(sc.linear(steps=10), period=4), None),
        (sc.product(sc.linear(steps=3), sc.linear(steps=8)), 8),
        (sc.clamp(sc.cosine(steps=10, after="periodic"), min=0.5, max=0.5), 0),
        (sc.inverse_sqrt(timescale=10), None),
    ],
)
def test_known_values(schedule, expected):
    assert schedule.constant_from == expected
    check_constant_after(schedule, [])
