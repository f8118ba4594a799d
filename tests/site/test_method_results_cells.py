"""The results table of a method page stays readable: the source cell names the source without its author list
(the full name in its title and in the downloads), long row notes and lineage evidence open on demand, and the
protocol lists the stated fields, then the names of those not stated. Everything from the YAML stays escaped."""

from __future__ import annotations

import pytest
from markupsafe import escape
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import Catalog, Protocol
from vpeft.site.render import method_pages
from vpeft.site.views import NOTE_INLINE_CHARS, protocol_brief, protocol_text, short_source_name

from tests.conftest import CATALOG


@pytest.mark.parametrize(("name", "short"), [
    ("HTA (Dong, Sun, Yang, NeurIPS 2024)", "HTA"),
    ("Consolidator (Hao, Chen, Guo & Ding, ICLR 2023) – official repository README",
     "Consolidator – official repository README"),
    ("Mona official README (Yin, CVPR 2025, \"5%>100%\", arXiv 2408.08345)", "Mona official README"),
    ("X (a (nested) list) @ abc1234", "X @ abc1234"),
    ("V-PETL Bench", "V-PETL Bench"),
    ("Unbalanced (no end", "Unbalanced (no end"),
    ("(Only a parenthesis)", "(Only a parenthesis)"),
])
def test_short_source_name_drops_the_first_parenthesised_part(name: str, short: str) -> None:
    assert short_source_name(name) == short


def test_protocol_brief_says_the_same_facts_as_protocol_text() -> None:
    some = Protocol(checkpoint="orig-in21k", image_size=224)
    assert protocol_brief(some) == ("checkpoint orig-in21k, image size 224; "
                                    "not stated: model selection, seeds, augmentation")
    assert protocol_brief(Protocol()) == "not stated: checkpoint, image size, model selection, seeds, augmentation"
    for p in (some, Protocol()):
        stated = [part for part in protocol_text(p).split(", ") if not part.endswith("not stated")]
        assert all(part in protocol_brief(p) for part in stated)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG)[0]


def _hostile(catalog: Catalog, table_id: str, name: str, note: str) -> Catalog:
    table = catalog.results[table_id]
    rows = [r.model_copy(update={"note": note}) if r.method == "moment-probing" else r for r in table.rows]
    source = table.source.model_copy(update={"name": name})
    changed = table.model_copy(update={"source": source, "rows": rows})
    return catalog.model_copy(update={"results": {**catalog.results, table_id: changed}})


def test_the_source_cell_is_short_and_the_full_name_is_its_title(catalog: Catalog) -> None:
    table = catalog.results["moment-probing-paper-fgvc-repo"]
    page = method_pages(catalog, {}, {}, None, {})["method/moment-probing.md"]
    full = f"{table.source.name} @ {table.source.commit[:7]} ({table.source.table})"
    short = f"{short_source_name(table.source.name)} @ {table.source.commit[:7]}, {table.source.table}"
    assert f'title="{escape(full)}">{escape(short)}</a>' in page


def test_long_notes_and_lineage_evidence_open_on_demand(catalog: Catalog) -> None:
    long_note = "a long note " * (NOTE_INLINE_CHARS // 10)
    page = method_pages(_hostile(catalog, "moment-probing-paper-fgvc-repo", "S", long_note), {}, {}, None,
                        {})["method/moment-probing.md"]
    assert f'<details class="vpeft-fold"><summary>note</summary><small>{long_note}</small></details>' in page
    # Self-Prompt Tuning's MP row is copied (equal digits): the short lineage shows, the evidence opens on demand
    assert "copied from moment-probing-paper-fgvc-repo, row &#39;MP&#39; (equal digits)</small><details" in page
    assert "<summary>evidence</summary>" in page
    short = method_pages(_hostile(catalog, "moment-probing-paper-fgvc-repo", "S", "short"), {}, {}, None,
                         {})["method/moment-probing.md"]
    assert "<br><small>short</small>" in short and "<summary>note</summary><small>short" not in short


def test_the_cells_escape_what_the_yaml_says(catalog: Catalog) -> None:
    bad = "<script>alert(1)</script>"
    page = method_pages(_hostile(catalog, "moment-probing-paper-fgvc-repo", f"{bad} ({bad})", bad * 10), {}, {}, None,
                        {})["method/moment-probing.md"]
    assert bad not in page and escape(bad) in page


def test_the_leaderboard_names_sources_short_with_the_full_name_on_hover(catalog: Catalog) -> None:
    from vpeft.site.render import leaderboard_page

    page = leaderboard_page(catalog, catalog.benchmarks["vtab-1k"], {})
    usb = catalog.results["usb-repo-vtab-1k-final-runs"].source.name
    # the benchmark column of the per-method board: one short line, the whole name as its title
    assert f'title="{escape(usb)}">Unifying PETL study</th>' in page
    # a table's heading in the per-task view (the page's table of contents reads it) and a per-method board cell
    hta = catalog.results["hta-paper-vtab-1k-swin-b"]
    assert f'<h3 id="{hta.id}">{hta.backbone} · <a href="{hta.source.url}" rel="noopener nofollow" title="' in page
    assert f'">HTA, {escape(hta.source.table)}</a></h3>' in page
    assert ">qGOFT, Table 3</a>, row “qGOFT”" in page


def test_the_table_heading_escapes_the_source_name(catalog: Catalog) -> None:
    from vpeft.site.render import leaderboard_page

    bad = "<img src=x onerror=alert(1)>"
    table = catalog.results["hta-paper-vtab-1k-swin-b"]
    changed = table.model_copy(update={"source": table.source.model_copy(update={"name": f"{bad} ({bad})"})})
    hostile = catalog.model_copy(update={"results": {**catalog.results, table.id: changed}})
    page = leaderboard_page(hostile, hostile.benchmarks["vtab-1k"], {})
    assert bad not in page and escape(bad) in page
