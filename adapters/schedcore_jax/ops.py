"""The core's ops protocol (:mod:`schedcore.schedules.ops`) implemented with ``jax.numpy``.

Every node's formula is written once, in ``Schedule.dense(ops, t)``; passing :func:`jax_ops`
instead of ``schedcore.schedules.ops.NUMPY`` lowers it to ``jax.numpy``, so this adapter
evaluates exactly the core's formulas and never re-derives one. The result is traceable:
``jax.jit`` and ``jax.vmap`` see plain ``jax.numpy`` operations.

Precision follows JAX's 64-bit switch. With ``jax_enable_x64`` on, steps are int64 and
values float64, as in the core. Otherwise JAX has no 64-bit types: steps are int32 (below
2**31) and values are computed in float32 (relative error about 1e-7, more in steep cosine
tails); :func:`precision` says which.

Boundaries stay exact in both modes: the core finds stairs, milestones, restarts and phase
ends with integer arithmetic (``floor_divide`` and ``mod`` of int steps, ``searchsorted``
in integer tables it computed exactly, such as SGDR's cycle starts), which this lowering
keeps integral. A division by a constant (``ops.divide``) is kept a true division: XLA
rewrites ``x / c`` as ``x * (1 / c)`` (1 ulp off), so the divisor is made a runtime value it
cannot fold, as the Keras adapter does.

``after = "error"`` cannot raise inside a traced function (``can_raise = False``): a finite
node past its end holds its last value there, as ``after = "hold"`` does. The core raises
for such a step; check a recipe with the core (``recipe.lr(steps)``) before training.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def x64() -> bool:
    """Whether JAX's 64-bit mode is on now (``jax_enable_x64``)."""
    return bool(jax.config.jax_enable_x64)


def precision() -> str:
    """``"float64"`` with JAX's 64-bit mode on, else ``"float32"``: what schedules compute in."""
    return "float64" if x64() else "float32"


class JaxOps:
    """``schedcore.schedules.ops.NumpyOps``' protocol over ``jax.numpy`` (module docstring)."""

    name = "jax"
    can_raise = False

    def __init__(self, wide: bool) -> None:
        self.int_dtype = jnp.int64 if wide else jnp.int32
        self.float_dtype = jnp.float64 if wide else jnp.float32
        self.int_max = int(np.iinfo(np.int64 if wide else np.int32).max)

    # -- conversions ------------------------------------------------------------------------
    def steps(self, t: Any) -> Any:
        """Steps as an integer array of this mode's width (floats are truncated)."""
        return jnp.asarray(t).astype(self.int_dtype)

    def _like(self, value: Any, other: Any) -> Any:
        """A Python or numpy scalar as an array of ``other``'s dtype (a float meeting an
        integer array becomes a float array); arrays pass through."""
        if not isinstance(value, (numbers.Number, np.generic)):
            return value
        dtype = getattr(other, "dtype", None)
        integral = isinstance(value, numbers.Integral)
        if dtype is None or (jnp.issubdtype(dtype, jnp.integer) and not integral):
            dtype = self.int_dtype if integral else self.float_dtype
        if jnp.issubdtype(dtype, jnp.integer):
            value = min(int(value), self.int_max)
        return jnp.asarray(value, dtype=dtype)

    def _pair(self, x: Any, y: Any) -> tuple[Any, Any]:
        return self._like(x, y), self._like(y, x)

    def _constant(self, values: Sequence[float], integral: bool) -> Any:
        if integral:  # exact integers (bounds past the dtype's range only ever end a search)
            return jnp.asarray([min(int(v), self.int_max) for v in values], self.int_dtype)
        return jnp.asarray(np.asarray(values, np.float64), self.float_dtype)

    # -- the protocol -----------------------------------------------------------------------
    def float(self, t: Any) -> Any:
        return jnp.asarray(t).astype(self.float_dtype)

    def full(self, t: Any, value: float) -> Any:
        return jnp.full(jnp.shape(t), value, dtype=self.float_dtype)

    def searchsorted(self, sorted_values: Sequence[float], t: Any, side: str) -> Any:
        integral = jnp.issubdtype(t.dtype, jnp.integer) and all(
            float(v).is_integer() for v in sorted_values
        )
        if not integral:
            t = self.float(t)
        found = jnp.searchsorted(self._constant(sorted_values, integral), t, side=side)
        return found.astype(self.int_dtype)

    def take(self, values: Sequence[float], index: Any) -> Any:
        return jnp.take(self._constant(values, False), index)

    def divide(self, x: Any, y: Any) -> Any:
        """``x / y`` as a true division also under ``jit``: a constant ``y`` becomes
        ``where(x != x, y + 1, y)`` (always ``y``; ``x != x`` only for NaN), which XLA
        cannot fold into a multiplication by ``1 / y``."""
        if not isinstance(y, (jax.Array, np.ndarray)):
            x = self._like(x, y)
            y = jnp.where(x != x, self._like(y + 1, x), self._like(y, x))
            return x / y
        x, y = self._pair(x, y)
        return x / y

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return jnp.where(condition, *self._pair(x, y))

    def minimum(self, x: Any, y: Any) -> Any:
        return jnp.minimum(*self._pair(x, y))

    def maximum(self, x: Any, y: Any) -> Any:
        return jnp.maximum(*self._pair(x, y))

    def clip(self, x: Any, low: Any, high: Any) -> Any:
        return self.minimum(self.maximum(x, low), high)

    def floor_divide(self, x: Any, y: Any) -> Any:
        return jnp.floor_divide(*self._pair(x, y))

    def mod(self, x: Any, y: Any) -> Any:
        return jnp.mod(*self._pair(x, y))

    def power(self, x: Any, y: Any) -> Any:
        return jnp.power(*self._pair(x, y))

    cos = staticmethod(jnp.cos)
    sqrt = staticmethod(jnp.sqrt)
    floor = staticmethod(jnp.floor)
    ceil = staticmethod(jnp.ceil)
    log = staticmethod(jnp.log)
    log1p = staticmethod(jnp.log1p)
    expm1 = staticmethod(jnp.expm1)

    def to_int(self, x: Any) -> Any:
        return jnp.asarray(x).astype(self.int_dtype)

    def piecewise(self, t: Any, bounds: Sequence[int], piece: Callable[[int, Any], Any]) -> Any:
        """For one step (shape ``()``, what an optax schedule is called with) and more than
        two pieces, only the piece the step falls in runs (``lax.switch``); otherwise every
        piece runs and ``where`` selects (``vmap`` turns a switch into that anyway)."""
        count = len(bounds) + 1
        if count > 2 and jnp.ndim(t) == 0:
            index = self.searchsorted(bounds, t, side="right").astype(jnp.int32)
            return jax.lax.switch(index, [functools.partial(piece, i) for i in range(count)], t)
        out = piece(0, t)
        for i, bound in enumerate(bounds, start=1):
            out = self.where(t >= self._like(bound, t), piece(i, t), out)
        return out


@functools.cache
def _ops(wide: bool) -> JaxOps:
    return JaxOps(wide)


def jax_ops() -> JaxOps:
    """The ops for JAX's current mode: 64-bit with ``jax_enable_x64``, else 32-bit."""
    return _ops(x64())
