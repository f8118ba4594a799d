"""README.md is generated from the catalog: the committed file is current, and catalog text cannot inject
links, HTML or formatting into it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from vpeft.catalog.service import valid_catalog
from vpeft.cli import main
from vpeft.readme.markdown import escape, https_url
from vpeft.readme.render import render_readme

from tests.conftest import CATALOG, ROOT, entry_text

HOSTILE = {
    "name": "Evil](javascript:alert(1)) <script>alert(1)</script> **bold**",
    "title": "[click me](javascript:alert(2)) <img src=x onerror=alert(3)> `code` {{ 7*7 }} &lt;b&gt;\n# Heading"
             " http://evil.example/a www.evil.example mail@evil.example",
}


TEMPLATE_LINKS = {"CONTRIBUTING.md"}  # the only relative link the template itself writes, besides #anchors


def _links(markdown: str) -> list[str]:
    """Every link target in the rendered HTML, parsed as permissively as possible."""
    md = MarkdownIt("commonmark", {"html": True, "linkify": False})
    md.validateLink = lambda url: True  # accept every scheme, so an injected javascript: link would show up
    html = md.render(markdown)
    targets = re.findall(r'<a href="([^"]*)"', html) + re.findall(r"<img src=\"([^\"]*)\"", html)
    return [t for t in targets if not t.startswith("#") and t not in TEMPLATE_LINKS]


def _all_https(markdown: str) -> bool:
    targets = _links(markdown)
    return bool(targets) and all(target.startswith("https://") for target in targets)


def _hostile_catalog(small_catalog: Path) -> Path:
    text = entry_text("evil", "Evil", "Evil Title", "2301.00003")
    text = text.replace("name: Evil", f"name: {HOSTILE['name']!r}").replace("'Evil Title'", repr(HOSTILE["title"]))
    # An https URL that tries to close the link and open another one.
    text = text.replace("code_url: https://github.com/example/evil",
                        "code_url: https://github.com/x)[y](javascript:alert(4))")
    (small_catalog / "methods" / "evil.yaml").write_text(text)
    return small_catalog


def test_committed_readme_is_current() -> None:
    committed = (ROOT / "README.md").read_text(encoding="utf-8")
    assert committed == render_readme(valid_catalog(str(CATALOG))), "README.md is stale: run `vpeft readme`"


def test_every_method_and_node_is_listed() -> None:
    catalog = valid_catalog(str(CATALOG))
    text = render_readme(catalog)
    for entry in catalog.methods.values():
        assert f"**{escape(entry.name)}**" in text, entry.id
    assert catalog.taxonomy is not None
    headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    listed = headings[headings.index("Methods") + 1:headings.index("Contributing")]
    assert [n.name for n, _ in catalog.taxonomy.walk()] == listed, (
        "README headings between 'Methods' and 'Contributing' must be the taxonomy's nodes in order; "
        "edit tools/readme/README.md.j2 and run `vpeft readme`")


def test_hostile_entry_is_inert(small_catalog: Path) -> None:
    text = render_readme(valid_catalog(str(_hostile_catalog(small_catalog))))
    entry = next(line for line in text.splitlines() if "Evil" in line)
    assert _all_https(text)
    html = MarkdownIt("commonmark", {"html": True}).render(entry)
    assert "<script" not in html and "<img" not in html and "<strong>bold" not in html and "<code>" not in html
    assert html.count("<a href") == 2  # paper and code, nothing injected
    assert '<a href="https://github.com/x%29%5By%5D%28javascript:alert%284%29%29">code</a>' in html
    assert "# Heading" not in text.splitlines()  # a newline in a value cannot start a heading
    # bare URLs, www. names and e-mail addresses in text would be autolinked by GitHub: they are defused
    assert "http\\://evil.example/a www\\.evil.example mail\\@evil.example" in entry


def test_non_https_urls_never_become_links(small_catalog: Path) -> None:
    catalog = valid_catalog(str(small_catalog))
    alpha = catalog.methods["alpha"]
    # The schema already refuses these; the renderer must not rely on it.
    paper = alpha.paper.model_construct(**{**alpha.paper.model_dump(), "url": "javascript:alert(1)"})
    catalog.methods["alpha"] = alpha.model_construct(**{**dict(alpha), "paper": paper,
                                                        "code_url": "http://example.org/x"})
    text = render_readme(catalog)
    assert "javascript:" not in text and "http://example.org" not in text
    assert _all_https(text)
    assert https_url("https://a.org/b c") is None and https_url("https://a.org/(x)") == "https://a.org/%28x%29"


def test_readme_command_writes_and_checks(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = small_catalog.parent / "README.md"
    assert main(["--catalog", str(small_catalog), "readme", "--check"]) == 1
    assert capsys.readouterr().err.strip() == f"{out}: missing; run `vpeft readme` and commit the result"
    assert main(["--catalog", str(small_catalog), "readme"]) == 0 and out.is_file()
    assert main(["--catalog", str(small_catalog), "readme", "--check"]) == 0
    out.write_text(out.read_text() + "hand edit\n")
    assert main(["--catalog", str(small_catalog), "readme", "--check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{out}: stale; run `vpeft readme` and commit the result"]
    other = small_catalog.parent / "other.md"
    assert main(["--catalog", str(small_catalog), "readme", "-o", str(other)]) == 0 and other.is_file()
