"""Scores are shown with the digits they are stored with: a per-task cell, a method page's per-task summary and the
compare page never round a two-decimal source (V-PETL Bench's HMDB51 62.12 was shown as 62.1) nor drop a printed
'.0' (VPT-Deep's 98.0 on Flowers102 was shown as 98 on the compare page)."""

from __future__ import annotations

import re

import pytest
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import Catalog
from vpeft.site.compare import compare_data
from vpeft.site.render import leaderboard_page, method_pages
from vpeft.site.views import fmt_score, printed_text

from tests.conftest import CATALOG


@pytest.mark.parametrize(("value", "text"), [
    (54.0, "54.0"), (62.12, "62.12"), (88.5, "88.5"), (100.0, "100.0"), (0.1 + 0.2, "0.3"), (33.333333, "33.333333"),
])
def test_printed_text_keeps_every_stored_decimal_and_at_least_one(value: float, text: str) -> None:
    assert printed_text(value) == text
    assert fmt_score(value).text == text and float(fmt_score(value).sort) == pytest.approx(value)
    assert fmt_score(None).sort == ""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG)[0]


def test_the_per_task_view_shows_a_two_decimal_score_whole(catalog: Catalog) -> None:
    table = catalog.results["vpetl-bench-hmdb51-video-swin-b"]
    lora = next(r for r in table.rows if r.method == "lora")
    assert lora.scores["hmdb51"] == 62.12
    page = leaderboard_page(catalog, catalog.benchmarks["hmdb51"], {})
    section = page.split(f'id="{table.id}"')[1]
    row = section.split('<a href="../method/lora.html">LoRA</a>')[1].split("</tr>")[0]
    assert re.search(r"<td[^>]*>62\.12</td>", row), row
    assert "HMDB51: 62.12" in method_pages(catalog, {}, {}, None, {})["method/lora.md"]


def test_the_compare_page_keeps_a_printed_point_zero(catalog: Catalog) -> None:
    [board] = [b for b in compare_data(catalog, {})["boards"]
               if b["benchmark"] == "VTAB-1k" and b["backbone"] == "ViT-B/16 (ImageNet-21k)"]
    for scores in board["scores"].values():
        for value, text in zip(scores["tasks"], scores["task_texts"], strict=True):
            assert text == (printed_text(value) if value is not None else "–")
    texts = [t for s in board["scores"].values() for t in s["task_texts"]]
    assert any(t.endswith(".0") for t in texts), "some VTAB-1k score is a whole number printed with '.0'"
