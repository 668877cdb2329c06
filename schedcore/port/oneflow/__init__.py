"""OneFlow: importing its schedulers (:func:`from_oneflow`), and planning a schedule as its
native nn.Graph schedulers (:func:`plan`). Framework-free; the adapter ``schedcore_oneflow``
builds the real objects.

One module per job: :mod:`.kernels` (what OneFlow's schedulers compute, and the planner's
object for each), :mod:`.pieces` (schedulers laid end to end), :mod:`.rules` (the rule of each
node type), :mod:`.approximate` (LinearLR segments within a tolerance), :mod:`.planner` (the
base lr and the plan), :mod:`.importer` (OneFlow schedulers read back as recipes).
"""

from ..native import Native
from .approximate import FLOAT32_MARGIN, Approximation, fit_tolerance, greedy_segments
from .importer import from_oneflow
from .kernels import NotLowerable
from .planner import GraphPlan, Scheduler, explain, plan, plan_schedules
from .rules import LOWERABLE, NOT_LOWERABLE, summary

__all__ = [
    "FLOAT32_MARGIN",
    "LOWERABLE",
    "NOT_LOWERABLE",
    "Approximation",
    "GraphPlan",
    "Native",
    "NotLowerable",
    "Scheduler",
    "explain",
    "fit_tolerance",
    "from_oneflow",
    "greedy_segments",
    "plan",
    "plan_schedules",
    "summary",
]
