"""Catalog text is escaped once: a backtick (a LaTeX grave accent in BibTeX, `code` in a note) prints as &#96;."""

from __future__ import annotations

from vpeft.site.render import ENV


def test_backticks_and_markup_are_escaped_exactly_once() -> None:
    out = ENV.from_string("{{ a }}|{{ a or 'x' }}").render(a="Courn{\\`e}de `row` & <b>")
    assert out == "Courn{\\&#96;e}de &#96;row&#96; &amp; &lt;b&gt;|Courn{\\&#96;e}de &#96;row&#96; &amp; &lt;b&gt;"
    assert "&amp;#96;" not in out
