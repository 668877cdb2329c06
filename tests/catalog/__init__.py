"""The test catalog: for every registered node type, in one place, what the suites check.

One :class:`~catalog.common.Entry` per type, in a module per node module (``families``,
``piecewise``, ``cyclic``, ``combinators``): its hypothesis strategy (drawn by
``tests/strategies.py`` and through it by every property, fuzz and adapter equivalence
test), its exact cases and error cases (``tests/test_families_exact.py``), its fuzz seed
(``tests/test_fuzz_recipes.py``) and its OneFlow expectation (:func:`oneflow_expectation`,
for the OneFlow planner's tests). ``catalog/test_catalog.py`` asserts that every entry of
``schedcore.NODE_TYPES`` has one, so a new node type fails the suite until it is cataloged.

Adding a node type: append an ``Entry`` to the ``ENTRIES`` of the module named like the
node's module (see docs/contributing.md).

Importable on Python 3.10 (the OneFlow venv): numpy, hypothesis and schedcore only.
"""

from __future__ import annotations

from . import combinators, cyclic, families, piecewise
from .common import Bad, Case, Draw, Entry, OneFlow

__all__ = [
    "CATALOG",
    "Bad",
    "Case",
    "Draw",
    "Entry",
    "OneFlow",
    "after_error_makers",
    "error_cases",
    "exact_cases",
    "oneflow_expectation",
    "seeds",
]

CATALOG: dict[str, Entry] = {}
"""Type name -> entry, in registry order of the node modules (leaves first within each)."""

for _module in (families, piecewise, cyclic, combinators):
    for _entry in _module.ENTRIES:
        if _entry.type_name in CATALOG:
            raise RuntimeError(f"node type {_entry.type_name!r} cataloged twice")
        CATALOG[_entry.type_name] = _entry


def exact_cases() -> list[Case]:
    """Every entry's exact cases, entry by entry."""
    return [c for e in CATALOG.values() for c in e.cases]


def error_cases() -> list[Bad]:
    """Every entry's invalid-argument cases, entry by entry."""
    return [b for e in CATALOG.values() for b in e.errors]


def after_error_makers() -> list[tuple]:
    """``(make, last)`` of every type with an ``after`` field (see ``Entry.after_error``)."""
    return [e.after_error for e in CATALOG.values() if e.after_error is not None]


def seeds() -> dict[str, dict]:
    """Type name -> the entry's hand-written fuzz seed."""
    return {name: e.seed for name, e in CATALOG.items()}


def oneflow_expectation(type_name: str) -> OneFlow:
    """What the OneFlow planner does with ``type_name``: exact cases, or the refused case,
    the reason's text and whether a tolerance approximates it (:class:`OneFlow`)."""
    return CATALOG[type_name].oneflow
