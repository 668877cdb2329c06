"""User tools around recipes: the CLI, lint, golden files, comparison, plots, the pytest
plugin and the generated reference docs."""
