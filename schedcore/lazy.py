"""Names a package loads on first use (a module ``__getattr__``, PEP 562).

``import schedcore`` stays close to numpy's own import time: what only some commands need
(the recipe document, the groups, each importer) is imported when a name of it is first
looked up, then kept in the package's namespace so that later lookups are plain reads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(
    namespace: dict[str, Any], names: dict[str, str], is_submodule: Callable[[str], bool]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the package whose globals are ``namespace``:
    ``names`` maps each lazy name to its module (relative to the package); a name for which
    ``is_submodule`` holds is imported as the package's submodule of that name."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            if is_submodule(name):
                try:
                    return importlib.import_module(f".{name}", package)
                except ModuleNotFoundError as err:
                    if err.name != f"{package}.{name}":
                        raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
