"""Shared timing helpers for the benchmark scripts.

The machines these run on are shared and noisy, so a comparison is timed interleaved: each
round runs every contender once, in turn, and each contender's time is the median over the
rounds. A disturbance then hits all contenders alike, and their ratios hold up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def best_of(
    fn: Callable[[], object], repeat: int = 5, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Seconds for the fastest of ``repeat`` calls (the least-disturbed measurement), by
    ``clock`` (``time.process_time``: the CPU the calls cost, without the waits for a core
    on a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
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


def rotating_rounds(
    fns: dict[str, Callable[[], object]],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds of each call of each of ``fns``, per round: every round calls each function
    once, back to back, starting one function later than the round before (none always runs
    first, or after the same one)."""
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = clock()
            fns[name]()
            times[name].append(clock() - start)
    return times


def paired_ratio(
    times: dict[str, list[float]], ours: str, theirs: str
) -> tuple[float, float, float]:
    """The median over rounds of ``ours / theirs`` (a slow spell of a shared machine hits
    both sides of a round alike, and the median ignores the rounds it hit unevenly), and
    the quartiles of those ratios (how much the rounds agree)."""
    ratios = sorted(a / b for a, b in zip(times[ours], times[theirs], strict=True))
    quartiles = statistics.quantiles(ratios, n=4, method="inclusive")
    return quartiles[1], quartiles[0], quartiles[2]


def report(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
