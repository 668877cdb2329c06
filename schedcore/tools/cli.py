"""The ``schedcore`` command line.

    schedcore show [RECIPE] [--params TABLE]           key points of the lr curve
    schedcore plot [RECIPE] [--params TABLE] -o lr.png one line per group
    schedcore groups [RECIPE] --params TABLE [--explain NAME]
    schedcore diff A B [--rtol R] [--plot FILE]          exit 0 same, 1 different
    schedcore snapshot [RECIPE] -o golden.json
    schedcore check [RECIPE] --golden golden.json [--update]   exit 1 on drift
    schedcore lint [RECIPE] [--ignore CODES]             exit 1 on warnings
    schedcore port --from SOURCE ... | --to TARGET RECIPE  import / export (see docs/porting.md)

With no RECIPE, the bundled BERT fine-tune example (and its parameter table) is used.
Exit status: 0 on success, 1 for a difference, drift or lint warning, 2 on a malformed
recipe, a bad file or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import SpecError
from ..examples import BERT_PARAMS, BERT_RECIPE
from ..recipe import Recipe, load


def _recipe(args: argparse.Namespace, need_params: bool = False) -> Recipe:
    path = args.recipe or BERT_RECIPE
    recipe = load(path)
    params = args.params or (BERT_PARAMS if args.recipe is None else None)
    if params is None and need_params:
        raise SpecError("--params", "is required: a parameter table (.csv or .json)")
    if params is not None and (recipe.policy is not None or need_params):
        recipe = recipe.bind(params)
    return recipe


def _describe(recipe: Recipe, args: argparse.Namespace) -> str:
    source = args.recipe or f"bundled example ({BERT_RECIPE.name})"
    lines = [
        f"recipe: {recipe.name or source}  (base lr {recipe.base_lr:g}, "
        f"{recipe.total_steps or 'unbounded'} steps)"
    ]
    if recipe.resolution is not None:
        for i, g in enumerate(recipe.resolution.groups):
            wd = "default" if g.weight_decay is None else f"{g.weight_decay:g}"
            lines.append(
                f"  group {i}: {len(g.params)} params, peak lr {g.lr:g}, "
                f"weight_decay {wd}, schedule {g.schedule}"
            )
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    from .keypoints import key_table

    recipe = _recipe(args)
    print(_describe(recipe, args))
    print()
    print(key_table(recipe))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    recipe = _recipe(args)
    if args.terminal:
        from .plotting import terminal_plot

        print(terminal_plot(recipe, log=args.log))
        return 0
    from .plotting import plot_recipe

    out = plot_recipe(recipe, Path(args.output), log=args.log)
    print(f"wrote {out}")
    return 0


def _load_side(path: str, params: str | None) -> tuple[Recipe, dict | None]:
    """A recipe file, or a golden file (then its curve is what is compared)."""
    from . import golden

    if path.endswith(".json"):
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and "schedcore_golden" in data:
            data = golden.read(path)
            return golden.recipe_of(data), data
    recipe = load(path)
    if params is not None:
        recipe = recipe.bind(params)
    return recipe, None


def cmd_diff(args: argparse.Namespace) -> int:
    import numpy as np

    from .compare import compare, curves
    from .keypoints import horizon

    a, golden_a = _load_side(args.a, args.params)
    b, golden_b = _load_side(args.b, args.params)
    if golden_a is not None or golden_b is not None:
        steps = np.asarray((golden_a or golden_b)["steps"], dtype=np.int64)
    else:
        end = max(horizon(a), horizon(b))
        end = end + max(end // 4, 1)  # past the end too
        steps = (
            np.arange(end + 1, dtype=np.int64)
            if end <= 10_000_000
            else np.linspace(0, end, 1_000_001).astype(np.int64)
        )
    ca = np.asarray(golden_a["lr"]) if golden_a is not None else curves(a, steps)
    cb = np.asarray(golden_b["lr"]) if golden_b is not None else curves(b, steps)
    if ca.shape[0] != cb.shape[0]:
        print(f"different group counts: A has {ca.shape[0]}, B has {cb.shape[0]}")
        return 1
    diffs = compare(steps, ca, cb, args.rtol)
    for d in diffs:
        print(d.describe())
    if args.plot:
        from .plotting import plot_curves

        plot_curves(steps, [("A", ca), ("B", cb)], Path(args.plot), title=f"{args.a} vs {args.b}")
        print(f"wrote {args.plot}")
    same = all(d.same for d in diffs)
    print("identical within rtol" if same else "different")
    return 0 if same else 1


def cmd_snapshot(args: argparse.Namespace) -> int:
    from . import golden

    recipe = _recipe(args)
    data = golden.write(recipe, args.output)
    print(f"wrote {args.output}: {len(data['steps'])} steps, hash {data['hash']}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from . import golden

    recipe = _recipe(args)
    if args.update:
        golden.write(recipe, args.golden)
        print(f"updated {args.golden}")
        return 0
    drift = golden.check(recipe, golden.read(args.golden), rtol=args.rtol)
    print(drift.report())
    return 0 if drift.clean else 1


def cmd_lint(args: argparse.Namespace) -> int:
    from .lint import lint

    recipe = _recipe(args)
    ignore = {code.strip() for code in (args.ignore or "").split(",") if code.strip()}
    findings = [f for f in lint(recipe) if f.code not in ignore]
    for f in findings:
        print(f)
    print(f"{len(findings)} warning(s)" if findings else "no warnings")
    return 1 if findings else 0


def cmd_groups(args: argparse.Namespace) -> int:
    recipe = _recipe(args, need_params=True)
    assert recipe.resolution is not None
    print(recipe.resolution.table())
    if recipe.resolution.frozen:
        print(f"\nfrozen (excluded): {', '.join(recipe.resolution.frozen)}")
    for name in args.explain or ():
        print()
        print(recipe.resolution.explain(name))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schedcore", description="Learning-rate schedules and parameter groups."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("recipe", nargs="?", help="recipe file (.toml or .json); default: bundled")
        p.add_argument("--params", help="parameter table (.csv or .json) to resolve groups")
        return p

    add("show", "print the lr at the key points of the schedule").set_defaults(func=cmd_show)
    plot = add("plot", "plot the lr curve, one line per group")
    plot.add_argument("-o", "--output", default="lr.png", help="output file (.png or .svg)")
    plot.add_argument("--log", action="store_true", help="log-scale lr axis")
    plot.add_argument("--terminal", action="store_true", help="draw in the terminal instead")
    plot.set_defaults(func=cmd_plot)
    diff = sub.add_parser("diff", help="compare two recipes (or a recipe and a golden file)")
    diff.add_argument("a", help="recipe or golden file A")
    diff.add_argument("b", help="recipe or golden file B")
    diff.add_argument("--params", help="parameter table to resolve groups in both")
    diff.add_argument("--rtol", type=float, default=1e-12, help="relative tolerance")
    diff.add_argument("--plot", metavar="FILE", help="overlay both curves in FILE (.png/.svg)")
    diff.set_defaults(func=cmd_diff)
    snap = add("snapshot", "write a golden file: normalized recipe, sampled curve, hash")
    snap.add_argument("-o", "--output", required=True, help="golden file to write (.json)")
    snap.set_defaults(func=cmd_snapshot)
    check = add("check", "compare a recipe with its golden file; exit 1 on drift")
    check.add_argument("--golden", required=True, help="golden file (.json)")
    check.add_argument("--rtol", type=float, default=1e-12, help="relative tolerance")
    check.add_argument("--update", action="store_true", help="rewrite the golden file")
    check.set_defaults(func=cmd_check)
    lint_cmd = add("lint", "warn about recipes that load but look wrong; exit 1 on warnings")
    lint_cmd.add_argument("--ignore", metavar="CODES", help="comma-separated codes to skip")
    lint_cmd.set_defaults(func=cmd_lint)
    groups = add("groups", "print the resolved parameter groups")
    groups.add_argument("--explain", action="append", metavar="NAME", help="explain one parameter")
    groups.set_defaults(func=cmd_groups)
    from .port_command import add_port_parser

    add_port_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SpecError as err:
        print(f"schedcore: error: {err}", file=sys.stderr)
        return 2
    except KeyError as err:
        print(f"schedcore: error: {err.args[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
