"""Cross-backend equivalence: the lr Keras actually applies equals the core's ``recipe.lr(k)``.

Recipes come from the shared strategy (``tests/strategies.py``). Every trainable row of the
drawn parameter table becomes a Keras variable whose path is that name (``blocks.0.attn.
weight`` -> ``blocks/0/attn/weight``), and the recipe-driven ``SGD`` updates them inside a
compiled train step (``tf.function``; a quarter of the examples with XLA,
``jit_compile=True``) with a known gradient of -1: with each variable
reset to 0 before the update, its value afterwards is the lr applied to it, exactly. It
must equal ``recipe.lr(k)`` of its group to rtol 1e-6 (the lr is float32, and TensorFlow
and XLA flush float32 subnormals: an lr below 1.2e-38 is 0, that much atol) at the start,
around and past the end of the schedule, far past it, and across step 2**31 (set through
the optimizer's ``iterations``). Variables the policy freezes must not move.

The same check runs on ``schedcore_keras.schedule()`` alone, for any schedule tree, one step
at a time (the path a train step takes) and as a vector of steps.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import schedcore as sc
import schedcore_keras as sk
from strategies import alike_sequences, key_steps, recipes, schedules, steps_arrays

WINDOW = 24
# TensorFlow's CPU kernels and XLA flush float32 subnormals to 0: an lr below float32's
# smallest normal number (1.2e-38) is 0 there
FLUSHED = float(np.finfo(np.float32).tiny)
LARGE = 2**31 - WINDOW // 2  # the window crosses 2**31


def named_variables(rows: list[dict]) -> dict[str, keras.Variable]:
    """A float32 Keras variable per trainable row, its path the row's name with '/'."""
    out = {}
    for row in rows:
        if not row["trainable"]:
            continue
        *scopes, leaf = row["name"].split(".")
        with contextlib.ExitStack() as stack:
            for scope in scopes:
                stack.enter_context(keras.name_scope(scope))
            out[row["name"]] = keras.Variable(np.zeros(row["shape"]), dtype="float32", name=leaf)
    return out


def applied(
    optimizer, variables: list[keras.Variable], firsts: list[int], xla: bool = False
) -> np.ndarray:
    """Applied lr per variable for updates first .. first + WINDOW - 1, for each first."""
    minus_one = [-tf.ones(v.shape) for v in variables]
    zeros = [tf.zeros(v.shape) for v in variables]

    @tf.function(jit_compile=xla)
    def window(first):
        optimizer.iterations.assign(first)
        out = tf.TensorArray(tf.float32, size=WINDOW)
        for k in tf.range(WINDOW):
            for v, z in zip(variables, zeros, strict=True):
                v.assign(z)
            optimizer.apply(minus_one, variables)
            out = out.write(k, tf.stack([tf.reshape(v.value, [-1])[0] for v in variables]))
        return out.stack()

    return np.stack([window(tf.constant(f, tf.int64)).numpy().T for f in firsts])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=recipes(), data=hs.data())
def test_applied_lr_equals_core_for_every_group(case, data):
    doc, rows = case
    recipe = sc.load(doc)
    bound = recipe.bind(rows)
    variables = named_variables(rows)
    if not variables:
        return
    optimizer = sk.optimizer_class(keras.optimizers.SGD)(recipe=recipe, params=rows)
    names = list(variables)
    optimizer.build([variables[n] for n in names])
    end = recipe.total_steps or recipe.schedule.length or WINDOW
    far = data.draw(hs.integers(end, end + 10**6), label="far")
    firsts = [0, max(end - WINDOW // 2, 0), far, LARGE]
    xla = data.draw(hs.sampled_from([False, False, False, True]), label="xla")
    got = applied(optimizer, [variables[n] for n in names], firsts, xla)
    resolution = bound.resolution
    for w, first in enumerate(firsts):
        lrs = bound.lr(np.arange(first, first + WINDOW))
        for j, name in enumerate(names):
            group = resolution.group_of(name)
            expected = np.zeros(WINDOW) if group is None else lrs[group]
            np.testing.assert_allclose(
                got[w, j], expected, rtol=1e-6, atol=FLUSHED, err_msg=f"{name}, steps from {first}"
            )


def compiled_values(
    schedule: sk.RecipeSchedule, steps: np.ndarray, xla: bool = False
) -> tuple[np.ndarray, ...]:
    """The schedule at ``steps`` inside one tf.function: step by step (what a train step
    evaluates: one step, shape ()) and as one vector of steps."""

    @tf.function(jit_compile=xla)
    def evaluate(t):
        one_by_one = tf.map_fn(schedule, t, fn_output_signature=tf.float32)
        return one_by_one, schedule(t)

    one_by_one, vector = evaluate(tf.constant(steps, tf.int64))
    return one_by_one.numpy(), vector.numpy()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data(), schedule=schedules(max_leaves=8))
def test_schedule_values_equal_core_for_any_tree(data, schedule):
    extra = [k for k in key_steps(schedule) if k <= 2**32]
    steps = data.draw(steps_arrays(max_size=30, extra=extra), label="steps")
    steps = steps[steps <= 2**32]
    if not steps.shape[0]:
        return
    lr = data.draw(hs.sampled_from([1.0, 3e-4]), label="lr")
    xla = data.draw(hs.sampled_from([False, False, False, True]), label="xla")
    expected = lr * schedule(steps)
    # the backend computes in float64 before its float32 result: a 1-ulp difference in its pow
    # or cos grows when a formula cancels terms of order 1, e.g. 1 - (1 - p) ** 1.2e-7
    cancellation = lr * 4 * np.finfo(np.float64).eps
    for got in compiled_values(sk.schedule(schedule, lr=lr), steps, xla):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=FLUSHED + cancellation)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data(), schedule=alike_sequences())
def test_alike_phases_as_one_formula_equal_core(data, schedule):
    """Sequences of alike phases, which a graph evaluates as one formula taking each step's
    phase fields (ops.gathers_phases): the core's values, step by step and as a vector."""
    steps = data.draw(steps_arrays(max_size=30, extra=key_steps(schedule)), label="steps")
    steps = steps[steps <= 2**32]
    if not steps.shape[0]:
        return
    xla = data.draw(hs.booleans(), label="xla")
    cancellation = 4 * np.finfo(np.float64).eps  # as for any tree (above)
    for got in compiled_values(sk.schedule(schedule), steps, xla):
        np.testing.assert_allclose(got, schedule(steps), rtol=1e-6, atol=FLUSHED + cancellation)
