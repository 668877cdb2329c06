"""The recipe document: base lr, schedules, training horizon and group policy."""

from .document import from_document, load
from .recipe import Recipe

__all__ = ["Recipe", "from_document", "load"]
