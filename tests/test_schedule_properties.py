"""Property tests over random schedule trees and recipes (strategies in tests/strategies.py).

Properties: the vectorized path equals the scalar path bitwise; values are finite, >= 0 and
within the node's declared peak for every step in [0, 2**53]; dict and JSON round trips give
equal schedules that evaluate identically; recipes round-trip through ``to_dict`` and their
bound ``lr`` has shape (groups, n); evaluation order, chunking (65536) and array shape do not
change values; ``after = "error"`` raises past the end and only there.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedcore
from catalog import CATALOG
from schedcore import NODE_TYPES, StepRangeError
from schedcore.schedules.node import CHUNK
from strategies import (
    COMBINATOR_TYPES,
    LEAF_TYPES,
    MAX_STEP,
    NODE_STRATEGIES,
    key_steps,
    node_dicts,
    recipes,
    schedule_dicts,
    schedules,
    steps_arrays,
    with_hold,
)

# SCHEDCORE_EXAMPLES scales the example budget up for a long local or nightly run
EXAMPLES = int(os.environ.get("SCHEDCORE_EXAMPLES", "120"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(PROPERTY, max_examples=max(EXAMPLES // 4, 10))


def bits(values) -> np.ndarray:
    """float64 values as their bit patterns: equality of these is bitwise equality."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)


def scalar_values(s, steps) -> np.ndarray:
    return np.array([s(int(k)) for k in np.ravel(steps)], dtype=np.float64)


def node_types_in(data) -> set[str]:
    """Every node type named in a schedule dict, recursively."""
    found: set[str] = set()
    if isinstance(data, dict):
        if isinstance(data.get("type"), str):
            found.add(data["type"])
        for value in data.values():
            found |= node_types_in(value)
    elif isinstance(data, list):
        for value in data:
            found |= node_types_in(value)
    return found


# -- the strategies cover the registry ---------------------------------------------------------


def test_every_registered_node_type_has_a_strategy():
    assert set(NODE_STRATEGIES) == set(NODE_TYPES)
    assert not set(LEAF_TYPES) & set(COMBINATOR_TYPES)
    assert set(LEAF_TYPES) | set(COMBINATOR_TYPES) == set(NODE_TYPES)


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
@given(data=st.data())
@settings(PROPERTY, max_examples=max(EXAMPLES // 8, 10))
def test_node_strategy_builds_its_type(type_name, data):
    d = data.draw(node_dicts(type_name))
    s = schedcore.from_dict(d)
    assert type(s) is NODE_TYPES[type_name]
    assert s.to_dict()["type"] == type_name
    values = s(np.array([0, 1, 100, 10**6, MAX_STEP]))
    assert np.all(np.isfinite(values)) and np.all(values >= 0)


def test_schedule_strategy_reaches_every_node_type():
    seen: set[str] = set()

    @given(d=schedule_dicts())
    @settings(max_examples=1000, database=None, deadline=None, derandomize=True)
    def collect(d):
        seen.update(node_types_in(d))

    collect()
    assert seen == set(NODE_TYPES), set(NODE_TYPES) - seen


# -- (a) vectorized == scalar, bitwise -----------------------------------------------------------


@given(data=st.data())
@PROPERTY
def test_vectorized_equals_scalar_bitwise(data):
    s = data.draw(schedules())
    steps = data.draw(steps_arrays(extra=key_steps(s)))
    vectorized = s(steps)
    assert vectorized.dtype == np.float64 and vectorized.shape == steps.shape
    np.testing.assert_array_equal(bits(vectorized), bits(scalar_values(s, steps)))
    # numpy integer scalars and other integer dtypes take the same path
    k = int(steps[0])
    assert bits(s(np.int64(k))) == bits(s(k))
    assert isinstance(s(k), float)
    np.testing.assert_array_equal(bits(s(steps.astype(np.uint64))), bits(vectorized))
    small = steps[steps < 2**31]
    np.testing.assert_array_equal(bits(s(small.astype(np.int32))), bits(s(small)))
    np.testing.assert_array_equal(bits(s(steps.tolist())), bits(vectorized))


# -- (b) finite, >= 0 and below the declared peak on [0, 2**53] --------------------------------


@given(data=st.data())
@PROPERTY
def test_values_finite_nonnegative_and_bounded_by_peak(data):
    s = data.draw(schedules())
    steps = np.concatenate(
        [[0, 1, MAX_STEP - 1, MAX_STEP], data.draw(steps_arrays(extra=key_steps(s)))]
    ).astype(np.int64)
    values = s(steps)
    assert np.all(np.isfinite(values)), (s, steps[~np.isfinite(values)])
    assert np.all(values >= 0), (s, steps[values < 0])
    peak = s.peak()
    assert math.isfinite(peak) and 0 <= peak <= 1e300
    assert np.all(values <= peak * (1 + 1e-12) + 1e-300), (s, peak, values.max())
    assert s(MAX_STEP) == values[3] and s(0) == values[0]


# -- (c) dict / JSON round trips ----------------------------------------------------------------


@given(data=st.data())
@PROPERTY
def test_dict_and_json_round_trip(data):
    s = data.draw(schedules(allow_after_error=True))
    d = s.to_dict()
    back = schedcore.from_dict(d)
    assert back == s
    assert back.to_dict() == d
    via_json = schedcore.from_dict(json.loads(json.dumps(d, allow_nan=False)))
    assert via_json == s
    assert via_json.to_dict() == d
    # the dict form is plain data: no tuples, numpy scalars or schedule objects left in it
    assert json.loads(json.dumps(d)) == d
    steps = data.draw(steps_arrays(extra=key_steps(s)))
    for other in (back, via_json):
        try:
            expected = s(steps)
        except StepRangeError:
            with pytest.raises(StepRangeError):
                other(steps)
        else:
            np.testing.assert_array_equal(bits(other(steps)), bits(expected))


@given(d=schedule_dicts(allow_after_error=True))
@PROPERTY
def test_building_from_a_dict_keeps_what_was_written(d):
    """Every field written in a node dict survives into ``to_dict`` (defaults added)."""
    out = schedcore.from_dict(d).to_dict()

    def covers(written, full):
        if isinstance(written, dict):
            assert isinstance(full, dict)
            for key, value in written.items():
                covers(value, full[key])
        elif isinstance(written, list):
            assert isinstance(full, list) and len(full) == len(written)
            for a, b in zip(written, full, strict=True):
                covers(a, b)
        else:
            assert full == written and type(full) is type(written), (written, full)

    covers(d, out)


# -- (d) recipes ---------------------------------------------------------------------------------


@given(pair=recipes(), steps=steps_arrays(max_size=20))
@PROPERTY
def test_recipe_round_trip_and_bound_lr_shape(pair, steps):
    doc, rows = pair
    r = schedcore.load(doc)
    d = r.to_dict()
    again = schedcore.load(d)
    assert again == r
    assert again.to_dict() == d
    assert schedcore.load(json.loads(json.dumps(d, allow_nan=False))) == r
    assert schedcore.load(json.dumps(doc)) == r  # the JSON text form of the document
    # the normalized document is explicit: every schedule has a type
    assert "type" in d["schedule"]
    assert all("type" in v for v in d.get("schedules", {}).values())

    unbound = r.lr(steps)
    assert unbound.shape == steps.shape
    assert np.all(np.isfinite(unbound)) and np.all(unbound >= 0)
    np.testing.assert_array_equal(bits(unbound), bits(r.base_lr * r.schedule(steps)))

    bound = r.bind(rows)
    assert bound == r  # the resolution is not part of the recipe's identity
    assert bound.to_dict() == d
    n_groups = len(bound.groups)
    out = bound.lr(steps)
    assert out.shape == (n_groups, steps.shape[0])
    assert np.all(np.isfinite(out)) and np.all(out >= 0)
    scalar = bound.lr(int(steps[0]))
    assert np.shape(scalar) == (n_groups,)
    np.testing.assert_array_equal(bits(scalar), bits(out[:, 0]))
    grid = bound.lr(steps.reshape(1, -1))
    assert grid.shape == (n_groups, 1, steps.shape[0])
    # every trainable parameter is in exactly one group or frozen; frozen ones in none
    placed = [p for g in bound.groups for p in g.params]
    assert len(placed) == len(set(placed))
    trainable = {row["name"] for row in rows if row["trainable"]}
    assert trainable <= set(placed) | set(bound.resolution.frozen)
    assert not set(placed) & set(bound.resolution.frozen)


@given(pair=recipes(with_groups=False))
@FEW
def test_recipe_without_groups_binds_to_one_group(pair):
    doc, rows = pair
    r = schedcore.load(doc).bind(rows)
    trainable = [row["name"] for row in rows if row["trainable"]]
    if trainable:
        assert len(r.groups) == 1
        assert list(r.groups[0].params) == trainable
        assert r.groups[0].lr == r.base_lr
    else:
        assert r.groups == ()


# -- (e) order, (f) chunking, (g) shape ------------------------------------------------------------


@given(data=st.data())
@PROPERTY
def test_shuffled_steps_equal_sorted_steps(data):
    s = data.draw(schedules())
    steps = np.sort(data.draw(steps_arrays(min_size=2, max_size=60, extra=key_steps(s))))
    order = np.array(data.draw(st.permutations(range(steps.shape[0]))))
    in_order = s(steps)
    shuffled = s(steps[order])
    np.testing.assert_array_equal(bits(shuffled), bits(in_order[order]))
    np.testing.assert_array_equal(bits(s(steps[::-1])), bits(in_order[::-1]))


@given(data=st.data())
@settings(PROPERTY, max_examples=max(EXAMPLES // 5, 10))
def test_arrays_longer_than_a_chunk_equal_the_scalar_path(data):
    s = data.draw(schedules(max_leaves=4))
    n = CHUNK + data.draw(st.integers(1, 3_000))
    high = data.draw(st.sampled_from([50, 5_000, 10**6, MAX_STEP]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    steps = rng.integers(0, high, size=n, endpoint=True, dtype=np.int64)
    layout = data.draw(st.sampled_from(["sorted", "random", "first_chunk_sorted", "ramp"]))
    if layout == "sorted":
        steps.sort()
    elif layout == "first_chunk_sorted":
        steps[:CHUNK].sort()
    elif layout == "ramp":
        steps = np.arange(n, dtype=np.int64) * max(high // n, 1)
    values = s(steps)
    assert values.shape == (n,)
    picks = {0, CHUNK - 2, CHUNK - 1, CHUNK, CHUNK + 1, n - 1}
    picks |= set(rng.integers(0, n, size=40).tolist())
    for i in sorted(i for i in picks if i < n):
        assert bits(values[i]) == bits(s(int(steps[i]))), (s, i, int(steps[i]))
    # the chunks evaluated on their own give the same values
    np.testing.assert_array_equal(bits(values[:CHUNK]), bits(s(steps[:CHUNK])))
    np.testing.assert_array_equal(bits(values[CHUNK:]), bits(s(steps[CHUNK:])))


@given(data=st.data())
@PROPERTY
def test_multidimensional_steps_keep_their_shape(data):
    s = data.draw(schedules())
    shape = tuple(data.draw(st.lists(st.integers(0, 5), min_size=2, max_size=4)))
    size = math.prod(shape)
    flat = data.draw(steps_arrays(min_size=size, max_size=size, extra=key_steps(s)))
    steps = flat.reshape(shape)
    values = s(steps)
    assert values.shape == shape and values.dtype == np.float64
    np.testing.assert_array_equal(bits(values.reshape(-1)), bits(s(flat)))
    transposed = s(steps.T)  # a non-contiguous view
    assert transposed.shape == steps.T.shape
    np.testing.assert_array_equal(bits(transposed), bits(values.T))


def test_step_arguments_are_checked():
    s = schedcore.cosine(steps=100)
    assert s(np.array([], dtype=np.int64)).shape == (0,)
    assert s(np.zeros((3, 0), dtype=np.int64)).shape == (3, 0)
    with pytest.raises(TypeError):
        s(np.array(5))  # 0-d arrays are not steps
    with pytest.raises(TypeError):
        s(np.array([1.0, 2.0]))
    with pytest.raises(TypeError):
        s(True)
    for bad in (-1, MAX_STEP + 1):
        with pytest.raises(StepRangeError):
            s(bad)
        with pytest.raises(StepRangeError):
            s(np.array([0, bad], dtype=np.int64 if bad < 0 else np.uint64))


# -- after = "error" -----------------------------------------------------------------------------

#: the node types with an ``after`` field (their catalog entries say how to build them)
ERROR_CAPABLE = tuple(name for name, e in CATALOG.items() if e.after_error is not None)


@st.composite
def error_mode_schedules(draw):
    """A finite node with after = "error", possibly under nodes that keep its step or shift
    it (scale, clamp, shift within its length); returns the schedule and its hold twin."""
    type_name = draw(st.sampled_from(ERROR_CAPABLE))
    d = dict(draw(NODE_STRATEGIES[type_name]()), after="error")
    length = schedcore.from_dict(d).length
    wrappers = draw(st.lists(st.sampled_from(["scale", "clamp", "shift"]), max_size=3))
    for w in wrappers:
        if w == "scale":
            d = {"type": "scale", "schedule": d, "factor": draw(st.floats(0, 10))}
        elif w == "clamp":
            d = {"type": "clamp", "schedule": d, "max": draw(st.floats(0, 10))}
        else:
            offset = draw(st.integers(-1000, length))
            d = {"type": "shift", "schedule": d, "offset": offset}
            length -= offset
    return schedcore.from_dict(d), d, length


@given(case=error_mode_schedules(), data=st.data())
@PROPERTY
def test_after_error_raises_past_the_end_and_not_before(case, data):
    s, d, length = case
    assert s.length == length
    hold = schedcore.from_dict(with_hold(d))
    inside = np.concatenate(
        [[0, length], data.draw(st.lists(st.integers(0, length), max_size=20))]
    ).astype(np.int64)
    np.testing.assert_array_equal(bits(s(inside)), bits(hold(inside)))
    assert bits(s(length)) == bits(hold(length))
    past = data.draw(st.integers(length + 1, MAX_STEP))
    for bad in {length + 1, past, MAX_STEP}:
        with pytest.raises(StepRangeError):
            s(bad)
        with pytest.raises(StepRangeError):
            s(np.append(inside, bad))
        with pytest.raises(StepRangeError):
            s(np.array([[bad], [0]], dtype=np.int64))


@given(data=st.data())
@PROPERTY
def test_error_mode_trees_raise_vectorized_iff_some_step_raises(data):
    s = data.draw(schedules(allow_after_error=True))
    steps = data.draw(steps_arrays(max_size=20, extra=key_steps(s)))
    raised = []
    expected = []
    for k in steps.tolist():
        try:
            expected.append(s(k))
        except StepRangeError:
            raised.append(k)
    if raised:
        with pytest.raises(StepRangeError):
            s(steps)
    else:
        np.testing.assert_array_equal(bits(s(steps)), bits(expected))
