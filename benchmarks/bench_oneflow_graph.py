"""Per-iteration time of an nn.Graph train step with schedcore's planned lr scheduler, against
the same step with the native OneFlow scheduler of the same shape written by hand.

Two cases, each a small conv net trained with SGD on the CPU:

- ``warmup + cosine``: one group; by hand, ``SequentialLR([LinearLR, CosineDecayLR])``;
- ``layered lrs``: the seed's three groups (features, pool, classifier) at lr_scale 1, 0.1,
  0.01 of one base lr, the same schedule; by hand, the same groups with ``lr_scale``.

The planned scheduler is OneFlow's own: the script first checks that both produce the same
Graph conf (the serialized ``LearningRateDecayConf``), then times interleaved blocks of steps
and keeps each side's best block. Target: ours / native <= 1.05 (1.0 within noise).
Run in the OneFlow venv: ``python benchmarks/bench_oneflow_graph.py`` (``--quick`` for a
smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import oneflow as flow
from oneflow import nn
from oneflow.core.job.learning_rate_schedule_conf_pb2 import LearningRateDecayConf

import schedcore as sc
import schedcore_oneflow as so
from _timing import report

L = flow.optim.lr_scheduler
TOTAL, WARMUP, MIN_RATIO, LR = 10_000, 500, 0.01, 0.1
SCHEDULE = {"warmup": WARMUP, "decay": "cosine", "min_lr_ratio": MIN_RATIO}
LAYERED = {
    "defaults": {},
    "rules": [
        {"name": "pool", "match": {"prefix": "pool."}, "lr": LR * 0.1},
        {"name": "classifier", "match": {"prefix": "classifier."}, "lr": LR * 0.01},
    ],
}


class ConvNet(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, 2, 1), nn.BatchNorm2d(width), nn.ReLU6(),
            nn.Conv2d(width, width, 3, 1, 1, groups=width), nn.BatchNorm2d(width), nn.ReLU6(),
        )  # fmt: skip
        self.pool = nn.Sequential(nn.Conv2d(width, 2 * width, 1), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * width, 10))

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        return self.classifier(self.pool(self.features(x)))


class TrainGraph(nn.Graph):
    def __init__(self, model: nn.Module, pairs) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = nn.CrossEntropyLoss()
        for optimizer, lr_scheduler in pairs:
            self.add_optimizer(optimizer, lr_sch=lr_scheduler)

    def build(self, x: flow.Tensor, y: flow.Tensor) -> flow.Tensor:
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        return loss


def native_scheduler(optimizer: flow.optim.Optimizer) -> L.SequentialLR:
    warmup = L.LinearLR(optimizer, start_factor=0.0, end_factor=1.0, total_iters=WARMUP)
    cosine = L.CosineDecayLR(optimizer, decay_steps=TOTAL - WARMUP, alpha=MIN_RATIO)
    return L.SequentialLR(optimizer, [warmup, cosine], milestones=[WARMUP],
                          interval_rescaling=[True])  # fmt: skip


def build(case: str, ours: bool) -> tuple[nn.Module, list]:
    flow.manual_seed(0)
    model = ConvNet()
    if ours:
        doc = {"lr": LR, "training": {"total_steps": TOTAL}, "schedule": SCHEDULE}
        if case == "layered lrs":
            doc["groups"] = LAYERED
        return model, list(so.graph_optimizers(model, sc.load(doc), optimizer=flow.optim.SGD))
    if case == "layered lrs":
        groups = [
            {"params": list(getattr(model, name).parameters()), "lr_scale": scale}
            for name, scale in (("features", 1.0), ("pool", 0.1), ("classifier", 0.01))
        ]
    else:
        groups = [{"params": list(model.parameters())}]
    optimizer = flow.optim.SGD(groups, lr=LR)
    return model, [(optimizer, native_scheduler(optimizer))]


def conf(pairs) -> bytes:
    out = b""
    for _, lr_scheduler in pairs:
        message = LearningRateDecayConf()
        lr_scheduler._generate_conf_for_graph(message)
        out += message.SerializeToString()
    return out


def lr_scales(pairs) -> list[float]:
    """Each group's lr_scale as the Graph conf stores it (a float32)."""
    scales = [g.options.get("lr_scale", 1.0) for o, _ in pairs for g in o.param_groups]
    return sorted(float(np.float32(s)) for s in scales)


def per_step(graphs: dict[str, TrainGraph], batch, steps: int, rounds: int) -> dict[str, float]:
    best = dict.fromkeys(graphs, float("inf"))
    for _ in range(rounds):
        for name, graph in graphs.items():  # interleaved: drift and noise hit both sides
            start = time.perf_counter()
            for _ in range(steps):
                loss = graph(*batch)
            loss.numpy()  # wait for the last step
            best[name] = min(best[name], (time.perf_counter() - start) / steps)
    return best


CASES = ("warmup + cosine", "layered lrs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--rounds", type=int, default=25, help="timed blocks per side")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 5, 1
    batch = (flow.randn(8, 3, 32, 32), flow.randint(0, 10, (8,)))
    rows, ratios, same = [], {}, True
    for case in CASES:
        (m1, ours), (m2, native) = build(case, True), build(case, False)
        same_conf = conf(ours) == conf(native) and lr_scales(ours) == lr_scales(native)
        same &= same_conf
        graphs = {"schedcore": TrainGraph(m1, ours), "native": TrainGraph(m2, native)}
        for graph in graphs.values():  # compile, then warm up
            for _ in range(3):
                graph(*batch).numpy()
        times = per_step(graphs, batch, args.steps, args.rounds)
        ratios[case] = times["schedcore"] / times["native"]
        rows += [(f"{case}: {k}", f"{v * 1e3:7.3f} ms") for k, v in times.items()]
        rows.append((f"{case}: Graph confs identical", "yes" if same_conf else "NO"))
    print(
        f"nn.Graph train step per iteration, best of {args.rounds} blocks x {args.steps} steps "
        f"(oneflow {flow.__version__}, CPU)"
    )
    report(rows)
    print("ratios (schedcore / native):")
    report([(case, f"{r:5.3f}x   (target <= 1.05x)") for case, r in ratios.items()])
    ok = same and all(r <= 1.05 for r in ratios.values())
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or (args.quick and same) else 1


if __name__ == "__main__":
    sys.exit(main())
