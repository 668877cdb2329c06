"""KerasOps implements the core's whole ops protocol, keeping 64 bits and numpy's values."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import schedcore as sc
import schedcore_keras as sk
from schedcore.schedules.ops import NumpyOps

from .backend_check import audit


def test_every_protocol_op_keeps_64_bits_and_numpys_values():
    result = audit()
    protocol = {  # the ops (NumpyOps' data attributes are flags, not ops)
        n for n, v in vars(NumpyOps).items() if not n.startswith("_") and callable(v)
    }
    assert set(result) >= protocol
    assert {op: why for op, why in result.items() if why} == {}


def test_evaluate_is_the_cores_multiplier_as_a_tensor():
    node = sc.warmup(sc.cosine(steps=20, end=0.1), steps=5)
    steps = np.arange(0, 40)
    values = keras.ops.convert_to_numpy(sk.evaluate(node, steps))
    assert values.dtype == np.float64 and values.shape == steps.shape
    np.testing.assert_allclose(values, node(steps), rtol=1e-12)
    assert float(sk.evaluate(node, 3)) == pytest.approx(node(3), rel=1e-12)
    assert not hasattr(sk, "lower")  # evaluate evaluates; only OneFlow's lower plans


def test_after_error_holds_inside_graphs():
    node = sc.linear(steps=10, start=1.0, end=0.5, after="error")
    with pytest.raises(sc.StepRangeError):
        node(11)  # the core raises
    assert not sk.keras_ops().can_raise
    values = tf.function(sk.schedule(node))(tf.constant(11, tf.int64))
    assert float(values) == 0.5  # a graph cannot raise: the last value holds


def graph_ops(schedule: sk.RecipeSchedule) -> list[str]:
    """The op types of one step's evaluation in a tf.function graph."""
    graph = tf.function(schedule).get_concrete_function(tf.TensorSpec([], tf.int64)).graph
    return [op.type for op in graph.get_operations()]


def assert_core_values(schedule: sk.RecipeSchedule, node: sc.Schedule, steps: np.ndarray) -> None:
    """One step at a time (eagerly and inside a graph) and as a vector: the core's values."""
    one = [float(schedule(int(k))) for k in steps]
    np.testing.assert_allclose(one, node(steps), rtol=1e-6)
    compiled = tf.function(lambda t: tf.map_fn(schedule, t, fn_output_signature=tf.float32))
    np.testing.assert_allclose(compiled(tf.constant(steps)).numpy(), node(steps), rtol=1e-6)
    vector = keras.ops.convert_to_numpy(schedule(steps))
    np.testing.assert_allclose(vector, node(steps), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::schedcore.PastEndWarning")  # steps past the end, too
def test_one_step_runs_only_its_phase():
    """A many-phase sequence evaluates one phase for one step: alike phases (cosines that
    differ in start) as one formula taking the step's phase fields (no switch at all),
    unlike ones through one switch (only the active phase runs), two phases through a
    cond; all equal the core, one step at a time and as a vector."""
    steps = np.arange(0, 110)
    alike = sc.sequence(*[(sc.cosine(steps=5, start=1.0 / (i + 1)), 5) for i in range(20)])
    found = graph_ops(sk.schedule(alike))
    assert not {"Case", "StatelessCase", "If", "StatelessIf"} & set(found)
    assert found.count("Cos") == 1 and found.count("GatherV2") == 2  # start, phase start
    assert_core_values(sk.schedule(alike), alike, steps)

    unlike = sc.sequence(
        *[(sc.cosine(steps=5, start=1.0 / (i + 1)) if i % 2 else sc.linear(steps=5), 5)
          for i in range(20)]
    )  # fmt: skip
    found = graph_ops(sk.schedule(unlike))
    assert sum(op in ("Case", "StatelessCase") for op in found) == 1
    assert_core_values(sk.schedule(unlike), unlike, steps)

    two = sc.warmup(sc.cosine(steps=100, end=0.1), steps=10)
    found = graph_ops(sk.schedule(two))
    assert sum(op in ("If", "StatelessIf") for op in found) == 1 and "Case" not in found
    assert_core_values(sk.schedule(two), two, steps)


@pytest.mark.parametrize(("period", "t_mul"), [(1, 3.0), (2, 2.0), (7, 5.0)])
def test_sgdr_log_rounding_is_the_cores_on_vectors_and_single_steps(period, t_mul):
    """timm's float cycle index (cycle_index = 'log') puts some restarts a step late; the
    core tabulates where, so TensorFlow's vectorized log (which rounds differently from the
    C library's) cannot move a restart: every step around every restart matches."""
    node = sc.sgdr(period=period, t_mul=t_mul, end=0.1, cycle_index="log")
    bounds = [b for b in node._bounds if b < 2**40]
    steps = np.unique(np.concatenate([np.arange(max(b - 2, 0), b + 3) for b in bounds]))
    schedule = sk.schedule(node)
    vector = tf.function(schedule)(tf.constant(steps, tf.int64)).numpy()
    np.testing.assert_allclose(vector, node(steps), rtol=1e-6)
    one = tf.function(lambda t: tf.map_fn(schedule, t, fn_output_signature=tf.float32))
    np.testing.assert_allclose(one(tf.constant(steps, tf.int64)).numpy(), node(steps), rtol=1e-6)
