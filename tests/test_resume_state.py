"""Resuming from saved scheduler state (the framework-neutral check both adapters use):
malformed state is refused naming the key, never coerced; foreign state says what it is."""

from __future__ import annotations

import math

import pytest
from scheduler_cases import RECIPE

import schedcore as sc
from schedcore.recipes.group_schedules import GroupSchedules

COUNTERS = ("last_epoch", "_step_count")


def groups() -> GroupSchedules:
    return GroupSchedules(sc.load(RECIPE), ["default", "head", "default"], [0.1, 0.5, 0.1])


def good_state(g: GroupSchedules) -> dict:
    return {"last_epoch": 5, "_step_count": 6, "_last_lr": g.lrs(5), **g.state()}


def test_good_state_gives_its_counters():
    g = groups()
    assert g.check_state(good_state(g), counters=COUNTERS, lrs_key="_last_lr") == {
        "last_epoch": 5,
        "_step_count": 6,
    }


@pytest.mark.parametrize("key", ["last_epoch", "_step_count", "_last_lr"])
def test_a_missing_key_is_named(key):
    g = groups()
    state = good_state(g)
    del state[key]
    with pytest.raises(ValueError, match=f"scheduler state has no {key!r}"):
        g.check_state(state, counters=COUNTERS, lrs_key="_last_lr")


@pytest.mark.parametrize("value", [1.9, 2.0, None, [1], "3", True, -1, 2**53 + 1, math.nan])
def test_a_counter_that_is_not_an_integer_in_range_is_refused_not_coerced(value):
    g = groups()
    state = {**good_state(g), "last_epoch": value}
    with pytest.raises(ValueError, match=r"'last_epoch' must be an integer in \[0, 2\*\*53\]"):
        g.check_state(state, counters=COUNTERS, lrs_key="_last_lr")
    with pytest.raises(ValueError, match="'last_epoch' must be an integer"):
        g.check_state(state, allow_schedule_change=True, counters=COUNTERS, lrs_key="_last_lr")


@pytest.mark.parametrize(
    "value", [None, 0.1, "abc", [0.1, 0.2, "x"], [0.1, math.nan, 0.1], [0.1, -1.0, 0.1], [True]]
)
def test_a_malformed_last_lr_is_refused(value):
    g = groups()
    with pytest.raises(ValueError, match="'_last_lr' must be a list of finite lrs"):
        g.check_state({**good_state(g), "_last_lr": value}, counters=COUNTERS, lrs_key="_last_lr")


def test_a_last_lr_of_the_wrong_length_is_refused():
    g = groups()
    with pytest.raises(ValueError, match="'_last_lr' lists 2 lrs, but the optimizer has 3"):
        g.check_state(
            {**good_state(g), "_last_lr": [0.1, 0.2]}, counters=COUNTERS, lrs_key="_last_lr"
        )
    # with another schedule allowed, the lrs are recomputed from the new recipe anyway
    other = {**good_state(g), "_last_lr": [0.1, 0.2], "fingerprint": "0" * 16}
    assert (
        g.check_state(other, allow_schedule_change=True, counters=COUNTERS, lrs_key="_last_lr")[
            "last_epoch"
        ]
        == 5
    )


@pytest.mark.parametrize("state", [None, [], 5, "state", [("last_epoch", 1)]])
def test_state_that_is_not_a_dict_is_refused(state):
    with pytest.raises(ValueError, match="scheduler state must be a dict"):
        groups().check_state(state, counters=COUNTERS, lrs_key="_last_lr")


def test_a_lambdalr_state_is_refused_saying_what_it_is():
    lambda_state = {
        "base_lrs": [0.1],
        "last_epoch": 3,
        "_step_count": 4,
        "_get_lr_called_within_step": False,
        "_last_lr": [0.1, 0.5, 0.1],
        "lr_lambdas": [None],
    }
    with pytest.raises(
        ValueError,
        match=r"not saved by a schedcore RecipeLR; it is the state "
        r"of a LambdaLR or MultiplicativeLR \(it has 'lr_lambdas'\)",
    ):
        groups().check_state(lambda_state, counters=COUNTERS, lrs_key="_last_lr")
    with pytest.raises(ValueError, match="CosineAnnealingLR"):
        cosine = {k: v for k, v in lambda_state.items() if k != "lr_lambdas"} | {"T_max": 9}
        groups().check_state(cosine, counters=COUNTERS, lrs_key="_last_lr")
    steps = groups().check_state(
        lambda_state, allow_schedule_change=True, counters=COUNTERS, lrs_key="_last_lr"
    )
    assert steps == {"last_epoch": 3, "_step_count": 4}


def test_corrupted_group_lists_still_give_a_clear_refusal():
    g = groups()
    state = {**good_state(g), "fingerprint": 7, "group_schedules": 5, "peaks": None}
    with pytest.raises(ValueError, match=r"different schedule .*group_schedules 5, peaks None"):
        g.check_state(state, counters=COUNTERS, lrs_key="_last_lr")
