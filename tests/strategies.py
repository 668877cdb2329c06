"""Shared hypothesis strategies for schedcore: schedule trees, recipes, parameter tables, steps.

One module, imported by the property tests, the fuzz tests and the framework equivalence
tests (PyTorch, Keras, OneFlow), so every suite draws from the same space of inputs::

    from strategies import recipes, schedules, steps_arrays

Everything drawn here is *valid by construction* (no filtering through schedcore): a
schedule dict always builds, a recipe always loads, and a recipe with its parameter rows
always binds. Parameters stay in realistic but varied ranges (steps mostly small, up to
10**6; multipliers in [0, 10]) so values stay finite; extreme values are the business of
``test_fuzz_recipes.py``.

Each node type's strategy is part of its entry in the test catalog (``tests/catalog``);
this module assembles them into trees and recipes. :data:`NODE_STRATEGIES` has one entry per
cataloged type, and ``catalog/test_catalog.py`` asserts that every registered node type is
cataloged, so a new node type fails the suite until it has an entry (with its strategy).

The module is importable on Python 3.10 (the OneFlow venv) and needs only numpy,
hypothesis and schedcore.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

import schedcore
from catalog import CATALOG, Draw
from catalog.common import (
    AFTER_ALL,
    AFTER_SAFE,
    CYCLES,
    FRACTION,
    MULT,
    STEPS,
    with_hold,
)
from catalog.common import floats as _floats
from schedcore.fields import MAX_STEP

__all__ = [
    "COMBINATOR_TYPES",
    "LEAF_TYPES",
    "MAX_STEP",
    "NODE_STRATEGIES",
    "SPECIAL_STEPS",
    "alike_sequences",
    "key_steps",
    "node_dicts",
    "param_tables",
    "recipes",
    "schedule_dicts",
    "schedules",
    "short_forms",
    "steps_arrays",
    "trainings",
    "with_hold",
]

Strategy = st.SearchStrategy

# -- node types: each type's strategy lives in its catalog entry (tests/catalog) -------------------


def _after(allow_after_error: bool) -> Strategy[str]:
    return st.sampled_from(AFTER_ALL if allow_after_error else AFTER_SAFE)


@functools.cache
def _leaves(allow_after_error: bool) -> dict[str, Strategy[dict[str, Any]]]:
    draw = Draw(_after(allow_after_error), allow_after_error, st.nothing())
    return {name: e.strategy(draw) for name, e in CATALOG.items() if not e.combinator}


def _combinators(
    children: Strategy[dict], allow_after_error: bool
) -> dict[str, Strategy[dict[str, Any]]]:
    draw = Draw(_after(allow_after_error), allow_after_error, children)
    return {name: e.strategy(draw) for name, e in CATALOG.items() if e.combinator}


LEAF_TYPES = tuple(name for name, e in CATALOG.items() if not e.combinator)
COMBINATOR_TYPES = tuple(name for name, e in CATALOG.items() if e.combinator)


def _node_strategy_factory(type_name: str) -> Callable[..., Strategy[dict[str, Any]]]:
    def factory(
        children: Strategy[dict] | None = None, allow_after_error: bool = False
    ) -> Strategy[dict[str, Any]]:
        leaves = _leaves(allow_after_error)
        if type_name in LEAF_TYPES:
            return leaves[type_name]
        if children is None:
            children = leaves["constant"] | leaves["linear"]
        return _combinators(children, allow_after_error)[type_name]

    factory.__name__ = f"{type_name}_dicts"
    return factory


#: type name -> ``factory(children=None, allow_after_error=False)`` returning a strategy of
#: that node's dicts (combinators draw their child schedules from ``children``).
NODE_STRATEGIES: dict[str, Callable[..., Strategy[dict[str, Any]]]] = {
    name: _node_strategy_factory(name) for name in (*LEAF_TYPES, *COMBINATOR_TYPES)
}


@functools.cache
def node_dicts(type_name: str, allow_after_error: bool = False) -> Strategy[dict[str, Any]]:
    """Dicts of one node type (combinators over small random subtrees)."""
    children = schedule_dicts(max_leaves=3, allow_after_error=allow_after_error)
    return NODE_STRATEGIES[type_name](children, allow_after_error)


@functools.cache
def schedule_dicts(max_leaves: int = 8, allow_after_error: bool = False) -> Strategy[dict]:
    """Dict forms (``{"type": ..., ...}``) of valid schedule trees over every node type.

    ``allow_after_error``: finite nodes may get ``after = "error"`` (evaluating past their
    end then raises :class:`schedcore.StepRangeError`).
    """
    leaves = _leaves(allow_after_error)
    return st.recursive(
        st.one_of(*leaves.values()),
        lambda children: st.one_of(*_combinators(children, allow_after_error).values()),
        max_leaves=max_leaves,
    )


@functools.cache
def schedules(max_leaves: int = 8, allow_after_error: bool = False) -> Strategy[Any]:
    """Valid :class:`schedcore.Schedule` trees over every registered node type."""
    return schedule_dicts(max_leaves, allow_after_error).map(schedcore.from_dict)


@st.composite
def alike_sequences(draw: Any, max_phases: int = 24) -> Any:
    """Sequences whose phases all run one node type, differing only in the type's
    ``per_step_fields`` (start and end for the anneal families; nothing for the others),
    each phase with its own length and clock: what ``Sequence`` evaluates as one formula
    where the backend gathers phases (``ops.gathers_phases``)."""
    type_name = draw(st.sampled_from(LEAF_TYPES), label="type")
    base = draw(_leaves(False)[type_name], label="node")
    varying = schedcore.NODE_TYPES[type_name].per_step_fields
    phases = []
    for _ in range(draw(st.integers(2, max_phases), label="phases")):
        node = {**base, **{name: draw(MULT) for name in varying}}
        phases.append({"schedule": node, "steps": draw(st.integers(1, 60)),
                       "clock": draw(st.sampled_from(["local", "global"]))})  # fmt: skip
    return schedcore.from_dict({"type": "sequence", "phases": phases})


# -- steps -----------------------------------------------------------------------------------

SPECIAL_STEPS = (
    0, 1, 2, 9, 10, 11, 99, 100, 101, 999, 1_000, 1_001, 65_535, 65_536, 65_537,
    10**6 - 1, 10**6, 10**6 + 1, 2**31 - 1, 2**31, 2**32, 2**52, MAX_STEP - 1, MAX_STEP,
)  # fmt: skip


def key_steps(schedule: Any) -> list[int]:
    """Steps around a tree's own boundaries (every integer field, length and phase start,
    and their neighbours), clipped to [0, 2**53]."""
    found: set[int] = set()
    stack = [schedule]
    while stack:
        node = stack.pop()
        stack.extend(node.children())
        values: list[int] = []
        for key, value in node.to_dict().items():
            if key == "type":
                continue
            items = value if isinstance(value, list) else [value]
            values.extend(v for v in items if isinstance(v, int) and not isinstance(v, bool))
        if node.length is not None:
            values.append(node.length)
        if isinstance(node, schedcore.Sequence):
            values.extend(node.starts)
        for v in values:
            found.update((v - 1, v, v + 1))
    return sorted(v for v in found if 0 <= v <= MAX_STEP)


def steps_arrays(
    min_size: int = 1, max_size: int = 40, extra: tuple[int, ...] | list[int] = ()
) -> Strategy[np.ndarray]:
    """1-D int64 arrays of steps in [0, 2**53], unordered and with repeats: special values
    (0, round numbers and their neighbours, the chunk size, 2**53), ``extra`` (for example
    :func:`key_steps` of a schedule), small steps and large ones."""
    specials = sorted(set(SPECIAL_STEPS) | {int(e) for e in extra if 0 <= e <= MAX_STEP})
    element = st.one_of(
        st.sampled_from(specials),
        st.integers(0, 2_000),
        st.integers(0, 10**7),
        st.integers(0, MAX_STEP),
    )
    return st.lists(element, min_size=min_size, max_size=max_size).map(
        lambda xs: np.asarray(xs, dtype=np.int64)
    )


# -- recipes ---------------------------------------------------------------------------------


@st.composite
def trainings(draw: Any) -> dict[str, Any]:
    """A ``training`` table in one of its forms (steps, epochs x steps per epoch, data)."""
    form = draw(st.sampled_from(["total", "epochs", "data", "both"]))
    if form == "total":
        return {"total_steps": draw(st.one_of(st.integers(1, 100), st.integers(1, 10**5)))}
    out: dict[str, Any] = {"epochs": draw(st.integers(1, 100))}
    if form in ("epochs", "both"):
        out["steps_per_epoch"] = draw(st.integers(1, 1_000))
        if form == "both":
            out["total_steps"] = draw(st.integers(1, 10**5))
        return out
    batch = draw(st.integers(1, 256))
    out["batch_size"] = batch
    out["dataset_size"] = draw(st.integers(1, 20_000))
    if draw(st.booleans()):
        out["grad_accum"] = draw(st.integers(1, 16))
    if out["dataset_size"] >= batch and draw(st.booleans()):
        out["drop_last"] = draw(st.booleans())
    return out


def _total(training: dict[str, Any] | None) -> int | None:
    if training is None:
        return None
    from schedcore.recipes.training import Training

    return Training(**training).steps


@st.composite
def _count_or_percent(draw: Any, total: int | None, low: int, high: int) -> int | str:
    """A step count in [low, high], or (given a total) a percentage whose
    ``ceil(total * p / 100)`` falls in that range."""
    if total is not None and draw(st.booleans()):
        percent = draw(
            st.one_of(st.integers(0, 100), _floats(0.0, 100.0).map(lambda x: round(x, 2)))
        )
        if low <= math.ceil(total * percent / 100) <= high:
            text = f"{percent}%" if isinstance(percent, int) else f"{percent:.2f}%"
            if low <= math.ceil(total * float(text[:-1]) / 100) <= high:
                return text
    return draw(st.integers(low, high))


@st.composite
def short_forms(draw: Any, lr: float, training: dict[str, Any] | None) -> dict[str, Any]:
    """A short-form schedule table (no ``type``) valid for this lr and training horizon."""
    total = _total(training)
    decays = ["constant", "inverse_sqrt"]
    if total is not None and total >= 2:
        decays += ["linear", "cosine", "polynomial", "wsd"]
    decay = draw(st.sampled_from(decays))
    out: dict[str, Any] = {}
    if decay != "constant" or draw(st.booleans()):
        out["decay"] = decay
    if decay in ("constant", "inverse_sqrt"):
        most = total if total is not None else 10_000
    else:
        assert total is not None
        most = total - 1  # leave at least one step to decay
    warmup = 0
    if draw(st.booleans()):
        spec = draw(_count_or_percent(total, 0, most))
        out["warmup"] = spec
        warmup = spec if isinstance(spec, int) else math.ceil(total * float(spec[:-1]) / 100)
    shape = draw(st.sampled_from([None, "linear", "cosine", "exponential", "constant"]))
    if shape is not None:
        out["warmup_shape"] = shape
    if shape == "exponential":
        out["warmup_start_factor"] = draw(_floats(1e-3, 1.0))
    elif draw(st.booleans()):
        out["warmup_start_factor"] = draw(FRACTION)
    ratio = draw(FRACTION)
    how = draw(st.sampled_from([None, "min_lr", "min_lr_ratio"]))
    if how == "min_lr":
        out["min_lr"] = ratio * lr
    elif how == "min_lr_ratio":
        out["min_lr_ratio"] = ratio
    if decay == "polynomial" and draw(st.booleans()):
        out["power"] = draw(_floats(0.0, 5.0))
    if decay == "cosine" and draw(st.booleans()):
        out["cycles"] = draw(CYCLES)
    if decay == "inverse_sqrt" and draw(st.booleans()):
        out["timescale"] = draw(STEPS)
    if decay == "wsd":
        out["cooldown"] = draw(_count_or_percent(total, 1, total - warmup))
        if draw(st.booleans()):
            out["cooldown_shape"] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
    return out


SCHEDULE_NAMES = ("head_schedule", "slow", "fast")
ALIAS = "lm_out.weight"  # tied to embed.weight


@st.composite
def param_tables(draw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Parameter rows of a small transformer-like model, and facts about it.

    Rows: ``embed.weight`` (tag ``embedding``, sometimes tied to ``lm_out.weight``),
    ``blocks.{i}.attn.{weight,bias}`` and ``blocks.{i}.norm.{weight,bias}`` (tags ``bias``,
    ``norm``) for 0 to 3 blocks, ``head.{weight,bias}``; some rows not trainable.
    """
    layers = draw(st.integers(0, 3))
    width = draw(st.sampled_from([2, 4, 8]))
    tied = draw(st.booleans())
    trainable = st.sampled_from([True, True, True, False])
    rows: list[dict[str, Any]] = [
        {
            "name": "embed.weight",
            "shape": [16, width],
            "trainable": draw(trainable),
            "tags": ["embedding"],
            "aliases": [ALIAS] if tied else [],
        }
    ]
    for i in range(layers):
        for part, shape, tags in (
            ("attn.weight", [width, width], []),
            ("attn.bias", [width], ["bias"]),
            ("norm.weight", [width], ["norm"]),
            ("norm.bias", [width], ["norm", "bias"]),
        ):
            rows.append(
                {
                    "name": f"blocks.{i}.{part}",
                    "shape": shape,
                    "trainable": draw(trainable),
                    "tags": tags,
                    "aliases": [],
                }
            )
    rows.append({"name": "head.weight", "shape": [2, width], "trainable": draw(trainable),
                 "tags": [], "aliases": []})  # fmt: skip
    rows.append({"name": "head.bias", "shape": [2], "trainable": draw(trainable),
                 "tags": ["bias"], "aliases": []})  # fmt: skip
    return rows, {"layers": layers, "width": width, "tied": tied}


_LR_EFFECTS = st.one_of(
    st.fixed_dictionaries({"lr": _floats(1e-6, 1.0)}),
    st.fixed_dictionaries({"lr_scale": st.one_of(st.just(0.0), _floats(0.0, 10.0))}),
)


def _lr_effect(draw: Any) -> dict[str, Any]:
    return draw(_LR_EFFECTS)


@st.composite
def _groups(draw: Any, facts: dict[str, Any], named: list[str]) -> dict[str, Any]:
    """A ``groups`` table that binds to :func:`param_tables` rows with these facts.

    ``defaults`` is always present (every trainable parameter is covered), rules get
    distinct priorities (no ties), name selectors select the tied alias with its parameter,
    and rules that may match nothing are marked optional."""
    known = ["default", *named]
    defaults: dict[str, Any] = {}
    if draw(st.booleans()):
        defaults.update(_lr_effect(draw))
    default_wd = draw(st.one_of(st.none(), st.sampled_from([0.0, 0.01, 0.1])))
    if default_wd is not None:
        defaults["weight_decay"] = default_wd
    if draw(st.booleans()):
        defaults["schedule"] = draw(st.sampled_from(known))
    tied = [ALIAS] if facts["tied"] else []
    templates = {
        "no_decay": st.sampled_from(
            [  # a table may have no norm layer: that item is optional
                {"tags": ["bias", "norm"], "optional": ["norm"]},
                {"contains": ["bias", "norm"], "optional": ["norm"]},
                {"ndim": [1]},
            ]
        ),
        "head": st.sampled_from(
            [{"prefix": ["head."]}, {"glob": ["head.*"]}, {"regex": [r"head\.(weight|bias)"]}]
        ),
        "embed": st.just({"name": ["embed.weight", *tied]}),
        "blocks": st.sampled_from(
            [{"prefix": "blocks."}, {"glob": "blocks.*"}, {"regex": r"blocks\.\d+\..*"}]
        ),
        "square": st.just({"ndim": 2, "shape": [facts["width"], facts["width"]]}),
        "layerwise": st.just({"layers": [0, 1_000]}),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(templates)), unique=True, max_size=5))
    priorities = draw(
        st.lists(st.integers(-1000, 1000), min_size=len(chosen), max_size=len(chosen), unique=True)
    )
    rules = []
    for name, priority in zip(chosen, priorities, strict=True):
        rule: dict[str, Any] = {"name": name, "match": draw(templates[name])}
        if priority or draw(st.booleans()):
            rule["priority"] = priority
        effects = []
        if name == "layerwise":
            effects.append({"layer_decay": draw(st.one_of(st.just(0.75), _floats(0.5, 1.0)))})
        else:
            if draw(st.booleans()):
                effects.append(_lr_effect(draw))
            if draw(st.booleans()):
                if default_wd is not None and draw(st.booleans()):
                    effects.append({"wd_scale": draw(st.sampled_from([0.0, 0.5, 2.0]))})
                else:
                    effects.append({"weight_decay": draw(st.sampled_from([0.0, 0.05]))})
            if draw(st.booleans()):
                effects.append({"schedule": draw(st.sampled_from(known))})
            if name in ("embed", "blocks") and draw(st.booleans()):
                effects.append({"frozen": draw(st.booleans())})
            if not effects:
                effects.append({"weight_decay": 0.0})
        for effect in effects:
            rule.update(effect)
        may_miss = name in ("blocks", "square", "layerwise") and facts["layers"] == 0
        if may_miss or draw(st.booleans()):
            rule["optional"] = may_miss or draw(st.booleans())
        rules.append(rule)
    out: dict[str, Any] = {"defaults": defaults}
    if rules or draw(st.booleans()):
        out["rules"] = rules
    if "layerwise" in chosen or draw(st.booleans()):
        layers: dict[str, Any] = {"pattern": r"blocks\.(\d+)\."}
        if draw(st.booleans()):
            layers["offset"] = 1
            layers["ids"] = {"embed.weight": 0, **({ALIAS: 0} if tied else {})}
        if draw(st.booleans()):
            layers["max_id"] = facts["layers"] + draw(st.integers(1, 3))
        out["layers"] = layers
    return out


def _schedule_value(
    draw: Any, lr: float, training: dict[str, Any] | None, max_leaves: int
) -> dict[str, Any]:
    if draw(st.booleans()):
        return draw(schedule_dicts(max_leaves=max_leaves))
    return draw(short_forms(lr, training))


@st.composite
def recipes(
    draw: Any, with_groups: bool = True, max_leaves: int = 6
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(recipe_dict, param_rows)``: a recipe document as :func:`schedcore.load` takes it
    (version, name, lr, training, the schedule as an explicit tree or in short form, named
    ``schedules``, ``groups``) and parameter rows such that
    ``schedcore.load(recipe_dict).bind(param_rows)`` succeeds."""
    lr = draw(st.one_of(st.sampled_from([1e-3, 3e-4, 0.1, 1.0]), _floats(1e-6, 1.0)))
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["version"] = 1
    if draw(st.booleans()):
        doc["name"] = draw(st.sampled_from(["", "bert-finetune", "run/7", "résumé"]))
    doc["lr"] = lr
    training = draw(st.one_of(st.none(), trainings()))
    if training is not None:
        doc["training"] = training
    if draw(st.integers(0, 4)):
        doc["schedule"] = _schedule_value(draw, lr, training, max_leaves)
    names = draw(st.lists(st.sampled_from(SCHEDULE_NAMES), unique=True, max_size=2))
    if names or draw(st.booleans()):
        doc["schedules"] = {n: _schedule_value(draw, lr, training, max_leaves) for n in names}
    rows, facts = draw(param_tables())
    if with_groups and draw(st.integers(0, 4)):
        doc["groups"] = draw(_groups(facts, names))
    return doc, rows
