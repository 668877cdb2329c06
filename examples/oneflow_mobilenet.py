"""The seed's layered learning rates on a small MobileNet-like model, OneFlow eager and Graph.

``features`` (the backbone) trains at 1e-3, ``pool`` at 1e-4 and ``classifier`` at 1e-5, all
following warmup + cosine decay. Eager mode takes absolute per-group lrs and an exact
scheduler (OneFlow's eager optimizers ignore ``lr_scale``); Graph mode compiles the schedule
into the job: the recipe is planned as OneFlow's graph-capable schedulers, and the groups
share one base lr with an ``lr_scale`` each (1, 0.1, 0.01), as the seed does by hand. Data are
generated; everything runs on the CPU.

Each group also holds an ``lr_meter``: a scalar parameter, reset to 0 before each update and
given a gradient of -1 (the loss subtracts it), so after the update it holds the lr that
group applied. In Graph mode that is the only way to see the lr: ``get_last_lr()`` stays at
its initial value.

    python examples/oneflow_mobilenet.py [--steps 8] [--json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import oneflow as flow
from oneflow import nn

import schedcore as sc
import schedcore_oneflow as so

RECIPE = {
    "lr": 1e-3,
    "training": {"total_steps": 8},
    "schedule": {"warmup": 2, "decay": "cosine", "min_lr_ratio": 0.1},
    "groups": {
        "defaults": {},
        "rules": [
            {"name": "pool", "match": {"prefix": "pool."}, "lr": 1e-4},
            {"name": "classifier", "match": {"prefix": "classifier."}, "lr": 1e-5},
        ],
    },
}
GROUPS = ("features", "pool", "classifier")


def conv_bn(cin: int, cout: int, stride: int = 1, groups: int = 1, kernel: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(),
    )


class InvertedResidual(nn.Module):
    def __init__(self, channels: int, expand: int = 4) -> None:
        super().__init__()
        hidden = channels * expand
        self.block = nn.Sequential(
            conv_bn(channels, hidden, kernel=1),
            conv_bn(hidden, hidden, groups=hidden),  # depthwise
            nn.Conv2d(hidden, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        return x + self.block(x)


class MobileNetLike(nn.Module):
    def __init__(self, width: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, width, stride=2), InvertedResidual(width), InvertedResidual(width)
        )
        self.pool = nn.Sequential(conv_bn(width, 2 * width, kernel=1), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * width, classes)
        )
        for name in GROUPS:  # see the module docstring
            getattr(self, name).lr_meter = nn.Parameter(flow.zeros(1))

    def meters(self) -> list[nn.Parameter]:
        return [getattr(self, name).lr_meter for name in GROUPS]

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        return self.classifier(self.pool(self.features(x)))


def data(batch: int = 8) -> tuple[flow.Tensor, flow.Tensor]:
    rng = np.random.default_rng(0)
    x = flow.tensor(rng.standard_normal((batch, 3, 32, 32)), dtype=flow.float32)
    return x, flow.tensor(rng.integers(0, 10, batch), dtype=flow.int64)


def metered_loss(model: MobileNetLike, loss_fn: nn.Module, x, y) -> flow.Tensor:
    loss = loss_fn(model(x), y)
    for meter in model.meters():
        loss = loss - meter.sum()
    return loss


def read_meters(model: MobileNetLike) -> list[float]:
    return [float(m.numpy().copy()[0]) for m in model.meters()]


def reset_meters(model: MobileNetLike) -> None:
    with flow.no_grad():
        for m in model.meters():
            m.fill_(0.0)


def train_eager(recipe: sc.Recipe, steps: int) -> list[list[float]]:
    flow.manual_seed(0)
    model, loss_fn, (x, y) = MobileNetLike(), nn.CrossEntropyLoss(), data()
    optimizer, scheduler = so.build(model, recipe, optimizer=flow.optim.SGD)
    for group in optimizer.param_groups:
        print(f"  eager group: lr {group['initial_lr']:g}  {group['name']}: "
              f"{', '.join(group['param_names'][:2])}, ...")  # fmt: skip
    applied = []
    for step in range(steps):
        reset_meters(model)
        loss = metered_loss(model, loss_fn, x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
        applied.append(read_meters(model))
        print(f"  eager step {step}: loss {loss.item():.4f}  lrs {applied[-1]}")
    return applied


class TrainGraph(nn.Graph):
    def __init__(self, model: MobileNetLike, pairs: list[so.GraphOptimizer]) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = nn.CrossEntropyLoss()
        for optimizer, lr_scheduler in pairs:
            self.add_optimizer(optimizer, lr_sch=lr_scheduler)

    def build(self, x: flow.Tensor, y: flow.Tensor) -> flow.Tensor:
        loss = metered_loss(self.model, self.loss_fn, x, y)
        loss.backward()
        return loss


def train_graph(recipe: sc.Recipe, steps: int) -> list[list[float]]:
    flow.manual_seed(0)
    model, (x, y) = MobileNetLike(), data()
    pairs = so.graph_optimizers(model, recipe, optimizer=flow.optim.SGD)
    for pair in pairs:
        for group in pair.optimizer.param_groups:
            print(f"  graph group: lr {group['initial_lr']:g} x lr_scale {group['lr_scale']:g}  "
                  f"{group['name']}: {', '.join(group['param_names'][:2])}, ...")  # fmt: skip
    graph = TrainGraph(model, pairs)
    applied = []
    for step in range(steps):
        reset_meters(model)
        loss = graph(x, y)
        applied.append(read_meters(model))
        print(f"  graph step {step}: loss {loss.item():.4f}  lrs {applied[-1]}")
    return applied


def main(argv: list[str] | None = None) -> dict[str, list[list[float]]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print the applied lrs as JSON last")
    args = parser.parse_args(argv)
    recipe = sc.load(RECIPE)
    print("plan for nn.Graph:")
    print(so.explain_lowering(None, recipe))
    out = {"eager": train_eager(recipe, args.steps), "graph": train_graph(recipe, args.steps)}
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
