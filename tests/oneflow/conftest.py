"""tests/oneflow/ runs only in the OneFlow venv (`make test-oneflow`).

Where oneflow is not installed (the main Python 3.11 venv, where a plain `pytest` would otherwise
collect this directory and fail on `import oneflow`), skip collecting it. `make test-main` also
passes --ignore=tests/oneflow. In the OneFlow venv nothing is ignored, so a broken oneflow
install fails loudly, and a missing one leaves no tests (pytest exit code 5, a failure).

The shared hypothesis strategies (tests/strategies.py), the OneFlow planner's fixed cases and
kernel model (tests/port/oneflow, as ``port.oneflow``), the examples and the benchmarks are
importable from here. The planner's own tests need no oneflow: the main venv runs them.
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("oneflow") is None:
    collect_ignore_glob = ["*.py"]

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT / "tests", ROOT / "tests" / "oneflow", ROOT / "examples", ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

if importlib.util.find_spec("oneflow") is not None:
    import pytest

    @pytest.fixture(scope="session")
    def graph_worker():
        """nn.Graph measurements, run in worker processes (see graph_worker.py)."""
        from graph_worker import GraphWorker

        worker = GraphWorker()
        yield worker
        worker.close()
