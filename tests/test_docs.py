"""The documentation site: built --strict with its generated pages (the Python API from the
docstrings, the command line from the parser), hooks kept out of the site, and the how-tos'
claims checked against the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import schedcore as sc
from schedcore.tools.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return out


def test_hooks_are_not_copied_into_the_site(site):
    assert (DOCS / "hooks.py").is_file()
    assert not list(site.rglob("*.py"))


@pytest.mark.parametrize(
    "package",
    ["schedcore", "schedcore.port", "schedcore_torch", "schedcore_keras", "schedcore_oneflow",
     "schedcore_jax"],
)
def test_the_api_reference_documents_every_public_name(site, package):
    page = (site / "api" / "index.html").read_text()
    anchors = set(re.findall(r'id="([\w.]+)"', page))
    # read __all__ from the source: the OneFlow adapter cannot be imported in this venv
    path = ROOT / (
        "adapters/" + package if package.startswith("schedcore_") else package.replace(".", "/")
    )
    source = (path / "__init__.py").read_text()
    names = re.findall(r'^\s+"(\w+)",$', source.split("__all__ = [", 1)[1].split("]")[0], re.M)
    assert names
    lower_case_aliases = {"constant", "linear", "cosine", "polynomial", "geometric",
                          "one_minus_sqrt", "exponential", "step", "multistep", "inverse_sqrt",
                          "inverse_time", "noam", "tanh", "piecewise_constant",
                          "piecewise_interpolate", "cyclic", "onecycle", "sgdr", "warmup",
                          "wsd", "scale", "clamp", "shift", "repeat", "per_epoch"}
    missing = []
    for name in names:
        if package == "schedcore" and name in lower_case_aliases:
            cls = type(getattr(sc, name)) if not isinstance(getattr(sc, name), type) else None
            target = getattr(sc, name) if cls is None else cls
            anchor = f"{target.__module__}.{target.__name__}"
        else:
            anchor = f"{package}.{name}"
        if anchor not in anchors:
            missing.append(anchor)
    assert missing == []


def test_the_cli_reference_has_every_command_and_option(site):
    page = (site / "cli" / "index.html").read_text()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and a.dest == "command").choices
    for name, sub in commands.items():
        assert f"schedcore {name}</code>" in page, name
        for action in sub._actions:
            for option in action.option_strings:
                if action.help not in ("", None):
                    assert f"<code>{option}" in page, (name, option)


# ---------------------------------------------------------------------------- how-to: Noam


class NoamOpt:
    """The article's NoamOpt (seeds/003, after the Annotated Transformer): it counts the
    update, sets every group's lr to rate(count), then steps the optimizer."""

    def __init__(self, model_size, warmup, optimizer):
        self.optimizer = optimizer
        self._step = 0
        self.warmup = warmup
        self.model_size = model_size

    def step(self):
        self._step += 1
        rate = self.rate()
        for p in self.optimizer.param_groups:
            p["lr"] = rate
        self.optimizer.step()

    def rate(self, step=None):
        step = self._step if step is None else step
        return self.model_size ** (-0.5) * min(step ** (-0.5), step * self.warmup ** (-1.5))


def test_noamopt_is_noam_shifted_one_step_ahead():
    torch = pytest.importorskip("torch")
    import schedcore_torch as st

    d_model, warmup, updates = 64, 20, 60
    paper = sc.shift(sc.noam(d_model=d_model, warmup=warmup), offset=1)

    w1 = torch.nn.Parameter(torch.ones(3))
    ref = NoamOpt(d_model, warmup, torch.optim.SGD([w1], lr=0))
    w2 = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w2], lr=1.0)
    scheduler = st.scheduler(opt, sc.as_recipe(paper, lr=1.0))
    theirs, ours = [], []
    for _ in range(updates):
        for w in (w1, w2):
            w.grad = torch.ones(3)
        ref.step()  # sets the lr, then updates
        theirs.append(ref.optimizer.param_groups[0]["lr"])
        ours.append(opt.param_groups[0]["lr"])  # the lr this update uses
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    torch.testing.assert_close(w1, w2)
    # and the unshifted node is the LambdaLR ports' curve, one step behind from update 1
    plain = sc.noam(d_model=d_model, warmup=warmup)(np.arange(updates))
    assert plain[1] == plain[0] == theirs[0]
    np.testing.assert_allclose(plain[2:], theirs[1:-1], rtol=1e-12)


def test_the_noam_how_to_table_holds():
    text = (DOCS / "howto" / "noam.md").read_text()
    assert "offset=1" in text and "offset=-1" not in text
    paper = sc.shift(sc.noam(d_model=512, warmup=4000), offset=1)
    plain = sc.noam(d_model=512, warmup=4000)
    noamopt = NoamOpt(512, 4000, None)
    rows = re.findall(r"^\| (\d+) \| (\S+) \| (\S+) \| (\S+) \|$", text, re.M)
    assert [int(r[0]) for r in rows] == [0, 1, 2, 3999]
    for k, ref, shifted, unshifted in rows:
        k = int(k)
        assert f"{noamopt.rate(k + 1):.4e}" == ref
        assert f"{paper(k):.4e}" == shifted
        assert f"{plain(k):.4e}" == unshifted
    doc_toml = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    assert sc.load("version = 1\n" + doc_toml).schedule == paper


# ---------------------------------------------------------------------------- how-to: table


def _bert_tied(ids: dict[str, int]):
    table = sc.ParamTable.of([
        {"name": "bert.embeddings.word_embeddings.weight", "shape": [30, 8],
         "aliases": ["cls.predictions.decoder.weight"]},
        {"name": "bert.encoder.layer.0.dense.weight", "shape": [8, 8]},
        {"name": "bert.encoder.layer.1.dense.weight", "shape": [8, 8]},
    ])
    recipe = sc.load({
        "version": 1, "lr": 1e-3, "schedule": {"type": "constant"},
        "groups": {
            "defaults": {},
            "layers": {"pattern": r"encoder\.layer\.(\d+)\.", "offset": 1, "ids": ids},
            "rules": [{"name": "llrd", "match": {"glob": "*"}, "layer_decay": 0.5}],
        },
    })
    return recipe.bind(table)


def test_tied_weights_under_layer_decay_as_the_how_to_says():
    text = (DOCS / "howto" / "param-table.md").read_text()
    bound = _bert_tied({"*embeddings.*": 0, "cls.predictions.decoder.*": 0})
    assert [g.lr for g in bound.groups] == [0.25e-3, 0.5e-3, 1e-3]
    with pytest.raises(sc.SpecError) as no_id:
        _bert_tied({"*embeddings.*": 0})
    said = "parameter 'cls.predictions.decoder.weight' gets layer decay from rule 'llrd' but " \
           "has no layer id"
    assert said in str(no_id.value) and said in " ".join(text.split())
    with pytest.raises(sc.SpecError) as other_id:
        _bert_tied({"*embeddings.*": 0, "cls.predictions.decoder.*": 2})
    said = ("tied parameter 'bert.embeddings.word_embeddings.weight' and its alias "
            "'cls.predictions.decoder.weight' resolve differently")
    assert said in str(other_id.value) and said in " ".join(text.split())


# ---------------------------------------------------------------------------- guide: JAX


def test_every_code_block_of_the_jax_guide_runs_and_prints_what_it_says(tmp_path, monkeypatch):
    """docs/jax.md read as a newcomer would: its recipe.toml, then each Python block in
    order in one namespace; each ``print(...)  # shown`` line prints what its comment shows
    (the float32 / float64 statements included)."""
    pytest.importorskip("optax")
    import contextlib
    import io

    import jax

    text = (DOCS / "jax.md").read_text()
    (tmp_path / "recipe.toml").write_text(re.search(r"```toml\n(.*?)```", text, re.S).group(1))
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    assert not jax.config.jax_enable_x64
    for block in blocks:
        shown = re.findall(r"^(print\(.*\))[ \t]*\n((?:# .*\n)+)", block, re.M)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(DOCS / "jax.md"), "exec"), namespace)
        said = [line[2:] for _, comment in shown for line in comment.splitlines()]
        inline = re.findall(r"^[ \t]*print\(.*\)[ \t]+# (.*)$", block, re.M)
        expected = said + inline
        if expected:
            assert sorted(out.getvalue().splitlines()) == sorted(expected), block
    assert not jax.config.jax_enable_x64
