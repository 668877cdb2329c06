"""The ``schedcore`` command line.

    schedcore show [RECIPE] [--params TABLE]           key points of the lr curve
    schedcore plot [RECIPE] [--params TABLE] -o lr.png one line per group
    schedcore groups [RECIPE] --params TABLE [--explain NAME]

With no RECIPE, the bundled BERT fine-tune example (and its parameter table) is used.
Exit status: 0 on success, 2 on a malformed recipe or bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import SpecError
from .examples import BERT_PARAMS, BERT_RECIPE
from .recipe import Recipe, load


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
        f"recipe: {recipe.name or source}  (base lr {recipe.lr_base:g}, "
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
    from .plotting import plot_recipe

    recipe = _recipe(args)
    out = plot_recipe(recipe, Path(args.output), log=args.log)
    print(f"wrote {out}")
    return 0


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
    plot.set_defaults(func=cmd_plot)
    groups = add("groups", "print the resolved parameter groups")
    groups.add_argument("--explain", action="append", metavar="NAME", help="explain one parameter")
    groups.set_defaults(func=cmd_groups)
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
