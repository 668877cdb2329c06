"""schedcore for PyTorch: param_groups, an exact LRScheduler, and a one-call build."""

from .table import canonical, is_norm, param_table

__all__ = ["canonical", "is_norm", "param_table"]
