"""`vpeft new --fetch`: title, authors, year and links of a paper from the arXiv API (network only when asked).

The API answers an Atom feed (arXiv API User's Manual, https://info.arxiv.org/help/api/user-manual.html, section
3.3): one <entry> per paper with <title>, <author><name>, <published>, <link>s and arxiv:doi / arxiv:journal_ref.
An unknown id comes back as HTTP 200 with an entry titled "Error", or with no entry; throttling as the plain text
"Rate exceeded.". Each of these is a `FetchError` with one line, and `vpeft new` then writes the plain stub.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass

API = "https://export.arxiv.org/api/query?id_list={id}"
TIMEOUT_S = 15
NS = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom"}


class FetchError(Exception):
    """The API could not be reached or gave no usable record; the message is one line."""


@dataclass(frozen=True)
class ArxivRecord:
    arxiv: str
    title: str
    authors: list[str]
    year: int
    doi: str | None
    journal_ref: str | None

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}"


def _text(node: ET.Element | None) -> str | None:
    return " ".join(node.text.split()) if node is not None and node.text else None  # titles arrive hard-wrapped


def parse(feed: str, arxiv_id: str) -> ArxivRecord:
    if feed.strip().startswith("Rate exceeded"):
        raise FetchError("the arXiv API is throttling requests (Rate exceeded); try again in a minute")
    try:
        root = ET.fromstring(feed)
    except ET.ParseError as exc:
        raise FetchError(f"the arXiv API answered something that is not an Atom feed ({exc})") from None
    for entry in root.findall("atom:entry", NS):
        found = re.sub(r"v\d+$", "", (_text(entry.find("atom:id", NS)) or "").rsplit("/", 1)[-1])
        title = _text(entry.find("atom:title", NS))
        if found != arxiv_id or not title or title == "Error":
            continue
        published = _text(entry.find("atom:published", NS)) or ""
        authors = [n for a in entry.findall("atom:author", NS) if (n := _text(a.find("atom:name", NS)))]
        return ArxivRecord(arxiv_id, title, authors, int(published[:4]), _text(entry.find("arxiv:doi", NS)),
                           _text(entry.find("arxiv:journal_ref", NS)))
    raise FetchError(f"arXiv has no paper {arxiv_id}")


def fetch(arxiv_id: str) -> ArxivRecord:
    """One request to the arXiv API; every failure is a `FetchError` with one line."""
    try:
        with urllib.request.urlopen(API.format(id=arxiv_id), timeout=TIMEOUT_S) as response:  # noqa: S310
            feed = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FetchError(f"the arXiv API is not reachable ({reason})") from None
    return parse(feed, arxiv_id)
