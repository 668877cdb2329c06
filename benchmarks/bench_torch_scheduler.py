"""Cost of ``scheduler.step()`` with 1 and 50 param groups, side by side in one run.

- schedcore_torch's RecipeLR (warmup + cosine, every group on the same schedule);
- torch's CosineAnnealingLR on the same optimizer;
- transformers' get_cosine_schedule_with_warmup (a LambdaLR);
- schedcore_torch's lambda_lr (a genuine LambdaLR over schedcore lambdas).

Then the cost of one lr-lambda call: ``lambda_lr``'s callable, a bare ``schedcore.Stepper``,
transformers' cosine lambda and a scalar ``schedule(k)``.

Timing: every scheduler steps ``--steps`` times per round, all of them in turn, and each
figure is the median over ``--repeat`` rounds (``_timing.interleaved``).

Targets: at 1 group RecipeLR <= 1.0x CosineAnnealingLR; at 50 groups RecipeLR <= 1.0x
CosineAnnealingLR and <= 0.5x the HF LambdaLR. Exits 1 when one is missed.
Run: ``python benchmarks/bench_torch_scheduler.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import sys

import torch
from transformers import get_cosine_schedule_with_warmup

import schedcore as sc
import schedcore_torch as st
from _timing import interleaved, report

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


KINDS = (
    "schedcore RecipeLR",
    "torch CosineAnnealingLR",
    "HF cosine LambdaLR",
    "schedcore lambda_lr",
)


def per_step(steps: int, repeat: int) -> dict[tuple[str, int], float]:
    """Seconds per ``scheduler.step()`` of each kind at 1 and 50 groups, interleaved."""
    scheds = {(k, g): make(k, g) for g in (1, 50) for k in KINDS}

    def run(sched):
        def go():
            step = sched.step
            for _ in range(steps):
                step()

        return go

    times = interleaved({f"{k}|{g}": run(s) for (k, g), s in scheds.items()}, repeat)
    return {(k, g): times[f"{k}|{g}"] / steps for k, g in scheds}


def per_call(steps: int, repeat: int) -> list[tuple[str, float]]:
    """Seconds per lr-lambda call over ``steps`` consecutive steps per round, interleaved."""
    schedule = sc.warmup(sc.cosine(steps=TOTAL - WARMUP), steps=WARMUP)
    scalar = max(steps // 50, 10)  # the slow one: fewer calls
    hf_lambda = get_cosine_schedule_with_warmup(optimizer(1), WARMUP, TOTAL).lr_lambdas[0]
    fns = {
        "schedcore lambda_lr lambda": st.lambda_lr(optimizer(1), schedule).lr_lambdas[0],
        "schedcore Stepper": sc.Stepper(schedule),
        "HF cosine lambda": hf_lambda,
        "schedcore schedule(k), scalar": schedule,
    }
    counts = {name: scalar if "scalar" in name else steps for name in fns}
    start = {name: 0 for name in fns}

    def run(name):
        fn, n = fns[name], counts[name]

        def go():
            k0 = start[name]
            for k in range(k0, k0 + n):
                fn(k)
            start[name] = k0 + n  # consecutive steps, as a training loop asks for them

        return go

    times = interleaved({name: run(name) for name in fns}, repeat)
    return [(name, times[name] / counts[name]) for name in fns]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2_000, help="steps per round")
    parser.add_argument("--repeat", type=int, default=15, help="rounds (median)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeat = 200, 3
    times = per_step(args.steps, args.repeat)
    print(
        f"scheduler.step() cost, median of {args.repeat} interleaved rounds of "
        f"{args.steps:,} steps (torch {torch.__version__})"
    )
    report([(f"{k}, {g} group(s)", f"{times[k, g] * 1e6:7.2f} us") for g in (1, 50) for k in KINDS])
    print("one lr-lambda call (a LambdaLR calls one per group per step):")
    report([(name, f"{t * 1e6:7.2f} us") for name, t in per_call(args.steps, args.repeat)])
    ratios = {
        g: (times[KINDS[0], g] / times[KINDS[1], g], times[KINDS[0], g] / times[KINDS[2], g])
        for g in (1, 50)
    }
    targets = {(1, 0): "(target <= 1.0x)", (50, 0): "(target <= 1.0x)", (50, 1): "(target <= 0.5x)"}
    row = "{g} group(s): RecipeLR / {other}"
    print("ratios:")
    report(
        [
            (
                row.format(g=g, other=other),
                f"{ratios[g][i]:5.2f}x   {targets.get((g, i), '')}".rstrip(),
            )
            for g in (1, 50)
            for i, other in enumerate(("CosineAnnealingLR", "HF LambdaLR"))
        ]
    )
    ok = ratios[1][0] <= 1.0 and ratios[50][0] <= 1.0 and ratios[50][1] <= 0.5
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
