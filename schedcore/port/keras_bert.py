"""keras-bert's ``AdamWarmup`` learning-rate curve and ``calc_train_steps``, as a recipe.

keras-bert (``keras_bert/optimizers/warmup.py``) counts updates from 1: with
``t = k + 1`` for update ``k`` (``k`` = completed updates, schedcore's step), the lr is::

    lr * t / W                                         if t <= W
    min_lr + (lr - min_lr) * (1 - min(t, D) / D)       otherwise

``W = warmup_steps``, ``D = decay_steps``. The decay is measured from step 0, not from the
end of the warmup (lr = 1, W = 10, D = 100 gives 1.0 at t = 10 and 0.89 at t = 11), and
``min_lr`` is absolute. :func:`from_keras_bert` builds this curve from core nodes::

    shift(sequence(Phase(linear(W, 0 -> 1), W + 1 steps),
                   Phase(linear(D, 1 -> min_lr / lr), D - W - 1 steps, clock = "global"),
                   Phase(constant(min_lr / lr))), offset = 1)

so every adapter evaluates it exactly as it evaluates any other recipe (to float64
rounding: within about 1e-16 of ``lr``; from ``t = D`` on the value is ``min_lr`` itself).
"""

from __future__ import annotations

from ..fields import LR_RANGE, Int, Real
from ..recipes import Recipe, load
from ..schedules.combinators import Phase, Sequence, Shift
from ..schedules.families import Constant, Linear
from ..schedules.node import Schedule

NAME = "keras-bert AdamWarmup"


def keras_bert_schedule(decay_steps: int, warmup_steps: int, ratio: float) -> Schedule:
    """keras-bert's curve as a multiplier of ``lr``; ``ratio = min_lr / lr``. Its phases,
    on ``t = k + 1``: the rise ``t / W`` up to ``t = W``; the decay ``1 + (ratio - 1) * t / D``
    (global clock) until ``t = D``; then ``ratio`` itself, so the floor is exact."""
    phases = []
    if warmup_steps:
        phases.append(Phase(Linear(steps=warmup_steps, start=0.0, end=1.0), warmup_steps + 1))
    begin = warmup_steps + 1 if warmup_steps else 0
    if decay_steps > begin:
        decay = Linear(steps=decay_steps, start=1.0, end=ratio)
        phases.append(Phase(decay, decay_steps - begin, clock="global"))
    phases.append(Phase(Constant(value=ratio)))
    curve = phases[0].schedule if len(phases) == 1 else Sequence(phases=tuple(phases))
    return Shift(schedule=curve, offset=1)


def from_keras_bert(
    decay_steps: int, warmup_steps: int, min_lr: float = 0.0, learning_rate: float = 0.001
) -> Recipe:
    """The recipe of keras-bert's ``AdamWarmup(decay_steps, warmup_steps, min_lr,
    learning_rate)``: ``recipe.lr(k)`` is the lr keras-bert applies at update ``k``
    (before Adam's bias correction, which the optimizer applies)."""
    decay = Int(1).coerce(decay_steps, "decay_steps")
    warmup = Int(0).coerce(warmup_steps, "warmup_steps")
    lr = Real(*LR_RANGE).coerce(learning_rate, "learning_rate")
    floor = Real(0.0, LR_RANGE[1]).coerce(min_lr, "min_lr")
    schedule = keras_bert_schedule(decay, warmup, floor / lr)
    return load(
        {
            "name": NAME,
            "lr": lr,
            "training": {"total_steps": decay},
            "schedule": schedule.to_dict(),
        }
    )


def calc_train_steps(
    num_example: int, batch_size: int, epochs: int, warmup_proportion: float = 0.1
) -> tuple[int, int]:
    """``(total_steps, warmup_steps)`` as keras-bert computes them: ``ceil(num_example /
    batch_size)`` updates per epoch, ``total = that * epochs``, ``warmup = int(total *
    warmup_proportion)``."""
    examples = Int(1).coerce(num_example, "num_example")
    batch = Int(1).coerce(batch_size, "batch_size")
    passes = Int(1).coerce(epochs, "epochs")
    proportion = Real(0.0, 1.0).coerce(warmup_proportion, "warmup_proportion")
    total = -(-examples // batch) * passes
    return total, int(total * proportion)
