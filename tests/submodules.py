"""Submodules that a package attribute shadows: ``import pkg.sub as m`` binds
``getattr(pkg, "sub")``, so a function ``sub`` in the package's namespace hides the module.
Shared by tests/test_packaging.py (core, torch, Keras) and the OneFlow venv's test."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import types


def shadowed_submodules(packages: list[str]) -> list[tuple[str, str]]:
    """``(module name, type of the attribute in its place)`` for every submodule, at any
    depth under ``packages``, whose parent package binds its name to something else."""
    out = []
    for top in packages:
        package = importlib.import_module(top)
        for info in pkgutil.walk_packages(package.__path__, top + "."):
            module = importlib.import_module(info.name)
            assert isinstance(module, types.ModuleType)
            parent, _, leaf = info.name.rpartition(".")
            attribute = getattr(sys.modules[parent], leaf, None)
            if attribute is not module:
                out.append((info.name, type(attribute).__name__))
    return out
