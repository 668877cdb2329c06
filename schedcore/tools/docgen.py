"""The recipe reference, generated from the node registry: one section per node type; and
the table of what each node type becomes in OneFlow's nn.Graph, from the planner's rules."""

from __future__ import annotations

import dataclasses
import inspect

from ..fields import declared
from ..schedules.node import NODE_TYPES, Schedule

_MISSING = dataclasses.MISSING


def _default(f: dataclasses.Field) -> str:
    if f.default is _MISSING:
        return "required"
    value = f.default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if value is None or value == ():
        return "omitted"
    return repr(value)


def node_section(cls: type[Schedule]) -> str:
    doc = inspect.cleandoc(cls.__doc__ or "").strip()
    lines = [
        f"### `{cls.type_name}`",
        "",
        doc,
        "",
        "| field | accepts | default | meaning |",
        "|---|---|---|---|",
    ]
    for f in declared(cls):
        kind = f.metadata["kind"]
        lines.append(f"| `{f.name}` | {kind.accepts} | {_default(f)} | {f.metadata['doc']} |")
    return "\n".join(lines)


def reference_markdown() -> str:
    """Markdown for every registered node type, in registry order."""
    head = (
        "# Schedule reference\n\n"
        "Generated from schedcore's node registry (`python -m schedcore.tools.docgen`): every "
        "node type a recipe's `schedule` may use, its formula, and its fields. Every node is "
        "a multiplier of the base lr; `k` is the 0-based count of completed optimizer "
        "updates, and update `k` uses `s(k)`.\n"
    )
    return head + "\n" + "\n\n".join(node_section(cls) for cls in NODE_TYPES.values()) + "\n"


def oneflow_table_markdown() -> str:
    """Markdown table: for every registered node type, the OneFlow schedulers it is planned
    as and when that is exact (:func:`schedcore.port.oneflow.summary`)."""
    from ..port.oneflow import summary

    lines = ["| node | OneFlow scheduler(s) | exact when |", "|---|---|---|"]
    for type_name in NODE_TYPES:
        schedulers, exact_when = summary(type_name)
        lines.append(f"| `{type_name}` | {schedulers} | {exact_when} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(reference_markdown(), end="")
