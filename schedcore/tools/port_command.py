"""``schedcore port``: import a schedule from another library, or export a recipe to one.

    schedcore port --from transformers cosine --lr 2e-5 --warmup-steps 500 \\
                   --total-steps 10000 [--kwargs '{"num_cycles": 0.5}'] -o recipe.toml
    schedcore port --from training-args args.json -o recipe.toml
    schedcore port --from optax warmup_cosine_decay_schedule --kwargs '{...}'
    schedcore port --from keras '{"class_name": "CosineDecay", "config": {...}}'
    schedcore port --from fairseq inverse_sqrt --lr 5e-4 --kwargs '{"warmup_updates": 4000}'
    schedcore port --from detectron2 solver.json
    schedcore port --from timm --lr 0.1 --kwargs '{"t_initial": 300, "updates_per_epoch": 100}'
    schedcore port --from keras-bert --lr 1e-4 --total-steps 120 --warmup-steps 24 \\
                   [--kwargs '{"min_lr": 1e-7}']
    schedcore port --to transformers recipe.toml
    schedcore port --to keras recipe.toml

JSON arguments are JSON text or the path of a JSON file. Without ``-o`` the recipe is
printed as TOML; ``-o`` writes ``.toml`` or ``.json`` by the file's extension.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import SpecError, describe
from ..recipes import Recipe, load

SOURCES = (
    "transformers",
    "training-args",
    "optax",
    "keras",
    "keras-bert",
    "fairseq",
    "detectron2",
    "timm",
)
TARGETS = ("transformers", "keras")


def add_port_parser(sub: Any) -> None:
    help_ = "import a schedule from another library, or export a recipe to one"
    p = sub.add_parser("port", help=help_, description=help_)
    way = p.add_mutually_exclusive_group(required=True)
    way.add_argument("--from", dest="source", choices=SOURCES, help="library to import from")
    way.add_argument("--to", dest="target", choices=TARGETS, help="library to export to")
    p.add_argument(
        "name",
        nargs="?",
        help="scheduler name / optax builder / fairseq name; a JSON config for keras, "
        "detectron2 and training-args; the recipe file with --to",
    )
    p.add_argument("--lr", type=float, help="base learning rate")
    p.add_argument(
        "--warmup-steps", type=int, help="transformers: num_warmup_steps; keras-bert: warmup_steps"
    )
    p.add_argument(
        "--total-steps", type=int, help="transformers: num_training_steps; keras-bert: decay_steps"
    )
    p.add_argument("--kwargs", help="more keyword arguments, as JSON text or a JSON file")
    p.add_argument("-o", "--output", help="write the recipe here (.toml or .json)")
    p.set_defaults(func=cmd_port)


def _json(text: str | None, what: str) -> Any:
    if text is None:
        return {}
    source = text
    if not text.lstrip().startswith(("{", "[")):
        from ..files import read_text

        try:
            is_file = Path(text).is_file()
        except (OSError, ValueError):  # a name too long, a NUL in it
            is_file = False
        if not is_file:
            raise SpecError(what, f"must be JSON text or a JSON file, got {describe(text)}")
        try:
            source = read_text(text, "JSON file")  # size cap, UTF-8 (a BOM accepted)
        except SpecError as err:
            raise SpecError(what, err.problem) from None
    try:
        return json.loads(source)
    except (ValueError, RecursionError) as err:
        raise SpecError(what, f"is not valid JSON: {err}") from None


def _need(value: Any, what: str, source: str) -> Any:
    if value is None:
        raise SpecError(what, f"is required with --from {source}")
    return value


def _import(args: argparse.Namespace) -> Recipe:
    from ..port import (
        from_detectron2,
        from_fairseq,
        from_keras,
        from_optax,
        from_timm,
        from_training_args,
        from_transformers,
    )

    source = args.source
    extra = _json(args.kwargs, "--kwargs")
    if not isinstance(extra, dict):
        raise SpecError("--kwargs", f"must be a JSON object, got {describe(extra)}")
    if source == "transformers":
        return from_transformers(
            _need(args.name, "name", source),
            lr=_need(args.lr, "--lr", source),
            num_warmup_steps=args.warmup_steps,
            num_training_steps=args.total_steps,
            **extra,
        )
    if source == "training-args":
        return from_training_args(_json(_need(args.name, "name", source), "name"))
    if source == "optax":
        return from_optax(_need(args.name, "name", source), **extra)
    if source == "keras":
        return from_keras(_json(_need(args.name, "name", source), "name"))
    if source == "fairseq":
        lr = {} if args.lr is None else {"lr": args.lr}
        return from_fairseq(_need(args.name, "name", source), **lr, **extra)
    if source == "keras-bert":
        from ..port import from_keras_bert

        return from_keras_bert(
            _need(args.total_steps, "--total-steps", source),
            _need(args.warmup_steps, "--warmup-steps", source),
            learning_rate=_need(args.lr, "--lr", source),
            **extra,
        )
    if source == "detectron2":
        return from_detectron2(_json(_need(args.name, "name", source), "name"))
    lr = extra.pop("lr", args.lr)
    return from_timm(lr=_need(lr, "--lr", source), **extra)


def cmd_port(args: argparse.Namespace) -> int:
    if args.target is not None:
        from ..port import to_keras_config, to_transformers

        recipe = load(Path(_need(args.name, "name", f"--to {args.target}")))
        if args.target == "transformers":
            name, kwargs = to_transformers(recipe)
            print(json.dumps({"name": name, **kwargs}, indent=2))
        else:
            print(json.dumps(to_keras_config(recipe), indent=2))
        return 0
    from ..recipes.tomlwrite import dumps

    recipe = _import(args)
    data = recipe.to_dict()
    if args.output is None:
        print(dumps(data), end="")
        return 0
    from .output import write_text

    out = Path(args.output)
    text = json.dumps(data, indent=2) + "\n" if out.suffix == ".json" else dumps(data)
    print(f"wrote {write_text(out, text, '--output')}")
    return 0
