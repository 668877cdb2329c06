"""schedcore_jax against hostile input: every bad argument to ``optimizer`` and ``schedule``
is refused with an error that names the argument (or field), what was given and what is
accepted; nothing is silently accepted and no error comes from deep inside JAX or optax."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import schedcore as sc
import schedcore_jax as sj

PARAMS = {"body": {"kernel": jnp.ones((2, 3)), "bias": jnp.ones(3)}}
RECIPE = {
    "version": 1, "lr": 1e-3, "training": {"total_steps": 10},
    "schedule": {"warmup": 2, "decay": "cosine"},
    "groups": {
        "defaults": {"weight_decay": 0.01},
        "rules": [{"name": "no_decay", "match": {"tags": ["bias"]}, "weight_decay": 0.0}],
    },
}  # fmt: skip
PLAIN = {"version": 1, "lr": 1e-3, "schedule": {"type": "constant"},
         "groups": {"defaults": {"weight_decay": 0.01}}}  # fmt: skip
EVERY_X64 = 'jax.config.update("jax_enable_x64", True)'


def update_once(params, recipe=PLAIN, **kwargs):
    tx = sj.optimizer(params, recipe, **kwargs)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    return tx.update(grads, tx.init(params), params)[0]


# ---------------------------------------------------------------------------- params


@pytest.mark.parametrize(
    ("params", "error", "said"),
    [
        ({"a": jnp.ones(2), "b": "x"}, TypeError, r"params\['b'\]: a leaf must be an array .*'x'"),
        ({"a": jnp.ones(2), "b": 3}, TypeError, r"params\['b'\]: a leaf must be an array .*got 3"),
        ({"a": jnp.ones(2), "b": jnp.ones(2, jnp.int32)}, TypeError,
         r"params leaf 'b': a trained leaf must be a floating-point array, got int32"),
        ({}, ValueError, r"params has no array leaves, got \{\}"),
        (None, ValueError, r"params has no array leaves, got None"),
        ({"a": None}, ValueError, r"params has no array leaves"),
        (jnp.ones(3), ValueError, r"params is a single array.*\{'w': array\}"),
        ({0: jnp.ones(2), "0": jnp.ones(2)}, TypeError,
         r"params must be a pytree of arrays JAX can flatten \(dicts with keys of one type"),
        ({"a.b": jnp.ones(2), "a": {"b": jnp.ones(2)}}, ValueError,
         r"params: the leaves at \['a'\]\['b'\] and \['a.b'\] have the same name 'a.b'"),
    ],
)  # fmt: skip
def test_params_that_are_not_a_pytree_of_named_arrays_are_refused(params, error, said):
    with pytest.raises(error, match=said):
        sj.optimizer(params, PLAIN)


def test_pytrees_of_arrays_in_any_container_work_and_none_leaves_are_empty():
    out = update_once({"a": jnp.ones(2), "b": None, "c": 3.0})  # None: an empty subtree
    assert out["b"] is None and out["c"].shape == ()
    for params in ([jnp.ones(2), jnp.ones(3)], (jnp.ones(2),), {0: {"w": np.ones(2)}}):
        assert sj.leaf_names(params)[0] in ("0", "0.w")
        update_once(params)
    # np.float32 leaves and nested dicts with int keys: named "0.w", "1.bias"
    names = sj.plan({0: {"w": np.ones(2, np.float32)}, 1: {"bias": jnp.ones(2)}}, RECIPE).names
    assert names == ("0.w", "1.bias")


def test_an_integer_leaf_the_table_freezes_is_accepted():
    params = {"w": jnp.ones(2), "count": jnp.zeros((), jnp.int32)}
    table = [{"name": "w", "shape": [2]}, {"name": "count", "shape": [], "trainable": False}]
    out = update_once(params, table=table)
    assert int(out["count"]) == 0


def test_a_table_without_a_leaf_names_the_table_and_the_leaf():
    with pytest.raises(ValueError, match=r"table has no row for the params leaf 'body.bias'"):
        sj.optimizer(PARAMS, RECIPE, table=[{"name": "body.kernel", "shape": [2, 3]}])


# ---------------------------------------------------------------------------- recipe


def test_recipe_typos_dead_rules_and_anonymous_groups_fail_as_in_every_adapter():
    typo = {**PLAIN, "groups": {"defaults": {}, "rules": [
        {"name": "head", "match": {"prefix": ["bdy."]}, "lr_scale": 2.0}]}}  # fmt: skip
    with pytest.raises(sc.SpecError, match=r"groups\.rules\[0\]: rule 'head' matches no param"):
        sj.optimizer(PARAMS, typo)
    dead = {**PLAIN, "groups": {"defaults": {}, "rules": [
        {"name": "no_decay", "match": {"contains": ["bias", "LayerNorm"]},
         "weight_decay": 0.0}]}}  # fmt: skip
    with pytest.raises(sc.SpecError, match=r"groups\.rules\[0\]\.match\.contains\[1\]: "
                                           r"'LayerNorm'"):  # fmt: skip
        sj.optimizer(PARAMS, dead)
    anonymous = {**PLAIN, "groups": {"rules": [{"match": {"tags": ["bias"]}, "lr_scale": 2}]}}
    with pytest.raises(sc.SpecError, match=r"groups\.rules\[0\]\.name: is required"):
        sj.optimizer(PARAMS, anonymous)
    with pytest.raises(sc.SpecError, match=r"schedule\.decay"):
        sj.optimizer(PARAMS, {**RECIPE, "schedule": {"warmup": 2, "decay": "cosin"}})


@pytest.mark.parametrize("recipe", [3, None, [1, 2]])
def test_a_recipe_of_another_type_is_refused(recipe):
    with pytest.raises(TypeError, match=r"^recipe must be a schedcore.Recipe, a schedule, "):
        sj.optimizer(PARAMS, recipe)
    with pytest.raises(TypeError, match=r"^recipe_or_schedule must be a schedcore.Recipe"):
        sj.schedule(recipe)


@pytest.mark.parametrize("lr", [-1, 0, "x", float("nan"), float("inf")])
def test_a_bad_lr_is_refused_by_optimizer_and_schedule(lr):
    with pytest.raises(sc.SpecError, match=r"^lr: must be a number in \[1e-30, 1e\+06\], got"):
        sj.optimizer(PARAMS, RECIPE, lr=lr)
    with pytest.raises(sc.SpecError, match=r"^lr: must be a number"):
        sj.schedule(RECIPE, lr=lr)
    with pytest.raises(sc.SpecError, match=r"^lr: must be a number"):
        sj.schedule(sc.cosine(steps=10), lr=lr)


# ---------------------------------------------------------------------------- base and kwargs


@pytest.mark.parametrize("key", ["learning_rate", "weight_decay"])
def test_learning_rate_and_weight_decay_are_the_recipes(key):
    with pytest.raises(TypeError, match=rf"^{key}: the recipe decides it .*got {key}=0.1"):
        sj.optimizer(PARAMS, RECIPE, **{key: 0.1})


def test_unknown_keyword_arguments_name_what_base_takes():
    with pytest.raises(TypeError, match=r"^momentm: not an argument of optax\.adamw, which "
                                        r"takes b1, b2, eps, .*got momentm=0.9"):  # fmt: skip
        sj.optimizer(PARAMS, RECIPE, momentm=0.9)
    with pytest.raises(TypeError, match=r"^b1: not an argument of optax\.sgd, which takes "
                                        r"momentum, nesterov"):  # fmt: skip
        sj.optimizer(PARAMS, RECIPE, base=optax.sgd, b1=0.9)
    sj.optimizer(PARAMS, RECIPE, base=optax.sgd, momentum=0.9)  # a real one passes through


@pytest.mark.parametrize(
    ("base", "said"),
    [
        (None, r"got None$"),
        ("adamw", r"got 'adamw'$"),
        (optax.adamw(1e-3), r"got GradientTransformation"),
        (optax.scale_by_adam, r"got optax\.scale_by_adam, which takes \(b1, b2, "),
        (optax.cosine_decay_schedule, r"got optax\.cosine_decay_schedule, which takes"),
        (lambda: optax.sgd(1.0), r"got <lambda>, which takes \(no arguments\)"),
    ],
)
def test_a_base_that_is_not_an_optax_optimizer_function_is_refused(base, said):
    with pytest.raises(TypeError, match=r"^base must be an optax optimizer function taking "
                                        r"learning_rate \(optax\.adamw, optax\.sgd\), " + said):
        sj.optimizer(PARAMS, RECIPE, base=base)


def test_a_base_that_returns_no_gradient_transformation_is_refused():
    with pytest.raises(TypeError, match=r"^base must return an optax GradientTransformation, "
                                        r".*\(\.\.\.\) returned 3$"):  # fmt: skip
        sj.optimizer(PARAMS, RECIPE, base=lambda learning_rate: 3)


# ---------------------------------------------------------------------------- schedule steps

SCHEDULE = sj.schedule(RECIPE)


def test_int_and_int_array_steps_equal_the_core():
    core = sc.load(RECIPE).lr(np.arange(12))
    np.testing.assert_allclose(SCHEDULE(np.arange(12)), core, rtol=2e-6)
    np.testing.assert_allclose(float(SCHEDULE(3)), core[3], rtol=2e-6)
    np.testing.assert_allclose(SCHEDULE([1, 2]), core[1:3], rtol=2e-6)
    np.testing.assert_allclose(jax.vmap(SCHEDULE)(jnp.arange(12)), core, rtol=2e-6)
    np.testing.assert_allclose(jax.jit(jax.vmap(SCHEDULE))(jnp.arange(12)), core, rtol=2e-6)
    assert SCHEDULE(np.array([], np.int64)).shape == (0,)


@pytest.mark.parametrize(
    ("step", "said"),
    [
        (2.5, r"got 2\.5 of dtype float64"),
        (np.array([1.5, 2.5]), r"got array\(\[1\.5, 2\.5\]\) of dtype float64"),
        (True, r"got True of dtype bool"),
        ("3", r"got '3'$"),
        (None, r"got None$"),
        ([1, [2]], r"got \[1, \[2\]\]$"),
    ],
)
def test_steps_that_are_not_integers_are_refused(step, said):
    with pytest.raises(TypeError, match=r"^step must be an int or an int array \(0-based "
                                        r"update counts\), " + said):  # fmt: skip
        SCHEDULE(step)


def test_float_steps_are_refused_when_traced():
    said = r"^step must be an integer update count \(optax passes an int32 count\), got a " \
        r"traced float32 value"
    with pytest.raises(TypeError, match=said):
        jax.jit(SCHEDULE)(2.5)
    with pytest.raises(TypeError, match=said):
        jax.vmap(SCHEDULE)(jnp.asarray([2.5, 3.0]))


def test_negative_steps_raise_eagerly_and_give_nan_when_traced():
    with pytest.raises(sc.StepRangeError, match=r"^step must be >= 0, got -3"):
        SCHEDULE(-3)
    with pytest.raises(sc.StepRangeError, match=r"^steps must be >= 0, got -1"):
        SCHEDULE(jnp.array([-1, 2]))
    assert np.isnan(float(jax.jit(SCHEDULE)(-3)))
    got = np.asarray(jax.vmap(SCHEDULE)(jnp.array([-1, 2])))
    assert np.isnan(got[0]) and got[1] == pytest.approx(1e-3)


@pytest.mark.parametrize("step", [2**31, 2**40, np.int64(2**33), np.array([1, 2**33])])
def test_steps_past_2_31_are_refused_without_x64(step):
    assert not jax.config.jax_enable_x64
    with pytest.raises(ValueError, match=r"^step must be < 2\*\*31 with JAX's int32 steps, got "
                                         r"\d+; enable 64-bit mode \(" + EVERY_X64[:10]):
        SCHEDULE(step)


def test_steps_past_2_31_work_with_x64():
    far = sc.load(RECIPE).lr(2**40)
    with jax.enable_x64(True):
        assert float(SCHEDULE(2**40)) == far
        assert float(jax.jit(SCHEDULE)(2**40)) == far
        assert SCHEDULE.precision == "float64"


def test_a_schedule_counting_past_2_31_is_refused_without_x64():
    shifted = sj.schedule(sc.shift(sc.cosine(steps=10), offset=2**32))
    with pytest.raises(ValueError, match=r"^shift: the schedule counts steps past 2\*\*31 "
                                         r"\(4294967296\).*enable 64-bit mode"):  # fmt: skip
        shifted(3)


def test_after_error_raises_eagerly_and_holds_when_traced():
    node = sc.from_dict({"type": "cosine", "steps": 10, "after": "error"})
    fn = sj.schedule(node)
    with pytest.raises(sc.StepRangeError, match=r"^cosine: step 20 is past its end \(10 "
                                                r"steps\) and after = 'error'"):  # fmt: skip
        fn(20)
    with pytest.raises(sc.StepRangeError, match="past its end"):
        fn(np.arange(15))
    assert float(fn(10)) == node(10)  # the end itself is in range
    traced = np.asarray(jax.vmap(fn)(jnp.arange(15)))  # a traced function cannot raise
    np.testing.assert_allclose(traced, node(np.minimum(np.arange(15), 10)), atol=1e-7)
    recipe = {"version": 1, "lr": 1e-3, "schedule": node.to_dict()}
    tx = sj.optimizer(PARAMS, recipe)  # built: the recipe itself is valid
    assert isinstance(tx, optax.GradientTransformation)
