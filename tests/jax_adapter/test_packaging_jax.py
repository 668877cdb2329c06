"""schedcore_jax as users get it: the ``[jax]`` extra, a clear ImportError without JAX,
and submodules that are modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import tomllib

from submodules import shadowed_submodules

ROOT = Path(__file__).resolve().parents[2]


def test_the_jax_extra_installs_jax_and_optax():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["optional-dependencies"]["jax"] == ["jax>=0.4", "optax>=0.2"]
    assert "schedcore_jax*" in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "pip install 'schedcore-lr[jax]'" in (ROOT / "README.md").read_text()


def test_without_jax_the_adapter_names_the_extra():
    code = textwrap.dedent("""
        import sys
        sys.modules["optax"] = None
        try:
            import schedcore_jax
        except ImportError as err:
            print("ImportError:", err)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert "ImportError: schedcore_jax needs JAX and optax: pip install 'schedcore-lr[jax]'" in out


def test_no_attribute_of_the_adapter_shadows_a_submodule():
    assert shadowed_submodules(["schedcore_jax"]) == []
