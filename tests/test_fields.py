"""schedcore.fields: one validation for every declared value object and every importer.

Every value object (schedule nodes, phases, the training horizon, the group policy's
tables) validates its declared fields at construction, then runs its cross-field check;
the importers' argument checks are the same kinds, with the same messages.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

import schedcore as sc
from schedcore.errors import SpecError
from schedcore.fields import LR_RANGE, Bool, Choice, Declared, Int, Real, declared
from schedcore.groups.policy import Defaults, Layers, Rule, Selector
from schedcore.port import common
from schedcore.recipes.training import Training
from schedcore.schedules.combinators import Phase


def error(make) -> SpecError:
    with pytest.raises(SpecError) as info:
        make()
    return info.value


@pytest.mark.parametrize("cls", [sc.Schedule, Phase, Training, Selector, Defaults, Rule, Layers])
def test_every_value_object_is_declared(cls):
    assert issubclass(cls, Declared)
    assert "__post_init__" not in vars(cls) or cls is sc.Schedule  # validation is inherited


def test_fields_are_coerced_then_cross_field_checks_run():
    assert Selector(ndim=3).ndim == (3,)
    assert Selector(glob="a.*").glob == ("a.*",)
    assert error(lambda: Selector(ndim=(65,))).path == "ndim[0]"
    assert "an integer in [0, 64] or a list of them" in str(error(lambda: Selector(ndim="2")))
    assert error(lambda: Selector()).path == ""  # cross-field: selects nothing
    assert error(lambda: Defaults(lr=1.0, lr_scale=2.0)).path == "lr_scale"
    assert error(lambda: Rule("r", Selector(name="a"), lr=-1.0)).path == "lr"
    assert error(lambda: Rule("r", Selector(name="a"))).path == ""  # sets nothing
    assert error(lambda: Training(total_steps=0)).path == "total_steps"
    assert error(lambda: Training(dataset_size=10)).path == "batch_size"
    assert Phase(sc.linear(steps=7)).steps == 7  # a default derived after validation


def test_layer_ids_are_a_declared_field():
    table = Layers(pattern=r"layer\.(\d+)\.", ids={"emb.*": 0, "head.*": 13})
    assert table.ids == (("emb.*", 0), ("head.*", 13))
    assert Layers(ids=table.ids) == Layers(ids={"emb.*": 0, "head.*": 13})
    assert "ids" in {f.name for f in declared(Layers)}
    assert error(lambda: Layers(ids={"emb.*": -1})).path == "ids.emb.*"
    assert error(lambda: Layers(ids=(("emb.*", 1.5),))).path == "ids.emb.*"
    assert error(lambda: Layers(ids={"emb .*": 1})).path == "ids.emb .*"
    bad = error(lambda: Layers(ids=[1, 2]))
    assert bad.path == "ids" and "a table of glob = id" in bad.problem


@pytest.mark.parametrize(
    ("check", "kind"),
    [
        (lambda v: common.integer(v, "n"), Int(0)),
        (lambda v: common.integer(v, "n", 1), Int(1)),
        (lambda v: common.integer(v, "n", -5), Int(-5)),
        (lambda v: common.integer(v, "n", 0, 9), Int(0, 9)),
        (lambda v: common.real(v, "n", 0.0), Real(0.0)),
        (lambda v: common.real(v, "n", 0.0, 1.0, open_low=True), Real(0.0, 1.0, open_low=True)),
        (lambda v: common.lr_value(v, "n"), Real(*LR_RANGE)),
        (lambda v: common.boolean(v, "n"), Bool()),
        (lambda v: common.choice(v, "n", ("a", "b")), Choice("a", "b")),
    ],
)
def test_importer_checks_are_the_fields_kinds(check, kind):
    values = [-7, -1, 0, 1, 2.0, 2.5, 10, 1e7, math.nan, math.inf, True, "a", None, [1]]
    values += [Fraction(10**400), Decimal("sNaN"), 10**400]
    for value in values:
        try:
            expected = kind.coerce(value, "n")
        except SpecError as err:
            assert str(error(lambda value=value: check(value))) == str(err)
        else:
            assert check(value) == expected and type(check(value)) is type(expected)


def test_messages_say_what_is_accepted():
    assert str(error(lambda: common.integer(-3, "steps", -2))) == (
        "steps: must be an integer >= -2, got -3"
    )
    assert str(error(lambda: common.integer(2.5, "steps"))) == (
        "steps: must be a non-negative integer, got 2.5"
    )
    assert str(error(lambda: common.real(2, "rate", 0.0, 1.0, open_low=True))) == (
        "rate: must be a number in (0, 1], got 2"
    )
    assert "must be a finite number" in str(error(lambda: common.real(10**400, "x")))
