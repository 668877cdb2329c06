"""Per-step cost of a compiled Keras ``fit`` with a schedcore schedule, side by side in one run.

A tiny model (16 -> 16 -> 1, batch 8) trained with AdamW (which evaluates its schedule twice
per step: for the update and for the weight decay), with:

- schedcore's warmup + cosine (``schedcore_keras.schedule()``) vs Keras' own
  ``CosineDecay(warmup_target=..., warmup_steps=...)``, the same curve (cross-checked);
- a 20-phase schedcore sequence vs a 1-phase one (a deep composition must stay cheap:
  one step evaluates only its own phase).

Each is timed in Keras' default compiled mode on this machine (``tf.function``; Keras
turns XLA off on CPU-only machines), one step per execution and 32, and under XLA
(``jit_compile=True``). TensorFlow runs on one thread. Each round times every
configuration once, back to back; a ratio is the median over rounds of the round's ratio,
which a shared machine's slow spells disturb least.

Targets (each mode): schedcore / CosineDecay <= 1.05x; 20 phases / 1 phase <= 1.2x.
Run: ``python benchmarks/bench_keras.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import schedcore as sc
import schedcore_keras as sk
from _timing import report


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
CLOCK = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter
MODES = {  # name: (jit_compile, steps_per_execution)
    "graph": (False, 1),
    "graph x32": (False, 32),
    "xla x32": (True, 32),
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


def per_step(models: dict, steps: int, repeat: int, clock=time.perf_counter) -> dict[str, list]:
    """Seconds per step of each model's ``fit``, per round (every round times each model once,
    back to back, so the models of one round share the machine's state)."""
    x = np.random.default_rng(0).random((steps * 8, 16), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    for m in models.values():  # trace and compile
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    rounds: dict[str, list] = {name: [] for name in models}
    for _ in range(repeat):
        for name, m in models.items():
            start = clock()
            m.fit(x, y, batch_size=8, epochs=1, verbose=0)
            rounds[name].append((clock() - start) / steps)
    return rounds


def paired_ratio(rounds: dict[str, list], ours: str, theirs: str) -> float:
    """The median over rounds of ``ours / theirs``: a slow spell of a shared machine hits
    both sides of a round alike, and the median ignores the rounds it hit unevenly."""
    return float(np.median(np.array(rounds[ours]) / np.array(rounds[theirs])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1600)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    one_thread()
    modes = MODES
    if args.quick:
        args.steps, args.repeat = 64, 1
        modes = {"graph": MODES["graph"]}
    curves = schedules()
    gap = same_curve(curves["schedcore warmup+cosine"], curves["keras CosineDecay"])
    print(f"schedcore warmup+cosine vs keras CosineDecay: max relative difference {gap:.1e}")
    if gap > 1e-5:
        print("the two schedules differ: the comparison would be unfair")
        return 1
    print(f"compiled model.fit, per step, {args.repeat} rounds of {args.steps} steps "
          f"(keras {keras.__version__}, backend {keras.backend.backend()})")  # fmt: skip
    ok = True
    for mode, (jit, per_execution) in modes.items():
        models = {name: model(s, jit, per_execution) for name, s in curves.items()}
        rounds = per_step(models, args.steps, args.repeat, CLOCK)
        ours = paired_ratio(rounds, "schedcore warmup+cosine", "keras CosineDecay")
        deep = paired_ratio(rounds, "schedcore 20 phases", "schedcore 1 phase")
        print(f"{mode} (median per step; ratios: median of the rounds' ratios):")
        report([(name, f"{np.median(t) * 1e6:8.1f} us") for name, t in rounds.items()])
        report(
            [
                ("schedcore / CosineDecay", f"{ours:5.3f}x   (target <= 1.05x)"),
                ("20 phases / 1 phase", f"{deep:5.3f}x   (target <= 1.2x)"),
            ]
        )
        ok = ok and ours <= 1.05 and deep <= 1.2
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
