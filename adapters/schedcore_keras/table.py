"""Fill schedcore's parameter table from a Keras 3 model.

Names are canonical: a variable's ``path`` with ``/`` replaced by ``.`` (``encoder/LayerNorm/
gamma`` -> ``encoder.LayerNorm.gamma``), so the same dotted rules serve PyTorch and Keras
recipes. Rules match full names and tags, never Keras' short names (``gamma``, ``kernel``):
matching short names is how ``exclude_from_weight_decay(var_names=["LayerNorm"])`` silently
matches nothing.
"""

from __future__ import annotations

from typing import Any

import keras

from schedcore import Param, ParamTable

NORM_TYPES: tuple[type, ...] = tuple(
    getattr(keras.layers, name)
    for name in (
        "BatchNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "UnitNormalization",
        "RMSNormalization",
        "SpectralNormalization",
        "Normalization",
    )
    if hasattr(keras.layers, name)
)
EMBEDDING_TYPES: tuple[type, ...] = (keras.layers.Embedding,)


def canonical(path: str) -> str:
    """A Keras variable path as a dotted schedcore name: ``dense/kernel`` -> ``dense.kernel``."""
    return path.replace("/", ".")


def is_norm(layer: Any) -> bool:
    """Every Keras norm layer, and any layer class whose name contains ``Norm`` (a user's
    ``RMSNorm``, keras-hub's ``...LayerNorm``)."""
    return isinstance(layer, NORM_TYPES) or "Norm" in type(layer).__name__


def tags_for(layer: Any, variable: Any) -> frozenset[str]:
    """``type:<LayerClass>``, plus ``norm``, ``embedding`` and ``bias`` where they apply."""
    tags = {f"type:{type(layer).__name__}"}
    if is_norm(layer):
        tags.add("norm")
    if isinstance(layer, EMBEDDING_TYPES):
        tags.add("embedding")
    if variable.name == "bias":
        tags.add("bias")
    return frozenset(tags)


def variable_row(variable: Any, tags: frozenset[str] = frozenset()) -> Param:
    """One table row for a Keras variable (``tags`` from its layer, when known)."""
    if not tags and variable.name == "bias":
        tags = frozenset({"bias"})
    return Param(
        canonical(variable.path), tuple(int(d) for d in variable.shape), variable.trainable, tags
    )


def param_table(model: Any) -> tuple[ParamTable, dict[str, Any]]:
    """The model's parameter table and a map from canonical name to variable.

    One row per weight a layer declared trainable (``add_weight(trainable=True)``), in the
    order of ``model.weights``, tagged from the layer that owns it; a frozen layer's
    weights are rows with ``trainable = false``. State such as BatchNormalization's moving
    statistics is not a parameter and is left out. The model must be built.
    """
    if not model.weights:
        raise ValueError(
            f"model {getattr(model, 'name', model)!r} has no variables yet: build it first "
            "(call it on a batch, or model.build(input_shape)), then make the optimizer"
        )
    owner: dict[int, Any] = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for variable in getattr(layer, "_trainable_variables", ()):
            owner.setdefault(id(variable), layer)
    rows: dict[str, Param] = {}
    variables: dict[str, Any] = {}
    for variable in model.weights:
        layer = owner.pop(id(variable), None)
        if layer is None:  # not a parameter, or already seen (a shared weight)
            continue
        row = variable_row(variable, tags_for(layer, variable))
        if row.name in rows:
            raise ValueError(
                f"two variables have the path {variable.path!r} (layer {layer.name!r} and "
                "another); give the layers unique names so that every variable has its own "
                "path"
            )
        rows[row.name] = row
        variables[row.name] = variable
    return ParamTable(tuple(rows.values())), variables
