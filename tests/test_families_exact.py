"""Exact values of every schedule node type at its boundaries, and against reference libraries.

Step semantics: ``k`` is the 0-based count of completed optimizer updates; update ``k`` uses
``s(k)``. Expected values come from one of two independent sources, never from schedcore:

* a formula written out in plain Python ``math`` (the documented formula of the node), in
  the node type's entry of the test catalog (``tests/catalog``, with its invalid arguments),
  evaluated at step 0, the end of warmup, the step before / at / after every phase
  boundary, the last step and past the end (for every ``after`` mode the node has);
* the real reference library (torch, transformers, Keras, optax), evaluated at every step
  of a horizon of about three times the schedule's length. torch and transformers compute
  in float64 (``rtol=1e-12``); Keras and optax in float32 (``rtol=1e-6``, plus an absolute
  slack of one float32 ulp at 1.0, 2**-23, for values near zero, where float32's
  ``1 + cos(x)`` cancels).

For torch-style schedulers the lr that update ``k`` uses is ``param_groups[0]["lr"]`` after
construction (which applies f(0)) and ``k`` calls of ``scheduler.step()``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import schedcore as sc
from catalog import Bad, Case, after_error_makers, error_cases, exact_cases
from schedcore import SpecError, StepRangeError
from schedcore.fields import ArgumentError

REL = 1e-12  # float64 references and hand formulas
ABS = 1e-15  # values that are mathematically 0 (e.g. 1 + cos(pi)) but rounded
F32_REL = 1e-6
F32_ABS = 2.0**-23


# ------------------------------------------------------------------------------ helpers
def evaluate(node: sc.Schedule, steps: Sequence[int]) -> np.ndarray:
    """``node`` at ``steps``, checking that the scalar, vectorized and unordered paths agree
    bit for bit (the node contract says they give identical values)."""
    array = np.asarray(steps, dtype=np.int64)
    vector = node(array)
    assert vector.dtype == np.float64 and vector.shape == array.shape
    scalars = np.array([node(int(k)) for k in array])
    np.testing.assert_array_equal(scalars, vector)
    backwards = node(array[::-1].copy())
    np.testing.assert_array_equal(backwards[::-1], vector)
    return vector


def close(actual: np.ndarray, expected: Sequence[float], rel: float = REL, abs_: float = ABS):
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), rtol=rel, atol=abs_)


@functools.cache
def _torch():
    import torch

    return torch


@functools.cache
def _optax():
    import jax.numpy as jnp
    import optax

    return optax, jnp


@functools.cache
def _keras_schedules():
    import keras

    return keras.optimizers.schedules


def torch_lrs(make: Callable, n: int, lr: float = 1.0) -> np.ndarray:
    """The lr of updates 0..n-1 under a torch scheduler built by ``make(optimizer)``."""
    torch = _torch()
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = make(opt)
    out = []
    for k in range(n):
        out.append(opt.param_groups[0]["lr"])
        if k < n - 1:
            opt.step()
            sched.step()
    return np.asarray(out, dtype=np.float64)


def optax_values(schedule, n: int) -> np.ndarray:
    import jax

    _, jnp = _optax()
    values = np.asarray(jax.vmap(schedule)(jnp.arange(n)))
    assert values.dtype == np.float32
    return values.astype(np.float64)


def keras_values(schedule, n: int) -> np.ndarray:
    values = np.asarray(schedule(np.arange(n)))
    assert values.dtype == np.float32
    return values.astype(np.float64)


# ------------------------------------------------------------------ hand-formula cases
# Each node type's cases live in its entry of the test catalog (tests/catalog).
CASES: list[Case] = exact_cases()


def test_log_cycle_index_misplaces_a_restart_as_timm_does() -> None:
    exact = sc.sgdr(period=1, t_mul=3, start=1.0, end=0.05)
    log = sc.sgdr(period=1, t_mul=3, start=1.0, end=0.05, cycle_index="log")
    assert exact(121) == 1.0
    assert log(121) == pytest.approx(0.05)  # the end of cycle 4, not a restart
    steps = np.arange(400)
    differ = np.flatnonzero(exact(steps) != log(steps))
    assert [int(k) for k in differ if abs(exact(int(k)) - log(int(k))) > 1e-9] == [121]


@pytest.mark.parametrize("c", CASES, ids=lambda c: f"{c.type}-{c.id}")
def test_hand_formula(c: Case) -> None:
    node = c.build()
    assert node.type_name == c.type
    if c.after is not None:
        assert node.after == c.after
    expected = [c.expect(k) for k in c.steps]
    close(evaluate(node, c.steps), expected)


# ---------------------------------------------------------------- after = "error"
# (node, its last step): the last step evaluates (to the hold value), the next one raises
AFTER_ERROR = after_error_makers()


@pytest.mark.parametrize("make, last", AFTER_ERROR, ids=[m.func.__name__ for m, _ in AFTER_ERROR])
def test_after_error(make, last) -> None:
    strict, held = make(after="error"), make(after="hold")
    assert strict(last) == held(last)
    close(strict(np.arange(last + 1)), held(np.arange(last + 1)), 0.0, 0.0)
    with pytest.raises(StepRangeError, match=f"step {last + 1} is past its end"):
        strict(last + 1)
    with pytest.raises(StepRangeError):
        strict(np.array([0, last + 1, 1]))
    with pytest.raises(StepRangeError):
        strict(2**53)


def test_after_error_inside_warmup_uses_local_step() -> None:
    node = sc.warmup(sc.cosine(steps=10, after="error"), steps=5)
    assert node(15) == 0.0  # the body's last step, k - 5 = 10
    with pytest.raises(StepRangeError):
        node(16)


# ------------------------------------------------------------------ coverage
def _types_with_after() -> set[str]:
    return {
        name
        for name, cls in sc.NODE_TYPES.items()
        if "after" in {f.name for f in dataclasses.fields(cls)}
    }


def test_every_node_type_has_exact_cases() -> None:
    """A new node type without hand-formula cases (or error cases) in its catalog entry
    fails here."""
    registered = set(sc.NODE_TYPES)
    assert {c.type for c in CASES} == registered
    assert {c.type for c in ERROR_CASES} == registered
    for c in CASES:
        assert c.build().type_name == c.type


def test_every_after_mode_is_covered() -> None:
    with_after = _types_with_after()
    assert with_after  # the registry does declare `after` fields
    for name in with_after:
        modes = {c.after for c in CASES if c.type == name}
        assert {"hold", "periodic", "error"} <= modes, name
    assert {make(after="hold").type_name for make, _ in AFTER_ERROR} == with_after


# --------------------------------------------------------- torch reference schedulers
def test_cosine_periodic_matches_torch_cosine_annealing() -> None:
    torch = _torch()
    T, eta_min, n = 10, 0.1, 31
    stepped = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T, eta_min), n)
    closed = [eta_min + (1 - eta_min) * (1 + math.cos(math.pi * k / T)) / 2 for k in range(n)]
    node = sc.cosine(steps=T, start=1.0, end=eta_min, after="periodic")
    values = evaluate(node, range(n))
    close(values, closed)
    close(values, stepped)  # torch's recursive form drifts ~1e-16 here
    # the default (hold) agrees up to T, then stays at eta_min where torch rises again
    held = evaluate(sc.cosine(steps=T, start=1.0, end=eta_min), range(n))
    close(held[: T + 1], stepped[: T + 1])
    close(held[T:], [eta_min] * (n - T))
    assert stepped[2 * T] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(total_steps=20),
        dict(total_steps=23, pct_start=0.25, anneal_strategy="linear"),
        dict(total_steps=10, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
        dict(total_steps=30, three_phase=True),
        dict(total_steps=31, pct_start=0.4, three_phase=True, anneal_strategy="linear"),
    ],
    ids=str,
)
def test_onecycle_matches_torch(kw) -> None:
    torch = _torch()
    n = kw["total_steps"]
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, cycle_momentum=False, **kw),
        n,
    )
    node = sc.onecycle(
        steps=n,
        pct_start=kw.get("pct_start", 0.3),
        div_factor=kw.get("div_factor", 25.0),
        final_div_factor=kw.get("final_div_factor", 1e4),
        anneal=kw.get("anneal_strategy", "cos"),
        three_phase=kw.get("three_phase", False),
    )
    values = evaluate(node, range(3 * n))
    close(values[:n], ref)
    # past the last update (k = n - 1) the default holds torch's final value
    close(values[n:], [ref[-1]] * (2 * n))


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("up, down", [(3, 5), (4, None), (7, 2)])
def test_cyclic_matches_torch(mode, up, down) -> None:
    torch = _torch()
    period = up + (down or up)
    n = 4 * period + 3
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CyclicLR(
            o,
            base_lr=0.1,
            max_lr=1.0,
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=0.97,
            cycle_momentum=False,
        ),
        n,
    )
    node = sc.cyclic(low=0.1, high=1.0, up=up, down=down, mode=mode, gamma=0.97)
    close(evaluate(node, range(n)), ref)


def test_multistep_and_step_match_torch() -> None:
    torch = _torch()
    n = 40
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5, 5, 9, 30], gamma=0.5),
        n,
    )
    node = sc.multistep(milestones=[2, 5, 5, 9, 30], gamma=0.5)
    close(evaluate(node, range(n)), ref)
    ref = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3), n)
    close(evaluate(sc.step(every=3, gamma=0.3), range(n)), ref)


def test_exponential_linear_polynomial_constant_match_torch() -> None:
    torch = _torch()
    lr_sched = torch.optim.lr_scheduler
    n = 30
    ref = torch_lrs(lambda o: lr_sched.ExponentialLR(o, gamma=0.9), n)
    close(evaluate(sc.exponential(rate=0.9), range(n)), ref)
    ref = torch_lrs(
        lambda o: lr_sched.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8), n
    )
    close(evaluate(sc.linear(steps=8, start=0.25, end=1.0), range(n)), ref)
    ref = torch_lrs(lambda o: lr_sched.PolynomialLR(o, total_iters=10, power=2.0), n)
    close(evaluate(sc.polynomial(steps=10, power=2.0), range(n)), ref)
    ref = torch_lrs(lambda o: lr_sched.ConstantLR(o, factor=0.5, total_iters=4), n)
    node = sc.piecewise_constant(boundaries=[4], values=[0.5, 1.0])
    close(evaluate(node, range(n)), ref)


@pytest.mark.parametrize("t_mul", [1, 2, 3])
def test_sgdr_matches_torch_warm_restarts(t_mul) -> None:
    torch = _torch()
    n = 3 * (3 + 3 * t_mul + 3 * t_mul**2)
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=3, T_mult=t_mul, eta_min=0.05
        ),
        n,
        lr=0.8,
    )
    node = sc.sgdr(period=3, t_mul=t_mul, start=1.0, end=0.05 / 0.8)
    close(0.8 * evaluate(node, range(n)), ref)


def test_sgdr_restarts_exactly_at_integer_cycle_starts() -> None:
    """period 1, t_mul 3: cycles start at 0, 1, 4, 13, 40, 121, 364 (sum of 3**i). A cycle
    index from floor(log(...)) rounds 121 into the previous cycle (timm, anchors 7)."""
    node = sc.sgdr(period=1, t_mul=3, start=1.0, end=0.0)
    restarts = [0, 1, 4, 13, 40, 121, 364, 1093]
    values = evaluate(node, restarts)
    assert values.tolist() == [1.0] * len(restarts)
    # the last update of cycle i (length 3**i) is at position (3**i - 1) / 3**i
    lasts = [r - 1 for r in restarts[1:]]
    expected = [0.5 * (1 + math.cos(math.pi * (3**i - 1) / 3**i)) for i in range(len(lasts))]
    close(evaluate(node, lasts), expected)
    # and torch (integer T_cur / T_i arithmetic) agrees at every step
    torch = _torch()
    ref = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3),
        400,
    )
    close(evaluate(node, range(400)), ref)
    assert [k for k in range(400) if ref[k] == 1.0] == restarts[:7]


# ------------------------------------------------------------- transformers (via torch)
def _hf():
    from transformers import optimization

    return optimization


def _recipe_lr(schedule: dict, lr: float, total: int, n: int) -> np.ndarray:
    recipe = sc.load({"lr": lr, "training": {"total_steps": total}, "schedule": schedule})
    out = recipe.lr(np.arange(n))
    close(out, evaluate(recipe.schedule, range(n)) * lr, 0.0, 0.0)
    return out


@pytest.mark.parametrize("cycles", [None, 1.5])
def test_shortform_cosine_matches_hf(cycles) -> None:
    hf = _hf()
    T, W, lr = 50, 5, 0.3
    kw = {} if cycles is None else {"num_cycles": cycles}
    ref = torch_lrs(lambda o: hf.get_cosine_schedule_with_warmup(o, W, T, **kw), 3 * T + 1, lr)
    short = {"warmup": W, "decay": "cosine", **({} if cycles is None else {"cycles": cycles})}
    got = _recipe_lr(short, lr, T, 3 * T + 1)
    close(got[: T + 1], ref[: T + 1], abs_=ABS * lr)
    # past T: schedcore holds the value at T (min lr 0), transformers' wave continues
    final = 0.0 if cycles is None else 0.5 * (1 + math.cos(math.pi * 2 * 1.5)) * lr
    close(got[T:], [final] * (2 * T + 1), abs_=ABS * lr)
    # the explicit periodic variant reproduces transformers at every step
    node = sc.warmup(sc.cosine(steps=T - W, cycles=cycles or 0.5, after="periodic"), steps=W)
    close(evaluate(node, range(3 * T + 1)) * lr, ref, abs_=ABS * lr)


@pytest.mark.parametrize("given", ["min_lr", "min_lr_ratio"])
def test_shortform_cosine_min_lr_matches_hf(given) -> None:
    """transformers' cosine_with_min_lr: factor * (1 - m) + m, m = min_lr / lr."""
    hf = _hf()
    T, W, lr, min_lr = 60, 6, 0.4, 0.01
    ref = torch_lrs(
        lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup(o, W, T, min_lr=min_lr),
        T + 1,
        lr,
    )
    value = min_lr if given == "min_lr" else min_lr / lr
    got = _recipe_lr({"warmup": W, "decay": "cosine", given: value}, lr, T, 3 * T)
    close(got[: T + 1], ref)
    close(got[T:], [min_lr] * (2 * T))


def test_shortform_constant_warmup_matches_hf() -> None:
    hf = _hf()
    W, lr = 9, 0.05
    ref = torch_lrs(lambda o: hf.get_constant_schedule_with_warmup(o, W), 40, lr)
    recipe = sc.load({"lr": lr, "schedule": {"warmup": W}})
    close(recipe.lr(np.arange(40)), ref)


def test_sgdr_cycle_limit_in_warmup_matches_hf_hard_restarts() -> None:
    """transformers' cosine_with_restarts: c hard restarts over T - W steps, then 0; with
    (T - W) / c an integer it is warmup(sgdr(period=(T - W) / c, cycle_limit=c), W)."""
    hf = _hf()
    T, W, c, lr = 50, 5, 3, 0.2
    ref = torch_lrs(
        lambda o: hf.get_cosine_with_hard_restarts_schedule_with_warmup(o, W, T, num_cycles=c),
        3 * T,
        lr,
    )
    node = sc.warmup(sc.sgdr(period=(T - W) // c, cycle_limit=c), steps=W)
    close(evaluate(node, range(3 * T)) * lr, ref, abs_=ABS * lr)


def test_shortform_linear_matches_hf() -> None:
    hf = _hf()
    T, W, lr = 40, 7, 2e-3
    ref = torch_lrs(lambda o: hf.get_linear_schedule_with_warmup(o, W, T), 3 * T, lr)
    close(_recipe_lr({"warmup": W, "decay": "linear"}, lr, T, 3 * T), ref, abs_=ABS * lr)
    # a percentage warmup is ceil(T * ratio) steps, as the HF Trainer computes it
    ref = torch_lrs(
        lambda o: hf.get_linear_schedule_with_warmup(o, math.ceil(T * 0.15), T), 3 * T, lr
    )
    close(_recipe_lr({"warmup": "15%", "decay": "linear"}, lr, T, 3 * T), ref, abs_=ABS * lr)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_shortform_polynomial_matches_hf(power) -> None:
    """transformers' lr_end and schedcore's min_lr are both absolute."""
    hf = _hf()
    T, W, lr, lr_end = 30, 4, 0.5, 1e-3
    ref = torch_lrs(
        lambda o: hf.get_polynomial_decay_schedule_with_warmup(o, W, T, lr_end=lr_end, power=power),
        3 * T,
        lr,
    )
    short = {"warmup": W, "decay": "polynomial", "min_lr": lr_end, "power": power}
    close(_recipe_lr(short, lr, T, 3 * T), ref)


@pytest.mark.parametrize("warm", ["linear", "cosine"])
@pytest.mark.parametrize("cool", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("min_ratio", [0.0, 0.1])
def test_wsd_matches_hf(warm, cool, min_ratio) -> None:
    hf = _hf()
    W, S, D, lr = 5, 8, 6, 0.1
    n = 3 * (W + S + D)
    ref = torch_lrs(
        lambda o: hf.get_wsd_schedule(
            o,
            W,
            D,
            num_stable_steps=S,
            warmup_type=warm,
            decay_type=cool,
            min_lr_ratio=min_ratio,
        ),
        n,
        lr,
    )
    node = sc.wsd(warmup=W, stable=S, decay=D, warmup_shape=warm, decay_shape=cool, end=min_ratio)
    close(evaluate(node, range(n)) * lr, ref, abs_=ABS * lr)


@pytest.mark.parametrize("cool", ["linear", "1-sqrt"])
def test_shortform_wsd_matches_hf(cool) -> None:
    """The short form's wsd: linear warmup from 0, cooldown of `cooldown` steps ending at
    training.total_steps (min lr 0, where the warmup start 0 equals HF's min_lr_ratio)."""
    hf = _hf()
    T, W, D, lr = 40, 4, 10, 0.1
    ref = torch_lrs(
        lambda o: hf.get_wsd_schedule(o, W, D, num_training_steps=T, decay_type=cool), 3 * T, lr
    )
    short = {"warmup": W, "decay": "wsd", "cooldown": D, "cooldown_shape": cool}
    close(_recipe_lr(short, lr, T, 3 * T), ref, abs_=ABS * lr)


def test_shortform_wsd_with_min_lr_matches_hf_given_warmup_start_factor() -> None:
    """transformers' WSD warms up from min_lr_ratio; the short form's warmup starts from
    warmup_start_factor (default 0), so the HF schedule is the short form with both set."""
    hf = _hf()
    T, W, D, lr, m = 40, 4, 10, 0.1, 0.2
    ref = torch_lrs(
        lambda o: hf.get_wsd_schedule(
            o, W, D, num_training_steps=T, decay_type="linear", min_lr_ratio=m
        ),
        3 * T,
        lr,
    )
    short = {
        "warmup": W,
        "decay": "wsd",
        "cooldown": D,
        "min_lr_ratio": m,
        "warmup_start_factor": m,
    }
    close(_recipe_lr(short, lr, T, 3 * T), ref)


@pytest.mark.parametrize("W, timescale", [(10, None), (10, 25), (0, None)])
def test_shortform_inverse_sqrt_matches_hf(W, timescale) -> None:
    """The short form is warmup(inverse_sqrt(timescale=tau), steps=W): the body sees the
    local step j = k - W, so for k >= W it is 1 / sqrt((k - W + tau) / tau), which is exactly
    transformers' 1 / sqrt((k + shift) / tau) with shift = tau - W (and tau defaults to W,
    or 10 000 without warmup, in both)."""
    hf = _hf()
    lr, n = 0.01, 300
    ref = torch_lrs(lambda o: hf.get_inverse_sqrt_schedule(o, W, timescale), n, lr)
    short = {"warmup": W, "decay": "inverse_sqrt"}
    if timescale is not None:
        short["timescale"] = timescale
    recipe = sc.load({"lr": lr, "schedule": short})
    close(evaluate(recipe.schedule, range(n)) * lr, ref)
    tau = timescale or W or 10_000
    hand = [k / W if k < W else 1 / math.sqrt((k - W + tau) / tau) for k in range(n)]
    close(evaluate(recipe.schedule, range(n)), hand)


# --------------------------------------------------------------- Keras 3 (float32)
def test_piecewise_constant_after_matches_keras() -> None:
    schedules = _keras_schedules()
    bounds, values = [3, 7, 20], [1.0, 0.5, 0.1, 0.02]
    ref = keras_values(schedules.PiecewiseConstantDecay(bounds, values), 60)
    node = sc.piecewise_constant(boundaries=bounds, values=values, change="after")
    close(evaluate(node, range(60)), ref, F32_REL, F32_ABS)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_and_inverse_time_match_keras(staircase) -> None:
    schedules = _keras_schedules()
    n = 50
    ref = keras_values(schedules.ExponentialDecay(2.0, 3, 0.5, staircase=staircase), n)
    node = sc.exponential(rate=0.5, every=3, start=2.0, staircase=staircase)
    close(evaluate(node, range(n)), ref, F32_REL, F32_ABS)
    ref = keras_values(schedules.InverseTimeDecay(1.0, 2, 0.5, staircase=staircase), n)
    node = sc.inverse_time(rate=0.5, every=2, staircase=staircase)
    close(evaluate(node, range(n)), ref, F32_REL, F32_ABS)


def test_polynomial_and_cosine_match_keras() -> None:
    schedules = _keras_schedules()
    n = 40
    ref = keras_values(schedules.PolynomialDecay(1.0, 10, 0.05, power=2.0), n)
    close(evaluate(sc.polynomial(steps=10, end=0.05, power=2.0), range(n)), ref, F32_REL, F32_ABS)
    ref = keras_values(schedules.CosineDecay(1.0, 10, alpha=0.1), n)
    close(evaluate(sc.cosine(steps=10, end=0.1), range(n)), ref, F32_REL, F32_ABS)


def test_sgdr_range_matches_keras_cosine_decay_restarts() -> None:
    """Keras shrinks the span above alpha by m_mul (m_mul_applies_to='range')."""
    schedules = _keras_schedules()
    n = 160
    ref = keras_values(schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1), n)
    node = sc.sgdr(period=10, t_mul=2, m_mul=0.5, end=0.1, m_mul_applies_to="range")
    close(evaluate(node, range(n)), ref, F32_REL, F32_ABS)


# ------------------------------------------------------------------ optax (float32)
def test_piecewise_constant_at_matches_optax() -> None:
    optax, _ = _optax()
    ref = optax_values(optax.piecewise_constant_schedule(1.0, {3: 0.5, 7: 0.2, 20: 0.5}), 60)
    node = sc.piecewise_constant(boundaries=[3, 7, 20], values=[1.0, 0.5, 0.1, 0.05])
    close(evaluate(node, range(60)), ref, F32_REL, F32_ABS)


@pytest.mark.parametrize("how", ["linear", "cosine"])
def test_piecewise_interpolate_matches_optax(how) -> None:
    optax, _ = _optax()
    ref = optax_values(optax.piecewise_interpolate_schedule(how, 0.2, {5: 5.0, 12: 0.1}), 40)
    node = sc.piecewise_interpolate(steps=[0, 5, 12], values=[0.2, 1.0, 0.1], interpolation=how)
    close(evaluate(node, range(40)), ref, F32_REL, F32_ABS)


def test_polynomial_and_cosine_match_optax() -> None:
    optax, _ = _optax()
    n = 40
    ref = optax_values(optax.polynomial_schedule(1.0, 0.05, 3.0, 12), n)
    close(evaluate(sc.polynomial(steps=12, end=0.05, power=3.0), range(n)), ref, F32_REL, F32_ABS)
    ref = optax_values(optax.cosine_decay_schedule(1.0, 12, alpha=0.1, exponent=2.0), n)
    close(evaluate(sc.cosine(steps=12, end=0.1, exponent=2.0), range(n)), ref, F32_REL, F32_ABS)


def test_sequence_matches_optax_join_schedules() -> None:
    """optax's join_schedules gives each later schedule the local step, as Phase does."""
    optax, _ = _optax()
    ref = optax_values(
        optax.join_schedules(
            [
                optax.linear_schedule(0.0, 1.0, 5),
                optax.cosine_decay_schedule(1.0, 10, alpha=0.1),
                optax.constant_schedule(0.1),
            ],
            [5, 15],
        ),
        40,
    )
    node = sc.sequence(
        sc.linear(steps=5, start=0.0, end=1.0), sc.cosine(steps=10, end=0.1), sc.constant(0.1)
    )
    close(evaluate(node, range(40)), ref, F32_REL, F32_ABS)
    ref = optax_values(optax.warmup_cosine_decay_schedule(0.0, 1.0, 5, 15, end_value=0.1), 40)
    node = sc.warmup(sc.cosine(steps=10, end=0.1), steps=5)
    close(evaluate(node, range(40)), ref, F32_REL, F32_ABS)


# ------------------------------------------------------------------------ errors
# Each node type's invalid arguments live in its catalog entry (tests/catalog).
ERROR_CASES: list[Bad] = error_cases()


@pytest.mark.parametrize(
    "bad", ERROR_CASES, ids=[f"{b.type}-{b.path}-{b.given}" for b in ERROR_CASES]
)
def test_invalid_field_names_field_and_value(bad: Bad) -> None:
    with pytest.raises(SpecError) as info:
        bad.build()
    message = str(info.value)
    assert info.value.path == bad.path
    if isinstance(info.value, ArgumentError):  # built from Python: names call and argument
        arg = re.split(r"[.\[]", bad.path, maxsplit=1)[0]
        call = f"{bad.type}({arg}=...)" if arg else f"{bad.type}(...)"
        shown = f"{call}: " if bad.path == arg else f"{call}: {bad.path}: "
    else:  # built from a document (from_dict): the path of the field
        shown = f"{bad.path}: "
    assert message.startswith(shown), message
    if bad.given is not None:  # the value as a whole token, not inside another number
        assert re.search(rf"(?<![\w.\-]){re.escape(bad.given)}(?![\w.])", message), message


def test_scale_rejects_unbounded_values() -> None:
    with pytest.raises(SpecError, match="unbounded"):
        sc.scale(sc.constant(1e200), factor=1e200)


@pytest.mark.parametrize(
    "schedule, prefix, given",
    [
        (
            {
                "type": "sequence",
                "phases": [
                    {"schedule": {"type": "constant"}, "steps": 5},
                    {"schedule": {"type": "linear", "steps": -3}},
                ],
            },
            "schedule.phases[1].schedule.steps:",
            "-3",
        ),
        (
            {"type": "warmup", "steps": 5, "schedule": {"type": "cosine", "steps": 0}},
            "schedule.schedule.steps:",
            "0",
        ),
        (
            {
                "type": "product",
                "schedules": [{"type": "constant"}, {"type": "step", "every": 2, "gamma": 7}],
            },
            "schedule.schedules[1].gamma:",
            "7",
        ),
        ({"type": "spline"}, "schedule.type:", "'spline'"),
        ({"warmup": 10, "decay": "cosine", "cycles": -1}, "schedule.cycles:", "-1"),
        ({"warmup": "110%", "decay": "linear"}, "schedule.warmup:", "'110%'"),
        ({"warmup": 3, "warmup_shape": "sigmoid"}, "schedule.warmup_shape:", "'sigmoid'"),
    ],
)
def test_load_errors_name_the_full_path(schedule, prefix, given) -> None:
    with pytest.raises(SpecError) as info:
        sc.load({"lr": 1, "training": {"total_steps": 100}, "schedule": schedule})
    message = str(info.value)
    assert message.startswith(prefix), message
    assert given in message, message


def test_sgdr_past_two_to_the_53_from_nested_shifts_stays_in_its_cycle():
    """Shifts ahead reach steps past 2**53 (nested, past 2**54): the restart table reaches
    2**62, so such a step still falls in its own cycle (found by the property tests)."""
    inner = sc.sgdr(period=1, t_mul=2.0)
    ahead = sc.shift(sc.shift(inner, 2**53), 2**53)
    # step 2**54 is the first step of the cycle [2**54 - 1, 2**55 - 1): position 1 / 2**54
    expected = 0.5 * (1.0 + math.cos(math.pi / 2**54))
    assert ahead(0) == expected
    assert np.all(np.isfinite(ahead(np.array([0, 2**53, 2**53 - 1]))))
