"""schedcore for JAX: optax schedules and recipe-driven optax optimizers.

Every schedule node lowers to ``jax.numpy`` through the core's own formula
(:mod:`schedcore_jax.ops`); nothing here re-derives one.
"""

from __future__ import annotations

try:
    import jax  # noqa: F401  (the adapter's modules need it)
    import optax  # noqa: F401
except ImportError as err:
    raise ImportError("schedcore_jax needs JAX and optax: pip install 'schedcore-lr[jax]'") from err

from .ops import JaxOps, jax_ops, precision
from .optimizers import FROZEN, Plan, leaf_names, optimizer, param_table, params_of, plan
from .schedules import RecipeSchedule, evaluate, schedule

__all__ = [
    "FROZEN",
    "JaxOps",
    "Plan",
    "RecipeSchedule",
    "evaluate",
    "jax_ops",
    "leaf_names",
    "optimizer",
    "param_table",
    "params_of",
    "plan",
    "precision",
    "schedule",
]
