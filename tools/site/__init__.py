"""The website generated from the catalog: pages for mkdocs, built by `vpeft site` or `mkdocs build`.

`render_site(catalog)` returns every generated page as Markdown text (their bodies are raw, escaped HTML, so
nothing from an entry is read as Markdown or as a template); `build_pages` writes them to a folder. The mkdocs hook
in `tools/site/hook.py` feeds the same pages to mkdocs through its files API, so nothing generated is committed.
"""

from .render import SiteContent, build_pages, render_site

__all__ = ["SiteContent", "build_pages", "render_site"]
