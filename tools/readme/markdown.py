"""Escaping catalog text for Markdown: every catalog string is untrusted.

Text is folded onto one line (so no value can start a heading, list or block of its own), HTML-significant
characters become entities, and Markdown punctuation is backslash-escaped, so that no value can open a link,
emphasis, code span or raw HTML. Only https URLs ever become link targets.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# ASCII punctuation that Markdown (CommonMark + GitHub extensions) gives a meaning to inside a line.
_MARKDOWN_PUNCTUATION = set("\\`*_{}[]()#+!|~^$@")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Characters kept as they are in a link destination; everything else is percent-encoded (parentheses,
# quotes, angle brackets, spaces, backslashes, backticks), so the URL cannot close the link early.
_URL_SAFE = ":/?#@!$&*+,;=%~-._"
_CODE_SPAN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# GitHub turns bare 'scheme://' URLs, 'www.' names and e-mail addresses in text into links (its autolink
# extension); a backslash before the ':' or the '.' (and before every '@') keeps them as plain text.
_AUTOLINK_RE = re.compile(r"(?i)(?<=[a-z0-9+.-])(?=://)|(?<=\bwww)(?=\.)")


class Safe(str):
    """Markdown our own code built from escaped parts; the template does not escape it again."""


def escape(value: object) -> Safe:
    """Any value as inert Markdown text on one line."""
    if isinstance(value, Safe):
        return value
    text = " ".join(str(value).split())
    out = []
    for char in text:
        if char in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[char])
        elif char in _MARKDOWN_PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    return Safe(_AUTOLINK_RE.sub(r"\\", "".join(out)))


def https_url(url: str | None) -> str | None:
    """The URL made safe for a Markdown link destination, or None when it is not a plain https URL."""
    if not url or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        return None
    return quote(url, safe=_URL_SAFE)


def link(label: object, url: str | None) -> Safe:
    """`[label](url)` when the URL is https, else the label as plain text."""
    target = https_url(url)
    if target is None:
        return escape(label)
    return Safe(f"[{escape(label)}]({target})")


def code(value: object) -> Safe:
    """A code span for an identifier (registry keys are lowercase slugs); anything else as plain text."""
    text = str(value)
    return Safe(f"`{text}`") if _CODE_SPAN_RE.match(text) else escape(text)


def finalize(value: object) -> object:
    """Jinja2 `finalize`: every `{{ ... }}` in the template is escaped unless our code marked it Safe."""
    if value is None:
        return ""
    return escape(value)
