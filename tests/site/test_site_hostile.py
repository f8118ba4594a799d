"""A hostile catalog (script tags, javascript: URLs, Markdown and Jinja in every text field) builds to a site in
which none of it is active: no script, handler or link of its own, no Markdown markup, no evaluated template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from vpeft.catalog.service import valid_catalog
from vpeft.commands.site import build_site
from vpeft.site import render_site

from tests.conftest import ROOT
from tests.site.conftest import read_site

# One string carrying every kind of attack. "1337" appears only if Jinja evaluated 7*191.
P = (
    "<script>alert('xss-script')</script><img src=x onerror=\"alert('xss-img')\">"
    "<a href=\"javascript:alert('xss-href')\">js</a> javascript:alert('xss-text') "
    "[md-link](https://md-injection.example/) ![md-img](https://md-injection.example/i.png) **md-bold** "
    "<https://md-autolink.example/> {{ 7*191 }} {% if true %}jinja-block{% endif %} {{ config }} "
    "<!-- vpeft:home --> </div></title><svg onload=alert('xss-svg')> &amp; ' \" `md-code`"
    "\n```html\n<script>alert('xss-fence')</script>\n```\n"
)
EVIL_URL = "https://evil.example/\"><script>alert('xss-url')</script>"


def hostile_entry() -> dict:
    # every free-text field carries the payload; `venue` is a short name from a fixed list (validate refuses others)
    return {
        "id": "evil", "name": f"Evil {P}", "aliases": [f"alias {P}", f"row {P}"],
        "paper": {
            "title": f"title {P}", "authors": [f"author, {P}"], "venue": "ICLR", "venue_full": f"full {P}",
            "year": 2023, "arxiv": "2301.09999", "doi": "10.1234/x\"><script>alert('xss-doi')</script>",
            "url": EVIL_URL,
        },
        "code_url": EVIL_URL, "category": "adapter-tuning",
        "tags": {"applications": [f"app {P}"], "design": [f"design {P}"]},
        "summary": f"summary {P}", "notes": [f"note {P}"], "sources": [EVIL_URL],
    }


def hostile_results() -> dict:
    return {
        "id": "evil-results", "benchmark": "fgvc", "backbone": f"backbone {P}",
        "source": {"name": f"source {P}", "kind": "reproduced", "url": EVIL_URL, "section": f"section {P}",
                   "read_in": f"read in {P}"},
        "rows": [{"label": f"row {P}", "method": "evil", "params_m": 0.5, "note": f"note {P}",
                  "scores": {"cub200_2011": 80.0, "nabirds": 70.0, "oxford_flowers": 90.0, "stanford_dogs": 60.0,
                             "stanford_cars": 50.0}},
                 {"label": f"other {P}", "method": None, "row_kind": "baseline", "params_m": 2.0,
                  "scores": {"cub200_2011": 81.0, "nabirds": 71.0, "oxford_flowers": 91.0, "stanford_dogs": 61.0,
                             "stanford_cars": 51.0}}],
    }


@pytest.fixture(scope="module")
def hostile_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "catalog"
    (root / "methods").mkdir(parents=True)
    (root / "results").mkdir()
    (root / "benchmarks").mkdir()
    taxonomy = yaml.safe_load((ROOT / "catalog" / "taxonomy.yaml").read_text(encoding="utf-8"))
    taxonomy["notes"] = [f"taxonomy note {P}"]
    taxonomy["nodes"][0]["children"][0]["name"] = f"Adapter {P}"
    taxonomy["nodes"][0]["children"][0]["description"] = f"description {P}"
    (root / "taxonomy.yaml").write_text(yaml.safe_dump(taxonomy), encoding="utf-8")
    fgvc = yaml.safe_load((ROOT / "catalog" / "benchmarks" / "fgvc.yaml").read_text(encoding="utf-8"))
    fgvc.update(name=f"FGVC {P}", description=f"bench {P}", notes=[f"bench note {P}"])
    fgvc["tasks"][0]["name"] = f"CUB {P}"
    (root / "benchmarks" / "fgvc.yaml").write_text(yaml.safe_dump(fgvc), encoding="utf-8")
    (root / "methods" / "evil.yaml").write_text(yaml.safe_dump(hostile_entry()), encoding="utf-8")
    (root / "results" / "evil-results.yaml").write_text(yaml.safe_dump(hostile_results()), encoding="utf-8")
    valid_catalog(str(root))  # the hostile strings are valid catalog text: the site must cope with them
    return root


@pytest.fixture(scope="module")
def hostile_site(hostile_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(ROOT / "mkdocs.yml", tmp_path_factory.mktemp("hostile-site"), str(hostile_catalog))


def test_no_script_handler_or_javascript_link_from_the_catalog(hostile_site: Path) -> None:
    found = []
    for page in read_site(hostile_site):
        for el in page.elements:
            for name, value in el.attrs.items():
                if name.startswith("on"):
                    found.append(f"{page.path.name}: <{el.tag} {name}>")
                if name in ("href", "src", "xlink:href", "action", "formaction") and \
                        value.strip().lower().startswith(("javascript:", "data:text/html")):
                    found.append(f"{page.path.name}: <{el.tag} {name}={value[:80]!r}>")
                if name in ("href", "src") and ("md-injection.example" in value or "md-autolink.example" in value):
                    found.append(f"{page.path.name}: Markdown became a link: <{el.tag} {name}={value[:80]!r}>")
            if el.tag == "script" and "src" in el.attrs and "xss" in el.attrs["src"]:
                found.append(f"{page.path.name}: script src")
            if el.tag == "img" and el.attrs.get("src") == "x":
                found.append(f"{page.path.name}: injected <img>")
        found += [f"{page.path.name}: inline script {s[:60]!r}" for s in page.scripts if "xss-" in s]
    assert not found, "\n".join(found[:30])


def test_no_markdown_or_template_was_interpreted(hostile_site: Path) -> None:
    for path in hostile_site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "1337" not in html, path
        assert "<strong>md-bold" not in html and "<em>md-bold" not in html, path
        assert "jinja-block" not in html or "{% if true %}jinja-block" in html, path
        assert "<svg onload" not in html.lower(), path
        assert "<code>md-code" not in html and "xss-fence')&lt;" not in html, path


def test_the_hostile_text_is_shown_as_text(hostile_site: Path) -> None:
    """The payload reaches the page, escaped: the test above is looking at pages that do contain it."""
    html = (hostile_site / "method" / "evil.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in html
    assert "{{ 7*191 }}" in html and "**md-bold**" in html and "[md-link](https://md-injection.example/)" in html
    board = (hostile_site / "leaderboard" / "fgvc.html").read_text(encoding="utf-8")
    assert "row &lt;script&gt;" in board and "Reproduced results" in board


def test_search_index_holds_only_escaped_text(hostile_site: Path) -> None:
    index = json.loads((hostile_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        assert "<script" not in doc["title"] + doc["text"]


def test_non_http_urls_never_become_links(hostile_catalog: Path) -> None:
    """Validation rejects them, but the renderer does not rely on it: it links only http(s) URLs."""
    catalog = valid_catalog(str(hostile_catalog))
    entry = catalog.methods["evil"]
    bad = ["javascript:alert('xss-code')", " JaVaScRiPt:alert(1)", "data:text/html,xss", "vbscript:x", "//evil.example"]
    catalog.methods["evil"] = entry.model_copy(update={
        "code_url": bad[0], "sources": bad, "paper": entry.paper.model_copy(update={"url": bad[1]}),
    })
    html = render_site(catalog, trainable={}).pages["method/evil.md"]
    for url in bad:
        assert f'href="{url}' not in html and f"href='{url}" not in html
    assert "javascript:alert(&#39;xss-code&#39;)" in html  # shown, as text
