"""mkdocs hooks: the schedule reference page is generated from schedcore's node registry, and
the OneFlow page's table of node types from the OneFlow planner's rules."""

from __future__ import annotations

from mkdocs.structure.files import File, Files

from schedcore.tools.docgen import oneflow_table_markdown, reference_markdown

ONEFLOW_TABLE = "<!-- generated: oneflow node table -->"
"""Where ``oneflow.md`` gets the generated table."""


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "reference.md", content=reference_markdown()))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "oneflow.md":
        return markdown
    if markdown.count(ONEFLOW_TABLE) != 1:
        raise ValueError(f"docs/oneflow.md must hold {ONEFLOW_TABLE!r} once, for the node table")
    return markdown.replace(ONEFLOW_TABLE, oneflow_table_markdown())
