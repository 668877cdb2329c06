"""An optax schedule that lowers schedcore's nodes to ``jax.numpy``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import schedcore as sc
from schedcore.errors import describe

from .ops import jax_ops, precision

INT32_LIMIT = 2**31 - 1


def evaluate(node: sc.Schedule, step: Any) -> Any:
    """``node``'s multiplier at ``step`` (one step or an array of steps: update counts,
    >= 0) as a ``jax.numpy`` array of the same shape: the core's formula, evaluated with
    :class:`~schedcore_jax.ops.JaxOps` (traceable: it runs inside ``jit`` and ``vmap``).
    float64 with JAX's 64-bit mode on, else float32 (:func:`schedcore_jax.precision`);
    in 32-bit mode steps are int32, and a schedule with a step count of its own past
    2**31 (a shift's offset, a phase's length) is refused: enable 64-bit mode for it."""
    o = jax_ops()
    if o.int_max == INT32_LIMIT:
        too_big = _too_big(node)
        if too_big is not None:
            raise ValueError(
                f"{node.type_name}: the schedule counts steps past 2**31 ({too_big}), and "
                "JAX without 64-bit mode has int32 steps; enable it "
                '(jax.config.update("jax_enable_x64", True) or JAX_ENABLE_X64=1)'
            )
    return node.dense(o, o.steps(step))


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
    says which, at the time it is read (JAX's mode is global and may change). A node with
    ``after = "error"`` holds its last value past its end here (a traced function cannot
    raise); the core raises there."""

    def __init__(self, schedule: sc.Schedule | dict[str, Any], lr: float = 1.0) -> None:
        self.schedule = schedule if isinstance(schedule, sc.Schedule) else sc.from_dict(schedule)
        self.lr = float(lr)

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


def as_recipe(recipe: Any, what: str = "recipe", lr: float | None = None) -> sc.Recipe:
    """A :class:`schedcore.Recipe` from what :func:`schedcore.as_recipe` reads (a recipe, a
    schedule with ``lr``, a dict, a TOML/JSON path or text); another type is a TypeError."""
    if not isinstance(recipe, (sc.Recipe, sc.Schedule, dict, str, Path)):
        raise TypeError(
            f"{what} must be a schedcore.Recipe, a schedule, a recipe dict or a TOML/JSON "
            f"path, got {describe(recipe)}"
        )
    return sc.as_recipe(recipe, lr=lr, what=what)


def schedule(recipe_or_schedule: RecipeLike, lr: float | None = None) -> RecipeSchedule:
    """The optax schedule of a recipe (``recipe.base_lr * recipe.schedule``; its group
    policy is the optimizer's business, see :func:`schedcore_jax.optimizer`) or of a bare
    schedule (a multiplier: ``lr`` defaults to 1.0). ``lr`` overrides the base lr."""
    if isinstance(recipe_or_schedule, sc.Schedule):
        return RecipeSchedule(recipe_or_schedule, 1.0 if lr is None else lr)
    if isinstance(recipe_or_schedule, dict) and "type" in recipe_or_schedule:
        return RecipeSchedule(sc.from_dict(recipe_or_schedule), 1.0 if lr is None else lr)
    recipe = as_recipe(recipe_or_schedule, "recipe_or_schedule")
    return RecipeSchedule(recipe.schedule, recipe.base_lr if lr is None else lr)
