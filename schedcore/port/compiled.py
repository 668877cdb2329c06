"""What compiled float32 training computes for a staircase ``floor(k / n)``.

Keras ``model.fit`` on TensorFlow (a ``tf.function``, with or without XLA) and a
``jax.jit`` train step with optax see ``n`` as a constant and rewrite ``k / n`` as
``k * (1 / n)``, all in float32: the quotient is ``fl(fl(k) * fl(1 / n))``, which can land
one float32 step below a whole number (``55 * fl(1 / 55) = 0.99999994``) or, near
``2**24``, round up to one. Eager arithmetic divides exactly (``55 / 55 = 1``).

For ``k < 2**24`` (where float32 holds every step) the compiled ``floor`` differs from the
exact one only on whole runs of multiples: when ``fl(1 / n) < 1 / n``, step ``m * n`` can
still be on stair ``m - 1`` (a stair one step late); when ``fl(1 / n) > 1 / n``, step
``m * n - 1`` can already be on stair ``m`` (one step early). :func:`stair_shifts` lists
those runs once, as exact integer steps; :func:`compiled_stairs` turns a staircase node
into the sequence that applies them. Past ``2**24`` float32 cannot count steps, eagerly
or compiled, and nothing is modelled.
"""

from __future__ import annotations

import dataclasses
import functools
from fractions import Fraction

import numpy as np

from ..schedules.combinators import Phase, Sequence, Shift
from ..schedules.families import Exponential, InverseTime
from ..schedules.node import Schedule

LIMIT = 2**24
"""Steps from here on are not whole numbers in float32: nothing is modelled there."""

_CHUNK = 1 << 20


def quotient(k, n: int) -> np.ndarray:
    """``k / n`` as compiled float32 code computes it: ``fl(fl(k) * fl(1 / n))``."""
    r = np.float32(1.0) / np.float32(n)
    return np.asarray(k).astype(np.float32) * r


@functools.lru_cache(maxsize=1024)
def stair_shifts(n: int) -> tuple[tuple[int, int, int], ...]:
    """``(first, last, shift)`` runs of steps ``< 2**24`` where the compiled stair index
    ``floor(fl(fl(k) * fl(1/n)))`` is ``floor((k + shift) / n)`` (``shift`` is -1 for a
    late stair, +1 for an early one); the exact ``floor(k / n)`` holds at every other step.
    """
    error = Fraction(float(np.float32(1.0) / np.float32(n))) * n - 1
    if error == 0:  # n is a power of two: 1 / n is exact
        return ()
    late = error < 0
    runs: list[tuple[int, int, int]] = []
    last_m = (LIMIT - 1) // n if late else LIMIT // n
    for lo in range(1, last_m + 1, _CHUNK):
        m = np.arange(lo, min(lo + _CHUNK, last_m + 1), dtype=np.int64)
        k = m * n if late else m * n - 1
        index = np.floor(quotient(k, n)).astype(np.int64)
        off = m[index < m] if late else m[index >= m]
        for first_m, last_m_run in _runs(off):
            if late:
                first, last = first_m * n, last_m_run * n
            else:
                first, last = first_m * n - 1, last_m_run * n - 1
            if runs and first - runs[-1][1] == n:  # the run goes on across chunks
                runs[-1] = (runs[-1][0], last, runs[-1][2])
            else:
                runs.append((first, last, -1 if late else 1))
    return tuple(runs)


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs ``(first, last)`` of a sorted integer array."""
    if values.size == 0:
        return []
    breaks = np.nonzero(np.diff(values) != 1)[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [values.size - 1]])
    return [(int(values[a]), int(values[b])) for a, b in zip(starts, ends, strict=True)]


def compiled_stairs(node: Schedule, every: int) -> Schedule:
    """``node`` (whose value depends on the step only through ``floor(k / every)``) as
    compiled float32 training applies it: on each run of :func:`stair_shifts` the node
    runs shifted by that run's step, elsewhere as it is."""
    runs = stair_shifts(every)
    if not runs:
        return node
    parts: list[Phase] = []
    at = 0
    for first, last, shift in runs:
        if first > at:
            parts.append(Phase(node, first - at, "global"))
        parts.append(Phase(Shift(schedule=node, offset=shift), last + 1 - first, "global"))
        at = last + 1
    parts.append(Phase(node, None, "global"))
    return Sequence(phases=tuple(parts))


def compiled(node: Schedule) -> Schedule:
    """``node`` with every staircase exponential and inverse-time decay in it replaced by
    :func:`compiled_stairs` (each sees the count its source divides: a joined or shifted
    schedule's local one). Continuous curves differ from exact arithmetic only by float32
    rounding and are kept."""
    if isinstance(node, (Exponential, InverseTime)) and node.staircase:
        return node if node.constant_from == 0 else compiled_stairs(node, node.every)
    changes: dict[str, object] = {}
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, Schedule):
            new = compiled(value)
        elif isinstance(value, tuple) and value and all(isinstance(p, Phase) for p in value):
            new = tuple(dataclasses.replace(p, schedule=compiled(p.schedule)) for p in value)
        else:
            continue
        if new != value:
            changes[field.name] = new
    return dataclasses.replace(node, **changes) if changes else node
