"""URLs on generated pages: only http(s) links from entries, and relative links between our pages."""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL without spaces or control characters, else None (shown as text)."""
    if not url:
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def page_url(uri: str) -> str:
    """The built file of a page source: `methods/lora.md` -> `methods/lora.html` (use_directory_urls: false)."""
    return uri[: -len(".md")] + ".html" if uri.endswith(".md") else uri


def relative(from_uri: str, to_uri: str) -> str:
    """Link from page `from_uri` to page or file `to_uri` (both relative to the docs folder)."""
    target = page_url(to_uri)
    start = posixpath.dirname(page_url(from_uri)) or "."
    return posixpath.relpath(target, start)


def page_title(text: str) -> str:
    """A page title for mkdocs front matter.

    Themes print `page.title` without escaping (and `striptags` unescapes it in <title>), so the title carries
    HTML-escaped text with angle brackets dropped: escaped once, it cannot close <title> or open a tag.
    """
    cleaned = "".join(c for c in text if c not in "<>" and (c == " " or c.isprintable()))
    return cleaned.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#39;").strip() or "untitled"
