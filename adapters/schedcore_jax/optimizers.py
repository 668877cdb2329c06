"""An optax optimizer that applies a recipe: its schedules, per-group lrs and weight decay.

The recipe's group policy resolves against the leaves of a params pytree, each named by its
key path with dots (``params/encoder/layer_0/query/kernel`` is
``params.encoder.layer_0.query.kernel``), so the same dotted rules serve every framework.
Each group gets its own ``base`` optimizer, with its lr schedule and its weight decay, and
``optax.multi_transform`` routes every leaf to its group's; leaves the policy freezes get
no update (``optax.set_to_zero``).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

import schedcore as sc
from schedcore.errors import describe
from schedcore.groups.resolve import Assignment
from schedcore.groups.walk import ModuleParam, table_from_modules

from .schedules import RecipeLike, RecipeSchedule, as_recipe

FROZEN = "(frozen)"
"""The label of the leaves the policy freezes (no group name has parentheses)."""

_AUTO_NAME = re.compile(r"^([A-Z][A-Za-z0-9]*)_\d+$")  # Flax linen's Dense_0, LayerNorm_1


def _key(entry: Any) -> str:
    for attribute in ("key", "name", "idx"):
        if hasattr(entry, attribute):
            return str(getattr(entry, attribute))
    return str(entry)


def leaf_names(params: Any) -> list[str]:
    """The canonical name of each leaf of ``params`` (in ``jax.tree_util`` order): its key
    path joined with dots. A Flax ``nnx.Variable``'s ``.value`` is not part of the name."""
    out = []
    for path, _ in _flatten(params):
        keys = list(path)
        if keys and isinstance(keys[-1], jax.tree_util.GetAttrKey) and keys[-1].name == "value":
            keys.pop()
        out.append(".".join(_key(k) for k in keys))
    return out


def _flatten(params: Any) -> list[tuple[Any, Any]]:
    try:
        return jax.tree_util.tree_flatten_with_path(params)[0]
    except (TypeError, ValueError) as err:  # dict keys of mixed types cannot be sorted
        raise TypeError(
            f"params must be a pytree of arrays JAX can flatten (dicts with keys of one type, "
            f"lists, tuples), got {describe(params)}: {err}"
        ) from err


def _check_leaves(tree: Any, names: tuple[str, ...]) -> None:
    """Every leaf an array (or a Python float) with a name of its own."""
    leaves = _flatten(tree)
    if not leaves:
        raise ValueError(
            f"params has no array leaves, got {describe(tree)}; pass the params pytree "
            "(a dict of arrays) or a Flax nnx model"
        )
    seen: dict[str, Any] = {}
    for name, (path, leaf) in zip(names, leaves, strict=True):
        where = jax.tree_util.keystr(path) or "(the root)"
        if not name:
            raise ValueError(
                f"params is a single array, got {describe(tree)}; a leaf is named by its key "
                "path, so pass a dict such as {'w': array}"
            )
        if name in seen:
            raise ValueError(
                f"params: the leaves at {seen[name]} and {where} have the same name {name!r} "
                "(key paths are joined with dots); rename one of the keys"
            )
        seen[name] = where
        dtype = getattr(leaf, "dtype", None)
        if dtype is None and isinstance(leaf, float):
            continue
        if dtype is None or not hasattr(leaf, "shape"):
            raise TypeError(
                f"params{where}: a leaf must be an array (a parameter), got {describe(leaf)}"
            )


def _nnx_module(value: Any) -> bool:
    nnx = sys.modules.get("flax.nnx")
    return nnx is not None and isinstance(value, nnx.Module)


def _nnx_classes(model: Any) -> dict[str, Any]:
    """For a Flax ``nnx`` model: each submodule's dotted path -> the submodule."""
    from flax import nnx

    return {
        ".".join(str(k) for k in path): node
        for path, node in nnx.iter_graph(model)
        if isinstance(node, nnx.Module)
    }


def _is_type(module: Any, names: tuple[str, ...]) -> bool:
    return module is not None and any(type(module).__name__ == n for n in names)


NORMS = ("LayerNorm", "RMSNorm", "BatchNorm", "GroupNorm", "InstanceNorm")
EMBEDDINGS = ("Embed",)


def params_of(params: Any) -> Any:
    """The pytree optax updates: ``params`` itself, or a Flax ``nnx`` model's
    ``nnx.state(model, nnx.Param)``."""
    if _nnx_module(params):
        from flax import nnx

        return nnx.state(params, nnx.Param)
    return params


def param_table(params: Any) -> sc.ParamTable:
    """The parameter table of a params pytree (or a Flax ``nnx`` model): one row per leaf,
    named by :func:`leaf_names`, tagged as every adapter tags (:mod:`schedcore.groups.walk`):
    ``bias`` for a leaf named ``bias``; ``type:<Class>``, ``norm`` and ``embedding`` from
    the module that owns the leaf where it is known: a ``nnx`` model's submodules, or
    Flax linen's automatic names (``LayerNorm_0`` is a ``LayerNorm``). Leaves of a plain
    pytree under other names have no module tags: name them in rules."""
    modules = _nnx_classes(params) if _nnx_module(params) else {}
    tree = params_of(params)
    leaves = jax.tree_util.tree_leaves(tree)
    entries = []
    for i, (name, leaf) in enumerate(zip(leaf_names(tree), leaves, strict=True)):
        module_name, _, local = name.rpartition(".")
        owner = modules.get(module_name)
        if owner is not None:
            cls = type(owner).__name__
        else:
            auto = _AUTO_NAME.match(module_name.rpartition(".")[2])
            cls = auto.group(1) if auto else ""
        entries.append(
            ModuleParam(
                module_name,
                cls,
                local,
                i,  # pytree leaves are distinct parameters, even when one array is reused
                tuple(int(d) for d in getattr(leaf, "shape", ())),
                True,
                cls in NORMS,
                cls in EMBEDDINGS,
            )
        )
    return table_from_modules(entries)[0]


@dataclasses.dataclass(frozen=True)
class Plan(Assignment):
    """What the optimizer decided, per leaf (in ``jax.tree_util`` order): its canonical
    name, its group (an index into ``resolution.groups``; None: frozen by the policy) and
    its weight decay."""

    @property
    def leaf_groups(self) -> dict[str, str | None]:
        """Each leaf's group name (None: frozen by the policy)."""
        return self.member_groups()

    def labels(self, params: Any) -> Any:
        """``params`` with each leaf replaced by its group's name (:data:`FROZEN` for a
        frozen one): the labels ``optax.multi_transform`` routes by."""
        by_name = {n: FROZEN if g is None else g for n, g in self.leaf_groups.items()}
        names = leaf_names(params)
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(
                f"leaf {missing[0]!r} is not in the params the optimizer was made with; make "
                "the optimizer from the params pytree it updates"
            )
        treedef = jax.tree_util.tree_structure(params)
        return jax.tree_util.tree_unflatten(treedef, [by_name[n] for n in names])


def plan(params: Any, recipe: RecipeLike, lr: float | None = None, table: Any = None) -> Plan:
    """Resolve ``recipe``'s group policy against ``params`` (a pytree or a Flax ``nnx``
    model): each leaf's group and weight decay. Policy errors (a rule that matches nothing,
    a misspelt name) raise here, naming the rule. ``table``: the parameter table to resolve
    against (rows with tags, aliases, frozen rows; default :func:`param_table`), which must
    have a row for every leaf."""
    recipe = as_recipe(recipe, lr=lr)
    tree = params_of(params)
    names = tuple(leaf_names(tree))
    _check_leaves(tree, names)
    table = param_table(params) if table is None else sc.ParamTable.of(table)
    known = set(table.names)
    for name in names:
        if name not in known:
            raise ValueError(
                f"table has no row for the params leaf {name!r}; a table must have a row "
                f"for every leaf (named as sj.leaf_names(params) names them), got rows "
                f"{describe(list(table.names))}"
            )
    resolution = recipe.bind(table).resolution
    assert resolution is not None
    index = {name: i for i, g in enumerate(resolution.groups) for name in g.params}
    group_of = tuple(index.get(name) for name in names)
    for name, g, leaf in zip(names, group_of, jax.tree_util.tree_leaves(tree), strict=True):
        dtype = jnp.result_type(leaf)
        if g is not None and not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"params leaf {name!r}: a trained leaf must be a floating-point array, got "
                f"{dtype}; keep integer state out of the params, or freeze it (table=)"
            )
    decay = tuple(
        0.0 if g is None else float(resolution.groups[g].applied_weight_decay) for g in group_of
    )
    return Plan(resolution, names, group_of, decay)


def _named(base: Any) -> str:
    module = getattr(base, "__module__", "") or ""
    name = getattr(base, "__qualname__", None) or describe(base)
    return f"optax.{name}" if module.startswith("optax") else name


def _check_base(base: Any, kwargs: dict[str, Any]) -> None:
    """``base`` an optimizer function taking ``learning_rate`` and every keyword given."""
    accepted = "an optax optimizer function taking learning_rate (optax.adamw, optax.sgd)"
    if not callable(base) or isinstance(base, optax.GradientTransformation):
        raise TypeError(f"base must be {accepted}, got {describe(base)}")
    try:
        parameters = inspect.signature(base).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    if "learning_rate" not in parameters:
        raise TypeError(
            f"base must be {accepted}, got {_named(base)}, which takes "
            f"({', '.join(parameters) or 'no arguments'})"
        )
    others = [p for p in parameters if p not in ("learning_rate", "weight_decay")]
    for key in kwargs:
        if key not in parameters:
            raise TypeError(
                f"{key}: not an argument of {_named(base)}, which takes "
                f"{', '.join(others) or 'no other arguments'} (the recipe gives "
                f"learning_rate and weight_decay); got {key}={describe(kwargs[key])}"
            )


def _takes(base: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(base).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False


def optimizer(
    params: Any,
    recipe: RecipeLike,
    base: Callable[..., optax.GradientTransformation] = optax.adamw,
    lr: float | None = None,
    table: Any = None,
    **kwargs: Any,
) -> optax.GradientTransformation:
    """An optax ``GradientTransformation`` that applies ``recipe`` to ``params`` (a params
    pytree, or a Flax ``nnx`` model for ``nnx.Optimizer(model, tx, wrt=nnx.Param)``).

    Each group of the recipe's policy gets ``base(learning_rate=<its schedule>,
    weight_decay=<its weight decay>, **kwargs)``: its lr is ``group.lr * schedule(count)``
    (:class:`~schedcore_jax.RecipeSchedule`) and its weight decay the policy's, 0.0 where
    the policy leaves it unset (in every framework alike, whatever ``base``'s default). A
    ``base`` without a ``weight_decay`` argument (``optax.sgd``) gets
    ``optax.add_decayed_weights`` before it: L2 added to the gradient, as
    ``torch.optim.SGD`` does. ``learning_rate=`` and ``weight_decay=`` are refused: the
    recipe decides them. ``recipe`` may be a schedule with ``lr``, or anything
    :func:`schedcore.as_recipe` reads; ``lr`` overrides a recipe's base lr; ``table`` is
    the parameter table to resolve against (:func:`plan`)."""
    for key, where in (("learning_rate", "its lr and schedule"),
                       ("weight_decay", "groups.defaults.weight_decay or a rule's")):  # fmt: skip
        if key in kwargs:
            raise TypeError(
                f"{key}: the recipe decides it ({where}), in every framework alike; "
                f"got {key}={describe(kwargs[key])}"
            )
    _check_base(base, kwargs)
    recipe = as_recipe(recipe, lr=lr)
    decided = plan(params, recipe, table=table)
    decays = _takes(base, "weight_decay")
    transforms: dict[str, optax.GradientTransformation] = {}
    for g, group in enumerate(decided.resolution.groups):
        wd = {d for x, d in zip(decided.group_of, decided.decay, strict=True) if x == g}
        if not wd:
            continue  # a group without leaves
        (decay,) = wd
        rate = RecipeSchedule(recipe.schedule_named(group.schedule), group.lr)
        if decays:
            tx = base(learning_rate=rate, weight_decay=decay, **kwargs)
        else:
            tx = base(learning_rate=rate, **kwargs)
        if not isinstance(tx, optax.GradientTransformation):
            raise TypeError(
                f"base must return an optax GradientTransformation, {_named(base)}(...) "
                f"returned {describe(tx)}"
            )
        if decay and not decays:
            tx = optax.chain(optax.add_decayed_weights(decay), tx)
        transforms[group.name] = tx
    if any(g is None for g in decided.group_of):
        transforms[FROZEN] = optax.set_to_zero()
    if len(transforms) == 1:  # one group for every leaf: no routing needed
        return next(iter(transforms.values()))
    return optax.multi_transform(transforms, decided.labels)
