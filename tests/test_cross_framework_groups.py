"""One recipe file, the same BERT-like model in PyTorch, Keras, JAX (Flax nnx) and OneFlow:
the same named groups (names, member counts, lr, weight decay).

The model is tiny: word and position embeddings with a norm, two encoder layers (attention
query / key / value / output dense layers, a norm, a feed-forward dense layer) and a dense
head. Each framework spells it its own way: torch and OneFlow say ``LayerNorm.weight`` and
``head.weight``, Keras ``layer_norm.gamma`` and ``head.kernel``, Flax ``layer_norm.scale``
and ``word.embedding``. The recipe
(``examples/bert_like.toml``) states its intent with tags, so it needs no spelling of any
framework. Every framework's groups are compared with the core's groups on a framework-free
table of the same architecture (:func:`neutral_table`) and with the names pinned here.

This module also serves ``tests/oneflow/test_shared_groups.py`` (the OneFlow venv): it
imports no framework at module level.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import schedcore as sc

RECIPE = Path(__file__).resolve().parents[1] / "examples" / "bert_like.toml"
VOCAB, POSITIONS, WIDTH, LAYERS, LABELS = 20, 6, 8, 2, 3
ATTENTION = ("query", "key", "value", "output")

# (name, members, lr, weight decay), in any order: what the recipe means for this model
EXPECTED = {
    ("default", 5 * LAYERS, 1e-4, 0.01),  # the encoder's dense kernels
    ("embeddings", 2, 5e-5, 0.01),  # word and position tables, 0.5x
    ("no_decay", 7 * LAYERS + 2, 1e-4, 0.0),  # every bias and norm weight of the encoder
    ("head", 1, 1e-3, 0.01),
    ("head+no_decay", 1, 1e-3, 0.0),
}

Summary = list[tuple[str, int, float, float | None]]


def neutral_table() -> sc.ParamTable:
    """The architecture as plain rows (torch's spelling), tagged as every adapter tags."""
    rows: list[dict[str, Any]] = [
        {"name": "embeddings.word.weight", "shape": [VOCAB, WIDTH], "tags": ["embedding"]},
        {"name": "embeddings.position.weight", "shape": [POSITIONS, WIDTH], "tags": ["embedding"]},
        {"name": "embeddings.LayerNorm.weight", "shape": [WIDTH], "tags": ["norm"]},
        {"name": "embeddings.LayerNorm.bias", "shape": [WIDTH], "tags": ["norm", "bias"]},
    ]
    for i in range(LAYERS):
        block = f"encoder.layer_{i}"
        for dense in (*(f"attention.{n}" for n in ATTENTION), "ffn"):
            rows.append({"name": f"{block}.{dense}.weight", "shape": [WIDTH, WIDTH]})
            rows.append({"name": f"{block}.{dense}.bias", "shape": [WIDTH], "tags": ["bias"]})
            if dense == "attention.output":
                rows.append({"name": f"{block}.LayerNorm.weight", "shape": [WIDTH],
                             "tags": ["norm"]})  # fmt: skip
                rows.append({"name": f"{block}.LayerNorm.bias", "shape": [WIDTH],
                             "tags": ["norm", "bias"]})  # fmt: skip
    rows.append({"name": "head.weight", "shape": [LABELS, WIDTH]})
    rows.append({"name": "head.bias", "shape": [LABELS], "tags": ["bias"]})
    return sc.ParamTable.of(rows)


def core_summary(recipe: sc.Recipe) -> Summary:
    """The groups of ``recipe`` bound to a table, in order."""
    return [(g.name, len(g.params), g.lr, g.weight_decay) for g in recipe.groups]


def torch_like_summary(groups: list[dict[str, Any]]) -> Summary:
    """The torch or OneFlow ``param_groups``, in order."""
    return [
        (g["name"], len(g["params"]), g["lr"], g.get("weight_decay")) for g in groups
    ]  # fmt: skip


def torch_like_bert(flow: Any) -> Any:
    """The model in ``flow``: the ``torch`` or ``oneflow`` module (same eager API)."""
    nn = flow.nn

    class Embeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Embedding(VOCAB, WIDTH)
            self.position = nn.Embedding(POSITIONS, WIDTH)
            self.LayerNorm = nn.LayerNorm(WIDTH)

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for name in ATTENTION:
                setattr(self, name, nn.Linear(WIDTH, WIDTH))

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = Attention()
            self.LayerNorm = nn.LayerNorm(WIDTH)
            self.ffn = nn.Linear(WIDTH, WIDTH)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for i in range(LAYERS):
                setattr(self, f"layer_{i}", Layer())

    class Bert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = Embeddings()
            self.encoder = Encoder()
            self.head = nn.Linear(WIDTH, LABELS)

    return Bert()


def keras_bert() -> Any:
    """The model in Keras 3, built (Keras' own spelling: ``layer_norm``, ``kernel``)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    class Attention(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.dense = [keras.layers.Dense(WIDTH, name=name) for name in ATTENTION]

        def call(self, x: Any) -> Any:
            q, k, v, out = self.dense
            weights = keras.ops.softmax(q(x) @ keras.ops.swapaxes(k(x), -1, -2))
            return out(weights @ v(x))

    class Layer(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.attention = Attention(name="attention")
            self.layer_norm = keras.layers.LayerNormalization(name="layer_norm")
            self.ffn = keras.layers.Dense(WIDTH, name="ffn")

        def call(self, x: Any) -> Any:
            return self.ffn(self.layer_norm(x + self.attention(x)))

    class Embeddings(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.word = keras.layers.Embedding(VOCAB, WIDTH, name="word")
            self.position = keras.layers.Embedding(POSITIONS, WIDTH, name="position")
            self.layer_norm = keras.layers.LayerNormalization(name="layer_norm")

        def call(self, ids: Any) -> Any:
            positions = keras.ops.arange(keras.ops.shape(ids)[1])
            return self.layer_norm(self.word(ids) + self.position(positions))

    class Encoder(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.blocks = [Layer(name=f"layer_{i}") for i in range(LAYERS)]

        def call(self, x: Any) -> Any:
            for block in self.blocks:
                x = block(x)
            return x

    ids = keras.Input((POSITIONS,), dtype="int32")
    hidden = Encoder(name="encoder")(Embeddings(name="embeddings")(ids))
    return keras.Model(ids, keras.layers.Dense(LABELS, name="head")(hidden))


# -- the core, PyTorch and Keras (the OneFlow venv runs tests/oneflow/test_shared_groups.py) --


def test_the_core_gives_the_named_groups_the_recipe_means():
    summary = core_summary(sc.load(RECIPE).bind(neutral_table()))
    assert set(summary) == EXPECTED
    assert len(summary) == len(EXPECTED)


def test_torch_gives_the_cores_named_groups():
    torch = pytest.importorskip("torch")
    import schedcore_torch as st

    recipe = sc.load(RECIPE)
    model = torch_like_bert(torch)
    assert st.param_table(model).names == neutral_table().names
    groups = st.param_groups(model, recipe)
    assert torch_like_summary(groups) == core_summary(recipe.bind(neutral_table()))
    assert {g["name"]: g["lr_scale"] for g in groups} == {
        "default": 1.0, "embeddings": 0.5, "no_decay": 1.0, "head": 10.0, "head+no_decay": 10.0,
    }  # fmt: skip


def keras_plan(model: Any, recipe: Any) -> Any:
    import schedcore_keras as sk

    optimizer = sk.optimizer(model, recipe)
    optimizer.build(model.trainable_variables)
    return optimizer.plan


def test_keras_gives_the_cores_named_groups_with_no_decay_on_layer_norms():
    pytest.importorskip("keras")
    model = keras_bert()
    plan = keras_plan(model, sc.load(RECIPE))
    members: dict[str, list[str]] = {}
    for variable, group in plan.variable_groups.items():
        members.setdefault(group, []).append(variable)
    decay = dict(zip(plan.names, plan.decay, strict=True))
    summary = [
        (name, len(members[name]), g.lr, g.weight_decay)
        for name, g in zip(plan.group_names, plan.resolution.groups, strict=True)
    ]
    assert summary == core_summary(sc.load(RECIPE).bind(neutral_table()))
    norms = [n for n in plan.names if n.rsplit(".", 1)[1] in ("gamma", "beta")]
    assert len(norms) == 2 * (LAYERS + 1)
    assert all(decay[n] == 0.0 for n in norms) and set(norms) <= set(members["no_decay"])
    assert decay["encoder.layer_0.attention.query.kernel"] == 0.01
    shown = str(plan)
    assert "no_decay: lr 0.0001, weight decay 0, schedule default: " in shown
    assert "embeddings.layer_norm.gamma" in shown.splitlines()[
        plan.group_names.index("no_decay")
    ]  # fmt: skip
    assert "head+no_decay: lr 0.001, weight decay 0, schedule default: head.bias" in shown


def test_torch_spellings_on_the_keras_model_fail_with_a_hint_to_use_tags():
    """The seed's ``contains = ["bias", "LayerNorm"]`` would silently decay every Keras
    LayerNormalization weight: its item 'LayerNorm' matches nothing there, an error."""
    pytest.importorskip("keras")
    data = sc.load(RECIPE).to_dict()
    data["groups"]["rules"][2]["match"] = {"contains": ["bias", "LayerNorm"]}
    with pytest.raises(sc.SpecError, match=r"rules\[2\]\.match\.contains\[1\]: 'LayerNorm'") as e:
        keras_plan(keras_bert(), sc.load(data))
    assert "tags" in str(e.value) and "norm" in str(e.value)


# -- JAX: a Flax nnx model, its leaves named by key path --------------------------------------


def nnx_bert() -> Any:
    """The model in Flax nnx (Flax's spelling: ``layer_norm.scale``, ``word.embedding``)."""
    from flax import nnx

    rngs = nnx.Rngs(0)

    class Embeddings(nnx.Module):
        def __init__(self) -> None:
            self.word = nnx.Embed(VOCAB, WIDTH, rngs=rngs)
            self.position = nnx.Embed(POSITIONS, WIDTH, rngs=rngs)
            self.layer_norm = nnx.LayerNorm(WIDTH, rngs=rngs)

    class Attention(nnx.Module):
        def __init__(self) -> None:
            for name in ATTENTION:
                setattr(self, name, nnx.Linear(WIDTH, WIDTH, rngs=rngs))

    class Layer(nnx.Module):
        def __init__(self) -> None:
            self.attention = Attention()
            self.layer_norm = nnx.LayerNorm(WIDTH, rngs=rngs)
            self.ffn = nnx.Linear(WIDTH, WIDTH, rngs=rngs)

    class Encoder(nnx.Module):
        def __init__(self) -> None:
            for i in range(LAYERS):
                setattr(self, f"layer_{i}", Layer())

    class Bert(nnx.Module):
        def __init__(self) -> None:
            self.embeddings = Embeddings()
            self.encoder = Encoder()
            self.head = nnx.Linear(WIDTH, LABELS, rngs=rngs)

    return Bert()


def test_jax_gives_the_cores_named_groups_and_applies_their_lrs():
    pytest.importorskip("flax.nnx")
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    import schedcore_jax as sj

    recipe = sc.load(RECIPE)
    model = nnx_bert()
    plan = sj.plan(model, recipe)
    summary = [
        (g.name, plan.group_of.count(i), g.lr, g.weight_decay)
        for i, g in enumerate(plan.resolution.groups)
    ]
    assert summary == core_summary(recipe.bind(neutral_table()))
    decay = dict(zip(plan.names, plan.decay, strict=True))
    norms = [n for n in plan.names if ".layer_norm." in n]
    assert len(norms) == 2 * (LAYERS + 1)
    assert all(decay[n] == 0.0 for n in norms)
    assert all(plan.leaf_groups[n] == "no_decay" for n in norms)
    assert plan.leaf_groups["embeddings.word.embedding"] == "embeddings"
    assert decay["encoder.layer_0.attention.query.kernel"] == 0.01

    # the lr each leaf gets: SGD from zero weights with a gradient of -1, at the warmup's end
    params = jax.tree_util.tree_map(jnp.zeros_like, sj.params_of(model))
    tx = sj.optimizer(model, recipe, base=optax.sgd)  # the model: its module tags
    grads = jax.tree_util.tree_map(lambda p: -jnp.ones_like(p), params)
    update = jax.jit(tx.update)
    state = tx.init(params)
    for _ in range(11):  # updates 0 .. 10: the last is the peak (warmup = 10)
        updates, state = update(grads, state, params)
    lr_of = {g.name: g.lr for g in plan.resolution.groups}
    got = [float(u.reshape(-1)[0]) for u in jax.tree_util.tree_leaves(updates)]
    expected = [lr_of[plan.leaf_groups[n]] for n in sj.leaf_names(params)]
    np.testing.assert_allclose(got, expected, rtol=2e-6)
