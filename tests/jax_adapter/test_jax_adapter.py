"""schedcore_jax: the lr each leaf gets in a jitted optax train step equals the core's.

Recipes come from the shared strategy (``tests/strategies.py``). Every trainable row of
the drawn parameter table becomes a leaf of a nested-dict params pytree whose key path is
that name, and the recipe-driven ``optax.sgd`` updates them in a jitted ``lax.scan`` with
a constant gradient of -1: the update is the lr applied to the leaf, exactly. It must equal
``recipe.lr(k)`` of the leaf's group at the start, around the end and far past it; at
float32 tolerance with JAX's 64-bit mode off and to 1e-12 with it on (``jax.enable_x64``).
"""

from __future__ import annotations

import copy

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as hs

import schedcore as sc
import schedcore_jax as sj
from schedcore.port.compiled import quotient
from strategies import key_steps, recipes, schedules, steps_arrays

WINDOW = 12
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nested(rows: list[dict], dtype) -> dict:
    """A nested-dict pytree with a zero leaf per trainable row, at the row's dotted path."""
    out: dict = {}
    for row in rows:
        if not row["trainable"]:
            continue
        *scopes, leaf = row["name"].split(".")
        place = out
        for scope in scopes:
            place = place.setdefault(scope, {})
        place[leaf] = jnp.zeros(row["shape"], dtype)
    return out


def set_count(state, first: int):
    """The optimizer state with every step count (the integer leaves) set to ``first``."""
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(first, x.dtype) if jnp.issubdtype(x.dtype, jnp.integer) else x,
        state,
    )


def applied(tx, params, firsts: list[int]) -> np.ndarray:
    """``(len(firsts), leaves, WINDOW)``: the lr each leaf gets at updates first .. first +
    WINDOW - 1 (SGD, gradient -1, the parameters reset to 0 before each update)."""
    grads = jax.tree_util.tree_map(lambda p: -jnp.ones_like(p), params)

    def step(state, _):
        updates, state = tx.update(grads, state, params)
        return state, jnp.stack([u.reshape(-1)[0] for u in jax.tree_util.tree_leaves(updates)])

    run = jax.jit(lambda s: jax.lax.scan(step, s, None, length=WINDOW)[1])
    state = tx.init(params)
    return np.stack([np.asarray(run(set_count(state, f)), np.float64).T for f in firsts])


def check_recipe(doc, rows, data, dtype, rtol: float) -> None:
    recipe = sc.load(doc)
    params = nested(rows, dtype)
    assume(jax.tree_util.tree_leaves(params))
    bound = recipe.bind(rows)
    if dtype == jnp.float32:
        trees = [recipe.schedule, *recipe.schedules.values()]
        # int32 steps: schedules counting past 2**31 are refused
        assume(fits_int32([t.to_dict() for t in trees]))
        # a periodic cosine's argument grows with the step: float32 cos(2 pi c k / n) at
        # k = 10**6 has no correct digits (float32's own limit, optax's too)
        assume(not any(periodic_cosine(t) for t in trees))
    tx = sj.optimizer(params, recipe, base=optax.sgd, table=rows)
    end = recipe.total_steps or recipe.schedule.length or WINDOW
    far = data.draw(hs.integers(end, end + 10**6), label="far")
    firsts = [0, max(end - WINDOW // 2, 0), far]
    got = applied(tx, params, firsts)
    names = sj.leaf_names(params)
    for w, first in enumerate(firsts):
        lrs = bound.lr(np.arange(first, first + WINDOW))
        for j, name in enumerate(names):
            group = bound.resolution.group_of(name)
            expected = np.zeros(WINDOW) if group is None else lrs[group]
            # an lr below the dtype's smallest normal number may be flushed to 0
            tiny = float(np.finfo(dtype).tiny)
            atol = 0.0 if group is None else max(rtol * bound.groups[group].lr, tiny)
            np.testing.assert_allclose(
                got[w, j], expected, rtol=rtol, atol=atol, err_msg=f"{name}, steps from {first}"
            )


@FEW
@given(case=recipes(max_leaves=4), data=hs.data())
def test_applied_lr_equals_core_in_float32(case, data):
    # float32 throughout (x64 off): a few float32 roundings, relative to the group's lr
    check_recipe(*case, data, jnp.float32, rtol=2e-6)


@FEWER
@given(case=recipes(max_leaves=4), data=hs.data())
def test_applied_lr_equals_core_in_float64_with_x64(case, data):
    with jax.enable_x64(True):
        check_recipe(*case, data, jnp.float64, rtol=1e-12)


@FEWER
@given(schedule=schedules(max_leaves=6), data=hs.data())
def test_schedule_values_equal_core_for_any_tree(schedule, data):
    extra = [k for k in key_steps(schedule) if k < 2**31]
    steps = data.draw(steps_arrays(max_size=20, extra=extra), label="steps")
    steps = steps[steps < 2**31]
    assume(steps.shape[0])
    expected = schedule(steps)
    fn = sj.schedule(schedule)
    with jax.enable_x64(True):
        vector = np.asarray(jax.jit(jax.vmap(fn))(steps))
        assert vector.dtype == np.float64
        np.testing.assert_allclose(vector, expected, rtol=1e-12, atol=1e-300)
    # 32-bit mode: int32 steps, so steps and the tree's own integers (shift offsets,
    # lengths) must stay below 2**31; float32 counts steps exactly below 2**24
    if periodic_cosine(schedule):  # float32 cos of a growing argument (see above)
        return
    if not fits_int32(schedule.to_dict()):
        with pytest.raises(ValueError, match=r"counts steps past 2\*\*31 .* enable 64-bit mode"):
            fn(0)
        return
    small = steps[steps < 2**24]
    one = np.asarray(jax.jit(jax.vmap(fn))(small.astype(np.int32)))
    assert one.dtype == np.float32 and fn.precision == "float32"
    # XLA flushes float32 subnormals (below 2**-126, about 1.2e-38) to zero
    atol = max(2e-6 * schedule.peak(), float(np.finfo(np.float32).tiny))
    np.testing.assert_allclose(one, expected[steps < 2**24], rtol=3e-5, atol=atol)


def periodic_cosine(tree: sc.Schedule) -> bool:
    return any(n.type_name == "cosine" and n.after == "periodic" for n in tree.walk())


def fits_int32(data) -> bool:
    if isinstance(data, dict):
        return all(fits_int32(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return all(fits_int32(v) for v in data)
    return not isinstance(data, int) or abs(data) < 2**31


# -- boundaries under jit ----------------------------------------------------------------------
STAIRS = [n for n in range(1, 301) if len(sc.port.compiled.stair_shifts(n)) and n < 200][:40]


def test_staircase_and_restart_boundaries_land_on_the_numpy_step_under_jit():
    """optax's own staircase moves (``55 * fl(1 / 55) < 1``: 1.0 at update 55); the
    recipe's stairs, milestones and SGDR restarts (fractional growth, issue 16's 39) land
    exactly where numpy puts them, float32 or float64."""
    optax_55 = jax.jit(optax.exponential_decay(1.0, 55, 0.5, staircase=True))
    assert float(optax_55(55)) == 1.0  # optax's boundary moved under jit
    assert np.floor(quotient(55, 55)) == 0
    nodes = [sc.from_dict({"type": "exponential", "rate": 0.5, "every": n, "staircase": True})
             for n in STAIRS[:12]]  # fmt: skip
    nodes += [
        sc.from_dict({"type": "sgdr", "period": 4, "t_mul": 2.5, "m_mul": 0.9, "end": 0.1}),
        sc.from_dict({"type": "sgdr", "period": 16, "t_mul": 1.25, "end": 0.0}),
        sc.from_dict({"type": "sgdr", "period": 7, "t_mul": 2.0, "end": 0.0}),
        sc.from_dict({"type": "step", "every": 55, "gamma": 0.5}),
        sc.from_dict({"type": "multistep", "milestones": [3, 55, 110], "gamma": 0.1}),
    ]
    k = np.arange(0, 4000)
    for node in nodes:
        expected = node(k)
        changes = np.flatnonzero(np.diff(expected) > 0) + 1  # restarts: value jumps up
        drops = np.flatnonzero(np.diff(expected) < -1e-3 * node.peak()) + 1
        for wide in (False, True):
            with jax.enable_x64(wide):
                got = np.asarray(jax.jit(jax.vmap(sj.schedule(node)))(k), np.float64)
            np.testing.assert_allclose(got, expected, rtol=3e-6, atol=1e-7, err_msg=str(node))
            np.testing.assert_array_equal(np.flatnonzero(np.diff(got) > 0) + 1, changes)
            if node.type_name in ("exponential", "step", "multistep"):
                jumps = np.flatnonzero(np.diff(got) < -1e-3 * node.peak()) + 1
                np.testing.assert_array_equal(jumps, drops, err_msg=str(node))
    restart = nodes[-5]  # issue 16: t_mul 2.5 restarts at 4 + 10 + 25 = 39
    assert restart(39) > restart(38)
    assert float(jax.jit(sj.schedule(restart))(39)) == pytest.approx(restart(39), rel=1e-6)


# -- checkpoints ---------------------------------------------------------------------------------
RECIPE = {
    "lr": 0.1,
    "training": {"total_steps": 40},
    "schedule": {"warmup": 5, "decay": "cosine", "min_lr_ratio": 0.05},
    "schedules": {"head": {"type": "exponential", "rate": 0.5, "every": 7, "staircase": True}},
    "groups": {
        "defaults": {"weight_decay": 0.01},
        "rules": [
            {"name": "head", "match": {"prefix": "head."}, "lr": 0.5, "schedule": "head"},
            {
                "name": "no_decay",
                "match": {"tags": ["bias", "norm"], "optional": ["norm"]},
                "weight_decay": 0.0,
            },
        ],
    },
}


def _train(tx, params, state, steps: int):
    grad = jax.jit(jax.grad(lambda p: sum(jnp.sum(jnp.sin(x) * x) for x in jax.tree.leaves(p))))

    @jax.jit
    def step(params, state):
        updates, state = tx.update(grad(params), state, params)
        return optax.apply_updates(params, updates), state

    for _ in range(steps):
        params, state = step(params, state)
    return params, state


def test_checkpoint_restore_continues_bit_identically(tmp_path):
    import orbax.checkpoint as ocp

    params = {"body": {"kernel": jnp.linspace(-1, 1, 6).reshape(2, 3), "bias": jnp.ones(3)},
              "head": {"kernel": jnp.full((3,), 0.5)}}  # fmt: skip
    tx = sj.optimizer(params, RECIPE)
    straight = _train(tx, params, tx.init(params), 20)
    half = _train(tx, params, tx.init(params), 9)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "ckpt", {"params": half[0], "opt": half[1]})
    checkpointer.wait_until_finished()
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"params": half[0], "opt": half[1]})
    restored = checkpointer.restore(tmp_path / "ckpt", target)
    resumed = _train(tx, restored["params"], restored["opt"], 11)
    for a, b in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# -- the group policy --------------------------------------------------------------------------
def test_flax_models_params_get_their_groups():
    class Linen(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.LayerNorm()(nn.Dense(3)(nn.Embed(5, 4)(x)))
            return nn.Dense(2, name="head")(x)

    variables = Linen().init(jax.random.key(0), jnp.ones((1,), jnp.int32))
    recipe = copy.deepcopy(RECIPE)
    recipe["groups"]["rules"][0]["match"]["prefix"] = "params.head."  # linen's key path
    linen = sj.plan(variables, recipe)
    assert linen.leaf_groups == {
        "params.Dense_0.bias": "no_decay", "params.Dense_0.kernel": "default",
        "params.Embed_0.embedding": "default", "params.LayerNorm_0.bias": "no_decay",
        "params.LayerNorm_0.scale": "no_decay", "params.head.bias": "head+no_decay",
        "params.head.kernel": "head",
    }  # fmt: skip
    assert "embedding" in sj.param_table(variables).rows[2].tags

    class Model(nnx.Module):
        def __init__(self, rngs):
            self.norm = nnx.LayerNorm(3, rngs=rngs)
            self.head = nnx.Linear(3, 2, rngs=rngs)

    model = Model(nnx.Rngs(0))
    decided = sj.plan(model, RECIPE)
    assert decided.leaf_groups == {"head.bias": "head+no_decay", "head.kernel": "head",
                                   "norm.bias": "no_decay", "norm.scale": "no_decay"}  # fmt: skip
    assert decided.decay == (0.0, 0.01, 0.0, 0.0)
    optimizer = nnx.Optimizer(model, sj.optimizer(model, RECIPE, base=optax.sgd), wrt=nnx.Param)
    grads = jax.tree.map(lambda p: -jnp.ones_like(p), nnx.state(model, nnx.Param))
    before = np.asarray(model.head.kernel[...]).copy()
    optimizer.update(model, grads)
    lr = sc.load(RECIPE).bind(sj.param_table(model)).lr(0)
    head = decided.resolution.groups.index(decided.resolution.groups[1])
    assert head == 1
    np.testing.assert_allclose(
        np.asarray(model.head.kernel[...]) - before * (1 - 0.01 * lr[1]), lr[1], rtol=1e-6
    )


def test_policy_errors_dead_rules_and_frozen_leaves_behave_as_in_other_adapters():
    params = {"body": {"kernel": jnp.zeros((2, 2)), "bias": jnp.zeros(2)},
              "head": {"kernel": jnp.zeros(2)}}  # fmt: skip
    rule = {"name": "x", "match": {"prefix": "hed."}, "lr": 1.0}
    typo = {"lr": 0.1, "groups": {"defaults": {}, "rules": [rule]}}
    with pytest.raises(sc.SpecError, match=r"groups\.rules\[0\]: rule 'x' matches no parameter"):
        sj.optimizer(params, typo)  # at construction, not at the first step
    with pytest.raises(TypeError, match=r"weight_decay: the recipe decides it"):
        sj.optimizer(params, RECIPE, weight_decay=0.5)
    with pytest.raises(TypeError, match=r"learning_rate: the recipe decides it"):
        sj.optimizer(params, RECIPE, learning_rate=0.5)
    with pytest.raises(TypeError, match=r"recipe must be a schedcore\.Recipe"):
        sj.optimizer(params, 0.1)
    rule = {"name": "f", "match": {"prefix": "body."}, "frozen": True}
    frozen = {"lr": 0.1, "groups": {"defaults": {}, "rules": [rule]}}
    tx = sj.optimizer(params, frozen, base=optax.sgd)
    got = applied(tx, params, [0])[0]
    np.testing.assert_array_equal(got[:2], 0.0)  # body.bias, body.kernel: not updated
    np.testing.assert_allclose(got[2], 0.1, rtol=1e-7)
    # groups are named as in every adapter (a leaf under two rules: "head+no_decay")
    # groups no rule names (layer decay: layer_0, default+layer_1) route like named ones
    layered = {"blocks": {"0": {"w": jnp.zeros(2)}, "1": {"w": jnp.zeros(2)}},
               "head": {"w": jnp.zeros(2)}}  # fmt: skip
    llrd = {"name": "llrd", "match": {"prefix": "blocks."}, "layer_decay": 0.5}
    anonymous = {"lr": 0.1, "groups": {"defaults": {}, "layers": {"pattern": r"blocks\.(\d+)\."},
                                       "rules": [llrd]}}  # fmt: skip
    decided = sj.plan(layered, anonymous)
    assert decided.leaf_groups == {"blocks.0.w": "layer_0", "blocks.1.w": "default+layer_1",
                                   "head.w": "default+layer_1"}  # fmt: skip
    tx = sj.optimizer(layered, anonymous, base=optax.sgd)
    np.testing.assert_allclose(applied(tx, layered, [0])[0][:, 0], [0.05, 0.1, 0.1], rtol=1e-7)


def test_32_bit_mode_refuses_step_counts_past_int32_and_says_its_precision():
    far = sc.from_dict({"type": "shift", "schedule": {"type": "constant"}, "offset": 2**40})
    with pytest.raises(ValueError, match=r"shift: the schedule counts steps past 2\*\*31"):
        jax.jit(sj.schedule(far))(0)
    assert repr(sj.schedule(far)).endswith("float32)")
    with jax.enable_x64(True):
        assert float(jax.jit(sj.schedule(far))(0)) == 1.0
        assert sj.schedule(far).precision == "float64"
