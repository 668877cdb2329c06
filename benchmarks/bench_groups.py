"""The whole grouping path on a 100,003-parameter torch model (2,000 layers x 50), side by side.

- schedcore: ``schedcore_torch.param_groups(model, recipe)`` as users call it, from the model
  walk to the optimizer's groups (walk + table, then resolving a 10-rule policy with
  layer-wise lr decay: named groups, every match item checked); the target is under 1 s;
- transformers' ``Trainer.get_decay_parameter_names`` on the same model (it only splits
  decay / no-decay: no lrs, no layer decay), alone and with the two param groups a user
  then builds from it (a set lookup; the Trainer's own list lookup is quadratic);
- seed-000 style: the list comprehensions users write today (decay / no-decay x backbone /
  head), plus the common per-layer comprehension for layer-wise decay, against resolving;
- building the same table from row dicts (the CLI's ``--params`` path), for context.

Run: ``python benchmarks/bench_groups.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time

import schedcore as sc
from _timing import best_of, report

LINEARS = ("q", "k", "v", "o", "up", "down", "gate", "proj", "mix", "out")
NORMS = ("ln1", "ln2", "ln3", "norm_a", "norm_b")
EXTRA = tuple(f"adapter{i}" for i in range(10))


def layer_names(i: int) -> list[str]:
    base = f"encoder.layer.{i}."
    names = []
    for lin in LINEARS + EXTRA:
        names += [f"{base}{lin}.weight", f"{base}{lin}.bias"]
    for norm in NORMS:
        names += [f"{base}{norm}.weight", f"{base}{norm}.bias"]
    return names


def table_rows(layers: int) -> list[dict]:
    rows = [{"name": "embeddings.word.weight", "shape": [100, 8], "tags": ["embedding"]}]
    for i in range(layers):
        for name in layer_names(i):
            tags = ["bias"] if name.endswith(".bias") else []
            if any(f".{n}." in name for n in NORMS):
                tags.append("norm")
            rows.append({"name": name, "shape": [8] if tags else [8, 8], "tags": tags})
    rows += [
        {"name": "head.weight", "shape": [2, 8]},
        {"name": "head.bias", "shape": [2], "tags": ["bias"]},
    ]
    return rows


def policy(layers: int) -> dict:
    return {
        "lr": 1e-4,
        "groups": {
            "defaults": {"weight_decay": 0.01},
            "layers": {
                "pattern": r"encoder\.layer\.(\d+)\.",
                "offset": 1,
                "ids": {"embeddings.*": 0, "head.*": layers + 1},
            },
            "rules": [
                {
                    "name": "llrd",
                    "match": {"prefix": ["encoder.", "embeddings."]},
                    "layer_decay": 0.999,
                },
                {"name": "no_decay", "match": {"tags": ["bias", "norm"]}, "weight_decay": 0.0},
                {"name": "head", "match": {"prefix": "head."}, "lr": 1e-3},
                {"name": "emb", "match": {"glob": "embeddings.*"}, "lr_scale": 0.5},
                {"name": "adapters", "match": {"regex": r".*\.adapter\d\.weight"}, "wd_scale": 2.0},
                {"name": "vectors", "match": {"ndim": [1]}, "weight_decay": 0.0, "priority": -1},
                {"name": "gate", "match": {"contains": ".gate."}, "lr_scale": 1.0, "priority": -1},
                {"name": "frozen_first", "match": {"layers": [1, 2]}, "frozen": True},
                {"name": "emb_tag", "match": {"tags": "embedding"}, "weight_decay": 0.0},
                {"name": "head_bias", "match": {"name": "head.bias"}, "weight_decay": 0.0},
            ],
        },
    }


def seed_style(names: list[str], layers: int, llrd: bool):
    """What users write today (seed 000), with the usual per-layer LLRD comprehension."""
    no_decay = ["bias", "ln1", "ln2", "ln3", "norm_a", "norm_b"]
    other = ["head"]
    no_main = no_decay + other
    groups = [
        [n for n in names if not any(nd in n for nd in no_main)],
        [n for n in names if not any(nd in n for nd in other) and any(nd in n for nd in no_decay)],
        [n for n in names if any(nd in n for nd in other) and any(nd in n for nd in no_decay)],
        [n for n in names if any(nd in n for nd in other) and not any(nd in n for nd in no_decay)],
    ]
    if llrd:
        for i in range(layers):
            groups.append([n for n in names if f"layer.{i}." in n])
    return groups


def torch_model(layers: int):
    from torch import nn

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for lin in LINEARS + EXTRA:
                self.add_module(lin, nn.Linear(1, 1))
            for norm in NORMS:
                self.add_module(norm, nn.LayerNorm(1))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = nn.Module()
            self.embeddings.word = nn.Embedding(100, 8)
            self.encoder = nn.Module()
            self.encoder.layer = nn.ModuleList(Layer() for _ in range(layers))
            self.head = nn.Linear(1, 2)

    return Model()


def hf_groups(trainer, model, weight_decay: float = 0.01) -> list[dict]:
    """transformers' decay names, then the two groups a user builds from them."""
    from transformers import Trainer

    decay = set(Trainer.get_decay_parameter_names(trainer, model))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if n in decay], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.layers, args.repeat = 20, 1

    from transformers import Trainer

    import schedcore_torch as st

    rows = table_rows(args.layers)
    names = [r["name"] for r in rows]
    recipe = sc.load(policy(args.layers))
    model = torch_model(args.layers)
    table = st.param_table(model)
    assert table.names == names, "the torch model and the row dicts name the same parameters"
    groups = st.param_groups(model, recipe)
    bound = recipe.bind(table)
    assert [g["name"] for g in groups] == [g.name for g in bound.groups]

    t_whole = best_of(lambda: st.param_groups(model, recipe), args.repeat)
    t_walk = best_of(lambda: st.table_and_tensors(model), args.repeat)
    t_resolve = best_of(lambda: recipe.bind(table), args.repeat)
    t_dicts = best_of(lambda: sc.ParamTable.of(rows), args.repeat)
    trainer = Trainer.__new__(Trainer)  # only the method is needed, not a training setup
    t_hf = best_of(lambda: Trainer.get_decay_parameter_names(trainer, model), args.repeat)
    cpu = time.process_time
    cpu_whole = best_of(lambda: st.param_groups(model, recipe), args.repeat, cpu)
    cpu_hf = best_of(lambda: Trainer.get_decay_parameter_names(trainer, model), args.repeat, cpu)
    t_hf_groups = best_of(lambda: hf_groups(trainer, model), args.repeat)
    t_seed = best_of(lambda: seed_style(names, args.layers, llrd=False), args.repeat)
    t_seed_llrd = best_of(lambda: seed_style(names, args.layers, llrd=True), 1)

    print(
        f"{len(table):,} parameters, {len(recipe.policy.rules)} rules with layer decay: "
        f"{len(groups)} groups, {len(bound.resolution.frozen)} frozen"
    )
    print("first groups:", ", ".join(g["name"] for g in groups[:4]), "...")
    report(
        [
            ("schedcore param_groups(model, recipe)", f"{t_whole:7.3f} s   (target < 1 s)"),
            ("  model walk + table", f"{t_walk:7.3f} s"),
            ("  resolving", f"{t_resolve:7.3f} s"),
            ("HF get_decay_parameter_names", f"{t_hf:7.3f} s"),
            ("HF decay names + the two param groups", f"{t_hf_groups:7.3f} s"),
            ("CPU time: schedcore param_groups", f"{cpu_whole:7.3f} s"),
            ("CPU time: HF get_decay_parameter_names", f"{cpu_hf:7.3f} s"),
            ("seed-000 comprehensions (no LLRD)", f"{t_seed:7.3f} s"),
            ("seed-000 + per-layer LLRD comprehensions", f"{t_seed_llrd:7.3f} s"),
            ("table from row dicts (--params)", f"{t_dicts:7.3f} s"),
        ]
    )
    print("ratios:")
    report(
        [
            ("param_groups / HF decay names", f"{t_whole / t_hf:6.2f}x"),
            ("param_groups / HF names + groups", f"{t_whole / t_hf_groups:6.2f}x"),
            ("param_groups / HF decay names, CPU time", f"{cpu_whole / cpu_hf:6.2f}x"),
            ("resolving / seed (no LLRD)", f"{t_resolve / t_seed:6.2f}x"),
            ("resolving / seed + LLRD", f"{t_resolve / t_seed_llrd:6.2f}x"),
        ]
    )
    ok = t_whole < 1.0 and t_resolve <= t_seed_llrd
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
