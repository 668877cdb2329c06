"""schedcore_oneflow as users import it: no package attribute shadows a submodule (the
main venv checks the core, torch and Keras packages: tests/test_packaging.py)."""

from __future__ import annotations

from submodules import shadowed_submodules


def test_no_package_attribute_shadows_a_submodule():
    assert shadowed_submodules(["schedcore_oneflow"]) == []
