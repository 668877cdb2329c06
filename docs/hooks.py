"""mkdocs hook: the schedule reference page is generated from schedcore's node registry."""

from __future__ import annotations

from mkdocs.structure.files import File, Files

from schedcore.tools.reference import reference_markdown


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "reference.md", content=reference_markdown()))
    return files
