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

from schedcore import ParamTable
from schedcore.groups.walk import ModuleParam, is_norm_class, module_tags, table_from_modules

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
    return isinstance(layer, NORM_TYPES) or is_norm_class(type(layer).__name__)


def variable_entry(variable: Any, layer: Any = None) -> ModuleParam:
    """A Keras variable as the core's model walk sees it: named by its dotted path, owned
    by ``layer`` (None: not known, so only its own name tags it)."""
    module, _, local = canonical(variable.path).rpartition(".")
    return ModuleParam(
        module,
        "" if layer is None else type(layer).__name__,
        local,
        id(variable),
        tuple(int(d) for d in variable.shape),
        bool(variable.trainable),
        layer is not None and isinstance(layer, NORM_TYPES),
        layer is not None and isinstance(layer, EMBEDDING_TYPES),
    )


def tags_for(layer: Any, variable: Any) -> frozenset[str]:
    """The core's tags (:func:`schedcore.groups.walk.module_tags`) of ``variable`` in
    ``layer``: ``type:<LayerClass>``, plus ``norm``, ``embedding`` and ``bias`` where they
    apply."""
    return module_tags(variable_entry(variable, layer))


def variables_table(
    variables: Any, owners: dict[int, Any] | None = None
) -> tuple[ParamTable, dict[str, Any]]:
    """The table of ``variables`` (in order, each once) and a map from canonical name to
    variable; ``owners`` maps ``id(variable)`` to the layer that tags it."""
    owners = owners or {}
    entries: list[ModuleParam] = []
    by_id: dict[int, Any] = {}
    paths: dict[str, Any] = {}
    for variable in variables:
        if id(variable) in by_id:
            continue
        entry = variable_entry(variable, owners.get(id(variable)))
        other = paths.setdefault(entry.full_name, variable)
        if other is not variable:
            layer = owners.get(id(variable))
            raise ValueError(
                f"two variables have the path {variable.path!r} (layer "
                f"{getattr(layer, 'name', '?')!r} and another); give the layers unique names "
                "so that every variable has its own path"
            )
        by_id[id(variable)] = variable
        entries.append(entry)
    table, ids = table_from_modules(entries)
    return table, {name: by_id[key] for name, key in ids.items()}


def param_table(model: Any) -> ParamTable:
    """The model's parameter table, ready for ``recipe.bind``, ``schedcore groups --params``
    (``param_table(model).save("params.csv")``) and the CLI's other table options.

    One row per weight a layer declared trainable (``add_weight(trainable=True)``), in the
    order of ``model.weights``, named by its dotted path and tagged from the layer that owns
    it (``norm`` for LayerNormalization's gamma and beta, ``bias``, ``embedding``); a frozen
    layer's weights are rows with ``trainable = false``. State such as BatchNormalization's
    moving statistics is not a parameter and is left out. The model must be built.
    """
    return table_and_variables(model)[0]


def table_and_variables(model: Any) -> tuple[ParamTable, dict[str, Any]]:
    """:func:`param_table` and a map from each row's canonical name to its variable."""
    if not model.weights:
        raise ValueError(
            f"model {getattr(model, 'name', model)!r} has no variables yet: build it first "
            "(call it on a batch, or model.build(input_shape)), then make the optimizer"
        )
    owners: dict[int, Any] = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for variable in getattr(layer, "_trainable_variables", ()):
            owners.setdefault(id(variable), layer)
    params = [v for v in model.weights if id(v) in owners]  # not state such as moving means
    return variables_table(params, owners)
