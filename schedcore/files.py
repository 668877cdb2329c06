"""Reading the small text files schedcore takes (recipes, parameter tables, golden files):
a size cap, UTF-8 with or without a BOM, and every failure a SpecError naming the file."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import SpecError

MAX_DOCUMENT_BYTES = 8 << 20
"""Largest recipe file (or text) read, 8 MiB: a recipe is a small text file, and a stray
path such as ``/dev/zero`` must not fill the memory."""


def read_text(path: str | Path, what: str = "recipe file") -> str:
    """The text of a small UTF-8 file (a recipe, a parameter table): at most
    :data:`MAX_DOCUMENT_BYTES`, a leading BOM dropped; every failure is a SpecError."""
    name = repr(str(path))
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise SpecError("", f"{what} {name} does not exist") from None
    except (OSError, ValueError) as err:  # a directory, no permission, a NUL in the name
        raise SpecError("", f"cannot read {what} {name}: {err}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SpecError(
            "", f"{what} {name} is larger than {MAX_DOCUMENT_BYTES >> 20} MiB: not a {what}"
        )
    return decode(data, f"{what} {name}")


def decode(data: bytes, origin: str) -> str:
    """UTF-8 bytes as text (a UTF-8 BOM dropped); other encodings are a SpecError."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if data.startswith(bom):
            raise SpecError("", f"{origin} is {encoding} text: save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SpecError(
            "",
            f"{origin} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "save it as UTF-8",
        ) from None


def parse_text(
    loads: Callable[[str], Any],
    syntax: type[ValueError],
    text: str,
    origin: str,
    form: str,
    what: str,
    path: str = "",
) -> Any:
    """``loads(text)`` (``json.loads``, ``tomllib.loads``, ...; ``syntax``: its syntax error),
    every failure a SpecError at ``path`` naming ``origin``: a syntax error, a document
    nesting deeper than Python recurses, or a value Python refuses (an integer beyond its
    digit limit)."""
    try:
        return loads(text)
    except syntax as err:
        raise SpecError(path, f"{origin} is not valid {form}: {err}") from None
    except RecursionError:
        raise SpecError(path, f"{origin} nests too deeply to be a {what}") from None
    except ValueError as err:
        raise SpecError(path, f"{origin} is not a usable {form} {what}: {err}") from None
