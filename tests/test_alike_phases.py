"""A sequence of alike phases (one node type, differing only in per-step fields) evaluated
as one formula, each step taking its own phase's fields, gives piecewise's values exactly.

Backends where a switch costs more than a few gathers (compiled TensorFlow graphs) set
``ops.gathers_phases``; numpy does not, so here numpy is run both ways on the same steps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedcore as sc
from schedcore.schedules.combinators import Sequence
from schedcore.schedules.ops import NumpyOps
from strategies import alike_sequences, key_steps, steps_arrays


class GatheringNumpy(NumpyOps):
    """numpy, asking sequences of alike phases for one formula (as compiled backends do)."""

    gathers_phases = True


def both_ways(node: sc.Schedule, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return node.dense(GatheringNumpy(), steps), node(steps)


@settings(max_examples=300, deadline=None)
@given(node=alike_sequences(), data=st.data())
def test_one_formula_gives_piecewise_values_bit_for_bit(node, data):
    steps = data.draw(steps_arrays(max_size=40, extra=key_steps(node)), label="steps")
    steps = np.sort(steps[steps <= 2**40])
    gathered, piecewise = both_ways(node, steps)
    np.testing.assert_array_equal(gathered, piecewise)


def test_alike_means_one_type_differing_only_in_per_step_fields():
    cosines = sc.sequence(*[(sc.cosine(steps=5, start=1 / (i + 1), end=0.1), 5) for i in range(4)])
    first, differ = cosines._alike
    assert first == cosines.phases[0].schedule and set(differ) == {"start"}
    assert differ["start"] == [1.0, 0.5, 1.0 / 3, 0.25]
    signed = sc.sequence((sc.cosine(steps=5, end=0.0), 5), (sc.cosine(steps=5, end=-0.0), 5))
    assert repr(signed._alike[1]) == "{'end': [0.0, -0.0]}"  # 0.0 and -0.0 differ
    unlike = [
        sc.sequence((sc.cosine(steps=5), 5), (sc.linear(steps=5), 5)),  # two types
        sc.sequence((sc.cosine(steps=5), 5), (sc.cosine(steps=6), 6)),  # steps is not per-step
        sc.sequence((sc.geometric(steps=5, end=0.5), 5), (sc.geometric(steps=5, end=0.25), 5)),
        sc.sequence((sc.warmup(sc.constant(), steps=2), 5), (sc.warmup(sc.constant(), steps=2), 5)),
    ]
    for node in unlike:
        assert isinstance(node, Sequence) and node._alike is None, node
    steps = np.arange(0, 30)
    for node in [cosines, signed, *unlike]:
        np.testing.assert_array_equal(*both_ways(node, steps))


def test_per_step_fields_are_declared_by_each_formula():
    assert sc.cosine(steps=3).per_step_fields == ("start", "end")
    assert sc.geometric(steps=3, end=0.5).per_step_fields == ()  # branches on end / start
    assert sc.constant(0.5).per_step_fields == ()
    view = sc.cosine(steps=4).with_per_step_fields(start=np.array([1.0, 2.0]))
    np.testing.assert_array_equal(view.dense(NumpyOps(), np.array([0, 0])), [1.0, 2.0])
    with pytest.raises(TypeError, match="steps"):
        sc.cosine(steps=4).with_per_step_fields(steps=np.array([1, 2]))
