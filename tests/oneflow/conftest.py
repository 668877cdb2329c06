"""tests/oneflow/ runs only in the OneFlow venv (`make test-oneflow`).

Where oneflow is not installed (the main Python 3.11 venv, where a plain `pytest` would otherwise
collect this directory and fail on `import oneflow`), skip collecting it. `make test-main` also
passes --ignore=tests/oneflow. In the OneFlow venv nothing is ignored, so a broken oneflow
install fails loudly, and a missing one leaves no tests (pytest exit code 5, a failure).
"""

import importlib.util

if importlib.util.find_spec("oneflow") is None:
    collect_ignore_glob = ["*.py"]
