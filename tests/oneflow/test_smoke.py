"""Smoke tests for the OneFlow venv (.venv-oneflow, Python 3.10): run by `make test-oneflow`.

They check that the environment the OneFlow adapter is tested in actually works: the pinned
oneflow imports (the Makefile puts the nvidia cudnn/cublas libs on LD_LIBRARY_PATH), an eager
SGD step applies -lr * grad, an nn.Graph train step with `add_optimizer(..., lr_sch=...)` runs on
the CPU and applies the scheduled lr, and schedcore's core imports on Python 3.10 with numpy<2.
"""

import math
import sys
from pathlib import Path

import numpy as np
import oneflow as flow
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# loss = sum(Linear(X)) is linear in the parameters, so the gradient is constant:
# d loss / d weight = column sums of X, d loss / d bias = number of rows.
X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
W0 = np.array([[0.5, -1.0, 2.0]], dtype=np.float32)
B0 = np.array([0.25], dtype=np.float32)
GRAD_W = X.sum(axis=0, keepdims=True)
GRAD_B = np.array([float(X.shape[0])], dtype=np.float32)


def make_linear() -> flow.nn.Linear:
    lin = flow.nn.Linear(3, 1)
    with flow.no_grad():
        lin.weight.copy_(flow.tensor(W0))
        lin.bias.copy_(flow.tensor(B0))
    return lin


def test_environment():
    assert sys.version_info[:2] == (3, 10)
    assert flow.__version__ == "0.9.0"
    assert int(np.__version__.split(".")[0]) < 2, np.__version__
    # This machine has no usable GPU; everything below runs on the CPU.
    assert make_linear().weight.device == flow.device("cpu")


def test_schedcore_imports():
    import schedcore

    # A regular package (not an implicit namespace package) from this checkout.
    assert schedcore.__file__ is not None, "schedcore/__init__.py is missing"
    assert Path(schedcore.__file__).resolve().is_relative_to(REPO_ROOT)


def test_eager_sgd_step():
    lr = 0.1
    lin = make_linear()
    opt = flow.optim.SGD(lin.parameters(), lr=lr)

    loss = lin(flow.tensor(X)).sum()
    loss.backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), GRAD_W)
    np.testing.assert_allclose(lin.bias.grad.numpy(), GRAD_B)
    opt.step()
    opt.zero_grad()

    np.testing.assert_allclose(lin.weight.numpy() - W0, -lr * GRAD_W, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(lin.bias.numpy() - B0, -lr * GRAD_B, rtol=1e-6, atol=1e-7)


class TrainGraph(flow.nn.Graph):
    """Also returns a 256 x 256 matmul (ballast) that touches no parameter: a train step of
    microseconds hits a race in OneFlow 0.9.0's lazy-job queue now and then (a segfault in
    ``LazyJobStreamPolicy::DequeueNNGraph``); a step of milliseconds does not (probes.py)."""

    def __init__(self, model, optimizer, lr_sch):
        super().__init__()
        self.model = model
        self.add_optimizer(optimizer, lr_sch=lr_sch)

    def build(self, x, ballast):
        loss = self.model(x).sum()
        loss.backward()
        return loss, flow.matmul(ballast, ballast).sum()


@pytest.mark.parametrize("n_steps", [1, 8])
def test_graph_train_step_with_cosine_decay(n_steps):
    base_lr, decay_steps = 0.1, 6
    lin = make_linear()
    opt = flow.optim.SGD(lin.parameters(), lr=base_lr)
    sch = flow.optim.lr_scheduler.CosineDecayLR(opt, decay_steps=decay_steps)
    graph = TrainGraph(lin, opt, sch)
    x = flow.tensor(X)
    ballast = flow.full((256, 256), 1e-3)

    w_prev, b_prev = W0, B0
    for k in range(n_steps):
        loss, _ = graph(x, ballast)
        expected_loss = float((X @ w_prev.T).sum() + X.shape[0] * b_prev[0])
        assert loss.numpy().item() == pytest.approx(expected_loss, rel=1e-5)

        # In nn.Graph, update k applies the schedule's value at k (alpha=0 after decay_steps).
        lr_k = 0.5 * base_lr * (1.0 + math.cos(math.pi * min(k, decay_steps) / decay_steps))
        # .numpy() of a CPU tensor shares its memory: copy, or the next step changes w_prev.
        w, b = lin.weight.numpy().copy(), lin.bias.numpy().copy()
        np.testing.assert_allclose(w - w_prev, -lr_k * GRAD_W, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b - b_prev, -lr_k * GRAD_B, rtol=1e-4, atol=1e-6)
        w_prev, b_prev = w, b

    assert not np.array_equal(lin.weight.numpy(), W0)
