"""Output files of the tools: the folder is created, a folder given as the file is refused,
and every failure to write is a SpecError naming the option (exit 2), not a traceback."""

from __future__ import annotations

from pathlib import Path

from ..errors import SpecError


def prepare(path: str | Path, what: str) -> Path:
    """``path`` ready to be written: its folder created (as ``mkdir -p``); a path that is a
    folder, or a folder that cannot be made, is a SpecError naming ``what``."""
    target = Path(path)
    try:
        if target.is_dir():
            raise SpecError(what, f"{str(target)!r} is a folder: give a file name")
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SpecError(
            what, f"cannot create the folder of {str(target)!r}: {err.strerror or err}"
        ) from None
    except ValueError as err:  # a NUL in the name
        raise SpecError(what, f"is not a usable file name: {err}") from None
    return target


def write_text(path: str | Path, text: str, what: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` (see :func:`prepare`)."""
    target = prepare(path, what)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise SpecError(what, f"cannot write {str(target)!r}: {err.strerror or err}") from None
    return target
