"""The ``schedcore`` command line.

    schedcore show [RECIPE] [--params TABLE | --model MOD:FACTORY] [--steps N]
    schedcore plot [RECIPE ...] [-o lr.png] [--log | --linear] [--terminal] [--steps N]
    schedcore groups [RECIPE] (--params TABLE | --model MOD:FACTORY) [--explain NAME]
    schedcore diff A B [--rtol R] [--plot FILE] [--steps N]     exit 0 same, 1 different
    schedcore snapshot [RECIPE] -o golden.json [--steps N]
    schedcore check [RECIPE] --golden golden.json [--update] [--rtol R] [--sampled-only]
                                                                 exit 1 on drift
    schedcore lint [RECIPE] [--strict] [--ignore CODES]          exit 1 on errors
    schedcore port --from SOURCE ... | --to TARGET RECIPE  import / export (see docs/porting.md)

With no RECIPE, the bundled BERT fine-tune example (and its parameter table) is used.
``--model package.module:factory`` imports that module (from the current directory too),
calls ``factory()`` and walks the model it returns with the adapter of its framework: this
runs the named code, and only when asked this way. A recipe with no ``[training]`` and a
schedule without an end is looked at over a horizon derived from the schedule (a note on
stderr says which); ``--steps N`` sets it.

Exit status (:func:`exit_code`, the one place that maps outcomes to codes): 0 on success,
1 for a difference, drift or lint error (lint warnings with ``--strict``), 2 on a malformed
recipe, a bad file or bad arguments (one line on stderr), 141 when the reader of stdout went
away (a pipe into ``head``), 3 for anything else: a bug, reported as "internal error, please
report" (the traceback with ``--debug``). A path argument is always read as a file, never as
recipe text; output folders are created. No command evaluates a whole horizon: up to 2**53
steps are shown, linted, plotted, snapshotted, checked and compared from boundaries and
bounded samples (:mod:`schedcore.tools.keypoints`).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import json
import math
import os
import stat
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SpecError, describe
from ..examples import BERT_PARAMS, BERT_RECIPE
from ..fields import MAX_STEP
from ..groups.table import ParamTable
from ..recipes import Recipe, load

EXIT_OK, EXIT_FINDING, EXIT_USAGE, EXIT_BUG, EXIT_PIPE = 0, 1, 2, 3, 141

ADAPTERS = {
    "torch": "schedcore_torch",
    "keras": "schedcore_keras",
    "tf_keras": "schedcore_keras",
    "tensorflow": "schedcore_keras",
    "oneflow": "schedcore_oneflow",
}
"""The adapter that walks a model, by the top-level package of its class (or a base)."""


# -- parameter tables and recipes ---------------------------------------------------------


def model_table(spec: str) -> ParamTable:
    """The parameter table of the model that ``package.module:factory`` returns.

    Imports ``package.module`` (the current directory is searched first), calls the
    (dotted) ``factory`` with no arguments and walks the result with its framework's
    adapter, imported only then. A factory may also return a :class:`ParamTable`."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SpecError("--model", f"must be package.module:factory, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise SpecError("--model", f"cannot import {module_name!r}: {err}") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            known = [n for n in dir(target) if not n.startswith("_")]
            close = difflib.get_close_matches(part, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError("--model", f"{module_name!r} has no {part!r}{hint}")
        target = getattr(target, part)
    if not callable(target):
        raise SpecError("--model", f"{spec!r} is not callable")
    try:
        model = target()
    except Exception as err:  # the user's code: say what it raised, as bad input
        raise SpecError("--model", f"{spec}() raised {type(err).__name__}: {err}") from None
    if isinstance(model, ParamTable):
        return model
    roots = [cls.__module__.partition(".")[0] for cls in type(model).__mro__]
    adapter = next((ADAPTERS[r] for r in roots if r in ADAPTERS), None)
    if adapter is None:
        raise SpecError(
            "--model",
            f"{spec}() returned a {type(model).__name__}, not a torch, Keras or OneFlow "
            "model (nor a ParamTable)",
        )
    table = importlib.import_module(adapter).param_table(model)
    return table[0] if isinstance(table, tuple) else table  # (table, tensors) in older adapters


def _table(args: argparse.Namespace) -> ParamTable | str | Path | None:
    """The parameter table the arguments name (--params or --model), else the bundled one
    for the bundled recipe, else None."""
    if getattr(args, "model", None):
        if getattr(args, "params", None):
            raise SpecError("--model", "give --params or --model, not both")
        return model_table(args.model)
    if getattr(args, "params", None):
        return ParamTable.load(_small_file(args.params, "--params"))
    return BERT_PARAMS if getattr(args, "recipe", None) is None else None


def _load(path: str | None) -> Recipe:
    """The recipe file ``path`` (always a path, never text), else the bundled example."""
    return load(Path(path) if path is not None else BERT_RECIPE)


def _small_file(path: str, what: str) -> Path:
    """``path``, unless it is a device or folder (``/dev/zero``) or a file larger than a
    recipe may be: those are refused before anything reads them."""
    from ..files import MAX_DOCUMENT_BYTES

    try:
        info = os.stat(path)
    except (OSError, ValueError):  # missing, unreadable: the reader says so
        return Path(path)
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(what, f"{str(path)!r} is not a regular file")
    if info.st_size > MAX_DOCUMENT_BYTES:
        raise SpecError(what, f"{str(path)!r} is larger than {MAX_DOCUMENT_BYTES >> 20} MiB")
    return Path(path)


def _recipe(args: argparse.Namespace, need_params: bool = False) -> Recipe:
    recipe = _load(args.recipe)
    table = _table(args)
    if table is None and need_params:
        raise SpecError("--params", "is required: a parameter table (.csv or .json) or --model")
    if table is not None and (recipe.policy is not None or need_params):
        recipe = recipe.bind(table)
    return recipe


def _names(recipe: Recipe) -> list[str]:
    from .keypoints import group_names

    return group_names(recipe)


def _steps(args: argparse.Namespace, recipe: Recipe, label: str = "") -> int:
    """The horizon to look at: --steps, else the recipe's; a derived one is said on stderr."""
    from .keypoints import horizon_of

    h = horizon_of(recipe, getattr(args, "steps", None))
    if h.note:
        print(f"schedcore: {label + ': ' if label else ''}{h.note}", file=sys.stderr)
    return h.steps


def _describe(recipe: Recipe, args: argparse.Namespace, total: int) -> str:
    source = args.recipe or f"bundled example ({BERT_RECIPE.name})"
    length = recipe.total_steps
    shown = f"{length} steps" if length else f"unbounded, {total} steps shown"
    lines = [f"recipe: {recipe.name or source}  (base lr {recipe.base_lr:g}, {shown})"]
    if recipe.resolution is not None:
        for name, g in zip(_names(recipe), recipe.resolution.groups, strict=True):
            wd = "0 (unset)" if g.weight_decay is None else f"{g.weight_decay:g}"
            lines.append(
                f"  {name}: {len(g.params)} params, peak lr {g.lr:g}, "
                f"weight_decay {wd}, schedule {g.schedule}"
            )
    return "\n".join(lines)


# -- commands -----------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    from .keypoints import key_table

    recipe = _recipe(args)
    total = _steps(args, recipe)
    print(_describe(recipe, args, total))
    print()
    print(key_table(recipe, total))
    return EXIT_OK


def _log(args: argparse.Namespace) -> bool | None:
    return True if args.log else False if args.linear else None


def cmd_plot(args: argparse.Namespace) -> int:
    paths = args.recipe or [None]
    recipes = []
    for path in paths:
        one = argparse.Namespace(**{**vars(args), "recipe": path})
        recipe = _recipe(one)
        label = recipe.name or (Path(path).stem if path else BERT_RECIPE.stem)
        recipes.append((label, recipe))
    totals = [_steps(args, r, label if len(recipes) > 1 else "") for label, r in recipes]
    total = max(totals)
    if args.terminal:
        from .plotting import terminal_plot

        for _, recipe in recipes:
            print(terminal_plot(recipe, log=_log(args), total=total))
        return EXIT_OK
    from .plotting import plot_recipes

    out = plot_recipes(recipes, args.output, log=_log(args), total=total)
    print(f"wrote {out}")
    return EXIT_OK


def _load_side(path: str, args: argparse.Namespace) -> tuple[Recipe, dict | None]:
    """A recipe file, or a golden file (then its stored curve is what is compared)."""
    from . import golden

    if path.endswith(".json"):
        from ..files import read_text

        try:
            data = json.loads(read_text(path))
        except (SpecError, ValueError, RecursionError):
            data = None  # load() below says what is wrong with it
        if isinstance(data, dict) and "schedcore_golden" in data:
            data = golden.read(path)
            return golden.recipe_of(data), data
    recipe = _load(path)
    table = _table(argparse.Namespace(**{**vars(args), "recipe": path}))
    if table is not None:
        recipe = recipe.bind(table)
    return recipe, None


def _diff_steps(a: Recipe, b: Recipe, args: argparse.Namespace) -> Any:
    """The steps a diff of two recipes looks at: every step up to the longer horizon plus
    25% (past the end too) when that is at most :data:`golden.DIGEST_LIMIT` steps, else
    both recipes' boundaries and bounded samples; only where both are defined."""
    import numpy as np

    from . import golden
    from .keypoints import defined, look_steps

    end = max(_steps(args, a, "A"), _steps(args, b, "B"))
    if args.steps is None:
        end = min(end + max(end // 4, 1), MAX_STEP)  # past the end too
    if end + 1 <= golden.DIGEST_LIMIT:
        steps = np.arange(end + 1, dtype=np.int64)
    else:
        steps = np.union1d(look_steps(a, end + 1), look_steps(b, end + 1))
    return defined(b, defined(a, steps))


def cmd_diff(args: argparse.Namespace) -> int:
    import numpy as np

    from . import golden
    from .compare import compare_chunked, curves
    from .keypoints import defined

    a, golden_a = _load_side(args.a, args)
    b, golden_b = _load_side(args.b, args)
    sides = [(a, golden_a), (b, golden_b)]
    stored = [g for g in (golden_a, golden_b) if g is not None]
    if stored:
        steps = np.asarray(stored[0]["steps"], dtype=np.int64)
        for g in stored[1:]:
            steps = np.intersect1d(steps, np.asarray(g["steps"], dtype=np.int64))
        for recipe, g in sides:
            if g is None:
                steps = defined(recipe, steps)
    else:
        steps = _diff_steps(a, b, args)

    def values(side: int, at: Any) -> Any:
        recipe, g = sides[side]
        if g is None:
            return curves(recipe, at)
        index = np.searchsorted(np.asarray(g["steps"], dtype=np.int64), at)
        return golden.stored_curves(g)[:, index]

    names_a = golden.golden_names(golden_a) if golden_a is not None else _names(a)
    names_b = golden.golden_names(golden_b) if golden_b is not None else _names(b)
    count_a, count_b = (values(i, steps[:1]).shape[0] for i in (0, 1))
    if count_a != count_b:
        print(f"different group counts: A has {count_a}, B has {count_b}")
        return EXIT_FINDING
    blank = [""] * count_a
    names = [x or y for x, y in zip(names_a or blank, names_b or blank, strict=True)]
    if names_a and names_b and names_a != names_b:
        print(f"group names differ: A {', '.join(names_a)}; B {', '.join(names_b)}")
    diffs = compare_chunked(
        steps, lambda at: values(0, at), lambda at: values(1, at), args.rtol, names=names
    )
    for d in diffs:
        print(d.describe())
    if args.plot:
        from .plotting import plot_curves

        shown = (
            steps
            if steps.shape[0] <= 20_001
            else steps[np.unique(np.linspace(0, steps.shape[0] - 1, 20_001).astype(np.int64))]
        )
        pair = [("A", values(0, shown), names_a), ("B", values(1, shown), names_b)]
        out = plot_curves(shown, pair, args.plot, title=f"{args.a} vs {args.b}")
        print(f"wrote {out}")
    same = all(d.same for d in diffs)
    print("identical within rtol" if same else "different")
    return EXIT_OK if same else EXIT_FINDING


def cmd_snapshot(args: argparse.Namespace) -> int:
    from . import golden

    recipe = _recipe(args)
    data = golden.write(recipe, args.output, _steps(args, recipe))
    print(f"wrote {args.output}: {len(data['steps'])} steps, hash {data['hash']}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from . import golden

    recipe = _recipe(args)
    if args.update:
        golden.write(recipe, args.golden, _steps(args, recipe), what="--golden")
        print(f"updated {args.golden}")
        return EXIT_OK
    drift = golden.check(
        recipe, golden.read(args.golden), rtol=args.rtol, full=not args.sampled_only
    )
    print(drift.report())
    return EXIT_OK if drift.clean else EXIT_FINDING


def cmd_lint(args: argparse.Namespace) -> int:
    from .lint import LEVELS, lint, policy_finding

    recipe = _load(args.recipe)  # a malformed recipe or table: exit 2
    table = _table(args)
    findings = []
    if table is not None:
        try:
            recipe = recipe.bind(table)
        except SpecError as err:  # a dead pattern item, a conflict: a finding, not bad input
            findings.append(policy_finding(err))
    _steps(args, recipe)  # says so when the horizon is derived
    findings += lint(recipe, args.steps)
    ignore = {code.strip() for code in (args.ignore or "").split(",") if code.strip()}
    findings = [f for f in findings if f.code not in ignore]
    for f in findings:
        print(f)
    counts = {level: sum(f.level == level for f in findings) for level in LEVELS}
    plural = {"error": "errors", "warning": "warnings", "info": "info"}
    summary = ", ".join(f"{n} {level if n == 1 else plural[level]}" for level, n in counts.items())
    print(summary if findings else "no findings")
    failing = counts["error"] + (counts["warning"] if args.strict else 0)
    return EXIT_FINDING if failing else EXIT_OK


def groups_table(recipe: Recipe) -> str:
    """The resolved groups, one row each: name, parameter count, lr, multiple of the base
    lr, weight decay, schedule, the layer (with layer-wise decay) and the deciding rules."""
    resolution = recipe.resolution
    assert resolution is not None
    layered = any(d.layer_id is not None for d in resolution.decisions.values())
    header = ["group", "params", "lr", "x base", "weight_decay", "schedule"]
    rows = [header + (["layer"] if layered else []) + ["decided by"]]
    for name, g in zip(_names(recipe), resolution.groups, strict=True):
        wd = "0 (unset)" if g.weight_decay is None else f"{g.weight_decay:g}"
        row = [name, str(len(g.params)), f"{g.lr:.4g}", f"{g.lr_scale:.4g}", wd, g.schedule]
        if layered:
            ids = sorted({resolution.decisions[p].layer_id for p in g.params} - {None})
            row.append("-" if not ids else str(ids[0]) if len(ids) == 1 else f"{ids[0]}-{ids[-1]}")
        row.append("; ".join(f"{k}: {', '.join(v)}" for k, v in g.provenance.items()))
        rows.append(row)
    if resolution.frozen:
        rows.append(["frozen", str(len(resolution.frozen))] + ["-"] * (len(header) - 2))
        rows[-1] += ["-"] * layered + ["excluded"]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _explain(recipe: Recipe, name: str) -> str:
    resolution = recipe.resolution
    assert resolution is not None
    if name not in resolution.decisions:
        close = difflib.get_close_matches(name, list(resolution.decisions), n=3, cutoff=0.6)
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise SpecError("--explain", f"no parameter named {name!r} in the table{hint}")
    return resolution.explain(name)


def cmd_groups(args: argparse.Namespace) -> int:
    recipe = _recipe(args, need_params=True)
    assert recipe.resolution is not None
    print(groups_table(recipe))
    if recipe.resolution.frozen:
        print(f"\nfrozen (excluded): {', '.join(recipe.resolution.frozen)}")
    for name in args.explain or ():
        print()
        print(_explain(recipe, name))
    return EXIT_OK


# -- the parser ---------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text) if len(text) <= 20 else 0
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_STEP:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer up to 2**53, got {describe(text)}"
        )
    return value


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {describe(text)}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_table(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", help="parameter table (.csv or .json) to resolve groups")
    p.add_argument(
        "--model",
        metavar="MOD:FACTORY",
        help="resolve groups on the model FACTORY() returns (imports and runs MOD)",
    )


def _add_steps(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--steps",
        type=_positive,
        metavar="N",
        help="horizon in updates (default: [training], the schedule's length, or derived)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="schedcore", description="Learning-rate schedules and parameter groups.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a bug")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help: str, steps: bool = True, many: bool = False):
        p = sub.add_parser(name, help=help, description=help)
        if many:
            p.add_argument("recipe", nargs="*", help="recipe files to overlay; default: bundled")
        else:
            p.add_argument(
                "recipe", nargs="?", help="recipe file (.toml or .json); default: bundled"
            )
        _add_table(p)
        if steps:
            _add_steps(p)
        return p

    add("show", "print the lr at the key points of the schedule").set_defaults(func=cmd_show)
    plot = add("plot", "plot the lr curve, one line per distinct group curve", many=True)
    plot.add_argument("-o", "--output", default="lr.png", help="output file (.png or .svg)")
    scale = plot.add_mutually_exclusive_group()
    scale.add_argument("--log", action="store_true", help="log-scale lr axis")
    scale.add_argument("--linear", action="store_true", help="linear lr axis")
    plot.add_argument("--terminal", action="store_true", help="draw in the terminal instead")
    plot.set_defaults(func=cmd_plot)
    diff = sub.add_parser("diff", help="compare two recipes (or a recipe and a golden file)")
    diff.add_argument("a", help="recipe or golden file A")
    diff.add_argument("b", help="recipe or golden file B")
    _add_table(diff)
    _add_steps(diff)
    diff.add_argument("--rtol", type=_tolerance, default=1e-12, help="relative tolerance")
    diff.add_argument("--plot", metavar="FILE", help="overlay both curves in FILE (.png/.svg)")
    diff.set_defaults(func=cmd_diff)
    snap = add("snapshot", "write a golden file: normalized recipe, sampled curve, hash")
    snap.add_argument("-o", "--output", required=True, help="golden file to write (.json)")
    snap.set_defaults(func=cmd_snapshot)
    check = add("check", "compare a recipe with its golden file; exit 1 on drift")
    check.add_argument("--golden", required=True, help="golden file (.json)")
    check.add_argument(
        "--rtol",
        type=_tolerance,
        default=0.0,
        help="relative tolerance for the stored samples (default 0: exact)",
    )
    check.add_argument(
        "--sampled-only",
        action="store_true",
        help="compare the stored samples only, not the digest of every step (a golden "
        "file from a platform whose float math differs in the last bits)",
    )
    check.add_argument("--update", action="store_true", help="rewrite the golden file")
    check.set_defaults(func=cmd_check)
    lint_cmd = add("lint", "find recipes that load but look wrong; exit 1 on errors")
    lint_cmd.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    lint_cmd.add_argument("--ignore", metavar="CODES", help="comma-separated codes to skip")
    lint_cmd.set_defaults(func=cmd_lint)
    groups = add("groups", "print the resolved parameter groups", steps=False)
    groups.add_argument("--explain", action="append", metavar="NAME", help="explain one parameter")
    groups.set_defaults(func=cmd_groups)
    from .port_command import add_port_parser

    add_port_parser(sub)
    for p in sub.choices.values():  # --debug after the command too
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="")
    return parser


# -- exit codes ---------------------------------------------------------------------------


def exit_code(err: BaseException, debug: bool = False) -> int:
    """The exit status for an exception a command raised, after saying what went wrong on
    stderr in one line. The one place errors become exit codes: bad input (SpecError) is
    2, a closed stdout 141, anything else a bug (3, with the traceback under ``debug``)."""
    if isinstance(err, BrokenPipeError):
        # the reader went away (``| head``): stop quietly; point stdout at devnull so the
        # interpreter's final flush does not fail again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
            pass
        return EXIT_PIPE
    if isinstance(err, SpecError):
        print(f"schedcore: error: {_one_line(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    detail = _one_line(f"{type(err).__name__}: {err}")
    hint = "" if debug else " (rerun with --debug for the traceback)"
    print(f"schedcore: internal error, please report: {detail}{hint}", file=sys.stderr)
    return EXIT_BUG


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 400 else line[:397] + "..."


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a name no encoding can print is escaped
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2, said in one line)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except Exception as err:
        return exit_code(err, getattr(args, "debug", False))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
