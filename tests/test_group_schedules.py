"""schedcore.GroupSchedules: the framework-neutral part of the torch and OneFlow schedulers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scheduler_cases import RECIPE

import schedcore as sc
from schedcore.recipes.group_schedules import check_schedule_names


def test_each_group_follows_its_schedule_at_its_peak():
    recipe = sc.load(RECIPE)
    groups = sc.GroupSchedules(recipe, ["default", "head", "default"], [0.1, 0.5, 0.2])
    assert list(groups.steppers) == ["default", "head"]  # one per distinct schedule
    for k in (0, 9, 10, 59, 60, 10**6):
        default, head = recipe.schedule(k), recipe.schedule_named("head")(k)
        assert groups.lrs(k) == [0.1 * default, 0.5 * head, 0.2 * default]


def test_unknown_names_are_refused_naming_the_group():
    recipe = sc.load(RECIPE)
    message = r"param_groups\[1\]\['schedule'\] is 'nope', which .* known: default, head$"
    with pytest.raises(ValueError, match=message):
        check_schedule_names(recipe, ["head", "nope"])
    with pytest.raises(ValueError, match=message):
        sc.GroupSchedules(recipe, ["head", "nope"], [0.1, 0.1])
    with pytest.raises(ValueError, match="2 schedule names but 1 peak lrs"):
        sc.GroupSchedules(recipe, ["head", "default"], [0.1])


def test_state_is_plain_data_and_refused_under_other_schedules_or_peaks():
    recipe = sc.load(RECIPE)
    groups = sc.GroupSchedules(recipe, ["default", "head"], [0.1, 0.5])
    state = groups.state()
    assert json.loads(json.dumps(state)) == state
    groups.check_state(state)
    assert sc.GroupSchedules(recipe, ["default", "head"], [0.1, 0.5]).fingerprint == (
        groups.fingerprint
    )
    changed = sc.load({**RECIPE, "schedule": {"warmup": 10, "decay": "linear"}})
    for other in (
        sc.GroupSchedules(changed, ["default", "head"], [0.1, 0.5]),
        sc.GroupSchedules(recipe, ["default", "head"], [0.1, 0.25]),
        sc.GroupSchedules(recipe, ["head", "default"], [0.1, 0.5]),
    ):
        with pytest.raises(ValueError, match=r"different schedule .* \('head', 0\.5\)"):
            other.check_state(state)
        other.check_state(state, allow_schedule_change=True)
    assert np.isfinite(groups.lrs(2**53)).all()
