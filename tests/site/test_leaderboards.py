"""Per-method leaderboards and method pages on the real catalog: one line per method, lineage shown once, differences
only for independent numbers, filters, plots, and every result of a method (and its variants) on its page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from markupsafe import escape
from vpeft.catalog.lineage import lineage_groups
from vpeft.catalog.service import valid_catalog
from vpeft.site import render_site
from vpeft.site.boards import headline, method_boards
from vpeft.site.views import family_ids

from tests.conftest import CATALOG

CAT = valid_catalog(str(CATALOG))
SITE = render_site(CAT, trainable={})
VTAB = SITE.pages["leaderboard/vtab-1k.md"]
VIT = "ViT-B/16 (ImageNet-21k)"


def _board_html(page: str, backbone: str) -> str:
    """The HTML of one backbone's per-method board (up to the next heading)."""
    start = page.index(f">{escape(backbone)}</h2>")
    return page[start:page.index("<h2", start)]


def _line(board: str, key: str) -> str:
    [line] = re.findall(rf'<tr[^>]*data-line="{re.escape(key)}"[^>]*>(.*?)</tr>', board, re.S)
    return line


def test_one_line_per_method_and_backbone() -> None:
    board = _board_html(VTAB, VIT)
    keys = re.findall(r'data-line="([^"]+)"', board)
    assert len(keys) == len(set(keys)) and len(keys) >= 30
    for method in ("lora", "vpt-deep", "vpt-shallow", "noah", "fact", "convpass", "hydra", "ssf", "sct"):
        assert f"method:{method}" in keys
    assert "baseline:full-fine-tuning" in keys and "baseline:linear-probing" in keys


def test_a_copied_number_is_shown_once_with_the_tables_that_repeat_it() -> None:
    line = _line(_board_html(VTAB, VIT), "method:lora")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", line, re.S)
    paper = next(c for c in cells if "also printed by" in c)
    for table in ("convpass-paper-vtab-1k", "fact-paper-vtab-1k", "hydra-paper-vtab-1k-readme", "vpetl-bench-vtab-1k"):
        assert table in paper
    vpetl = next(c for c in cells if "V-PETL Bench" in c)
    assert "same numbers as the paper-reported row" in vpetl
    # the V-PETL Δ cell is empty (a copy is no confirmation); the independent 2409.16434 run gets one
    deltas = re.findall(r'<td data-col-kind="benchmark" data-selection="[^"]*" data-paper-selection="[^"]*"'
                        r'(?: data-sort="[^"]*")?>([^<]*)</td>', line)
    usb, vpetl_delta = deltas  # columns in order: the 2409.16434 repository, then V-PETL Bench
    assert vpetl_delta == "" and usb.startswith(("+", "-"))


def test_the_difference_is_computed_from_the_two_headline_numbers() -> None:
    [board] = [b for b in method_boards(CAT, CAT.benchmarks["vtab-1k"], "leaderboard/vtab-1k.md") if b.backbone == VIT]
    line = next(ln for ln in board.lines if ln.key == "method:lora")
    paper, usb = line.cells[0], line.cells[1]
    assert paper is not None and usb is not None and usb.copy_of is None
    assert float(usb.diff.sort) == pytest.approx(float(usb.value.sort) - float(paper.value.sort))
    # the paper-reported LoRA is the number most tables print, from its original (NOAH), not from a copy
    assert "NOAH" in paper.source.text and paper.row_label == "LoRA [18]"


def test_own_paper_rows_are_the_paper_reported_number() -> None:
    [board] = [b for b in method_boards(CAT, CAT.benchmarks["vtab-1k"], "leaderboard/vtab-1k.md") if b.backbone == VIT]
    fact = next(ln for ln in board.lines if ln.key == "method:fact").cells[0]
    assert fact is not None and "FacT" in fact.source.text
    own = [r for r in CAT.results["fact-paper-vtab-1k"].rows if r.method == "fact"]
    best = max(headline(CAT.results["fact-paper-vtab-1k"], r, CAT.benchmarks["vtab-1k"]).value or 0 for r in own)
    assert float(fact.value.sort) == pytest.approx(best)


def test_filters_and_selection_data_are_on_the_page() -> None:
    assert "data-board-filters" in VTAB and 'name="hide-test"' in VTAB and 'name="kind-benchmark"' in VTAB
    board = _board_html(VTAB, VIT)
    assert 'data-selection="val200-then-retrain"' in board and 'data-selection="unknown"' in board
    script = (Path(CATALOG).parent / "site" / "assets" / "vpeft.js").read_text(encoding="utf-8")
    assert "setupBoardFilters" in script and "best-test-epoch" in script


def test_a_test_set_selected_row_carries_its_selection(small_catalog: Path) -> None:
    scores = {"cub200_2011": 80.0, "nabirds": 70.0, "oxford_flowers": 90.0, "stanford_dogs": 60.0,
              "stanford_cars": 50.0}
    table = {"id": "t", "benchmark": "fgvc", "backbone": "ViT-B/16",
             "source": {"name": "Paper T", "kind": "paper", "url": "https://example.org", "table": "Table 2"},
             "protocol": {"model_selection": "best-test-epoch"},
             "rows": [{"label": "Alpha", "method": "alpha", "params_m": 0.1, "scores": scores}]}
    (small_catalog / "results").mkdir()
    (small_catalog / "results" / "t.yaml").write_text(yaml.safe_dump(table), encoding="utf-8")
    page = render_site(valid_catalog(str(small_catalog)), trainable={}).pages["leaderboard/fgvc.md"]
    line = _line(page, "method:alpha")
    assert 'data-col-kind="paper" data-selection="best-test-epoch"' in line and "Table 2" in line


def test_the_plot_has_one_point_per_method_paper_reported_first() -> None:
    board = _board_html(VTAB, VIT)
    first = re.search(r'<figure class="vpeft-figure">(.*?)</figure>', board, re.S)
    assert first and "Paper-reported" in first.group(0)
    [mb] = [b for b in method_boards(CAT, CAT.benchmarks["vtab-1k"], "leaderboard/vtab-1k.md") if b.backbone == VIT]
    drawn = [ln for ln in mb.lines if ln.cells[0] is not None and ln.cells[0].params.sort]
    assert first.group(1).count('class="point') == len(drawn)
    assert "<details><summary>The same plot with" in board


def test_per_task_view_shows_lineage_and_protocol() -> None:
    per_task = VTAB[VTAB.index('<h2 id="per-task">'):]
    assert 'id="vpetl-bench-vtab-1k"' in per_task and 'id="noah-paper-vtab-1k"' in per_task
    assert "copied from hydra-paper-vtab-1k-readme, row &#39;SSF&#39;" in per_task
    assert "produced by: not-own-code" in per_task and "model selection val200-then-retrain" in per_task


@pytest.mark.parametrize("method_id", sorted({r.method for t in CAT.results.values() for r in t.rows if r.method}
                                             | {"vpt"}))
def test_a_method_with_results_shows_all_of_them_on_its_page(method_id: str) -> None:
    entry = CAT.methods[method_id]
    page = SITE.pages[f"method/{method_id}.md"]
    members = family_ids(CAT, entry)
    rows = [(t, r) for t in CAT.results.values() for r in t.rows if r.method in members]
    assert rows, method_id
    body = page[page.index('<h2 id="results">'):page.index('<h2 id="cite">')]
    assert body.count("<tr>") == len(rows) + 1  # the header row too
    for table, row in rows:
        assert str(escape(row.label)) in body and table.source.name.split(" ")[0] in body


def test_vpt_page_shows_deep_and_shallow_rows_with_lineage() -> None:
    page = SITE.pages["method/vpt.md"]
    assert "VPT-D [ECCV22][4]" in page and "VPT-S [ECCV22][4]" in page and "VPT-Shallow (vpt_shallow)" in page
    assert "copied from noah-paper-vtab-1k, row &#39;VPT [19]&#39;" in page
    assert "model selection val200-then-retrain" in page
    implementation = page[page.index('<h2 id="implementation">'):page.index('<h2 id="cost">')]
    assert "Through its variants:" in implementation and "VPT-Deep" in implementation
    assert "None yet" not in implementation
    assert "None yet" in SITE.pages["method/snell.md"]  # no implementation, no implemented variant


def test_lineage_groups_join_the_vpetl_rows_to_their_sources() -> None:
    groups = lineage_groups(CAT)
    ssf = {ref for ref in groups if ref.label == "SSF" and ref.table in ("vpetl-bench-vtab-1k",
                                                                         "hydra-paper-vtab-1k-readme")}
    assert len(ssf) == 2 and len({groups[r] for r in ssf}) == 1


def test_hmdb51_plot_puts_the_frozen_backbone_on_the_front_and_says_what_is_plotted() -> None:
    page = SITE.pages["leaderboard/hmdb51.md"]
    board = page[page.index(">Video Swin-B</h2>"):page.index('<h2 id="per-task">')]
    svg = board[board.index("<svg"):board.index("</svg>")]
    on_front = re.findall(r'<g class="point on-front"><title>([^:]+):', svg)
    assert sorted(on_front) == ["BAPAT", "Frozen backbone"]  # 0 M and 71.28 beats LoRA, BitFit and AdaptFormer
    for name in ("LoRA", "BitFit", "AdaptFormer"):
        assert f'<g class="point"><title>{name}:' in svg
    caption = board[board.index("<figcaption>"):board.index("</figcaption>")]
    assert "top-1 accuracy (%)" in caption and "Average score" not in page and "baselines included" in caption
    assert "Frozen backbone is drawn in the column marked 0" in caption
    assert ">top-1 accuracy (%)</text>" in svg  # the y axis names the task's metric


def test_every_board_with_plottable_lines_has_a_plot_coco_included() -> None:
    for bench in CAT.benchmarks.values():
        here = f"leaderboard/{bench.id}.md"
        page = SITE.pages[here]
        for mb in method_boards(CAT, bench, here):
            start = page.index(f'<h2 id="{mb.anchor}">')
            section = page[start:page.index("<h2", start + 1)]
            plottable = sum(1 for ln in mb.lines if ln.cells[1 if len(mb.columns) > 1 else 0] is not None)
            has_points = any(len([ln for ln in mb.lines if ln.cells[i] and ln.cells[i].value.sort
                                  and ln.cells[i].params.sort]) >= 2 for i in range(len(mb.columns)))
            assert ('class="vpeft-plot"' in section) == has_points, (bench.id, mb.backbone, plottable)
            assert has_points or "No plot: fewer than two lines" in section
    coco = SITE.pages["leaderboard/coco.md"]
    assert coco.count('class="vpeft-plot"') >= 1 and ">AP box (%)</text>" in coco


def test_rank_and_best_of_each_column() -> None:
    [board] = [b for b in method_boards(CAT, CAT.benchmarks["hmdb51"], "x.md") if b.backbone == "Video Swin-B"]
    values = [float(ln.cells[board.rank_by].value.sort) for ln in board.lines]
    assert values == sorted(values, reverse=True)
    assert [ln.rank.text for ln in board.lines] == [str(k + 1) for k in range(len(values))]
    best = [ln.name.text for ln in board.lines if ln.cells[board.rank_by].value.best]
    assert best == ["BAPAT"] and board.lines[0].cells[board.rank_by].value.heat == 9
    assert board.lines[-1].cells[board.rank_by].value.heat == 0
    # on the page: the best number is marked in the per-method board and in the per-task table
    page = SITE.pages["leaderboard/hmdb51.md"]
    assert '<strong title="best of this column">71.93</strong>' in page
    # (the per-task cell shows the score as stored, 71.93, not rounded to one decimal)
    assert re.search(r'class="vpeft-best" title="best of this column" data-heat="9">71\.93<', page)


def test_equal_numbers_share_a_rank() -> None:
    from vpeft.site.boards import Column, Line, MethodBoard, SourceCell, ranked
    from vpeft.site.views import Cell, Link

    def line(name: str, value: str) -> Line:
        cell = SourceCell("paper", Cell(value, value), Cell(""), Link("s", None), name, None, "unknown", "unknown",
                          None, Cell(""), [])
        return Line(name, Link(name, None), "method", Cell(""), [cell if value else None])

    board = ranked(MethodBoard("B", "b", "m", [Column("paper", "Paper-reported", None)],
                               [line("c", "60.0"), line("none", ""), line("a", "70.0"), line("b", "70.0")]))
    assert [(ln.key, ln.rank.text) for ln in board.lines] == [("a", "1"), ("b", "1"), ("c", "3"), ("none", "–")]
    assert [ln.cells[0].value.best for ln in board.lines[:3]] == [True, True, False]


def test_a_table_of_a_paper_without_catalog_entry_is_nobodys_own_paper() -> None:
    # LoRA has no variant_of (None): a table with `paper: null` must not count as LoRA's own paper
    from vpeft.site.boards import _own_paper, entries
    [lora] = [e for e in entries(CAT, CAT.benchmarks["vtab-1k"], VIT)
              if e.table.source.paper is None and e.row.method == "lora"][:1]
    assert CAT.methods["lora"].variant_of is None
    assert not _own_paper(CAT, lora)
    noah = next(e for e in entries(CAT, CAT.benchmarks["vtab-1k"], VIT) if e.table.id == "noah-paper-vtab-1k"
                and e.row.method == "noah")
    assert _own_paper(CAT, noah)


@pytest.mark.parametrize("bench", ["vtab-1k", "fgvc"])
def test_the_backbone_with_most_lines_comes_first(bench: str) -> None:
    """The page opens on the benchmark's main setting, not on the alphabetically first backbone label (FGVC has a
    bare 'ViT-B/16' board of one ablation table)."""
    found = method_boards(CAT, CAT.benchmarks[bench], "x.md")
    sizes = [len(b.lines) for b in found]
    assert sizes == sorted(sizes, reverse=True) and found[0].backbone == VIT
    assert [b.anchor for b in found] == [f"backbone-{n + 1}" for n in range(len(found))]


def test_methods_without_a_paper_number_are_asked_for() -> None:
    """A board names its methods that only a benchmark or a reproduction backs, never a baseline, a method with a
    paper number, or a row no catalog method owns; the page asks for their page and table."""
    from dataclasses import replace

    from vpeft.site.boards import Column, Line, MethodBoard, SourceCell, wanted
    from vpeft.site.views import Cell, Link

    def line(name: str, kind: str, paper: bool, bench: bool, method: str | None = "m") -> Line:
        def cell(source: str) -> SourceCell:
            return SourceCell(source, Cell("50.0", "50.0"), Cell(""), Link("s", None), name, None, "unknown",
                              "unknown", None, Cell(""), [])
        return Line(name, Link(name, f"method/{name}.html"), kind, Cell(""),
                    [cell("paper") if paper else None, cell("benchmark") if bench else None], method=method)

    columns = [Column("paper", "Paper-reported", None), Column("benchmark", "V-PETL Bench", "t")]
    board = MethodBoard("B", "b", "m", columns, [
        line("Zeta", "method", False, True), line("alpha", "method", False, True), line("Has", "method", True, True),
        line("Full", "baseline", False, True, None), line("odd row", "unidentified", False, True, None)])
    assert [link.text for link in wanted(board)] == ["alpha", "Zeta"]
    no_paper_column = MethodBoard("B", "b", "m", columns[1:], [replace(ln, cells=ln.cells[1:]) for ln in board.lines])
    assert [link.text for link in wanted(no_paper_column)] == ["alpha", "Has", "Zeta"]

    [vit] = [b for b in method_boards(CAT, CAT.benchmarks["vtab-1k"], "x.md") if b.backbone == VIT]
    asked = {link.text for link in vit.wanted}
    with_paper = {ln.name.text for ln in vit.lines if ln.cells[0] is not None}
    assert asked and not asked & with_paper
    assert {CAT.methods[m].name for m in ("dtl", "gps", "sct")} <= asked, asked  # V-PETL Bench rows only
    board_html = _board_html(VTAB, VIT)
    assert 'class="vpeft-wanted"' in board_html and "vpeft results new --method ID --benchmark vtab-1k" in board_html
    assert 'href="../contributing.html#result-tables"' in board_html
