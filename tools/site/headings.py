"""Permalinks and a table of contents for the generated pages, whose bodies are raw HTML (Markdown's toc extension
only reads Markdown headings). The headings come from our templates: an id attribute and escaped text."""

from __future__ import annotations

import re
from typing import Any

from mkdocs.structure.toc import TableOfContents, get_toc

HEADING = re.compile(r'<h([23])((?:\s[^>]*)?\sid="([^"]+)"[^>]*)>(.*?)</h\1>', re.S)
TAG = re.compile(r"<[^>]+>")


def anchored(html: str) -> tuple[str, TableOfContents]:
    """`html` with a ¶ permalink in every h2/h3 that has an id (as the toc extension writes it), and its toc."""
    tokens: list[dict[str, Any]] = []

    def mark(match: re.Match[str]) -> str:
        level, attrs, anchor, inner = match.groups()
        if "headerlink" in inner:
            return match.group(0)
        name = TAG.sub("", inner).strip()
        token = {"level": int(level), "id": anchor, "name": name, "children": []}
        if token["level"] == 3 and tokens:
            tokens[-1]["children"].append(token)
        else:
            tokens.append(token)
        link = f'<a class="headerlink" href="#{anchor}" title="Permanent link">&para;</a>'
        return f"<h{level}{attrs}>{inner}{link}</h{level}>"

    return HEADING.sub(mark, html), get_toc(tokens)  # type: ignore[arg-type]
