"""Start-up: ``import schedcore`` and ``schedcore show`` load only what they use.

Structural checks (which modules a fresh interpreter has loaded), not timings: the timings
are ``benchmarks/bench_startup.py``'s.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import schedcore
import schedcore.port

LAZY_FOR_IMPORT = (
    "schedcore.groups",  # the group policy, resolver and table: first use of their names
    "schedcore.recipes",  # the recipe document, its parser and TOML reader
    "schedcore.port",  # every importer
    "schedcore.tools",  # the CLI, plotting, golden files, lint
    "tomllib",
    "hashlib",
    "csv",
    "matplotlib",
    "numpy.ma",
)
NEVER_FOR_SHOW = (
    "schedcore.port.",  # the importers (schedcore.port itself is the port command's parser)
    "schedcore.recipes.tomlwrite",
    "schedcore.tools.plotting",
    "schedcore.tools.termplot",
    "schedcore.tools.golden",
    "schedcore.tools.lint",
    "schedcore.tools.compare",
    "matplotlib",
    "numpy.ma",  # np.unique's first call imports it: 40 ms
)


def _loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return json.loads(out.splitlines()[-1])


def _matching(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """``modules`` that are one of ``prefixes`` or inside one (``x.`` matches inside only)."""
    return [m for m in modules for p in prefixes if m == p or m.startswith(p.rstrip(".") + ".")]


def test_import_schedcore_loads_no_lazy_module():
    loaded = _loaded_after("import schedcore")
    assert "schedcore" in loaded and "schedcore.schedules.families" in loaded
    assert _matching(loaded, LAZY_FOR_IMPORT) == []


def test_show_loads_no_plotting_porting_or_toml_writing():
    loaded = _loaded_after(
        "import contextlib, io\nfrom schedcore.tools.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    assert main(['show']) == 0"
    )
    assert "schedcore.tools.keypoints" in loaded  # it did run
    assert _matching(loaded, NEVER_FOR_SHOW) == []


@pytest.mark.parametrize("module", [schedcore, schedcore.port], ids=lambda m: m.__name__)
def test_every_public_name_resolves_and_is_listed(module):
    listed = dir(module)
    for name in module.__all__:
        assert name in listed, name
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


def test_lazy_names_are_the_modules_own():
    from schedcore.groups.table import ParamTable
    from schedcore.port.torch import from_torch
    from schedcore.recipes import load

    assert schedcore.ParamTable is ParamTable and schedcore.load is load
    assert schedcore.port.from_torch is from_torch
    assert schedcore.port.compiled.__name__ == "schedcore.port.compiled"  # a submodule, on use
