"""OneFlow: importing its schedulers, and planning a schedule as native nn.Graph schedulers
(framework-free; the adapter builds the real objects)."""

from .importer import from_oneflow

__all__ = ["from_oneflow"]
