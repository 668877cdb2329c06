"""Per-step cost of a compiled Keras ``fit`` with a schedcore schedule, side by side in one run.

A tiny model (16 -> 16 -> 1, batch 8) trained with AdamW (which evaluates its schedule five
times a step: once for the update, and for the weight decay once per weight, of which this
model has four), with:

- schedcore's warmup + cosine (``schedcore_keras.schedule()``) vs Keras' own
  ``CosineDecay(warmup_target=..., warmup_steps=...)``, the same curve (cross-checked);
- a 20-phase schedcore sequence vs a 1-phase one (a deep composition must stay cheap:
  one step evaluates only its own phase).

Each is timed in Keras' default compiled mode on this machine (``tf.function``; Keras
turns XLA off on CPU-only machines), one step per execution and 32, and under XLA
(``jit_compile=True``). TensorFlow runs on one thread. Every contender trains the same
model (same seed) on the same data. Each model first runs one ``fit`` (which traces and
compiles its train function, and warms it up); then the timed rounds call each model's
train function (what ``fit`` calls once per execution of ``steps_per_execution`` steps) on
its own iterator over the same data, one execution each, in an order that rotates from
round to round. An execution's time is this process's CPU time (the work done, which
other processes on a shared machine disturb far less than the wall clock;
``BENCH_CLOCK=wall`` times the wall clock). A ratio is the median over rounds of the
round's ratio: two executions a few milliseconds apart share the machine's state, and
the median ignores the rounds a slow spell hit unevenly.

Targets (each mode): schedcore / CosineDecay <= 1.05x; 20 phases / 1 phase <= 1.2x.
Run: ``python benchmarks/bench_keras.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import schedcore as sc
import schedcore_keras as sk
from _timing import paired_ratio, report, rotating_rounds


def one_thread() -> None:
    """TensorFlow on one thread (less noise from a shared machine); only possible before
    TensorFlow has run anything in this process."""
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # already initialized (e.g. imported by a test run)
        print("note: TensorFlow already initialized; its default threads are used")


LR, TOTAL, WARMUP, PHASE = 1e-3, 100_000, 1_000, 500
WALL = os.environ.get("BENCH_CLOCK") == "wall"
CLOCK = time.perf_counter if WALL else time.process_time
MODES = {  # name: (jit_compile, steps_per_execution, timed rounds)
    "graph": (False, 1, 3000),
    "graph x32": (False, 32, 400),
    "xla x32": (True, 32, 400),
}


def schedules() -> dict[str, object]:
    warmup_cosine = sc.warmup(sc.cosine(steps=TOTAL - WARMUP), steps=WARMUP)
    phases = [(sc.cosine(steps=PHASE, start=1.0 / (i + 1), end=0.5 / (i + 1)), PHASE)
              for i in range(20)]  # fmt: skip
    return {
        "keras CosineDecay": keras.optimizers.schedules.CosineDecay(
            0.0, TOTAL - WARMUP, warmup_target=LR, warmup_steps=WARMUP
        ),
        "schedcore warmup+cosine": sk.schedule(warmup_cosine, lr=LR),
        "schedcore 1 phase": sk.schedule(sc.sequence(*phases[:1]), lr=LR),
        "schedcore 20 phases": sk.schedule(sc.sequence(*phases), lr=LR),
    }


def same_curve(ours, theirs) -> float:
    """Largest relative difference between the two warmup + cosine schedules (Keras' is
    float32-computed), away from the tail where both approach 0."""
    steps = np.array([0, 1, 500, 999, 1000, 1001, 25_000, 50_000, 75_000, 90_000])
    a = np.array([float(ours(int(k))) for k in steps])
    b = np.array([float(theirs(int(k))) for k in steps])
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def model(schedule, jit_compile: bool, per_execution: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1)])  # fmt: skip
    m.compile(keras.optimizers.AdamW(schedule), loss="mse", jit_compile=jit_compile,
              steps_per_execution=per_execution)  # fmt: skip
    return m


def per_step(models: dict, per_execution: int, rounds: int) -> dict[str, list]:
    """Seconds per step of each model's executions, per round (``_timing.rotating_rounds``:
    one execution of each model a round, in an order that rotates)."""
    import tensorflow as tf

    x = np.random.default_rng(0).random((4096 * 8, 16), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    for m in models.values():  # fit traces and compiles the train function, and warms it up
        m.fit(x[: 64 * 8 * per_execution], y[: 64 * 8 * per_execution], batch_size=8,
              epochs=1, verbose=0, shuffle=False)  # fmt: skip
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    executions = {
        name: functools.partial(m.train_function, iter(data)) for name, m in models.items()
    }
    times = rotating_rounds(executions, rounds, CLOCK)
    return {name: [t / per_execution for t in ts] for name, ts in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="timed rounds (default: by mode)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    one_thread()
    modes = MODES
    if args.quick:
        args.rounds = 8
    if args.rounds is not None and args.rounds < 2:
        parser.error("--rounds must be at least 2 (a ratio's quartiles)")
        modes = {"graph": MODES["graph"]}
    curves = schedules()
    gap = same_curve(curves["schedcore warmup+cosine"], curves["keras CosineDecay"])
    print(f"schedcore warmup+cosine vs keras CosineDecay: max relative difference {gap:.1e}")
    if gap > 1e-5:
        print("the two schedules differ: the comparison would be unfair")
        return 1
    print(f"compiled model.fit's train function, {'wall' if WALL else 'CPU'} time per step "
          f"(keras {keras.__version__}, backend {keras.backend.backend()})")  # fmt: skip
    ok = True
    for mode, (jit, per_execution, count) in modes.items():
        count = args.rounds or count
        models = {name: model(s, jit, per_execution) for name, s in curves.items()}
        rounds = per_step(models, per_execution, count)
        ours = paired_ratio(rounds, "schedcore warmup+cosine", "keras CosineDecay")
        deep = paired_ratio(rounds, "schedcore 20 phases", "schedcore 1 phase")
        print(f"{mode}, {count} rounds of one execution ({per_execution} steps) each "
              "(median per step; ratios: median of the rounds' ratios, with their middle "
              "half):")  # fmt: skip
        report([(name, f"{np.median(t) * 1e6:8.1f} us") for name, t in rounds.items()])
        report(
            [
                ("schedcore / CosineDecay", f"{ours[0]:5.3f}x   (target <= 1.05x; "
                 f"quartiles {ours[1]:.3f}-{ours[2]:.3f})"),
                ("20 phases / 1 phase", f"{deep[0]:5.3f}x   (target <= 1.2x; "
                 f"quartiles {deep[1]:.3f}-{deep[2]:.3f})"),
            ]
        )  # fmt: skip
        ok = ok and ours[0] <= 1.05 and deep[0] <= 1.2
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
