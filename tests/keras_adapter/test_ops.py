"""KerasOps implements the core's whole ops protocol, keeping 64 bits and numpy's values."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import schedcore as sc
import schedcore_keras as sk
from schedcore.ops import NumpyOps

from .backend_check import audit


def test_every_protocol_op_keeps_64_bits_and_numpys_values():
    result = audit()
    protocol = {
        n for n in vars(NumpyOps) if not n.startswith("_") and n not in ("name", "can_raise")
    }
    assert set(result) >= protocol
    assert {op: why for op, why in result.items() if why} == {}


def test_after_error_holds_inside_graphs():
    node = sc.linear(steps=10, start=1.0, end=0.5, after="error")
    with pytest.raises(sc.StepRangeError):
        node(11)  # the core raises
    assert not sk.keras_ops().can_raise
    values = tf.function(sk.schedule(node))(tf.constant(11, tf.int64))
    assert float(values) == 0.5  # a graph cannot raise: the last value holds


def test_one_step_runs_only_its_phase():
    """A many-phase sequence lowers to one switch for a single step (only the active phase
    runs) and to where-selection for a vector of steps; both equal the core."""
    phases = sc.sequence(*[(sc.cosine(steps=5, start=1.0 / (i + 1)), 5) for i in range(20)])
    schedule = sk.schedule(phases)
    graph = tf.function(schedule).get_concrete_function(tf.TensorSpec([], tf.int64)).graph
    assert sum(op.type in ("Case", "StatelessCase") for op in graph.get_operations()) == 1
    steps = np.arange(0, 110)
    one = [float(schedule(int(k))) for k in steps]
    np.testing.assert_allclose(one, phases(steps), rtol=1e-6)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(schedule(steps)), phases(steps), rtol=1e-6
    )
