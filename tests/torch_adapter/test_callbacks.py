"""schedcore_torch.callbacks.RecipeCallback in a real transformers.Trainer (CPU, a few steps):
it refuses a run whose length disagrees with the recipe, and logs every group's lr by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

import schedcore as sc  # noqa: E402
import schedcore_torch as st  # noqa: E402
from schedcore_torch.callbacks import RecipeCallback, group_lrs  # noqa: E402

RECIPE = {
    "lr": 0.01,
    "training": {"total_steps": 8},
    "schedule": {"warmup": 2, "decay": "cosine"},
    "groups": {
        "defaults": {"weight_decay": 0.01},
        "rules": [{"name": "head", "match": {"prefix": "head."}, "lr": 0.1}],
    },
}


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.head(torch.relu(self.body(x))).squeeze(-1)
        return {"loss": torch.nn.functional.mse_loss(out, labels)}


class Data(torch.utils.data.Dataset):
    def __init__(self, n: int = 8) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = torch.randn(n, generator=g)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "labels": self.y[i]}


def trainer_for(tmp_path, recipe: sc.Recipe, callback: bool = True, **args):
    model = Tiny()
    opt, sched = st.build(model, recipe)
    options = {
        "output_dir": str(tmp_path),
        "per_device_train_batch_size": 2,
        "logging_steps": 1,
        "report_to": [],
        "save_strategy": "no",
        "use_cpu": True,
        "disable_tqdm": True,
        **args,
    }
    trainer = transformers.Trainer(
        model=model,
        args=transformers.TrainingArguments(**options),
        train_dataset=Data(),
        optimizers=(opt, sched),
    )
    if callback:
        RecipeCallback(recipe).attach(trainer)
    return trainer, model


def test_refuses_a_max_steps_that_disagrees_with_the_recipe(tmp_path):
    trainer, model = trainer_for(tmp_path, sc.load(RECIPE), max_steps=5)
    before = model.head.weight.detach().clone()
    with pytest.raises(ValueError, match=r"run 5 optimizer updates \(max_steps=5\).*horizon is 8"):
        trainer.train()
    assert torch.equal(model.head.weight, before)  # refused before any update


def test_refuses_epochs_that_disagree_with_the_recipe(tmp_path):
    # 8 examples in batches of 2: 4 updates per epoch, 3 epochs = 12 updates, not 8
    trainer, _ = trainer_for(tmp_path, sc.load(RECIPE), num_train_epochs=3)
    with pytest.raises(ValueError, match=r"run 12 optimizer updates \(num_train_epochs=3"):
        trainer.train()


def test_reads_the_recipe_from_the_trainers_scheduler(tmp_path):
    trainer, _ = trainer_for(tmp_path, sc.load(RECIPE), callback=False, max_steps=3)
    trainer.add_callback(RecipeCallback())
    with pytest.raises(ValueError, match="horizon is 8"):
        trainer.train()


def test_matching_run_logs_every_group_lr_by_name(tmp_path):
    recipe = sc.load(RECIPE)
    trainer, model = trainer_for(tmp_path, recipe, num_train_epochs=2)  # 2 x 4 = 8 updates
    with warnings.catch_warnings():
        warnings.simplefilter("error", sc.PastEndWarning)
        trainer.train()
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert [e["step"] for e in logged] == list(range(1, 9))
    names = [g.name for g in recipe.bind(st.param_table(model)).groups]
    assert len(names) == 2 and "head" in names
    bound = recipe.bind(st.param_table(model))
    # logged after update k (step k + 1): the lr each group applied in update k
    expected = bound.lr(np.arange(8))
    for row, name in zip(expected, names, strict=True):
        np.testing.assert_allclose([e[f"lr/{name}"] for e in logged], row, rtol=1e-12)
    # the Trainer's own learning_rate is group 0's only
    np.testing.assert_allclose([e["learning_rate"] for e in logged], expected[0], rtol=1e-12)


def test_group_lrs_names_each_group():
    opt, _ = st.build(Tiny(), sc.load(RECIPE))
    lrs = group_lrs(opt)
    assert lrs["head"] == pytest.approx(0.0) and set(lrs) == {g["name"] for g in opt.param_groups}


def test_training_past_the_horizon_in_the_trainer_warns(tmp_path):
    # without the callback nothing stops the run: the scheduler warns at update 8
    trainer, _ = trainer_for(tmp_path, sc.load(RECIPE), callback=False, max_steps=10)
    with pytest.warns(sc.PastEndWarning, match=r"update 8 \(0-based\).*horizon of 8 updates"):
        trainer.train()
