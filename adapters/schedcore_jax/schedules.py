"""An optax schedule that lowers schedcore's nodes to ``jax.numpy``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import schedcore as sc
from schedcore.errors import describe
from schedcore.fields import LR_RANGE, Real
from schedcore.recipes.document import as_recipe_argument as as_recipe

from .ops import jax_ops, precision

INT32_LIMIT = 2**31 - 1


def evaluate(node: sc.Schedule, step: Any) -> Any:
    """``node``'s multiplier at ``step`` (one step or an array of steps: integer update
    counts, >= 0) as a ``jax.numpy`` array of the same shape: the core's formula, evaluated
    with :class:`~schedcore_jax.ops.JaxOps` (traceable: it runs inside ``jit`` and ``vmap``).
    float64 with JAX's 64-bit mode on, else float32 (:func:`schedcore_jax.precision`);
    in 32-bit mode steps are int32, and a step or a schedule's own step count (a shift's
    offset, a phase's length) past 2**31 is refused: enable 64-bit mode for it.

    Concrete steps (an eager call) are checked by the core, which raises as it does in
    every framework: a float, bool or non-numeric step is a TypeError, a negative step or
    one past the end of an ``after = "error"`` node a :class:`schedcore.StepRangeError`.
    Traced steps (under ``jit`` / ``vmap``) cannot raise: a float dtype is refused when
    traced, a negative step gives NaN, and an ``after = "error"`` node holds its last value."""
    o = jax_ops()
    if o.int_max == INT32_LIMIT:
        too_big = _too_big(node)
        if too_big is not None:
            raise ValueError(
                f"{node.type_name}: the schedule counts steps past 2**31 ({too_big}), and "
                f"JAX without 64-bit mode has int32 steps; {ENABLE_X64}"
            )
    if isinstance(step, jax.core.Tracer):
        if not jnp.issubdtype(step.dtype, jnp.integer):
            raise TypeError(
                "step must be an integer update count (optax passes an int32 count), got a "
                f"traced {step.dtype} value; pass integer steps (jnp.arange(n), not floats)"
            )
        t = o.steps(step)
        return jnp.where(t < 0, jnp.nan, node.dense(o, t))  # no lr for a negative step
    return node.dense(o, o.steps(_checked(node, step, o.int_max)))


ENABLE_X64 = 'enable 64-bit mode (jax.config.update("jax_enable_x64", True) or JAX_ENABLE_X64=1)'


def _checked(node: sc.Schedule, step: Any, int_max: int) -> np.ndarray:
    """Concrete steps as an integer numpy array, after the core's own checks (type,
    negative steps, past the end with ``after = "error"``) and this mode's int range."""
    try:
        array = np.asarray(step)
    except (TypeError, ValueError):  # a ragged list, an object numpy cannot read
        array = np.asarray(None)
    if array.dtype.kind not in "iu":
        raise TypeError(
            "step must be an int or an int array (0-based update counts), got "
            f"{describe(step)}" + (f" of dtype {array.dtype}" if array.dtype.kind in "bfc" else "")
        )
    if array.size and int(array.max()) > int_max:
        raise ValueError(
            f"step must be < 2**31 with JAX's int32 steps, got {int(array.max())}; {ENABLE_X64}"
        )
    node(int(array) if array.ndim == 0 else array)  # the core raises for what it refuses
    return array


@functools.lru_cache(maxsize=256)
def _too_big(node: sc.Schedule) -> int | None:
    return _largest_count(node.to_dict())


def _largest_count(data: Any) -> int | None:
    """An integer of a schedule's dict form past int32's range, or None."""
    if isinstance(data, dict):
        data = list(data.values())
    if isinstance(data, (list, tuple)):
        found = [c for c in map(_largest_count, data) if c is not None]
        return max(found) if found else None
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) > INT32_LIMIT:
        return abs(data)
    return None


class RecipeSchedule:
    """``lr * schedule(count)``: an optax schedule (a function of the update count; update
    ``k`` applies ``count = k``, as optax's own schedules do).

    ``jax.jit`` and ``jax.vmap`` take it as they take any ``jax.numpy`` function: every
    node lowers through the core's own formula, with exact integer boundaries. It computes
    in float64 when ``jax_enable_x64`` is on and in float32 otherwise; :attr:`precision`
    says which, at the time it is read (JAX's mode is global and may change). Steps are
    checked as :func:`evaluate` says: an eager call raises where the core raises; a traced
    one cannot, so a node with ``after = "error"`` holds its last value past its end and
    a negative step gives NaN."""

    def __init__(self, schedule: sc.Schedule | dict[str, Any], lr: float = 1.0) -> None:
        self.schedule = schedule if isinstance(schedule, sc.Schedule) else sc.from_dict(schedule)
        self.lr = Real(0.0).coerce(lr, "lr")  # a group's lr may be 0 (lr_scale = 0)

    @property
    def precision(self) -> str:
        """``"float64"`` or ``"float32"``: what a call computes in now."""
        return precision()

    def __call__(self, count: Any) -> Any:
        value = evaluate(self.schedule, count)
        return value if self.lr == 1.0 else value * self.lr

    def __repr__(self) -> str:
        return f"RecipeSchedule({self.schedule.type_name}, lr={self.lr:g}, {self.precision})"


RecipeLike = sc.Recipe | sc.Schedule | dict[str, Any] | str | Path



def schedule(recipe_or_schedule: RecipeLike, lr: float | None = None) -> RecipeSchedule:
    """The optax schedule of a recipe (``recipe.base_lr * recipe.schedule``; its group
    policy is the optimizer's business, see :func:`schedcore_jax.optimizer`) or of a bare
    schedule (a multiplier: ``lr`` defaults to 1.0). ``lr`` overrides the base lr."""
    if lr is not None:
        lr = Real(*LR_RANGE).coerce(lr, "lr")
    if isinstance(recipe_or_schedule, sc.Schedule):
        return RecipeSchedule(recipe_or_schedule, 1.0 if lr is None else lr)
    if isinstance(recipe_or_schedule, dict) and "type" in recipe_or_schedule:
        return RecipeSchedule(sc.from_dict(recipe_or_schedule), 1.0 if lr is None else lr)
    recipe = as_recipe(recipe_or_schedule, "recipe_or_schedule")
    return RecipeSchedule(recipe.schedule, recipe.base_lr if lr is None else lr)
