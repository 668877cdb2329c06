"""keras-bert's ``AdamWarmup`` on Keras 3: the recipe optimizer with keras-bert's arguments.

The lr curve is the core's (:func:`schedcore.port.keras_bert.from_keras_bert`);
``weight_decay_pattern`` becomes a group rule, so a pattern that matches nothing fails
loudly instead of decaying nothing.
"""

from __future__ import annotations

from typing import Any

import keras

import schedcore as sc
from schedcore.errors import describe
from schedcore.port.keras_bert import NAME as KERAS_BERT_NAME
from schedcore.port.keras_bert import from_keras_bert

from .optimizers import RecipeAdamW


@keras.saving.register_keras_serializable(package="schedcore")
class AdamWarmup(RecipeAdamW):  # type: ignore[misc, valid-type]
    """keras-bert's ``AdamWarmup``, on Keras 3 ``AdamW``.

    The lr follows keras-bert's curve exactly (:func:`schedcore.port.from_keras_bert`):
    with ``t = iterations + 1``, ``lr * t / warmup_steps`` for ``t <= warmup_steps``, then
    ``min_lr + (lr - min_lr) * (1 - min(t, decay_steps) / decay_steps)``. Weight decay
    applies to the variables whose canonical name (path, dotted) contains one of
    ``weight_decay_pattern`` (all variables when None), and follows the lr as in Keras
    (``v -= v * weight_decay * lr``; keras-bert also multiplied it by Adam's bias
    correction). A pattern that matches no variable is an error at build. ``lr=`` is
    accepted as keras-bert's old alias of ``learning_rate``.
    """

    def __init__(
        self,
        decay_steps: int,
        warmup_steps: int,
        min_lr: float = 0.0,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float | None = 1e-7,
        weight_decay: float = 0.0,
        weight_decay_pattern: list[str] | None = None,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        if "lr" in kwargs:
            if learning_rate != 0.001:
                raise TypeError(
                    f"give learning_rate or its alias lr, not both: got "
                    f"learning_rate={learning_rate!r}, lr={kwargs['lr']!r}"
                )
            learning_rate = kwargs.pop("lr")
        patterns = _patterns(weight_decay_pattern)
        recipe = from_keras_bert(decay_steps, warmup_steps, min_lr, learning_rate)
        decay = float(weight_decay)
        if patterns is None:
            policy: dict[str, Any] = {"defaults": {"weight_decay": decay}}
        else:
            policy = {
                "defaults": {"weight_decay": 0.0},
                "rules": [
                    {
                        "name": "weight_decay_pattern",
                        "match": {"contains": [p.replace("/", ".") for p in patterns]},
                        "weight_decay": decay,
                    }
                ],
            }
        recipe = sc.load({**recipe.to_dict(), "name": KERAS_BERT_NAME, "groups": policy})
        super().__init__(
            recipe=recipe,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=1e-7 if epsilon is None else epsilon,
            amsgrad=amsgrad,
            **kwargs,
        )
        self.decay_steps, self.warmup_steps = int(decay_steps), int(warmup_steps)
        self.min_lr, self.initial_lr = float(min_lr), float(learning_rate)
        self.weight_decay_pattern = None if patterns is None else tuple(patterns)
        self.keras_bert_weight_decay = decay  # applied through the recipe's groups

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("recipe", "weight_decay"):
            config.pop(key, None)
        config.update(
            decay_steps=self.decay_steps,
            warmup_steps=self.warmup_steps,
            min_lr=self.min_lr,
            learning_rate=self.initial_lr,
            weight_decay=self.keras_bert_weight_decay,
            weight_decay_pattern=None
            if self.weight_decay_pattern is None
            else list(self.weight_decay_pattern),
        )
        return config


def _patterns(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(p, str) and p for p in value):
        raise TypeError(
            "weight_decay_pattern must be None or a list of non-empty strings (substrings "
            f"of variable names to decay), got {describe(value)}"
        )
    if not value:
        raise ValueError(
            "weight_decay_pattern is an empty list, which would decay nothing; pass None "
            "to decay every variable, or weight_decay=0.0 to decay none"
        )
    return list(value)
