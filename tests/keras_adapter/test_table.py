"""schedcore_keras.param_table: canonical dotted names, tags from layer types."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import schedcore as sc
import schedcore_keras as sk
from schedcore.groups.walk import module_tags


class MyRMSNorm(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        return x * self.scale


class Block(keras.layers.Layer):
    """A layer with sublayers: their weights' paths nest under the block's name."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proj = keras.layers.Dense(4, name="proj")
        self.LayerNorm = keras.layers.LayerNormalization(name="LayerNorm")

    def build(self, input_shape):
        self.proj.build(input_shape)
        self.LayerNorm.build((*input_shape[:-1], 4))

    def call(self, x):
        return self.LayerNorm(self.proj(x))


def model() -> keras.Model:
    tokens = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(10, 4, name="embed")(tokens)
    h = Block(name="encoder")(h)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.GroupNormalization(groups=2, name="gn")(h)
    h = keras.layers.RMSNormalization(name="rms")(h)
    h = MyRMSNorm(name="my_norm")(h)
    h = keras.layers.UnitNormalization(name="unit")(h)
    out = keras.layers.Dense(2, name="head")(h)
    return keras.Model(tokens, out)


def test_names_are_dotted_paths_and_tags_come_from_layer_types():
    table, variables = sk.table_and_variables(model())
    rows = {p.name: p for p in table}
    assert list(rows) == [
        "embed.embeddings",
        "encoder.proj.kernel", "encoder.proj.bias",
        "encoder.LayerNorm.gamma", "encoder.LayerNorm.beta",
        "bn.gamma", "bn.beta",
        "gn.gamma", "gn.beta",
        "rms.scale",
        "my_norm.scale",
        "head.kernel", "head.bias",
    ]  # fmt: skip
    assert "bn.moving_mean" not in rows  # state, not a parameter
    norms = {n for n, p in rows.items() if "norm" in p.tags}
    assert norms == {
        "encoder.LayerNorm.gamma", "encoder.LayerNorm.beta", "bn.gamma", "bn.beta",
        "gn.gamma", "gn.beta", "rms.scale", "my_norm.scale",
    }  # fmt: skip
    assert {n for n, p in rows.items() if "bias" in p.tags} == {"encoder.proj.bias", "head.bias"}
    assert {n for n, p in rows.items() if "embedding" in p.tags} == {"embed.embeddings"}
    assert "type:MyRMSNorm" in rows["my_norm.scale"].tags
    assert rows["encoder.proj.kernel"].shape == (4, 4)
    assert variables["head.kernel"].path == "head/kernel"


KERAS_NORMS = [
    getattr(keras.layers, n)
    for n in dir(keras.layers)
    if "Norm" in n and isinstance(getattr(keras.layers, n), type)
]


def test_the_keras_norm_list_is_not_empty():
    assert len(KERAS_NORMS) >= 6


@pytest.mark.parametrize("cls", KERAS_NORMS, ids=lambda c: c.__name__)
def test_every_keras_norm_layer_class_is_a_norm(cls):
    instance = cls.__new__(cls)  # the checks look at the type only
    assert sk.is_norm(instance)
    assert isinstance(instance, sk.table.NORM_TYPES), "the explicit list misses a Keras norm"


def test_rules_on_tags_and_dotted_names_resolve_against_the_model():
    recipe = sc.load(
        {
            "lr": 1e-3,
            "groups": {
                "defaults": {"weight_decay": 0.01},
                "rules": [
                    {"name": "no_decay", "match": {"tags": ["norm", "bias"]}, "weight_decay": 0.0},
                    {"name": "head", "match": {"prefix": "head."}, "lr": 1e-2},
                    {"name": "emb", "match": {"tags": ["embedding"]}, "frozen": True},
                ],
            },
        }
    )
    m = model()
    opt = sk.optimizer(m, recipe)
    opt.build(m.trainable_variables)
    decided = dict(zip(opt.plan.names, opt.plan.decay, strict=True))
    assert decided["encoder.LayerNorm.gamma"] == 0.0 and decided["encoder.proj.kernel"] == 0.01
    groups = opt.plan.resolution.groups
    frozen = [n for n, g in zip(opt.plan.names, opt.plan.group_of, strict=True) if g is None]
    assert frozen == ["embed.embeddings"]
    head = [g.lr for n, g in zip(opt.plan.names, opt.plan.group_of, strict=True)
            if n.startswith("head.") for g in [groups[g]]]  # fmt: skip
    assert head == [1e-2, 1e-2]


def test_param_table_is_a_table_that_bind_accepts():
    m = model()
    table = sk.param_table(m)
    assert isinstance(table, sc.ParamTable)
    assert table == sk.table_and_variables(m)[0]
    rules = [{"name": "no_decay", "match": {"tags": ["norm", "bias"]}, "weight_decay": 0.0}]
    bound = sc.load({"lr": 1e-3, "groups": {"defaults": {"weight_decay": 0.01}, "rules": rules}})
    groups = {g.weight_decay: g.params for g in bound.bind(table).groups}
    assert "encoder.LayerNorm.gamma" in groups[0.0] and "bn.beta" in groups[0.0]
    assert "encoder.proj.kernel" in groups[0.01]


class TwoDense(keras.Model):
    """Two sublayers with one name, built in the model's scope: their paths collide."""

    def __init__(self):
        super().__init__(name="two")
        self.first = keras.layers.Dense(2, name="dense")
        self.second = keras.layers.Dense(2, name="dense")

    def call(self, x):
        return self.first(x) + self.second(x)


def test_duplicate_paths_are_an_error_naming_the_path():
    model = TwoDense()
    model(np.ones((1, 2)))
    assert [v.path for v in model.weights].count("two/dense/kernel") == 2
    with pytest.raises(ValueError, match=r"two variables have the path 'two/dense/kernel'"):
        sk.param_table(model)


class Recurrent(keras.layers.Layer):
    """A layer with LSTM-style biases (``bias_ih``): the core tags them ``bias``."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2), name="kernel")
        self.bias_ih = self.add_weight(shape=(2,), initializer="zeros", name="bias_ih")

    def call(self, x):
        return x @ self.kernel + self.bias_ih


def test_tags_are_the_cores_for_every_variable():
    """Keras rows go through the core's walk: the same tags as a torch or OneFlow model."""
    layer = Recurrent(name="lstm")
    inputs = keras.Input((3,))
    m = keras.Model(inputs, layer(inputs))
    table, variables = sk.table_and_variables(m)
    rows = {p.name: p for p in table}
    assert rows["lstm.bias_ih"].tags == {"type:Recurrent", "bias"}
    assert rows["lstm.kernel"].tags == {"type:Recurrent"}
    for name, variable in variables.items():
        assert sk.tags_for(layer, variable) == rows[name].tags
        assert module_tags(sk.table.variable_entry(variable, layer)) == rows[name].tags
    # without the model (an optimizer built from bare variables): only the name's own tags
    bare, _ = sk.table.variables_table(m.trainable_variables)
    assert {p.name: p.tags for p in bare} == {"lstm.kernel": set(), "lstm.bias_ih": {"bias"}}
