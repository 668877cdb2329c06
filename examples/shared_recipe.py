"""The same recipe file in PyTorch, Keras 3, OneFlow and JAX: the same lr table.

``examples/shared_recipe.toml`` (warmup + cosine; the head at 10x, embeddings at 0.1x; no
weight decay for bias and norm) trains one tiny tagger, written in each framework with the
same layer names (``embed``, ``body``, ``norm``, ``head``), on generated data. Each
framework's adapter resolves the recipe's groups against its own parameter names (torch's
``head.weight``, Keras' ``head/kernel``) and tags (from layer types). The table printed is
the lr each group's parameters get at every update, read from the optimizer as it steps;
the last line compares it with the core's ``recipe.bind(table).lr(steps)``.

    python examples/shared_recipe.py --framework torch      # or keras, or jax (Flax nnx)
    python examples/shared_recipe.py --framework oneflow    # in the OneFlow venv

Keras and JAX (without 64-bit mode) apply the lr as float32; torch and
OneFlow keep the group lr in float64 (OneFlow's update kernels then round it to float32).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import schedcore as sc

RECIPE = Path(__file__).with_name("shared_recipe.toml")
VOCAB, TAGS, SEQ, BATCH, WIDTH = 32, 3, 5, 4, 8


def generated_batches(steps: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCAB, size=(steps, BATCH, SEQ))
    return [(x, x * TAGS // VOCAB) for x in tokens]  # the tag is the token's bucket


def tagger(flow):
    """The tagger in ``flow``: the ``torch`` or ``oneflow`` module (OneFlow's eager API is
    torch's)."""
    nn = flow.nn

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, WIDTH)
            self.body = nn.Linear(WIDTH, WIDTH)
            self.norm = nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, TAGS)

        def forward(self, x):
            return self.head(self.norm(flow.relu(self.body(self.embed(x)))))

    return Tagger()


def run_torch_like(flow, adapter, recipe: sc.Recipe, steps: int):
    """Train the tagger in ``flow`` with its adapter (``schedcore_torch`` or
    ``schedcore_oneflow``): the lr of each group at each update, and the parameter table."""
    flow.manual_seed(0)
    model = tagger(flow)
    optimizer, scheduler = adapter.build(model, recipe, optimizer=flow.optim.AdamW)
    loss_fn = flow.nn.CrossEntropyLoss()
    applied = []
    for x, y in generated_batches(steps):
        logits = model(flow.tensor(x, dtype=flow.int64))
        loss = loss_fn(logits.reshape(-1, TAGS), flow.tensor(y, dtype=flow.int64).reshape(-1))
        loss.backward()
        applied.append([float(g["lr"]) for g in optimizer.param_groups])  # what step() uses
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
    return np.array(applied).T, adapter.param_table(model)


def run_torch(recipe: sc.Recipe, steps: int) -> tuple[np.ndarray, sc.ParamTable]:
    import torch

    import schedcore_torch

    return run_torch_like(torch, schedcore_torch, recipe, steps)


def run_oneflow(recipe: sc.Recipe, steps: int) -> tuple[np.ndarray, sc.ParamTable]:
    import oneflow

    import schedcore_oneflow

    return run_torch_like(oneflow, schedcore_oneflow, recipe, steps)


def run_keras(recipe: sc.Recipe, steps: int) -> tuple[np.ndarray, sc.ParamTable]:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    import schedcore_keras as adapter

    keras.utils.set_random_seed(0)
    tokens = keras.Input((SEQ,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, WIDTH, name="embed")(tokens)
    x = keras.layers.Dense(WIDTH, activation="relu", name="body")(x)
    x = keras.layers.LayerNormalization(name="norm")(x)
    model = keras.Model(tokens, keras.layers.Dense(TAGS, name="head")(x))
    optimizer = adapter.optimizer(model, recipe)  # AdamW
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(True))

    applied = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            k = int(optimizer.iterations) - 1  # the update that just ran
            applied.append(keras.ops.convert_to_numpy(optimizer.group_learning_rates(k)))

    batches = generated_batches(steps)
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[Record()])
    return np.array(applied, dtype=np.float64).T, adapter.param_table(model)


def run_jax(recipe: sc.Recipe, steps: int) -> tuple[np.ndarray, sc.ParamTable]:
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    import schedcore_jax as adapter

    class Tagger(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.embed = nnx.Embed(VOCAB, WIDTH, rngs=rngs)
            self.body = nnx.Linear(WIDTH, WIDTH, rngs=rngs)
            self.norm = nnx.LayerNorm(WIDTH, rngs=rngs)
            self.head = nnx.Linear(WIDTH, TAGS, rngs=rngs)

        def __call__(self, x: jax.Array) -> jax.Array:
            return self.head(self.norm(jax.nn.relu(self.body(self.embed(x)))))

    model = Tagger(nnx.Rngs(0))
    tx = adapter.optimizer(model, recipe)  # optax.adamw per group
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    plan = adapter.plan(model, recipe)
    # each group's lr as its optimizer computes it: group lr x its schedule at the count
    rates = [adapter.schedule(recipe.schedule_named(g.schedule), g.lr)
             for g in plan.resolution.groups]  # fmt: skip
    group_lrs = jax.jit(lambda k: jnp.stack([rate(k) for rate in rates]))

    @nnx.jit
    def train_step(model: Tagger, optimizer: nnx.Optimizer, x: jax.Array, y: jax.Array) -> None:
        def loss(model: Tagger) -> jax.Array:
            logits = model(x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        optimizer.update(model, nnx.grad(loss)(model))

    applied = []
    for k, (x, y) in enumerate(generated_batches(steps)):
        applied.append(np.asarray(group_lrs(k)))
        train_step(model, optimizer, jnp.asarray(x), jnp.asarray(y))
    return np.array(applied, dtype=np.float64).T, adapter.param_table(model)


RUNNERS = {"torch": run_torch, "keras": run_keras, "oneflow": run_oneflow, "jax": run_jax}


def main(argv: list[str] | None = None) -> np.ndarray:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=sorted(RUNNERS), default="torch")
    args = parser.parse_args(argv)
    recipe = sc.load(RECIPE)
    steps = recipe.total_steps
    applied, table = RUNNERS[args.framework](recipe, steps)
    bound = recipe.bind(table)
    groups = bound.resolution.groups
    print(f"{args.framework}: {RECIPE.name}, {steps} updates; the groups:")
    for g in groups:
        decay = f"{g.applied_weight_decay:g}" + (" (unset)" if g.weight_decay is None else "")
        print(f"  {g.name}: lr {g.lr:g}, weight decay {decay}: {', '.join(g.params)}")
    print("the lr applied per group at each update:")
    print("step" + "".join(f"{g.name:>15}" for g in groups))
    for k in range(steps):
        print(f"{k:4d}" + "".join(f"{applied[i, k]:15.6e}" for i in range(len(groups))))
    core = bound.lr(np.arange(steps))
    gap = np.abs(applied - core)
    worst = float(np.max(np.divide(gap, core, out=gap.copy(), where=core > 0)))
    print(f"max relative difference from the core's recipe.lr(k): {worst:.1e}")
    return applied


if __name__ == "__main__":
    main()
