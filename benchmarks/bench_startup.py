"""Start-up: ``import numpy``, ``import schedcore`` and ``schedcore show``, each in a fresh process.

- ``python -c "import numpy"``: the floor, since schedcore's core is numpy;
- ``python -c "import schedcore"``: the target is numpy's time plus at most 50 ms;
- ``schedcore show`` on the bundled example (what ``make demo`` runs first): the target is
  under 0.35 s, from process start to the printed table.

Each is the median wall time of 10 fresh processes (``--runs``), after one unmeasured run
that lets Python write its bytecode caches, as every run after a user's first finds them.
Exits 1 when a target is missed. Run: ``python benchmarks/bench_startup.py`` (``--quick``:
3 runs, targets reported but not enforced).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _timing import report

IMPORT_BUDGET_S = 0.050
SHOW_TARGET_S = 0.35
CLI = "import sys; from schedcore.tools.cli import main; sys.exit(main(sys.argv[1:]))"


def commands() -> dict[str, list[str]]:
    """The three measured commands (``schedcore show`` as its console script runs it)."""
    python = sys.executable
    return {
        "python -c 'import numpy'": [python, "-c", "import numpy"],
        "python -c 'import schedcore'": [python, "-c", "import schedcore"],
        "schedcore show": [python, "-c", CLI, "show"],
    }


def wall(argv: list[str], env: dict[str, str]) -> float:
    """Seconds for one fresh process to run ``argv`` to its end. No ``timeout``: with one,
    ``subprocess`` polls for the end with sleeps that double up to 50 ms, so every time
    would be rounded up to the end of a sleep (113.5 ms, 163.5 ms, ...); without, it
    blocks in ``waitpid`` and returns when the process ends."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_walls(runs: int) -> dict[str, float]:
    """The median wall time of each command over ``runs`` fresh processes, interleaved (a
    burst of load on the machine hits all three alike)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    cmds = commands()
    for argv in cmds.values():  # unmeasured: writes the bytecode caches
        wall(argv, env)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, argv in cmds.items():
            times[name].append(wall(argv, env))
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per command")
    parser.add_argument("--quick", action="store_true", help="3 runs, targets not enforced")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 3
    t = median_walls(args.runs)
    numpy_s, import_s, show_s = t.values()
    print(f"median of {args.runs} fresh processes each ({sys.executable})")
    report(
        [
            ("python -c 'import numpy'", f"{numpy_s * 1e3:6.0f} ms"),
            (
                "python -c 'import schedcore'",
                f"{import_s * 1e3:6.0f} ms   (numpy + {(import_s - numpy_s) * 1e3:.0f} ms; "
                f"target <= numpy + {IMPORT_BUDGET_S * 1e3:.0f} ms)",
            ),
            ("schedcore show", f"{show_s * 1e3:6.0f} ms   (target < {SHOW_TARGET_S * 1e3:.0f} ms)"),
        ]
    )
    print("ratios:")
    report(
        [
            ("import schedcore / import numpy", f"{import_s / numpy_s:6.2f}x"),
            ("schedcore show / import numpy", f"{show_s / numpy_s:6.2f}x"),
        ]
    )
    ok = import_s <= numpy_s + IMPORT_BUDGET_S and show_s < SHOW_TARGET_S
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
