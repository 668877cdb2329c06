"""Evaluating a composed schedule over 10,000,000 steps, side by side in one run.

The schedule: linear warmup over W steps, then cosine to a minimum lr (ratio m) at T.

- schedcore, vectorized: ``s(np.arange(N))``;
- a hand-fused numpy expression of the same formula (the simple code a user could write),
  over the whole array and in 64K chunks;
- the floor: ``np.cos`` alone over N values, into a preallocated array (no formula does less);
- for context only (no target): a Python loop over transformers' own lr lambda
  (``get_cosine_schedule_with_warmup``, and the min-lr variant that computes the identical
  curve), timed on the first ``--loop-steps`` steps and reported per step.

Timing: the numpy contenders run in turn, ``--repeat`` rounds; each figure is the median
(``_timing.interleaved``). Target: schedcore <= 1.0x the chunked hand-fused expression.
Exits 1 when it is missed.
Run: ``python benchmarks/bench_curve.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import schedcore as sc
from _timing import best_of, interleaved, report


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
    parser.add_argument("--repeat", type=int, default=9, help="rounds (median)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.loop_steps, args.repeat = 200_000, 20_000, 3
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

    phase = np.linspace(0.0, np.pi, n)
    floor_out = np.empty(n)
    times = interleaved(
        {
            "ours": lambda: schedule(steps),
            "fused": lambda: fused(n, warm, total, m),
            "chunked": lambda: fused_chunked(n, warm, total, m),
            "cos": lambda: np.cos(phase, out=floor_out),
        },
        args.repeat,
    )
    loop = range(args.loop_steps)
    t_plain = best_of(lambda: [plain(k) for k in loop], max(1, args.repeat // 3)) / args.loop_steps
    t_min = best_of(lambda: [with_min(k) for k in loop], max(1, args.repeat // 3)) / args.loop_steps

    per = lambda t: f"{t / n * 1e9:7.1f} ns/step"  # noqa: E731
    print(
        f"warmup {warm} + cosine to {m} over {n:,} steps, median of {args.repeat} "
        f"interleaved rounds (numpy {np.__version__})"
    )
    report(
        [
            ("schedcore vectorized", per(times["ours"])),
            ("hand-fused numpy (whole array)", per(times["fused"])),
            ("hand-fused numpy (64K chunks)", per(times["chunked"])),
            ("np.cos alone (the floor)", per(times["cos"])),
            ("HF lambda loop (cosine), context", f"{t_plain * 1e9:7.1f} ns/step"),
            ("HF lambda loop (cosine_with_min_lr), context", f"{t_min * 1e9:7.1f} ns/step"),
        ]
    )
    vs_chunked = times["ours"] / times["chunked"]
    print("ratios:")
    report(
        [
            ("schedcore / hand-fused (64K chunks)", f"{vs_chunked:6.2f}x   (target <= 1.0x)"),
            ("schedcore / hand-fused (whole)", f"{times['ours'] / times['fused']:6.2f}x"),
            ("schedcore / np.cos floor", f"{times['ours'] / times['cos']:6.2f}x"),
            ("HF lambda loop / schedcore", f"{t_plain * n / times['ours']:6.1f}x   (context)"),
        ]
    )
    ok = vs_chunked <= 1.0
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
