"""Fixed schedules for the OneFlow planner's tests: at least one case per plannable type
(more where its rule branches), one per refused type, and approximated ones.

Framework-free: the main venv's planner tests (``tests/port/oneflow``) and the OneFlow
venv's Graph tests (``tests/oneflow``, which import it as ``port.oneflow.cases``) share them.
"""

from __future__ import annotations

from catalog import CATALOG, oneflow_expectation

LIN = {"type": "linear", "steps": 20, "start": 1.0, "end": 0.1}
COS = {"type": "cosine", "steps": 30, "start": 1.0, "end": 0.05}

# Per node type, from the test catalog (tests/catalog: one entry per type, so a new family
# brings its OneFlow expectation with it): the exactly-plannable cases of each plannable type
# (one per rule branch), and one refused case of each other type.
EXACT: dict[str, list[dict]] = {
    name: list(oneflow_expectation(name).exact)
    for name in sorted(CATALOG)
    if oneflow_expectation(name).exact
}
NOT_LOWERABLE: dict[str, dict] = {
    name: oneflow_expectation(name).refused  # type: ignore[misc]
    for name in sorted(CATALOG)
    if not oneflow_expectation(name).exact
}


APPROXIMATED = [
    {"type": "onecycle", "steps": 40},
    {"type": "wsd", "warmup": 4, "stable": 6, "decay": 20, "decay_shape": "1-sqrt"},
    {"type": "cosine", "steps": 25, "exponent": 2.0, "end": 0.1},
    {"type": "warmup", "steps": 8, "shape": "cosine", "schedule": COS},
    {"type": "sequence", "phases": [  # unbounded but bounded here by its phase
        {"schedule": {"type": "inverse_sqrt", "timescale": 5}, "steps": 30},
        {"schedule": {"type": "constant", "value": 0.2}}]},
    {"type": "sequence", "phases": [{"schedule": COS}, {"schedule": {**COS, "start": 0.5}}]},
    {"type": "clamp", "min": 0.4, "schedule": COS},
    {"type": "cosine", "steps": 22, "cycles": 11.0, "end": 0.1, "restarts": True},
]  # fmt: skip


def recipe_of(cases: list[dict]) -> tuple[dict, list[str]]:
    """A recipe whose i-th parameter follows ``cases[i]`` (at its own lr)."""
    rules = [
        {"name": f"g{i}", "match": {"name": [f"p{i}"]}, "schedule": f"s{i}", "lr": 0.05 * (i + 1)}
        for i in range(len(cases))
    ]
    doc = {
        "lr": 0.1,
        "schedules": {f"s{i}": case for i, case in enumerate(cases)},
        "groups": {"defaults": {}, "rules": rules},
    }
    return doc, [f"p{i}" for i in range(len(cases))]


def holding(data):
    """``data`` with after = 'error' read as 'hold', as a compiled graph (which cannot raise)
    runs it."""
    if isinstance(data, dict):
        return {k: "hold" if k == "after" and v == "error" else holding(v) for k, v in data.items()}
    if isinstance(data, list):
        return [holding(v) for v in data]
    return data
