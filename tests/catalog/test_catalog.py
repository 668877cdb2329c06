"""The test catalog covers the node registry: a node type cannot be added without its entry.

Each entry must be complete and about its own type: exact cases and error cases that build
that type, a seed of that type, a strategy for it (``tests/strategies.py`` draws it), the
``after = 'error'`` maker exactly for the types with an ``after`` field, and a OneFlow
expectation that either lists exact cases or names a refused case and a reason.
"""

from __future__ import annotations

import dataclasses

import pytest

import schedcore as sc
from catalog import CATALOG, oneflow_expectation


def test_every_registered_node_type_has_a_catalog_entry():
    missing = set(sc.NODE_TYPES) - set(CATALOG)
    assert not missing, f"add a catalog entry (tests/catalog) for {sorted(missing)}"
    assert set(CATALOG) == set(sc.NODE_TYPES), set(CATALOG) - set(sc.NODE_TYPES)


@pytest.mark.parametrize("type_name", sorted(sc.NODE_TYPES))
def test_entry_is_complete_and_about_its_type(type_name):
    entry = CATALOG[type_name]
    assert entry.type_name == type_name
    assert entry.cases, "no exact cases"
    assert entry.errors, "no error cases"
    assert len({c.id for c in entry.cases}) == len(entry.cases), "case ids repeat"
    for c in entry.cases:
        assert c.type == type_name and c.build().type_name == type_name, c.id
    seed = sc.from_dict(entry.seed)
    assert seed.type_name == type_name
    # combinators are the types with child schedules: the seed shows which
    assert entry.combinator == bool(seed.children())
    has_after = "after" in {f.name for f in dataclasses.fields(sc.NODE_TYPES[type_name])}
    assert (entry.after_error is not None) == has_after
    if entry.after_error is not None:
        make, last = entry.after_error
        assert make(after="hold").type_name == type_name
        assert make(after="hold").length == last


@pytest.mark.parametrize("type_name", sorted(sc.NODE_TYPES))
def test_oneflow_expectation_is_exact_cases_or_a_reason(type_name):
    expected = oneflow_expectation(type_name)
    if expected.lowerable:
        assert expected.refused is None and not expected.reason
        for case in expected.exact:
            assert sc.from_dict(case).type_name == type_name
    else:
        assert expected.refused is not None and expected.reason
        assert sc.from_dict(expected.refused).type_name == type_name
        # a tolerance approximates a node up to the step it becomes constant
        if expected.approximable:
            assert sc.from_dict(expected.refused).constant_from is not None
