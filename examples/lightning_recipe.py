"""A recipe in PyTorch Lightning: ``configure_optimizers`` returns schedcore's optimizer and
its scheduler, stepped after every optimizer update (``"interval": "step"``).

    python examples/lightning_recipe.py --steps 12

Prints the lr each group applied, per update, next to the recipe's own ``recipe.lr(k)``.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import lightning as L
import numpy as np
import torch

import schedcore as sc
import schedcore_torch as st


def recipe_for(steps: int) -> sc.Recipe:
    return sc.load(
        {
            "lr": 0.01,
            "training": {"total_steps": steps},
            "schedule": {"warmup": "25%", "decay": "cosine"},
            "groups": {
                "defaults": {"weight_decay": 0.01},
                "rules": [
                    {"name": "head", "match": {"prefix": "head."}, "lr": 0.05},
                    {"name": "no_decay", "match": {"tags": ["bias"]}, "weight_decay": 0.0},
                ],
            },
        }
    )


class Regressor(L.LightningModule):
    def __init__(self, recipe: sc.Recipe) -> None:
        super().__init__()
        self.recipe = recipe
        self.body = torch.nn.Linear(4, 8)
        self.head = torch.nn.Linear(8, 1)
        self.applied: list[list[float]] = []  # each update's group lrs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x))).squeeze(-1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        self.applied.append([float(g["lr"]) for g in optimizer.param_groups])

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer, scheduler = st.build(self, self.recipe)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }


def main(argv: list[str] | None = None) -> np.ndarray:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args(argv)
    recipe = recipe_for(args.steps)
    torch.manual_seed(0)
    x = torch.randn(4 * args.steps, 4)
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, x.sum(dim=1)), batch_size=4
    )
    model = Regressor(recipe)
    trainer = L.Trainer(
        max_steps=args.steps,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        trainer.fit(model, data)
    applied = np.array(model.applied).T  # one row per group
    expected = recipe.bind(st.param_table(model)).lr(np.arange(args.steps))
    names = [g.name for g in recipe.bind(st.param_table(model)).groups]
    for name, row in zip(names, applied, strict=True):
        print(f"{name}: " + ", ".join(f"{lr:.3g}" for lr in row))
    print(f"max difference from recipe.lr(k): {np.max(np.abs(applied - expected)):.3g}")
    return applied


if __name__ == "__main__":
    main()
