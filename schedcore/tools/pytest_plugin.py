"""The ``schedule_regression`` pytest fixture: guard a recipe against silent changes.

    def test_bert_schedule(schedule_regression):
        schedule_regression.check(schedcore.load("recipe.toml"), "golden/bert.json")

The golden path is relative to the test file. A missing golden file is written and the
test fails once (review and commit it); ``pytest --schedcore-update`` rewrites golden files.
Drift fails the test with the same report as ``schedcore check``: a changed field or group,
a stored sample beyond ``rtol`` (default 0; NaN and inf always), or any step of the digested
range changed bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..recipes import Recipe
from . import golden


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--schedcore-update",
        action="store_true",
        help="rewrite schedcore golden files instead of checking them",
    )


class ScheduleRegression:
    def __init__(self, base: Path, update: bool) -> None:
        self.base, self.update = base, update

    def check(self, recipe: Recipe, path: str | Path, rtol: float = 0.0, full: bool = True) -> None:
        """Fail the test when ``recipe`` drifted from the golden file at ``path`` (see
        :func:`schedcore.tools.golden.check` for ``rtol`` and ``full``)."""
        target = self.base / path
        if self.update or not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            golden.write(recipe, target)
            if not self.update:
                pytest.fail(
                    f"golden file {target} did not exist: written now, review and commit it"
                )
            return
        drift = golden.check(recipe, golden.read(target), rtol=rtol, full=full)
        if not drift.clean:
            pytest.fail(f"{target}:\n{drift.report()}\n(rerun with --schedcore-update to accept)")


@pytest.fixture
def schedule_regression(request: pytest.FixtureRequest) -> ScheduleRegression:
    """Check recipes against golden files next to the test (see the module docstring)."""
    return ScheduleRegression(
        Path(request.path).parent, request.config.getoption("--schedcore-update")
    )
