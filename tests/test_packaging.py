"""The package as users get it: a distribution name of its own on the package index, extras
that name each framework, adapters that say which extra is missing, submodules that are
modules, and a clean ``pip install .[torch]`` that runs the torch quickstart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib

from submodules import shadowed_submodules

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NAME = PYPROJECT["project"]["name"]
EXTRAS = {"torch": "torch", "keras": "keras", "oneflow": "oneflow", "jax": "jax"}


def test_the_distribution_is_not_the_index_s_other_schedcore():
    # `schedcore` on the package index is an unrelated thread-pool scheduler (import name
    # schedcore too): `pip install schedcore` must never be what the docs tell users to run.
    assert NAME != "schedcore"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", NAME), NAME
    assert set(PYPROJECT["project"]["optional-dependencies"]) >= {*EXTRAS, "plot"}
    assert PYPROJECT["project"]["scripts"]["schedcore"] == "schedcore.tools.cli:main"


def test_readme_opens_with_pip_install_next_to_the_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert first_block is not None
    lines = [ln.split("#")[0].strip() for ln in first_block.group(1).splitlines()]
    lines = [ln for ln in lines if ln]
    assert lines[0] == f"pip install '{NAME}[torch]'", lines
    for extra in ("keras", "oneflow", "jax", "plot"):
        assert f"'{NAME}[{extra}]'" in first_block.group(1)
    # the development set-up: make demo, then make test, the first two commands of their block
    dev = re.findall(r"^(make \w+)", readme, re.M)
    assert dev[:2] == ["make demo", "make test"]
    assert "pip install schedcore\n" not in readme and "pip install schedcore[" not in readme


@pytest.mark.parametrize(("adapter", "framework", "extra"), [
    ("schedcore_torch", "torch", "torch"),
    ("schedcore_keras", "keras", "keras"),
    ("schedcore_oneflow", "oneflow", "oneflow"),
    ("schedcore_jax", "jax", "jax"),
    ("schedcore_jax", "optax", "jax"),
])
def test_an_adapter_without_its_framework_names_the_extra(adapter, framework, extra):
    # sys.modules[name] = None makes `import name` raise ImportError, as a missing package does
    code = textwrap.dedent(f"""
        import sys
        sys.modules[{framework!r}] = None
        try:
            import {adapter}
        except ImportError as err:
            print("ImportError:", err)
            print("cause:", type(err.__cause__).__name__)
        else:
            print("imported")
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert f"pip install '{NAME}[{extra}]'" in out, out
    assert f"ImportError: {adapter} needs" in out, out
    assert "cause: ImportError" in out or "cause: ModuleNotFoundError" in out, out


def test_no_package_attribute_shadows_a_submodule():
    # `import schedcore_keras.optimizer as m` must give the module, not a function of the
    # same name bound in the package; likewise in every package, core and adapters.
    assert shadowed_submodules(
        ["schedcore", "schedcore_torch", "schedcore_keras", "schedcore_jax"]
    ) == []


def test_the_shadowing_check_fails_on_a_shadowed_submodule(tmp_path, monkeypatch):
    pkg = tmp_path / "shadowpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .thing import thing\n")
    (pkg / "thing.py").write_text("def thing():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert shadowed_submodules(["shadowpkg"]) == [("shadowpkg.thing", "function")]


# ---------------------------------------------------------------------------- a clean venv

QUICKSTART = """
import numpy as np
import torch

import schedcore as sc
import schedcore_torch as st

s = sc.warmup(sc.cosine(steps=1850, end=0.01), steps=100)
assert s(0) == 0.0 and s(100) == 1.0

model = torch.nn.Sequential()
model.add_module("body", torch.nn.Linear(4, 8))
model.add_module("norm", torch.nn.LayerNorm(8))
model.add_module("head", torch.nn.Linear(8, 2))

recipe = sc.load("recipe.toml")
optimizer, scheduler = st.build(model, recipe)            # AdamW by default
applied = []
for _ in range(12):
    applied.append([g["lr"] for g in optimizer.param_groups])
    loss = model(torch.randn(5, 4)).square().mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    scheduler.step()
expected = recipe.bind(st.param_table(model)).lr(np.arange(12)).T
np.testing.assert_allclose(applied, expected, rtol=1e-12)
print("groups:", [g["name"] for g in optimizer.param_groups])
print("quickstart ok")
"""

RECIPE = """
version = 1
lr = 1e-3

[training]
total_steps = 12

[schedule]
warmup = 3
decay = "cosine"

[groups.defaults]
weight_decay = 0.01

[[groups.rules]]
name = "head"
match = { prefix = ["head."] }
lr_scale = 10.0

[[groups.rules]]
name = "no_decay"
match = { tags = ["bias", "norm"] }
weight_decay = 0.0
"""


def _find_links() -> list[Path]:
    dirs = os.environ.get("PIP_FIND_LINKS", "/opt/wheels").split()
    return [Path(d) for d in dirs if Path(d).is_dir()]


def _torch_pin() -> str:
    for line in (ROOT / "requirements" / "main.txt").read_text().splitlines():
        if line.startswith("torch=="):
            return line.strip()
    raise AssertionError("requirements/main.txt pins no torch")


def _copy_source(dest: Path) -> None:
    """The files git would ship (tracked and new, not ignored): no venvs, no build output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.mark.slow
def test_a_clean_venv_with_the_torch_extra_runs_the_quickstart(tmp_path):
    version = _torch_pin().split("==")[1]
    wheels = [w for d in _find_links() for w in d.glob(f"torch-{version}+cpu-*.whl")]
    if not wheels:
        pytest.skip(f"no local CPU wheel of torch {version}: pip would download the CUDA build")
    src, venv, work = tmp_path / "src", tmp_path / "venv", tmp_path / "work"
    src.mkdir()
    work.mkdir()
    _copy_source(src)
    # a real clean venv: no system site-packages, nothing but pip
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(_torch_pin() + "\n")
    links = [arg for d in _find_links() for arg in ("--find-links", str(d))]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-input", "--progress-bar", "off",
         *links, "-c", str(constraints), f"{src}[torch]"],
        capture_output=True, text=True, timeout=1500, env=env,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        capture_output=True, text=True, check=True, env=env,
    ).stdout
    installed = {ln.split("==")[0].lower(): ln.split("==")[1] for ln in listed.split()}
    assert installed[NAME] == PYPROJECT["project"]["version"]
    assert installed["torch"].startswith(version) and installed["torch"].endswith("+cpu")
    for other in ("keras", "oneflow", "tensorflow", "jax", "optax", "matplotlib", "schedcore"):
        assert other not in installed, f"{other} came with .[torch]"

    (work / "recipe.toml").write_text(RECIPE)
    (work / "quickstart.py").write_text(QUICKSTART)
    run = subprocess.run(
        [str(python), "quickstart.py"], cwd=work, capture_output=True, text=True,
        timeout=600, env=env,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "quickstart ok" in run.stdout
    assert "'head+no_decay'" in run.stdout or "head+no_decay" in run.stdout

    # the installed package, not the source tree, was imported; the other adapters say
    # which extra they need; the console script works
    where = subprocess.run(
        [str(python), "-c", "import schedcore, schedcore_torch; print(schedcore.__file__)"],
        cwd=work, capture_output=True, text=True, check=True, env=env,
    ).stdout
    assert str(venv) in where
    for adapter, extra in (("schedcore_keras", "keras"), ("schedcore_oneflow", "oneflow"),
                           ("schedcore_jax", "jax")):
        missing = subprocess.run(
            [str(python), "-c", f"import {adapter}"], cwd=work, capture_output=True,
            text=True, env=env,
        )
        assert missing.returncode != 0
        assert f"pip install '{NAME}[{extra}]'" in missing.stderr, missing.stderr
    show = subprocess.run(
        [str(venv / "bin" / "schedcore"), "show", "recipe.toml"], cwd=work,
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert show.returncode == 0, show.stderr
    assert "base lr 0.001, 12 steps" in show.stdout, show.stdout
