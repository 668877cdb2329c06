"""How long training runs: total optimizer updates, given directly or derived."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..errors import SpecError, describe
from ..fields import MAX_STEP, Bool, Declared, Int, Optional, build, param

COUNT = Optional(Int(1))
ALIASES = {"gradient_accumulation_steps": "grad_accum"}
"""Other names a ``[training]`` table accepts (transformers' ``TrainingArguments``)."""


@dataclasses.dataclass(frozen=True)
class Training(Declared):
    """The training horizon.

    ``total_steps`` is given directly, or derived as ``epochs * updates_per_epoch``, where
    ``updates_per_epoch`` is ``steps_per_epoch`` or, from the data,
    ``ceil(batches / grad_accum)`` with ``batches = ceil(dataset_size / batch_size)``
    (``floor`` with ``drop_last``), as transformers' Trainer counts them. When both forms
    are given they are kept as written; ``schedcore lint`` reports a mismatch. A derived
    horizon is at most 2**53 steps, like a given one.
    """

    total_steps: int | None = param(COUNT, "optimizer updates in the whole run", None)
    epochs: int | None = param(COUNT, "passes over the data", None)
    steps_per_epoch: int | None = param(COUNT, "optimizer updates per epoch", None)
    dataset_size: int | None = param(COUNT, "examples per epoch", None)
    batch_size: int | None = param(COUNT, "examples per batch (per micro-batch)", None)
    grad_accum: int = param(Int(1), "micro-batches per optimizer update", 1)
    drop_last: bool = param(Bool(), "the last partial batch of an epoch is dropped", False)

    def _check(self) -> None:
        if (self.dataset_size is None) != (self.batch_size is None):
            given = "dataset_size" if self.batch_size is None else "batch_size"
            other = "batch_size" if given == "dataset_size" else "dataset_size"
            raise SpecError(other, f"is required together with {given}")
        if (
            self.dataset_size is not None
            and self.drop_last
            and self.dataset_size < (self.batch_size or 1)
        ):
            raise SpecError("dataset_size", "is smaller than one batch with drop_last = true")
        if self.total_steps is None and self.epochs is None:
            raise SpecError("total_steps", "is required (or give epochs with steps_per_epoch)")
        if self.total_steps is None and self.updates_per_epoch is None:
            raise SpecError(
                "steps_per_epoch",
                "is required with epochs (or give dataset_size and batch_size)",
            )
        per_epoch = self.updates_per_epoch
        if self.epochs is not None and per_epoch is not None and self.epochs * per_epoch > MAX_STEP:
            raise SpecError(
                "epochs",
                f"{self.epochs} epochs of {per_epoch} updates make {self.epochs * per_epoch} "
                "steps, more than 2**53 (the most schedcore counts exactly)",
            )

    @property
    def batches_per_epoch(self) -> int | None:
        if self.dataset_size is None or self.batch_size is None:
            return None
        if self.drop_last:
            return self.dataset_size // self.batch_size
        return math.ceil(self.dataset_size / self.batch_size)

    @property
    def updates_per_epoch(self) -> int | None:
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        batches = self.batches_per_epoch
        return None if batches is None else math.ceil(batches / self.grad_accum)

    @property
    def steps(self) -> int:
        """Total optimizer updates: ``total_steps`` if given, else epochs x updates per epoch."""
        if self.total_steps is not None:
            return self.total_steps
        assert self.epochs is not None and self.updates_per_epoch is not None
        return self.epochs * self.updates_per_epoch

    @classmethod
    def from_dict(cls, data: Any, path: str = "training") -> Training:
        """The horizon from a ``[training]`` table; :data:`ALIASES` name the same fields."""
        if isinstance(data, Training):
            return data
        if not isinstance(data, dict):
            raise SpecError(path, f"must be a table, got {describe(data)}")
        fields = dict(data)
        for alias, name in ALIASES.items():
            if alias in fields:
                if name in fields:
                    raise SpecError(f"{path}.{alias}", f"names {name}: give one of the two")
                fields[name] = fields.pop(alias)
        try:
            return build(cls, fields, path)
        except SpecError as err:
            renamed = {v: k for k, v in ALIASES.items() if k in data}
            head, dot, rest = err.path.removeprefix(f"{path}.").partition(".")
            if head in renamed:  # name the key as the table wrote it
                raise SpecError(f"{path}.{renamed[head]}{dot}{rest}", err.problem) from None
            raise

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = value
        return out
