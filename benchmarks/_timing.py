"""Shared timing helpers for the benchmark scripts.

The machines these run on are shared and noisy, so a comparison is timed interleaved: each
round runs every contender once, in turn, and each contender's time is the median over the
rounds. A disturbance then hits all contenders alike, and their ratios hold up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Seconds for the fastest of ``repeat`` calls (the least-disturbed measurement)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved(fns: dict[str, Callable[[], object]], repeat: int = 7) -> dict[str, float]:
    """Median seconds per call of each of ``fns``, over ``repeat`` rounds that each call
    every function once, in turn (after one untimed warm-up round)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(repeat + 1):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
