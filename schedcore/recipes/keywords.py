"""``schedcore.recipe(...)``: the short form of a recipe written as Python keywords.

``recipe(lr=3e-4, warmup="10%", decay="cosine", total_steps=10_000)`` gives the same
recipe as the TOML document with those keys in its ``[schedule]`` and ``[training]``
tables: the keywords are sorted into that document, which :func:`schedcore.load` reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import SpecError
from ..fields import ArgumentError, declared, unknown_keywords
from .document import from_document
from .recipe import Recipe
from .shortform import KEYS, TRANSFORMERS_KEYS
from .training import ALIASES, Training

TRAINING_KEYS = tuple(f.name for f in declared(Training)) + tuple(ALIASES)
SCHEDULE_KEYS = KEYS + tuple(k for k in TRANSFORMERS_KEYS if k not in KEYS)
OWN_KEYS = ("lr", "name", "training", "schedule", "schedules", "groups")


def recipe(
    *,
    lr: float,
    name: str = "",
    training: Mapping[str, Any] | Training | None = None,
    schedule: Any = None,
    schedules: Mapping[str, Any] | None = None,
    groups: Any = None,
    **keywords: Any,
) -> Recipe:
    """A recipe from keywords: ``lr`` (the base lr), the short-form schedule keys
    (``warmup``, ``decay``, ``min_lr``, ..., or transformers' ``lr_scheduler_type`` and its
    arguments), the ``[training]`` keys (``total_steps``, ``epochs``, ``steps_per_epoch``,
    ``dataset_size``, ``batch_size``, ``grad_accum``, ...), and the group policy:
    ``groups`` is its table (``{"rules": [...], "defaults": {...}}``) or just the list of
    rules. ``schedule`` gives a schedule node (or table) instead of the short-form keys, and
    ``training`` a whole training table instead of its keys.

    Errors name the keyword: ``recipe(warmup=...): must be a step count or a percentage
    like '10%', got 'ten'``; an unknown keyword suggests the closest accepted one.
    """
    accepted = [*OWN_KEYS, *SCHEDULE_KEYS, *TRAINING_KEYS]
    unknown_keywords("recipe", keywords, accepted)
    short = {k: v for k, v in keywords.items() if k in SCHEDULE_KEYS}
    horizon = {k: v for k, v in keywords.items() if k in TRAINING_KEYS}
    document: dict[str, Any] = {"lr": lr}
    if name:
        document["name"] = name
    if horizon and training is not None:
        raise ArgumentError("recipe", next(iter(horizon)), "give training=... or its keys")
    if horizon or training is not None:
        document["training"] = horizon or training
    if short and schedule is not None:
        raise ArgumentError("recipe", next(iter(short)), "give schedule=... or short-form keys")
    if short or schedule is not None:
        document["schedule"] = short or schedule
    if schedules is not None:
        document["schedules"] = dict(schedules)
    if groups is not None:
        document["groups"] = {"rules": list(groups)} if isinstance(groups, list) else groups
    try:
        return from_document(document)
    except SpecError as err:
        raise _named(err, short, horizon, isinstance(groups, list)) from None


def _named(err: SpecError, short: dict[str, Any], horizon: dict[str, Any], rules: bool):
    """The document error ``err`` named after the keyword that gave the field."""
    head, _, rest = err.path.partition(".")
    if head == "schedule" and short:  # schedule.warmup -> warmup=
        return ArgumentError("recipe", rest or "schedule", err.problem)
    if head == "training" and horizon:
        return ArgumentError("recipe", rest or "training", err.problem)
    if head == "groups" and rules and rest.startswith("rules"):  # groups.rules[0] -> groups[0]
        return ArgumentError("recipe", "groups" + re.sub(r"^rules", "", rest), err.problem)
    return ArgumentError("recipe", err.path, err.problem)
