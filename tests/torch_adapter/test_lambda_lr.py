"""st.lambda_lr: a genuine LambdaLR giving RecipeLR's lrs, with plain-data state."""

from __future__ import annotations

import io
import pickle
import timeit

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import LambdaLR

import schedcore as sc
import schedcore_torch as st

RECIPE = {
    "lr": 1e-3,
    "training": {"total_steps": 60},
    "schedule": {"warmup": 6, "decay": "cosine", "min_lr_ratio": 0.1},
    "schedules": {"head": {"type": "linear", "steps": 60, "start": 1.0, "end": 0.0}},
    "groups": {
        "defaults": {},
        "rules": [
            {"name": "head", "match": {"prefix": "1."}, "lr": 1e-2, "schedule": "head"},
            {"name": "no_decay", "match": {"tags": ["bias"]}, "weight_decay": 0.0},
        ],
    },
}


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))


def run(opt: torch.optim.Optimizer, sched, n: int) -> np.ndarray:
    rows = []
    for _ in range(n):
        rows.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.asarray(rows)


def test_lambda_lr_gives_recipe_lr_values_per_group():
    net = model()
    groups = st.param_groups(net, RECIPE)
    assert {g["schedule"] for g in groups} == {"default", "head"}
    opt_a = torch.optim.SGD(st.param_groups(net, RECIPE), lr=1e-3)
    opt_b = torch.optim.SGD(st.param_groups(net, RECIPE), lr=1e-3)
    lam = st.lambda_lr(opt_a, RECIPE)
    assert type(lam) is LambdaLR and len(lam.lr_lambdas) == len(opt_a.param_groups)
    ref = st.scheduler(opt_b, RECIPE)
    np.testing.assert_array_equal(run(opt_a, lam, 60), run(opt_b, ref, 60))


def test_lambda_lr_from_a_bare_schedule_multiplies_each_group_lr():
    s = sc.warmup(sc.cosine(steps=40), steps=5)
    net = model()
    opt = torch.optim.SGD(
        [{"params": net[0].parameters(), "lr": 0.1}, {"params": net[1].parameters(), "lr": 0.02}]
    )
    rows = run(opt, st.lambda_lr(opt, s), 45)
    k = np.arange(45)
    np.testing.assert_allclose(rows, np.stack([0.1 * s(k), 0.02 * s(k)], 1), rtol=1e-15)


def test_state_loads_with_weights_only_and_resumes():
    s = sc.warmup(sc.cosine(steps=40, end=0.1), steps=5)
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    lam = st.lambda_lr(opt, s)
    run(opt, lam, 17)
    buf = io.BytesIO()
    torch.save(lam.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    assert state["lr_lambdas"][0] == {"schedule": s.to_dict()}
    # a fresh scheduler on another schedule restores the saved one, as LambdaLR does
    opt2 = torch.optim.SGD(net.parameters(), lr=0.1)
    lam2 = st.lambda_lr(opt2, sc.constant(1.0))
    lam2.load_state_dict(state)
    lam2.step()
    assert lam2.get_last_lr() == pytest.approx([0.1 * s(18)], rel=1e-15)


def test_each_lambda_pickles_and_costs_a_stepper_call():
    s = sc.warmup(sc.cosine(steps=10_000, end=0.1), steps=500)
    opt = torch.optim.SGD(model().parameters(), lr=0.1)
    f = st.lambda_lr(opt, s).lr_lambdas[0]
    g = pickle.loads(pickle.dumps(f))
    assert [g(k) for k in range(0, 2000, 7)] == [s(k) for k in range(0, 2000, 7)]
    stepper = sc.Stepper(s)
    n = 20_000
    per_lambda = min(timeit.repeat(lambda: [f(k) for k in range(n)], number=1, repeat=3)) / n
    per_stepper = min(timeit.repeat(lambda: [stepper(k) for k in range(n)], number=1, repeat=3)) / n
    per_scalar = min(timeit.repeat(lambda: [s(k) for k in range(200)], number=1, repeat=3)) / 200
    # a lambda call is a Stepper call plus one identity check, far below a scalar s(k)
    assert per_lambda < 3 * per_stepper + 1e-6 and per_lambda < per_scalar / 5, (
        per_lambda,
        per_stepper,
        per_scalar,
    )


def test_unknown_group_schedule_is_refused():
    opt = torch.optim.SGD([{"params": model().parameters(), "schedule": "tail"}], lr=0.1)
    with pytest.raises(ValueError, match=r"param_groups\[0\]\['schedule'\] is 'tail'"):
        st.lambda_lr(opt, RECIPE)


def test_stepper_serves_exact_values_as_its_blocks_grow_and_near_an_error_end():
    s = sc.warmup(sc.cosine(steps=30_000, end=0.1), steps=500)
    stepper = sc.Stepper(s)
    ks = [*range(40_000), 7, 39_999, 12_345, 12_346]  # in order, then jumps
    assert [stepper(k) for k in ks] == s(np.array(ks)).tolist()
    end = sc.linear(steps=3_000, after="error")
    stepper = sc.Stepper(end)
    assert [stepper(k) for k in range(3_001)] == end(np.arange(3_001)).tolist()
    with pytest.raises(sc.StepRangeError):
        stepper(3_001)
