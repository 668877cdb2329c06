"""The generated reference pages: the recipe reference, from the node registry (one section
per node type); the table of what each node type becomes in OneFlow's nn.Graph, from the
planner's rules; and the command-line reference, from the CLI's argument parser."""

from __future__ import annotations

import argparse
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


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    takes_value = action.nargs != 0
    metavar = action.metavar or action.dest.upper()
    names = [f"{o} {metavar}" if takes_value else o for o in action.option_strings]
    return ", ".join(f"`{n}`" for n in names)


def _help(action: argparse.Action) -> str:
    text = action.help or ""
    if "%(" in text:
        text = text % {**vars(action), "prog": ""}
    notes = []
    if action.required and action.option_strings:
        notes.append("required")
    default = action.default
    if (
        action.option_strings
        and action.nargs != 0
        and default not in (None, False, argparse.SUPPRESS)
        and f"{default}" not in text
    ):
        notes.append(f"default: `{default}`")
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        notes.append("one of " + ", ".join(f"`{c}`" for c in action.choices))
    if action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction):
        notes.append("repeatable" if action.option_strings else "any number")
    return _cell(text + (f" ({'; '.join(notes)})" if notes else ""))


def _usage(parser: argparse.ArgumentParser) -> str:
    # a fixed width, so that the page does not depend on the terminal that built it
    saved = parser.formatter_class
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=88)
    try:
        return parser.format_usage().strip()
    finally:
        parser.formatter_class = saved


def _command_sections(parser: argparse.ArgumentParser, level: int) -> list[str]:
    out = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, sub in action.choices.items():
            rows = [
                f"| {_argument(a)} | {_help(a)} |"
                for a in sub._actions
                if a.help not in ("", argparse.SUPPRESS)
                and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
            ]
            section = [f"{'#' * level} `{sub.prog}`", "", _cell(sub.description or helps[name])]
            section += ["", "```text", _usage(sub), "```"]
            if rows:
                section += ["", "| argument | meaning |", "|---|---|", *rows]
            out.append("\n".join(section))
            out += _command_sections(sub, level + 1)
    return out


def cli_markdown() -> str:
    """Markdown for the ``schedcore`` command: every subcommand's usage and arguments, read
    from the parser itself (:func:`schedcore.tools.cli.build_parser`), so the page cannot
    drift from the command."""
    from .cli import EXIT_BUG, EXIT_FINDING, EXIT_OK, EXIT_USAGE, build_parser

    parser = build_parser()
    common = [
        f"| {_argument(a)} | {_help(a)} |"
        for a in parser._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction)
    ]
    head = (
        "# Command line\n\n"
        "Generated from the argument parser (`schedcore.tools.cli.build_parser`). "
        f"{_cell(parser.description or '')} Every command also takes `-h`/`--help`, and:\n\n"
        "| argument | meaning |\n|---|---|\n" + "\n".join(common) + "\n\n"
        f"Exit status: {EXIT_OK} on success, {EXIT_FINDING} when a command finds a problem "
        f"(`lint`, `check`, `diff`), {EXIT_USAGE} on bad input (a usage error or a recipe "
        f"that does not load), {EXIT_BUG} on a bug.\n"
    )
    return head + "\n" + "\n\n".join(_command_sections(parser, 2)) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(reference_markdown(), end="")
