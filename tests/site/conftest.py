"""Site fixtures: the real site built once per test process with the plain `mkdocs` command, and an HTML reader."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import ROOT

TEST_REPO_URL = "https://github.com/example-owner/vpeft"
TEST_SITE_URL = "https://example-owner.github.io/vpeft/"


@dataclass
class Built:
    out: Path
    seconds: float  # wall clock, process start included
    cpu_seconds: float  # user + system time of the build process: what the build costs on an idle machine


@pytest.fixture(scope="session")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`mkdocs build --strict` of the real catalog, as a newcomer runs it (timed, process start included)."""
    out = tmp_path_factory.mktemp("public")
    # the repository and site addresses, as the Pages workflow passes them (mkdocs.yml reads them; none by default)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "VPEFT_REPO_URL": TEST_REPO_URL, "VPEFT_SITE_URL": TEST_SITE_URL}
    env.pop("VPEFT_CATALOG", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Built(out, seconds, cpu)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


@dataclass
class Page:
    path: Path
    elements: list[Element] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # inline script bodies
    ids: set[str] = field(default_factory=set)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.in_script = False
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        self.page.elements.append(Element(tag.lower(), values))
        if "id" in values:
            self.page.ids.add(values["id"])
        self.in_script = tag.lower() == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.page.scripts.append(data)
        else:
            self.chunks.append(data)


def read_page(path: Path) -> Page:
    page = Page(path)
    reader = _Reader(page)
    reader.feed(path.read_text(encoding="utf-8"))
    reader.close()
    page.text = "".join(reader.chunks)
    return page


def read_site(out: Path) -> list[Page]:
    return [read_page(p) for p in sorted(out.rglob("*.html"))]
