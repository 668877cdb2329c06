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

from ..schedules.combinators import Clamp, Phase, Product, Repeat, Sequence, Shift
from ..schedules.cyclic import SGDR
from ..schedules.families import Constant, Exponential, InverseTime, Polynomial
from ..schedules.node import Schedule
from ..schedules.piecewise import PiecewiseConstant

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
    The runs start and end on the steps that differ, ``n`` apart.
    """
    return _shifts(n, ceil=False)


@functools.lru_cache(maxsize=1024)
def ceil_shifts(n: int) -> tuple[tuple[int, int, int], ...]:
    """As :func:`stair_shifts` for ``ceil(fl(fl(k) * fl(1/n)))`` against ``ceil(k / n)``:
    ``shift`` +1 where a multiple ``m * n`` already counts ``m + 1`` (``fl(1/n) > 1/n``:
    ``21 * fl(1/7) = 3.0000002``), -1 where ``m * n + 1`` still counts ``m``."""
    return _shifts(n, ceil=True)


def _shifts(n: int, ceil: bool) -> tuple[tuple[int, int, int], ...]:
    error = Fraction(float(np.float32(1.0) / np.float32(n))) * n - 1
    if error == 0:  # n is a power of two: 1 / n is exact
        return ()
    late = error < 0
    # the one step next to each multiple m * n where the compiled count can differ
    offset = (1 if late else 0) if ceil else (0 if late else -1)
    runs: list[tuple[int, int, int]] = []
    last_m = (LIMIT - 1 - offset) // n
    for lo in range(1, last_m + 1, _CHUNK):
        m = np.arange(lo, min(lo + _CHUNK, last_m + 1), dtype=np.int64)
        k = m * n + offset
        q = quotient(k, n)
        if ceil:
            off = m[np.ceil(q) <= m] if late else m[np.ceil(q) > m]
        else:
            off = m[np.floor(q) < m] if late else m[np.floor(q) >= m]
        for first_m, last_m_run in _runs(off):
            first, last = first_m * n + offset, last_m_run * n + offset
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
    shifted = {s: Shift(schedule=node, offset=s) for s in (-1, 1)}
    return _on_runs(node, runs, shifted) if runs else node


def compiled_cycles(node: SGDR) -> Schedule:
    """A restart node with equal cycles (``t_mul = 1``), whose cycle is
    ``floor(k / period)`` and position ``k / period`` minus it, as compiled float32
    training applies it (Keras ``CosineDecayRestarts`` in ``model.fit``).

    On a late run of :func:`stair_shifts` a multiple ``m * period`` is still in cycle
    ``m - 1``, at position ``fl(m * period * fl(1/period)) - (m - 1) = 1 - 2**-24``: the
    cycle's end value, ``end`` (``CosineDecayRestarts(1.0, 41, alpha=0.1)`` applies 0.1 at
    update 41, not 1.0), the other steps as they are. That is
    ``clamp(node * mask, min=end)`` with a mask 0 on multiples, 1 elsewhere (the node never
    goes below ``end``). On an early run (only past ``2**23``) ``m * period - 1`` is
    already in cycle ``m``, at position 0: the node shifted by one step, whose positions are
    off by ``1 / period``, below float32's own spacing of the position there."""
    runs = stair_shifts(node.period)
    if not runs:
        return node
    mask = Repeat(
        schedule=PiecewiseConstant(boundaries=(1,), values=(0.0, 1.0)), period=node.period
    )
    if node.end <= node.start:
        late: Schedule = Clamp(schedule=Product(schedules=(node, mask)), min=node.end)
    else:  # rising cycles: the node never goes above end
        lift = Repeat(
            schedule=PiecewiseConstant(boundaries=(1,), values=(node.end / node.start, 1.0)),
            period=node.period,
        )
        late = Clamp(schedule=Product(schedules=(node, lift)), max=node.end)
    return _on_runs(node, runs, {-1: late, 1: Shift(schedule=node, offset=1)})


def _on_runs(node: Schedule, runs, nodes: dict[int, Schedule]) -> Schedule:
    """``node`` on the global step, but ``nodes[shift]`` on each ``(first, last, shift)`` run."""
    parts: list[Phase] = []
    at = 0
    for first, last, shift in runs:
        if first > at:
            parts.append(Phase(node, first - at, "global"))
        parts.append(Phase(nodes[shift], last + 1 - first, "global"))
        at = last + 1
    parts.append(Phase(node, None, "global"))
    return Sequence(phases=tuple(parts))


def compiled_stretch(node: Polynomial) -> Schedule:
    """Keras' stretching polynomial (``PolynomialDecay(cycle=True)``, ``after = 'stretch'``)
    as compiled float32 training applies it: its stretch count
    ``ceil(fl(fl(k) * fl(1/steps)))`` is one ahead at the multiples of an early run of
    :func:`ceil_shifts` (``PolynomialDecay(1.0, 7, 0.0, cycle=True)`` applies 0.25 at update
    21, ``p = 21 / 28``, not 0): ``after = 'stretch_early'`` there. On a late run (only
    past ``2**23``) ``m * steps + 1`` still counts ``m``, ``1 - p = -1 / (m * steps)``: the
    node shifted back a step gives ``end``, as Keras does to float32 rounding for a whole
    power (a fractional one makes Keras' value NaN there)."""
    runs = ceil_shifts(node.steps)
    if not runs:
        return node
    early = dataclasses.replace(node, after="stretch_early")
    return _on_runs(node, runs, {1: early, -1: Shift(schedule=node, offset=-1)})


def held_end(node: Polynomial) -> Schedule:
    """A polynomial held past ``steps`` as compiled float32 training applies it: Keras
    ``PolynomialDecay`` computes ``p = min(k, steps) * fl(1/steps)``, which stays
    ``fl(steps * fl(1/steps)) = 1 - 2**-24`` past the end for some ``steps``, so the value
    held there is ``end + (start - end) * 2**-24 ** power``, visible for a power below 1
    (``power = 0.5``: ``2.4e-4`` of the range)."""
    p = float(quotient(node.steps, node.steps))
    if p == 1.0 or node.power == 0 or node.after != "hold":
        return node
    held = node.end + (node.start - node.end) * (1.0 - p) ** node.power
    return Sequence(phases=(Phase(node, node.steps, "local"), Phase(Constant(value=held))))


def compiled(node: Schedule, keras: bool = False) -> Schedule:
    """``node`` with every staircase exponential and inverse-time decay in it replaced by
    :func:`compiled_stairs` (each sees the count its source divides: a joined or shifted
    schedule's local one). With ``keras``, also Keras' restarts with equal cycles
    (:func:`compiled_cycles`), held polynomials (:func:`held_end`) and stretching ones
    (:func:`compiled_stretch`), whose Keras code divides by the same constants. Other
    continuous curves differ from exact arithmetic only by float32 rounding and are kept."""
    if isinstance(node, (Exponential, InverseTime)) and node.staircase:
        return node if node.constant_from == 0 else compiled_stairs(node, node.every)
    equal_cycles = isinstance(node, SGDR) and node.t_mul == 1.0 and node.cycle_limit is None
    if keras and equal_cycles and (node.m_mul_applies_to == "range" or node.m_mul == 1.0):
        return compiled_cycles(node)
    if keras and isinstance(node, Polynomial) and node.after == "hold":
        return held_end(node)
    if keras and isinstance(node, Polynomial) and node.after == "stretch":
        return compiled_stretch(node)
    changes: dict[str, object] = {}
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, Schedule):
            new = compiled(value, keras)
        elif isinstance(value, tuple) and value and all(isinstance(p, Phase) for p in value):
            new = tuple(dataclasses.replace(p, schedule=compiled(p.schedule, keras)) for p in value)
        else:
            continue
        if new != value:
            changes[field.name] = new
    return dataclasses.replace(node, **changes) if changes else node
