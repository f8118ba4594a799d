"""`vpeft new --fetch`: the arXiv API fills a stub; offline, one line and the plain stub. Never the network:
urlopen is replaced by a recorded (synthetic, in arXiv's documented format) answer or by a failure."""

from __future__ import annotations

import io
import urllib.error
from pathlib import Path

import pytest
import yaml
from vpeft.catalog import arxiv
from vpeft.cli import main

FEED = (Path(__file__).parent / "data" / "arxiv-feed.xml").read_text(encoding="utf-8")


def answer(text: str):  # noqa: ANN201 - a urlopen stand-in
    def urlopen(url: str, timeout: float) -> io.BytesIO:
        assert url == arxiv.API.format(id="2401.00007") and timeout == arxiv.TIMEOUT_S
        return io.BytesIO(text.encode())
    return urlopen


def new(small_catalog: Path) -> int:
    return main(["--catalog", str(small_catalog), "new", "made-up", "--category", "adapter-tuning",
                 "--arxiv", "2401.00007", "--fetch"])


def test_fetch_fills_title_authors_year_and_doi(small_catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arxiv.urllib.request, "urlopen", answer(FEED))
    assert new(small_catalog) == 0
    data = yaml.safe_load((small_catalog / "methods" / "made-up.yaml").read_text(encoding="utf-8"))
    assert data["paper"]["title"] == "Testing Adapters: A Made-Up Paper for Parameter-Efficient Tuning"
    assert data["paper"]["authors"] == ["Lovelace, Ada", "Turing, Alan"]  # split, and the note says to check
    assert data["paper"]["year"] == 2024 and data["paper"]["doi"] == "10.1234/made.up.7"
    assert data["paper"]["venue"] is None  # the final venue is the contributor's to find
    assert "Proceedings of a Test Conference 2024" in data["notes"][-1]


@pytest.mark.parametrize(("make", "line"), [
    (lambda: (_ for _ in ()).throw(urllib.error.URLError("Name or service not known")),
     "vpeft: --fetch: the arXiv API is not reachable (Name or service not known); writing the plain stub"),
    (lambda: io.BytesIO(b"Rate exceeded."),
     "vpeft: --fetch: the arXiv API is throttling requests (Rate exceeded); try again in a minute; "
     "writing the plain stub"),
    (lambda: io.BytesIO(FEED.replace("2401.00007v2", "2401.99999v1").encode()),
     "vpeft: --fetch: arXiv has no paper 2401.00007; writing the plain stub"),
])
def test_offline_or_a_bad_answer_is_one_line_and_the_plain_stub(
        small_catalog: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], make, line) -> None:
    monkeypatch.setattr(arxiv.urllib.request, "urlopen", lambda url, timeout: make())
    assert new(small_catalog) == 0
    assert capsys.readouterr().err.strip() == line
    data = yaml.safe_load((small_catalog / "methods" / "made-up.yaml").read_text(encoding="utf-8"))
    assert data["paper"]["title"] is None and data["paper"]["arxiv"] == "2401.00007"


def test_fetch_needs_an_arxiv_id(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(small_catalog), "new", "x", "--category", "adapter-tuning", "--fetch"]) == 2
    assert capsys.readouterr().err.strip() == "vpeft: error: --fetch: needs --arxiv ID (the paper to look up)"


ENTRY = FEED[FEED.index("  <entry>"):FEED.index("</feed>")]


@pytest.mark.parametrize("title", ["A Made-Up Paper", "Adapters Everywhere", "Errors in Tuning", "Zebra Prompts"])
def test_any_real_title_is_accepted_only_an_entry_titled_error_is_not_a_paper(title: str) -> None:
    """arXiv marks an unknown id with an entry titled "Error"; every other title is a paper's."""
    feed = FEED.replace("Testing Adapters: A Made-Up Paper for\n      Parameter-Efficient Tuning", title)
    assert arxiv.parse(feed, "2401.00007").title == title, f"a paper titled {title!r} must be filled in"
    error = FEED.replace("Testing Adapters: A Made-Up Paper for\n      Parameter-Efficient Tuning", "Error")
    with pytest.raises(arxiv.FetchError, match="arXiv has no paper 2401.00007"):
        arxiv.parse(error, "2401.00007")


def test_the_wanted_paper_is_found_after_other_entries_of_the_feed() -> None:
    """A feed may carry another entry first (another id, or arXiv's error entry): keep looking for the id asked."""
    other = ENTRY.replace("2401.00007", "2401.00001").replace("Testing Adapters", "Another Paper")
    feed = FEED.replace(ENTRY, other + ENTRY)
    assert arxiv.parse(feed, "2401.00007").title.startswith("Testing Adapters"), "the second entry is the paper"
