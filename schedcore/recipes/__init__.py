"""The recipe document: base lr, schedules, training horizon and group policy."""

from .document import as_recipe, from_document, load
from .recipe import Recipe

__all__ = ["Recipe", "as_recipe", "from_document", "load"]
