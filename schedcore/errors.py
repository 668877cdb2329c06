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


def describe(value: object) -> str:
    """A short, readable rendering of a user-supplied value for error messages."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print (Python's digit limit)
        return f"an integer of {value.bit_length()} bits" if isinstance(value, int) else "a value"
    except RecursionError:  # a container nested too deeply to print
        return f"a deeply nested {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
