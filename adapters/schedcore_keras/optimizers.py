"""Optimizers that apply a recipe: its schedules, per-variable lrs and weight decay.

Keras has no per-variable learning rate. :class:`RecipeOptimizerMixin` adds one to any
Keras optimizer whose ``update_step(gradient, variable, learning_rate)`` uses the lr it is
given (all of Keras' own): ``build(var_list)`` resolves the recipe's group policy against
the variables' canonical names (their paths, where ``.path`` exists) and records each
variable's group; each train step evaluates every distinct schedule once and passes the
vector of group lrs down to ``update_step``, which picks the variable's entry by
``_get_variable_index`` (under ``tf.distribute`` it receives raw TF variables, without
``.path``). Weight decay follows the applied lr as in Keras, ``v -= v * wd * lr``, with
each variable's ``wd`` from the policy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import keras
from keras import ops

import schedcore as sc
from schedcore.errors import describe
from schedcore.groups.resolve import Assignment

from .schedules import RecipeSchedule, as_recipe, evaluate
from .table import canonical, param_table, variables_table

RecipeLike = sc.Recipe | dict[str, Any] | str | Path


@dataclasses.dataclass(frozen=True)
class Plan(Assignment):
    """What ``build`` decided, per built variable (in ``var_list`` order): its canonical
    name, its group (an index into ``resolution.groups``; None: frozen by the policy, not
    updated) and its weight decay. ``str(plan)`` lists the named groups."""

    @property
    def variable_groups(self) -> dict[str, str | None]:
        """Each variable's group name (None: frozen by the policy)."""
        return self.member_groups()


def _as_table(params: Any) -> sc.ParamTable | None:
    if params is None or isinstance(params, sc.ParamTable):
        return params
    return sc.ParamTable.of(params)


class RecipeOptimizerMixin:
    """Per-group lrs, schedules and weight decay for a Keras optimizer (see the module).

    ``recipe``: a :class:`schedcore.Recipe` (or its dict / TOML path). ``params``: the
    parameter table the policy resolves against, from :func:`schedcore_keras.param_table`
    (``schedcore_keras.optimizer(model, recipe)`` passes it); without it, ``build`` makes
    one from the variables' paths, tagging only ``bias`` (no layer types: rules on ``norm``
    or ``embedding`` tags need the model). Other keyword arguments go to the optimizer,
    except ``weight_decay``: the recipe decides each group's (0.0 where its policy leaves it
    unset, whatever the Keras optimizer's default), so the option is refused.
    ``learning_rate`` comes from the recipe: ``optimizer.learning_rate`` is the base lr
    times the default schedule; the lr a variable gets is its group's.
    """

    def __init__(self, recipe: RecipeLike, params: Any = None, **kwargs: Any) -> None:
        if "learning_rate" in kwargs:
            raise TypeError(
                "learning_rate: the lr comes from the recipe (its lr and schedule); "
                f"got learning_rate={describe(kwargs['learning_rate'])}"
            )
        if kwargs.get("weight_decay") is not None:
            raise TypeError(
                f"weight_decay={kwargs['weight_decay']!r}: the recipe decides each group's "
                "weight decay (0.0 where its policy leaves it unset), in every framework "
                "alike; set groups.defaults.weight_decay (or a rule's weight_decay) in the "
                "recipe instead"
            )
        kwargs.pop("weight_decay", None)
        recipe = as_recipe(recipe)
        table = _as_table(params)
        if table is not None:
            recipe.bind(table)  # a policy error surfaces here, not at the first train step
        super().__init__(  # type: ignore[call-arg]
            learning_rate=RecipeSchedule(
                recipe.schedule, recipe.base_lr, horizon=recipe.total_steps
            ),
            **kwargs,
        )
        self._recipe = recipe
        self._params = table
        self._plan: Plan | None = None

    # -- the recipe -------------------------------------------------------------------------
    @property
    def recipe(self) -> sc.Recipe:
        return self._recipe

    @property
    def plan(self) -> Plan:
        """Each variable's group and weight decay, and the resolved groups (after ``build``)."""
        if self._plan is None:
            raise RuntimeError(
                "the optimizer is not built yet: its groups are resolved in build(var_list) "
                "(model.fit builds it; or call optimizer.build(model.trainable_variables))"
            )
        return self._plan

    def build(self, var_list: list[Any]) -> None:
        if self.built:
            return
        super().build(var_list)  # type: ignore[misc]
        names = [canonical(v.path) for v in var_list]
        table = self._params
        if table is None:
            table, _ = variables_table(var_list)
        else:
            known = set(table.names)
            for v, name in zip(var_list, names, strict=True):
                if name not in known:
                    raise ValueError(
                        f"variable {v.path!r} (name {name!r}) is not in the parameter table "
                        "the optimizer was made with; make the optimizer from the model it "
                        "trains (schedcore_keras.optimizer(model, recipe))"
                    )
        resolution = self._recipe.bind(table).resolution
        assert resolution is not None
        index = {name: i for i, g in enumerate(resolution.groups) for name in g.params}
        group_of = tuple(index.get(name) for name in names)
        decay = tuple(
            0.0 if g is None else float(resolution.groups[g].applied_weight_decay)
            for g in group_of
        )
        self._plan = Plan(resolution, tuple(names), group_of, decay)

    # -- each step --------------------------------------------------------------------------
    def _current_step(self) -> Any:
        return self.iterations  # completed updates (Keras divides by gradient accumulation)

    def _get_current_learning_rate(self) -> Any:
        return self._learning_rate(self._current_step())

    def group_learning_rates(self, step: Any = None) -> Any:
        """The lr of every group (``plan.resolution.groups`` order) at ``step`` (default:
        the current one, ``iterations``): a float32 vector, each distinct schedule
        evaluated once."""
        groups = self.plan.resolution.groups
        if not groups:
            return ops.zeros((0,), dtype="float32")
        step = self._current_step() if step is None else step
        values = {name: evaluate(self._recipe.schedule_named(name), step) for name in
                  dict.fromkeys(g.schedule for g in groups)}  # fmt: skip
        return ops.cast(ops.stack([values[g.schedule] * g.lr for g in groups]), "float32")

    def _backend_update_step(self, grads: Any, trainable_variables: Any, learning_rate: Any) -> Any:
        # computed where the step runs (each replica under tf.distribute) and handed down
        # as the `learning_rate` argument, which tf.distribute passes to every update
        return super()._backend_update_step(  # type: ignore[misc]
            grads, trainable_variables, self.group_learning_rates()
        )

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        i = self._get_variable_index(variable)  # type: ignore[attr-defined]
        plan = self.plan
        group, wd = plan.group_of[i], plan.decay[i]
        if group is None:  # frozen by the policy: not optimized
            return
        lr = learning_rate[group]
        if wd:
            dtype = variable.dtype
            decay = ops.multiply(ops.multiply(variable, ops.cast(wd, dtype)), ops.cast(lr, dtype))
            self.assign_sub(variable, decay)  # type: ignore[attr-defined]
        super().update_step(gradient, variable, lr)  # type: ignore[misc]

    def _apply_weight_decay(self, variables: Any) -> None:
        """Weight decay is applied per variable in ``update_step``, from the policy."""

    def exclude_from_weight_decay(self, var_list: Any = None, var_names: Any = None) -> None:
        raise TypeError(
            "exclude_from_weight_decay: this optimizer takes weight decay from the recipe's "
            "group policy; add a rule instead, e.g. {name = 'no_decay', match = {tags = "
            "['bias', 'norm']}, weight_decay = 0.0} (Keras matches var_names against short "
            f"names such as 'gamma'); got var_list={describe(var_list)}, "
            f"var_names={describe(var_names)}"
        )

    # -- serialization ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()  # type: ignore[misc]
        config.pop("learning_rate", None)
        config.pop("weight_decay", None)  # the recipe's, per group
        config["recipe"] = self._recipe.to_dict()
        config["params"] = None if self._params is None else self._params.to_data()
        return config


_CLASSES: dict[type, type] = {}

BUILTIN_BASES = tuple(
    getattr(keras.optimizers, name)
    for name in (
        "AdamW",
        "Adam",
        "SGD",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "Nadam",
        "Lion",
        "Lamb",
        "Ftrl",
        "Adafactor",
    )
    if hasattr(keras.optimizers, name)
)


def optimizer_class(base: type = keras.optimizers.AdamW) -> type:
    """The recipe-driven subclass of the Keras optimizer class ``base`` (one per base,
    registered for ``keras.models.load_model`` as ``schedcore>Recipe<Base>``)."""
    if not (isinstance(base, type) and issubclass(base, keras.optimizers.Optimizer)):
        raise TypeError(
            f"base must be a keras.optimizers.Optimizer subclass (e.g. keras.optimizers.SGD), "
            f"got {describe(base)}"
        )
    if issubclass(base, RecipeOptimizerMixin):
        return base
    if base not in _CLASSES:
        name = f"Recipe{base.__name__}"
        cls = type(name, (RecipeOptimizerMixin, base), {"__module__": __name__})
        cls.__doc__ = f"``{base.__name__}`` driven by a schedcore recipe (RecipeOptimizerMixin)."
        _CLASSES[base] = keras.saving.register_keras_serializable(package="schedcore")(cls)
    return _CLASSES[base]


for _base in BUILTIN_BASES:
    optimizer_class(_base)

RecipeAdamW = optimizer_class(keras.optimizers.AdamW)
"""``keras.optimizers.AdamW`` with a recipe's per-variable lrs and weight decays
(:func:`optimizer_class`)."""
RecipeSGD = optimizer_class(keras.optimizers.SGD)
"""``keras.optimizers.SGD`` with a recipe's per-variable lrs and weight decays
(:func:`optimizer_class`)."""


def optimizer(
    model: Any,
    recipe: RecipeLike | sc.Schedule,
    base: type = keras.optimizers.AdamW,
    lr: float | None = None,
    **kwargs: Any,
) -> keras.optimizers.Optimizer:
    """A ``base`` optimizer (AdamW by default) for ``model`` that applies ``recipe``: its
    schedules, per-group lrs and per-group weight decay, resolved against the model's
    variables (canonical dotted paths, layer-type tags). ``recipe`` may be a schedule
    (``sk.optimizer(model, sc.cosine(steps=1000), lr=1e-3)``) or anything
    :func:`schedcore.as_recipe` reads; ``lr`` is the base lr (required with a schedule,
    and it overrides a recipe's). ``kwargs`` go to the optimizer (``beta_1``,
    ``momentum``, ...); each group's weight decay is the recipe's (0.0 where its policy
    leaves it unset), and ``weight_decay=`` is refused."""
    recipe = as_recipe(recipe, lr=lr)
    return optimizer_class(base)(recipe=recipe, params=param_table(model), **kwargs)
