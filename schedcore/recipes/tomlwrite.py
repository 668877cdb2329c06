"""A small TOML writer for recipe documents (the standard library only reads TOML).

It writes the subset ``Recipe.to_dict()`` produces: tables, arrays of tables, strings,
ints, floats (``repr``, so every float reads back to the same value), bools and arrays of
those. TOML has no null: a ``None`` value is left out, which is what a recipe field set to
its default ``None`` means. ``tomllib.loads(dumps(d))`` equals ``d`` without its ``None``
entries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dumps"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def dumps(data: Mapping[str, Any]) -> str:
    """The TOML text of ``data`` (a mapping of str keys)."""
    lines: list[str] = []
    _table(data, [], lines, header=None)
    return "\n".join(lines).strip("\n") + "\n"


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys must be strings, got {key!r}")
    return key if _BARE.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and len(value) > 0
        and all(_is_table(v) for v in value)
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return "[" + ", ".join(_scalar(v) for v in value if v is not None) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as TOML")


def _table(data: Mapping[str, Any], path: list[str], lines: list[str], header: str | None) -> None:
    if header is not None:
        lines.append("")
        lines.append(header)
    nested = []
    for key, value in data.items():
        if value is None:
            continue
        if _is_table(value) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_scalar(value)}")
    for key, value in nested:
        sub = [*path, _key(key)]
        name = ".".join(sub)
        if _is_table(value):
            _table(value, sub, lines, f"[{name}]")
        else:
            for item in value:
                _table(item, sub, lines, f"[[{name}]]")
