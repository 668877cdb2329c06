"""The core's ops protocol (:mod:`schedcore.schedules.ops`) implemented with ``keras.ops``.

Every node's formula is written once, in ``Schedule.dense(ops, t)``; passing
:func:`keras_ops` instead of ``schedcore.schedules.ops.NUMPY`` lowers it to backend tensors, so this
adapter evaluates exactly the core's formulas and never re-derives one.

Precision: steps are int64 and values are computed in float64; the schedule returns
float32, as Keras schedules do. That keeps every value within float32 rounding (relative
error <= 2**-24) of the core for steps up to 2**31 and beyond; a float32 step could not
even represent the integers past 2**24. TensorFlow and torch have int64 and float64
natively. JAX needs 64-bit mode (``jax.config.update("jax_enable_x64", True)`` or
``JAX_ENABLE_X64=1``); without it JAX narrows everything to int32 and float32, so values
are float32-computed (relative error about 1e-7, more in steep cosine tails) and steps must
stay below 2**31.

Off TensorFlow, Keras promotes the result of some ops to at most 32 bits even for 64-bit
inputs (its type promotion follows JAX's default), and turns Python scalars into float32 or
int32 tensors. So Python scalars are converted here, through numpy, to the dtype of the
tensor they meet, and the few ops Keras narrows on a backend (:data:`NARROWED`, checked by
the tests) call that backend's own function instead.

``after = "error"`` cannot raise inside a compiled graph (``can_raise = False``): a finite
node past its end holds its last value there, as ``after = "hold"`` does. The core raises
for such a step; check a recipe with the core (``recipe.lr(steps)``) before training.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import backend, ops

NARROWED: dict[str, tuple[str, ...]] = {
    "jax": ("cos", "floor", "ceil"),
    "torch": ("minimum", "maximum", "floor_divide", "floor", "ceil"),
}
"""Per backend, the ``keras.ops`` functions that return 32 bits for 64-bit inputs (Keras
3.15); for them :class:`KerasOps` calls ``jax.numpy`` / ``torch``."""


def _native(name: str) -> dict[str, Callable[..., Any]]:
    if name == "jax":
        import jax.numpy as module
    elif name == "torch":
        import torch as module
    else:
        return {}
    return {op: getattr(module, op) for op in NARROWED[name]}


class KerasOps:
    """``schedcore.schedules.ops.NumpyOps``' protocol over ``keras.ops`` (module docstring)."""

    name = "keras"
    can_raise = False
    gathers_phases = True  # one formula for alike phases: no switch (see Sequence.dense)

    def __init__(
        self,
        int_dtype: str = "int64",
        float_dtype: str = "float64",
        native: dict[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.int_dtype = int_dtype
        self.float_dtype = float_dtype
        self.int_max = int(np.iinfo(int_dtype).max)
        self._native = native or {}
        self._case = self._cond = self._outside_xla = None
        self._gather = ops.take
        if backend.backend() == "tensorflow":
            import tensorflow as tf

            self._case = _tf_case()
            # in a graph outside XLA, tf.cond becomes Switch/Merge dataflow where the branch
            # not taken costs next to nothing: cheaper for two small pieces than running both
            # and selecting, or than the function call of _tf_case
            self._cond = tf.cond
            # keras.ops.take also maps negative indices (3 more ops a call); ours never are
            self._gather = tf.gather
            self._outside_xla = _tf_outside_xla()
        self._compiles = backend.backend() in ("tensorflow", "jax")  # rewrite x / constant

    # -- conversions ------------------------------------------------------------------------
    def steps(self, t: Any) -> Any:
        """Steps as this backend's integer tensor (floats are truncated). Python and numpy
        values go through numpy: a backend would make an int32 of a Python int."""
        if isinstance(t, keras.Variable):
            t = ops.convert_to_tensor(t)  # read once
        elif not ops.is_tensor(t):
            t = np.asarray(t)
        return ops.cast(t, self.int_dtype)

    def _like(self, value: Any, other: Any) -> Any:
        """``value`` as a tensor of ``other``'s dtype (a Python or numpy scalar; a float
        meeting an integer tensor becomes a float tensor). Tensors pass through."""
        if ops.is_tensor(value) or not isinstance(value, (numbers.Number, np.generic)):
            return value
        dtype = backend.standardize_dtype(other.dtype) if ops.is_tensor(other) else None
        if dtype is None or ("int" in dtype and not isinstance(value, numbers.Integral)):
            dtype = self.int_dtype if isinstance(value, numbers.Integral) else self.float_dtype
        return ops.convert_to_tensor(np.asarray(value, dtype=dtype), dtype=dtype)

    def _pair(self, x: Any, y: Any) -> tuple[Any, Any]:
        return self._like(x, y), self._like(y, x)

    def _call(self, op: str, *args: Any) -> Any:
        return self._native.get(op, getattr(ops, op))(*args)

    def _constant(self, values: Sequence[float], integral: bool) -> Any:
        if integral:  # exact integers (bounds past the dtype's range only ever end a search)
            array = np.asarray([min(int(v), self.int_max) for v in values], dtype=self.int_dtype)
            return ops.convert_to_tensor(array, dtype=self.int_dtype)
        return ops.convert_to_tensor(np.asarray(values, np.float64), dtype=self.float_dtype)

    # -- the protocol -----------------------------------------------------------------------
    def float(self, t: Any) -> Any:
        return ops.cast(t, self.float_dtype)

    def full(self, t: Any, value: float) -> Any:
        return ops.full_like(t, value, dtype=self.float_dtype)

    def searchsorted(self, sorted_values: Sequence[float], t: Any, side: str) -> Any:
        integral = "int" in backend.standardize_dtype(t.dtype) and all(
            float(v).is_integer() for v in sorted_values
        )
        if not integral:
            t = self.float(t)
        table = self._constant(sorted_values, integral)
        if len(t.shape) == 0:  # one step: count the values below it (fewer ops than a search)
            return self._count_below(t, table, side, self.int_dtype)
        return ops.cast(ops.searchsorted(table, t, side=side), self.int_dtype)

    @staticmethod
    def _count_below(t: Any, table: Any, side: str, dtype: str) -> Any:
        """For one step ``t``: how many of ``table`` are below it (``side='left'``) or at
        most it (``'right'``), which is where a sorted search would insert it."""
        below = ops.greater(t, table) if side == "left" else ops.greater_equal(t, table)
        return ops.sum(ops.cast(below, dtype))

    def take(self, values: Sequence[float], index: Any) -> Any:
        return self._gather(self._constant(values, False), index)

    def divide(self, x: Any, y: Any) -> Any:
        """``x / y``, exactly as numpy divides, also in compiled graphs: TensorFlow's
        grappler and XLA replace a division by a constant with a multiplication by its
        reciprocal (1 ulp off, enough to put a restart or the end of a decay one step
        late), so a constant divisor is made a runtime value, ``where(x != x, y + 1, y)``
        (always ``y``; ``x != x`` only for NaN), which neither can fold. In a TensorFlow
        graph that XLA will not compile, ``divide_no_nan`` (which grappler does not
        rewrite) does the same in one op."""
        if self._compiles and not ops.is_tensor(y):
            x = self._like(x, y)
            if self._outside_xla is not None and self._outside_xla():
                # grappler leaves DivNoNan alone: one op (y is a nonzero constant here)
                return ops.divide_no_nan(x, self._like(y, x))
            y = ops.where(ops.not_equal(x, x), self._like(y + 1, x), self._like(y, x))
            return x / y
        x, y = self._pair(x, y)
        return x / y

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return ops.where(condition, *self._pair(x, y))

    def minimum(self, x: Any, y: Any) -> Any:
        return self._call("minimum", *self._pair(x, y))

    def maximum(self, x: Any, y: Any) -> Any:
        return self._call("maximum", *self._pair(x, y))

    def clip(self, x: Any, low: Any, high: Any) -> Any:
        return self.minimum(self.maximum(x, low), high)

    def floor_divide(self, x: Any, y: Any) -> Any:
        return self._call("floor_divide", *self._pair(x, y))

    def mod(self, x: Any, y: Any) -> Any:
        return ops.mod(*self._pair(x, y))

    def power(self, x: Any, y: Any) -> Any:
        return ops.power(*self._pair(x, y))

    def cos(self, x: Any) -> Any:
        return self._call("cos", x)

    def sqrt(self, x: Any) -> Any:
        return ops.sqrt(x)

    def floor(self, x: Any) -> Any:
        return self._call("floor", x)

    def ceil(self, x: Any) -> Any:
        return self._call("ceil", x)

    def log(self, x: Any) -> Any:
        return self._call("log", x)

    def log1p(self, x: Any) -> Any:
        return ops.log1p(x)

    def expm1(self, x: Any) -> Any:
        return ops.expm1(x)

    def to_int(self, x: Any) -> Any:
        return ops.cast(x, self.int_dtype)

    def piecewise(self, t: Any, bounds: Sequence[int], piece: Callable[[int, Any], Any]) -> Any:
        """For one step (``t`` of static shape ``()`` or ``(1,)``, what a schedule evaluates
        in a train step) only the piece the step falls in runs (a switch; for two pieces on
        TensorFlow a ``cond``), so a many-phase sequence costs about what one phase does.
        Otherwise, and for two pieces off TensorFlow (where a switch costs more than it
        saves), every piece runs and ``where`` selects."""
        count = len(bounds) + 1
        one_step = tuple(t.shape) in ((), (1,))
        if count == 2 and one_step and self._cond is not None:
            return self._cond(ops.reshape(t, ()) >= bounds[0], functools.partial(piece, 1, t),
                              functools.partial(piece, 0, t))  # fmt: skip
        if count > 2 and one_step:
            table = self._constant(bounds, True)
            index = self._count_below(ops.reshape(t, ()), table, "right", "int32")
            if self._case is not None:
                return self._case(index, [functools.partial(piece, i, t) for i in range(count)])
            return ops.switch(index, [functools.partial(piece, i) for i in range(count)], t)
        out = piece(0, t)
        for i, bound in enumerate(bounds, start=1):
            out = self.where(t >= bound, piece(i, t), out)
        return out


def _tf_outside_xla() -> Callable[[], bool] | None:
    """A check, at trace time, that the graph being built will not be compiled by XLA:
    neither inside a ``jit_compile=True`` function (TensorFlow's internal
    ``control_flow_util.GraphOrParentsInXlaContext``) nor with XLA auto-clustering on.
    None when that internal function is missing (then every division takes the
    XLA-proof path)."""
    import tensorflow as tf

    try:
        from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext
    except ImportError:  # pragma: no cover - a TensorFlow without it
        return None

    def outside_xla() -> bool:
        if tf.config.optimizer.get_jit():
            return False
        return not GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())

    return outside_xla


def _tf_case() -> Callable[..., Any] | None:
    """TensorFlow's switch that stays a function call in a ``tf.function`` graph.

    ``keras.ops.switch`` (``tf.switch_case``) is lowered to Switch/Merge dataflow outside
    XLA, where every node of every branch is still scheduled (as dead): a 20-phase
    sequence then costs about 3x what its one live phase does. Kept as a function call,
    only the live branch runs. This is TensorFlow's internal ``cond_v2.indexed_case`` (what
    ``tf.execute_fn_for_device`` uses); without it, ``keras.ops.switch``.
    """
    import tensorflow as tf

    try:
        from tensorflow.python.ops.cond_v2 import indexed_case
    except ImportError:  # pragma: no cover - a TensorFlow without it
        return None

    def case(index: Any, branches: list[Callable[[], Any]]) -> Any:
        if tf.executing_eagerly():  # no graph: run the branch
            return branches[int(index)]()
        return indexed_case(index, branches, lower_using_switch_merge=False)

    return case


@functools.cache
def _ops(name: str, wide: bool) -> KerasOps:
    if not wide:
        return KerasOps("int32", "float32")
    return KerasOps(native=_native(name))


def keras_ops() -> KerasOps:
    """The ops for the current backend: 64-bit, except on JAX without 64-bit mode."""
    name = backend.backend()
    if name == "jax":
        import jax

        return _ops(name, bool(jax.config.jax_enable_x64))
    return _ops(name, True)
