"""Cost of ``scheduler.step()`` with 1 and 50 param groups, side by side in one run.

- schedcore_torch's RecipeLR (warmup + cosine, every group on the same schedule);
- torch's CosineAnnealingLR on the same optimizer;
- transformers' get_cosine_schedule_with_warmup (a LambdaLR);
- schedcore_torch's lambda_lr (a genuine LambdaLR over schedcore lambdas).

Then the cost of one lr-lambda call: ``lambda_lr``'s callable, a bare ``schedcore.Stepper``,
transformers' cosine lambda and a scalar ``schedule(k)``.

Targets at 50 groups: RecipeLR <= 1.0x CosineAnnealingLR and <= 0.5x the LambdaLR.
Run: ``python benchmarks/bench_torch_scheduler.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from transformers import get_cosine_schedule_with_warmup

import schedcore as sc
import schedcore_torch as st
from _timing import report

TOTAL, WARMUP = 100_000, 1_000


def optimizer(groups: int) -> torch.optim.Optimizer:
    params = [{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1} for _ in range(groups)]
    return torch.optim.SGD(params, lr=0.1)


def make(kind: str, groups: int):
    opt = optimizer(groups)
    if kind == "schedcore RecipeLR":
        schedule = {"warmup": WARMUP, "decay": "cosine"}
        recipe = sc.load({"lr": 0.1, "training": {"total_steps": TOTAL}, "schedule": schedule})
        sched = st.scheduler(opt, recipe)
    elif kind == "schedcore lambda_lr":
        sched = st.lambda_lr(opt, sc.warmup(sc.cosine(steps=TOTAL - WARMUP), steps=WARMUP))
    elif kind == "torch CosineAnnealingLR":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=TOTAL)
    else:
        sched = get_cosine_schedule_with_warmup(opt, WARMUP, TOTAL)
    opt.step()  # schedulers expect optimizer.step() before their first step()
    return sched


def per_step(kind: str, groups: int, steps: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        sched = make(kind, groups)
        start = time.perf_counter()
        for _ in range(steps):
            sched.step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


KINDS = (
    "schedcore RecipeLR",
    "torch CosineAnnealingLR",
    "HF cosine LambdaLR",
    "schedcore lambda_lr",
)


def per_call(steps: int, repeat: int) -> list[tuple[str, float]]:
    """Seconds per lr-lambda call over ``steps`` consecutive steps, best of ``repeat``."""
    schedule = sc.warmup(sc.cosine(steps=TOTAL - WARMUP), steps=WARMUP)
    opt = optimizer(1)
    callables = {
        "schedcore lambda_lr lambda": lambda: st.lambda_lr(opt, schedule).lr_lambdas[0],
        "schedcore Stepper": lambda: sc.Stepper(schedule),
        "HF cosine lambda": lambda: get_cosine_schedule_with_warmup(
            optimizer(1), WARMUP, TOTAL
        ).lr_lambdas[0],
        "schedcore schedule(k), scalar": lambda: schedule,
    }
    out = []
    for name, make_fn in callables.items():
        n = steps if "scalar" not in name else max(steps // 50, 10)  # the slow one: fewer
        best = float("inf")
        for _ in range(repeat):
            fn = make_fn()
            start = time.perf_counter()
            for k in range(n):
                fn(k)
            best = min(best, (time.perf_counter() - start) / n)
        out.append((name, best))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeat = 500, 1
    times = {(k, g): per_step(k, g, args.steps, args.repeat) for g in (1, 50) for k in KINDS}
    print(
        f"scheduler.step() cost, best of {args.repeat} x {args.steps:,} steps "
        f"(torch {torch.__version__})"
    )
    report([(f"{k}, {g} group(s)", f"{times[k, g] * 1e6:7.2f} us") for g in (1, 50) for k in KINDS])
    print("one lr-lambda call (a LambdaLR calls one per group per step):")
    report([(name, f"{t * 1e6:7.2f} us") for name, t in per_call(args.steps, args.repeat)])
    ours, cos, lam = (times[k, 50] for k in KINDS[:3])
    print("ratios at 50 groups:")
    report(
        [
            ("RecipeLR / CosineAnnealingLR", f"{ours / cos:5.2f}x   (target <= 1.0x)"),
            ("RecipeLR / HF LambdaLR", f"{ours / lam:5.2f}x   (target <= 0.5x)"),
        ]
    )
    ok = ours <= cos and ours <= 0.5 * lam
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
