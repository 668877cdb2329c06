"""Errors raised by schedcore.

Every malformed recipe, schedule or group policy raises :class:`SpecError`. Its message
names the path of the offending field, the value given and what is accepted, e.g.::

    schedule.phases[1].steps: must be a positive integer, got -3
"""

from __future__ import annotations


class SpecError(ValueError):
    """A recipe, schedule or group policy is malformed.

    ``path`` is the dotted path of the offending field (``""`` for the document root),
    ``problem`` says what is wrong, what was given and what is accepted.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)

    def within(self, prefix: str) -> SpecError:
        """The same error, located under ``prefix`` (a parent path)."""
        if not prefix:
            return self
        if not self.path:
            path = prefix
        elif self.path.startswith("["):
            path = prefix + self.path
        else:
            path = f"{prefix}.{self.path}"
        return SpecError(path, self.problem)


class StepRangeError(ValueError):
    """A schedule with ``after = "error"`` was evaluated past its end, or a step was negative."""


class PastEndWarning(UserWarning):
    """Training stepped past the recipe's horizon (``recipe.total_steps``): an update used a
    step at or after it, where the schedule's past-the-end rule (``after``) sets the lr.

    Each framework's scheduler warns once per run; the message names the update's step and
    the horizon. Turn it into an error with ``warnings.simplefilter("error", PastEndWarning)``.
    """


def past_end_message(step: int, horizon: int) -> str:
    """The text of a :class:`PastEndWarning` for update ``step`` (0-based) of a recipe whose
    horizon is ``horizon`` updates."""
    return (
        f"update {step} (0-based) is past the recipe's horizon of {horizon} updates "
        f"(steps 0..{horizon - 1}): from here the schedule's past-the-end rule (after) sets "
        "the lr; make the run's length (max_steps, epochs) match the recipe's total_steps"
    )


def describe(value: object) -> str:
    """A short, readable rendering of a user-supplied value for error messages."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print (Python's digit limit)
        return f"an integer of {value.bit_length()} bits" if isinstance(value, int) else "a value"
    except RecursionError:  # a container nested too deeply to print
        return f"a deeply nested {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
