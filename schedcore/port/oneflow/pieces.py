"""Pieces: a plan in the making, as consecutive OneFlow schedulers on the global step.

A rule (:mod:`.rules`) turns a node into pieces; combinators cut, move and join them.
"""

from __future__ import annotations

import dataclasses

from .kernels import Const, Leaf


@dataclasses.dataclass(frozen=True)
class Piece:
    """``leaf`` runs from global step ``start`` until the next piece, seeing ``k - offset``."""

    start: int
    leaf: Leaf
    offset: int


Pieces = list[Piece]


def merge(pieces: Pieces) -> Pieces:
    """Pieces with strictly increasing starts; equal neighbouring constants joined."""
    out: Pieces = []
    for p in pieces:
        if out and p.start <= out[-1].start:
            out.pop()  # an empty piece: the next one starts at the same step
        if (
            out
            and isinstance(p.leaf, Const)
            and isinstance(out[-1].leaf, Const)
            and p.leaf.value == out[-1].leaf.value
        ):
            continue
        out.append(p)
    return out


def clip(pieces: Pieces, begin: int, end: int | None) -> Pieces:
    """The pieces active on ``[begin, end)``, the first starting at ``begin``."""
    out: Pieces = []
    for i, p in enumerate(pieces):
        stop = pieces[i + 1].start if i + 1 < len(pieces) else None
        if stop is not None and stop <= begin:
            continue
        if end is not None and p.start >= end:
            break
        out.append(dataclasses.replace(p, start=max(p.start, begin)))
    return out


def moved(pieces: Pieces, by: int) -> Pieces:
    """The pieces ``by`` steps later, on a clock ``by`` steps later too."""
    return [Piece(p.start + by, p.leaf, p.offset + by) for p in pieces]


def single_const(pieces: Pieces) -> float | None:
    """The value of pieces that hold one constant throughout, else None."""
    pieces = merge(pieces)
    if len(pieces) == 1 and isinstance(pieces[0].leaf, Const):
        return pieces[0].leaf.value
    return None
