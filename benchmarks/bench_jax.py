"""Cost of a jitted optax train step: the recipe's warmup + cosine against optax's own.

- schedcore_jax.optimizer: ``optax.adamw`` driven by a recipe (warmup + cosine), its lr
  computed by the core's formulas lowered to ``jax.numpy``;
- optax.adamw with ``optax.warmup_cosine_decay_schedule`` (the same curve).

Both train the same small MLP (one jitted step: loss, gradient, update). Timing: each
runs ``--steps`` steps per round, in an order that rotates from round to round
(``_timing.rotating_rounds``); each time is the median over ``--repeat`` rounds, and the
ratio the median of the rounds' ratios (the two runs of a round, milliseconds apart, share
the machine's state: a shared machine's slow spells hit both alike).

Target: schedcore <= 1.05x optax. Exits 1 when it is missed.
Run: ``python benchmarks/bench_jax.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

import schedcore as sc
import schedcore_jax as sj
from _timing import paired_ratio, report, rotating_rounds

TOTAL, WARMUP, LR, WIDTH = 10_000, 500, 1e-3, 64


def mlp_params() -> dict:
    keys = jax.random.split(jax.random.key(0), 2)
    return {
        "body": {"kernel": jax.random.normal(keys[0], (WIDTH, WIDTH)) * 0.1,
                 "bias": jnp.zeros(WIDTH)},
        "head": {"kernel": jax.random.normal(keys[1], (WIDTH, 1)) * 0.1, "bias": jnp.zeros(1)},
    }  # fmt: skip


def loss(params: dict, x: jax.Array) -> jax.Array:
    h = jnp.tanh(x @ params["body"]["kernel"] + params["body"]["bias"])
    return jnp.mean((h @ params["head"]["kernel"] + params["head"]["bias"]) ** 2)


def recipe() -> sc.Recipe:
    return sc.load({"lr": LR, "training": {"total_steps": TOTAL},
                    "schedule": {"warmup": WARMUP, "decay": "cosine"}})  # fmt: skip


def optimizers(params: dict) -> dict[str, optax.GradientTransformation]:
    native = optax.warmup_cosine_decay_schedule(0.0, LR, WARMUP, TOTAL)
    return {
        "schedcore_jax.optimizer": sj.optimizer(params, recipe()),
        "optax warmup_cosine_decay": optax.adamw(native, weight_decay=0.0),
    }


def runner(tx: optax.GradientTransformation, params: dict, steps: int):
    x = jnp.ones((32, WIDTH))

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(loss)(params, x), state, params)
        return optax.apply_updates(params, updates), state

    carry = [params, tx.init(params)]

    def go():
        p, s = carry
        for _ in range(steps):
            p, s = step(p, s)
        jax.block_until_ready(p)
        carry[:] = [p, s]

    return go


def check_values(steps: int) -> float:
    """Largest relative difference of the two lr curves (they must agree)."""
    ours = jax.jit(jax.vmap(sj.schedule(recipe())))
    native = jax.jit(jax.vmap(optax.warmup_cosine_decay_schedule(0.0, LR, WARMUP, TOTAL)))
    k = jnp.arange(0, TOTAL, max(TOTAL // steps, 1))
    a, b = np.asarray(ours(k), np.float64), np.asarray(native(k), np.float64)
    return float(np.max(np.abs(a - b)) / LR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per round")
    parser.add_argument("--repeat", type=int, default=201, help="rounds (median)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeat = 20, 2
    if args.repeat < 2 or args.steps < 1:
        parser.error("--repeat must be at least 2 (a ratio's quartiles) and --steps at least 1")
    params = mlp_params()
    fns = {name: runner(tx, params, args.steps) for name, tx in optimizers(params).items()}
    for fn in fns.values():  # compile and warm up
        fn()
    rounds = rotating_rounds(fns, args.repeat)
    times = {name: statistics.median(ts) for name, ts in rounds.items()}
    print(
        f"jitted train step cost, median of {args.repeat} rotating rounds of "
        f"{args.steps:,} steps (jax {jax.__version__}, optax {optax.__version__}, "
        f"{jax.default_backend()})"
    )
    report([(name, f"{t / args.steps * 1e6:8.2f} us") for name, t in times.items()])
    gap = check_values(1000)
    print(f"lr curves agree to {gap:.1e} of the peak lr")
    ratio, low, high = paired_ratio(rounds, "schedcore_jax.optimizer", "optax warmup_cosine_decay")
    report([("schedcore / optax", f"{ratio:5.3f}x   (target <= 1.05x; quartiles of the "
             f"rounds' ratios {low:.3f}-{high:.3f})")])  # fmt: skip
    ok = ratio <= 1.05 and gap < 1e-6
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
