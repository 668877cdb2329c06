"""mkdocs hooks: the schedule reference page is generated from schedcore's node registry, the
command-line page from the CLI's argument parser, and the OneFlow page's table of node types
from the OneFlow planner's rules. (mkdocs.yml keeps this file out of the built site.)"""

from __future__ import annotations

import re

from mkdocs.structure.files import File, Files

from schedcore.tools.docgen import cli_markdown, oneflow_table_markdown, reference_markdown

ONEFLOW_TABLE = "<!-- generated: oneflow node table -->"
"""Where ``oneflow.md`` gets the generated table."""


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "reference.md", content=reference_markdown()))
    files.append(File.generated(config, "cli.md", content=cli_markdown()))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "oneflow.md":
        return markdown
    if markdown.count(ONEFLOW_TABLE) != 1:
        raise ValueError(f"docs/oneflow.md must hold {ONEFLOW_TABLE!r} once, for the node table")
    return markdown.replace(ONEFLOW_TABLE, oneflow_table_markdown())


SPHINX_ROLE = re.compile(r":(?:func|meth|class|attr|mod|data|exc|obj):(<code>)")
"""A Sphinx role before inline code, as the API reference renders a docstring's
``:func:`name```: the code stays, the role goes."""


def on_page_content(html: str, page, config, files) -> str:
    return SPHINX_ROLE.sub(r"\1", html) if page.file.src_uri == "api.md" else html
