"""Native schedulers to construct: the plan form shared by the exporters.

The torch exporter (:func:`schedcore.port.to_torch_native`) and the OneFlow Graph planner
(:mod:`schedcore.port.oneflow`) both end in a tree of :class:`Native` schedulers: a class
name of the framework's ``lr_scheduler`` module, its keyword arguments, and, for the
composite schedulers, its children. Arguments that are absolute learning rates (``eta_min``,
``max_lr``, ...) are written :class:`Abs`, a multiple of the base lr, until
:meth:`Native.with_base_lr` fixes the base lr. :meth:`Native.construct` builds the real
objects from the module it is given, so this core module imports no framework.
"""

from __future__ import annotations

import dataclasses
from typing import Any

COMPOSITE = ("SequentialLR", "ChainedScheduler")
"""Schedulers whose children are schedulers."""


@dataclasses.dataclass(frozen=True)
class Abs:
    """An absolute lr argument (eta_min, end_learning_rate, max_lr): ``ratio * base_lr``."""

    ratio: float

    def __repr__(self) -> str:
        return f"{self.ratio:.6g}*base"


@dataclasses.dataclass(frozen=True)
class Native:
    """``<module>.<kind>(optimizer, **arguments)``; a SequentialLR takes its ``children``
    after the optimizer, a ChainedScheduler takes them instead of it (torch's signatures,
    which OneFlow shares)."""

    kind: str
    arguments: dict[str, Any]
    children: tuple[Native, ...] = ()

    def with_base_lr(self, base_lr: float) -> Native:
        """The same tree with every :class:`Abs` argument multiplied out."""
        return Native(
            self.kind,
            {k: v.ratio * base_lr if isinstance(v, Abs) else v for k, v in self.arguments.items()},
            tuple(c.with_base_lr(base_lr) for c in self.children),
        )

    def construct(self, module: Any, optimizer: Any) -> Any:
        """The scheduler objects, from ``module`` (e.g. ``torch.optim.lr_scheduler``)."""
        if any(isinstance(v, Abs) for v in self.arguments.values()):
            raise ValueError(f"{self.kind}: call with_base_lr before construct")
        cls = getattr(module, self.kind)
        children = [c.construct(module, optimizer) for c in self.children]
        if self.kind == "ChainedScheduler":
            return cls(children, optimizer=optimizer)
        if self.kind in COMPOSITE:
            return cls(optimizer, children, **self.arguments)
        return cls(optimizer, **self.arguments)
