"""from_timm against timm's CosineLRScheduler formula.

timm cannot be installed beside this project's torch 2.13, so the reference below is
``CosineLRScheduler._get_lr`` (timm 1.0.x, ``timm/scheduler/cosine_lr.py``, recorded in
shared/anchors/schedules.md section 6) written out line by line, and ``create_scheduler_v2``'s
cosine branch (``timm/scheduler/scheduler_factory.py``). Both compute in Python float64:
rtol 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedcore import SpecError
from schedcore.port import from_timm

from .helpers import F64, FAST, assert_lr


class TimmCosine:
    """timm's CosineLRScheduler, the lr part (no noise), for base lrs ``base_values``."""

    def __init__(
        self,
        base_values,
        t_initial,
        lr_min=0.0,
        cycle_mul=1.0,
        cycle_decay=1.0,
        cycle_limit=1,
        warmup_t=0,
        warmup_lr_init=0,
        warmup_prefix=False,
        t_in_epochs=True,
        k_decay=1.0,
    ):
        self.base_values = list(base_values)
        self.t_initial, self.lr_min = t_initial, lr_min
        self.cycle_mul, self.cycle_decay, self.cycle_limit = cycle_mul, cycle_decay, cycle_limit
        self.warmup_t, self.warmup_lr_init = warmup_t, warmup_lr_init
        self.warmup_prefix, self.t_in_epochs, self.k_decay = warmup_prefix, t_in_epochs, k_decay
        if self.warmup_t:
            self.warmup_steps = [(v - warmup_lr_init) / self.warmup_t for v in self.base_values]
        else:
            self.warmup_steps = [1 for _ in self.base_values]

    def _get_lr(self, t):
        if t < self.warmup_t:
            lrs = [self.warmup_lr_init + t * s for s in self.warmup_steps]
        else:
            if self.warmup_prefix:
                t = t - self.warmup_t
            if self.cycle_mul != 1:
                i = math.floor(
                    math.log(1 - t / self.t_initial * (1 - self.cycle_mul), self.cycle_mul)
                )
                t_i = self.cycle_mul**i * self.t_initial
                t_curr = t - (1 - self.cycle_mul**i) / (1 - self.cycle_mul) * self.t_initial
            else:
                i = t // self.t_initial
                t_i = self.t_initial
                t_curr = t - (self.t_initial * i)
            gamma = self.cycle_decay**i
            lr_max_values = [v * gamma for v in self.base_values]
            k = self.k_decay
            if i < self.cycle_limit:
                lrs = [
                    self.lr_min
                    + 0.5 * (lr_max - self.lr_min) * (1 + math.cos(math.pi * t_curr**k / t_i**k))
                    for lr_max in lr_max_values
                ]
            else:
                lrs = [self.lr_min for _ in self.base_values]
        return lrs

    def initial_lrs(self):
        """What __init__ leaves in the param groups: ``update_groups(warmup_lr_init)`` with a
        warmup, else the optimizer's lr (``initialize=True`` keeps it as ``initial_lr``)."""
        if self.warmup_t:
            return [self.warmup_lr_init for _ in self.base_values]
        return list(self.base_values)

    def lrs(self, n, updates_per_epoch=None):
        """Update k: _get_lr(k) stepping per update, _get_lr(k // updates) per epoch; the
        first scheduler call comes after update 0 (after epoch 0), which runs at the lr the
        constructor left."""
        per = updates_per_epoch if self.t_in_epochs else 1
        return np.array(
            [self.initial_lrs() if k < per else self._get_lr(k // per) for k in range(n)]
        ).T


KWARGS = st.fixed_dictionaries(
    {"t_initial": st.integers(1, 30)},
    optional={
        "lr_min": st.sampled_from([0.0, 1e-5]) | st.floats(0.0, 0.05),
        "cycle_mul": st.sampled_from([1.0, 2.0, 3.0, 1.5, 2.5, 1.25, 3.5]) | st.floats(1.1, 3.0),
        "cycle_decay": st.sampled_from([1.0, 0.5, 0.1]) | st.floats(0.05, 1.0),
        "cycle_limit": st.integers(0, 8),
        "warmup_t": st.integers(0, 12),
        "warmup_lr_init": st.sampled_from([0.0, 1e-5]) | st.floats(0.0, 0.2),
        "warmup_prefix": st.booleans(),
        "k_decay": st.sampled_from([1.0, 2.0, 0.5]) | st.floats(0.1, 3.0),
    },
)
BASES = st.sampled_from([(0.1,), (0.1, 0.02), (1.0,)])


@FAST
@given(kw=KWARGS, bases=BASES, upe=st.integers(1, 4), per_epoch=st.booleans())
def test_cosine_matches_timm_get_lr(kw, bases, upe, per_epoch):
    ref_sched = TimmCosine(bases, t_in_epochs=per_epoch, **kw)
    horizon = kw["t_initial"] * 8 + kw.get("warmup_t", 0)
    n = 3 * horizon * (upe if per_epoch else 1)
    lr = list(bases) if len(bases) > 1 else bases[0]
    recipe = from_timm(lr=lr, t_in_epochs=per_epoch, updates_per_epoch=upe, **kw)
    got = np.atleast_2d(recipe.lr(np.arange(n)))
    assert_lr(got, ref_sched.lrs(n, upe), F64, str(kw))


@pytest.mark.parametrize(("t_initial", "steps"), [(4, [39]), (32, [312, 812])])
def test_fractional_power_at_a_float_restart_is_not_nan(t_initial, steps):
    """timm's cycle position at these restarts is exactly 0 in its order of operations; the
    port's float start can lie a rounding error after the step (about -3e-16), which a
    fractional k_decay must not turn into NaN."""
    kw = {"t_initial": t_initial, "cycle_mul": 2.5, "cycle_limit": 5, "k_decay": 0.5}
    recipe = from_timm(lr=1.0, t_in_epochs=False, **kw)
    ref = TimmCosine([1.0], t_in_epochs=False, **kw)
    for step in steps:
        assert recipe.lr(step) == 1.0 == ref._get_lr(step)[0]
    n = steps[-1] + 50
    got = recipe.lr(np.arange(n))
    assert not np.isnan(got).any()
    assert_lr(got, ref.lrs(n)[0], F64)


@pytest.mark.parametrize("per_epoch", [False, True])
def test_cycle_limit_0_runs_update_0_at_the_optimizers_lr(per_epoch):
    """No scheduler step precedes update 0 (all of epoch 0 per epoch): the lr there is what
    the constructor left, the optimizer's lr without a warmup; lr_min from the first step."""
    kw = {"t_initial": 10, "cycle_limit": 0, "lr_min": 1e-4, "t_in_epochs": per_epoch}
    got = from_timm(lr=0.1, updates_per_epoch=3, **kw).lr(np.arange(8))
    first = 3 if per_epoch else 1
    assert (got[:first] == 0.1).all() and (got[first:] == 1e-4).all()
    assert_lr(got, TimmCosine([0.1], **kw).lrs(8, 3)[0], F64)
    warm = from_timm(lr=0.1, updates_per_epoch=3, warmup_t=2, warmup_lr_init=0.01, **kw)
    assert warm.lr(0) == 0.01


def test_the_log_cycle_index_quirk_is_reproduced_and_can_be_turned_off():
    """anchors: t_initial=1, cycle_mul=3 gives lr_min at t=121, which should be a restart."""
    kw = {"t_initial": 1, "cycle_mul": 3.0, "cycle_limit": 20, "t_in_epochs": False}
    ref = TimmCosine([1.0], **kw).lrs(400)[0]
    assert ref[121] == 0.0 and ref[40] == 1.0
    timm_like = from_timm(lr=1.0, **kw)
    assert_lr(timm_like.lr(np.arange(400)), ref, F64)
    exact = from_timm(lr=1.0, restarts="exact", **kw)
    assert exact.lr(121) == 1.0


@pytest.mark.parametrize("on_epochs", [True, False])
def test_create_scheduler_v2_arguments(on_epochs):
    """create_scheduler_v2(sched='cosine'): t_initial = num_epochs, warmup_t = warmup_epochs
    (times updates_per_epoch when stepping on updates), lr_min = min_lr, warmup_lr_init =
    warmup_lr, cycle_decay defaults to 0.1, t_in_epochs = step_on_epochs."""
    upe = 3
    v2 = {
        "num_epochs": 10,
        "warmup_epochs": 2,
        "min_lr": 1e-4,
        "warmup_lr": 1e-3,
        "cycle_limit": 3,
        "step_on_epochs": on_epochs,
    }
    recipe = from_timm(lr=0.1, updates_per_epoch=upe, **v2)
    scale = 1 if on_epochs else upe
    ref = TimmCosine(
        [0.1],
        t_initial=10 * scale,
        lr_min=1e-4,
        cycle_decay=0.1,
        cycle_limit=3,
        warmup_t=2 * scale,
        warmup_lr_init=1e-3,
        t_in_epochs=on_epochs,
    )
    assert_lr(recipe.lr(np.arange(120)), ref.lrs(120, upe)[0], F64)


@pytest.mark.parametrize(
    "kwargs, path",
    [
        ({"t_initial": 10, "noise_range_t": 5}, "noise_range_t"),
        ({"num_epochs": 10, "noise": 0.5, "updates_per_epoch": 2}, "noise"),
        ({"t_initial": 10}, "updates_per_epoch"),
        ({"num_epochs": 10, "sched": "step", "updates_per_epoch": 2}, "sched"),
        ({"t_initial": 10, "t_in_epochs": False, "cycle_mull": 2.0}, "cycle_mull"),
        ({"t_in_epochs": False}, "t_initial"),
        ({"t_initial": 10, "t_in_epochs": False, "cycle_decay": 1.5}, "cycle_decay"),
    ],
)
def test_errors_name_the_argument(kwargs, path):
    with pytest.raises(SpecError) as info:
        from_timm(lr=0.1, **kwargs)
    assert info.value.path == path, str(info.value)
