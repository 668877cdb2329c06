"""Evaluating a composed schedule over 10,000,000 steps, side by side in one run.

The schedule: linear warmup over W steps, then cosine to a minimum lr (ratio m) at T.

- schedcore, vectorized: ``s(np.arange(N))``;
- a hand-fused numpy expression of the same formula (the practical limit), over the whole
  array and in 64K chunks;
- a Python loop over transformers' own lr lambda (``get_cosine_schedule_with_warmup``,
  and the min-lr variant that computes the identical curve), which is what users do today.
  The loop is timed on the first ``--loop-steps`` steps and reported per step.

Run: ``python benchmarks/bench_curve.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import schedcore as sc
from _timing import best_of, report


def fused(n: int, warm: int, total: int, m: float) -> np.ndarray:
    k = np.arange(n, dtype=np.float64)
    p = np.minimum((k - warm) / (total - warm), 1.0)
    decay = m + (1.0 - m) * 0.5 * (1.0 + np.cos(np.pi * p))
    return np.where(k < warm, k / warm, decay)


def fused_chunked(n: int, warm: int, total: int, m: float, chunk: int = 1 << 16) -> np.ndarray:
    out = np.empty(n)
    for lo in range(0, n, chunk):
        k = np.arange(lo, min(lo + chunk, n), dtype=np.float64)
        p = np.minimum((k - warm) / (total - warm), 1.0)
        decay = m + (1.0 - m) * 0.5 * (1.0 + np.cos(np.pi * p))
        out[lo : lo + chunk] = np.where(k < warm, k / warm, decay)
    return out


def hf_lambdas(warm: int, total: int, m: float):
    import torch
    from transformers import (
        get_cosine_schedule_with_warmup,
        get_cosine_with_min_lr_schedule_with_warmup,
    )

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    plain = get_cosine_schedule_with_warmup(opt, warm, total).lr_lambdas[0]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    with_min = get_cosine_with_min_lr_schedule_with_warmup(
        opt, warm, total, min_lr_rate=m
    ).lr_lambdas[0]
    return plain, with_min


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000_000)
    parser.add_argument("--loop-steps", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.loop_steps, args.repeat = 200_000, 20_000, 1
    n, warm, total, m = args.steps, args.steps // 100, args.steps, 0.01

    schedule = sc.warmup(sc.cosine(steps=total - warm, end=m), steps=warm)
    steps = np.arange(n, dtype=np.int64)
    ours = schedule(steps)
    reference = fused(n, warm, total, m)
    plain, with_min = hf_lambdas(warm, total, m)
    sample = np.linspace(0, n - 1, 2001).astype(np.int64)
    hf = np.array([with_min(int(k)) for k in sample])
    assert np.allclose(ours, reference, rtol=1e-12, atol=1e-15), "fused formula disagrees"
    assert np.allclose(ours[sample], hf, rtol=1e-12, atol=1e-15), "HF lambda disagrees"

    t_ours = best_of(lambda: schedule(steps), args.repeat)
    t_fused = best_of(lambda: fused(n, warm, total, m), args.repeat)
    t_chunked = best_of(lambda: fused_chunked(n, warm, total, m), args.repeat)
    loop = range(args.loop_steps)
    t_plain = best_of(lambda: [plain(k) for k in loop], max(1, args.repeat // 2)) / args.loop_steps
    t_min = best_of(lambda: [with_min(k) for k in loop], max(1, args.repeat // 2)) / args.loop_steps

    per = lambda t: f"{t / n * 1e9:7.1f} ns/step"  # noqa: E731
    print(f"warmup {warm} + cosine to {m} over {n:,} steps (numpy {np.__version__})")
    report(
        [
            ("schedcore vectorized", per(t_ours)),
            ("hand-fused numpy (whole array)", per(t_fused)),
            ("hand-fused numpy (64K chunks)", per(t_chunked)),
            ("HF lambda loop (cosine)", f"{t_plain * 1e9:7.1f} ns/step"),
            ("HF lambda loop (cosine_with_min_lr)", f"{t_min * 1e9:7.1f} ns/step"),
        ]
    )
    speedup = t_plain * n / t_ours
    vs_fused = t_ours / t_fused
    vs_chunked = t_ours / t_chunked
    print("ratios:")
    report(
        [
            ("HF lambda loop / schedcore", f"{speedup:8.1f}x   (target >= 50x)"),
            ("schedcore / hand-fused (whole)", f"{vs_fused:8.2f}x   (target <= 2x)"),
            ("schedcore / hand-fused (chunks)", f"{vs_chunked:8.2f}x"),
        ]
    )
    ok = speedup >= 50 and vs_fused <= 2
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
