"""Downloads: every table of the site as CSV and JSON, equal to what its page shows; and the compare data."""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from html.parser import HTMLParser

import pytest
from vpeft.catalog.service import valid_catalog
from vpeft.site import render_site
from vpeft.site.compare import DATA, compare_data
from vpeft.site.exports import Table, to_csv, to_json
from vpeft.site.links import page_url

from tests.conftest import CATALOG

CAT = valid_catalog(str(CATALOG))
SITE = render_site(CAT, trainable={})
DASH = "–"


class _Tables(HTMLParser):
    """Every <table id=...> of a page: its body rows, each cell as (text, data-sort or None, attributes of the row)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[tuple[dict[str, str], list[tuple[str, str | None]]]]] = {}
        self.table: str | None = None
        self.in_body = False
        self.cell: list[str] | None = None
        self.sort: str | None = None
        self.in_small = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and "id" in a:
            self.table = a["id"]
            self.tables[self.table] = []
        elif self.table and tag == "tbody":
            self.in_body = True
        elif self.table and self.in_body and tag == "tr":
            self.tables[self.table].append((a, []))
        elif self.table and self.in_body and tag in ("td", "th"):
            self.cell, self.sort = [], a.get("data-sort")
        elif tag in ("small", "sup") and self.cell is not None:
            self.in_small += 1  # the source notes under a number and note marks are not the cell's value

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table, self.in_body = None, False
        elif tag in ("small", "sup") and self.in_small:
            self.in_small -= 1
        elif tag in ("td", "th") and self.cell is not None and self.table:
            self.tables[self.table][-1][1].append(("".join(self.cell).strip(), self.sort))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.in_small:
            self.cell.append(data)


def tables_of(page: str) -> dict[str, list[tuple[dict[str, str], list[tuple[str, str | None]]]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def download_links(page: str, here: str) -> list[str]:
    """The docs-relative paths of the CSV and JSON links of a page."""
    hrefs = re.findall(r'<a href="([^"]+\.(?:csv|json))" download>', page)
    return [posixpath.normpath(posixpath.join(posixpath.dirname(page_url(here)), h)) for h in hrefs]


def load(path: str) -> dict:
    return json.loads(SITE.downloads[path])


def same_number(cell: tuple[str, str | None], value: float | None) -> bool:
    text, sort = cell
    if value is None:
        return text in (DASH, "") and not sort
    shown = float(sort if sort else text.split(" ")[0])
    return shown == pytest.approx(value, abs=1e-9)


def test_csv_and_json_carry_the_same_rows() -> None:
    table = Table("x", "T", ["Name", "Score", "Params (M)"],
                  [["a, \"b\"", 71.28, 0.0], ["c", None, 86.75], ["=HYPERLINK(1)", -0.5, None]])
    rows = list(csv.reader(io.StringIO(to_csv(table))))
    assert rows == [["Name", "Score", "Params (M)"], ['a, "b"', "71.28", "0"], ["c", "", "86.75"],
                    ["'=HYPERLINK(1)", "-0.5", ""]]  # a formula from an entry stays text in a spreadsheet
    assert json.loads(to_json(table))["rows"] == [{"Name": 'a, "b"', "Score": 71.28, "Params (M)": 0.0},
                                                  {"Name": "c", "Score": None, "Params (M)": 86.75},
                                                  {"Name": "=HYPERLINK(1)", "Score": -0.5, "Params (M)": None}]


@pytest.mark.parametrize("path", sorted(p for p in SITE.downloads if p.endswith(".csv")))
def test_every_csv_equals_its_json(path: str) -> None:
    data = load(path[:-4] + ".json")
    rows = list(csv.reader(io.StringIO(SITE.downloads[path])))
    assert rows[0] == data["columns"] and len(rows) == len(data["rows"]) + 1
    for line, obj in zip(rows[1:], data["rows"], strict=True):
        for text, column in zip(line, data["columns"], strict=True):
            value = obj[column]
            if isinstance(value, float):
                assert float(text) == value
            else:
                assert text == ("'" + value if value and value[0] in "=+-@\t\r" else value or "")


def test_every_download_link_of_every_page_exists_and_every_table_is_linked() -> None:
    linked = set()
    for here, page in SITE.pages.items():
        for path in download_links(page, here):
            assert path in SITE.downloads, (here, path)
            linked.add(path)
    tables = {p for p in SITE.downloads if p.startswith("downloads/") and p != DATA}
    assert tables - linked == set()


def test_the_methods_download_is_the_methods_table() -> None:
    [rows] = [v for k, v in tables_of(SITE.pages["methods.md"]).items() if k == "all-methods"]
    data = load("downloads/methods.json")["rows"]
    assert len(rows) == len(data) == len(CAT.methods)
    for (attrs, cells), obj in zip(rows, data, strict=True):
        assert attrs["data-method"] == obj["id"] and cells[0][0] == obj["Method"]
        # the page's numbers: best VTAB-1k mean, parameters counted by our registry and as published
        assert same_number(cells[1], obj["Best VTAB-1k mean"])
        assert same_number(cells[2], obj["Params counted (M)"]) and same_number(cells[3], obj["Params published (M)"])
        assert [c[0] for c in cells[4:6]] == [obj["Category"], obj["Venue"] or DASH]
        assert same_number(cells[6], obj["Year"])
        assert cells[7][0] == ", ".join(obj["Applications"].split("; ") if obj["Applications"] else [])
        assert (cells[8][0] == "code") == bool(obj["Code"]) and (obj["Code"] == (CAT.methods[obj["id"]].code_url or ""))


@pytest.mark.parametrize("bench", sorted(CAT.benchmarks))
def test_every_leaderboard_download_equals_its_table(bench: str) -> None:
    """Each table of a leaderboard has its own download links just above it; the JSON equals the table."""
    here = f"leaderboard/{bench}.md"
    page = SITE.pages[here]
    tables = tables_of(page)
    last_json = None
    checked = 0
    for match in re.finditer(r'<a href="([^"]+\.json)" download>|<table id="((?:board|table)-[^"]+)"', page):
        if match.group(1):
            last_json = posixpath.normpath(posixpath.join("leaderboard", match.group(1)))
            continue
        assert last_json is not None
        table_id = match.group(2)
        check = _check_method_board if table_id.startswith("board-") else _check_per_task
        check(tables[table_id], load(last_json))
        last_json, checked = None, checked + 1
    assert checked == len([t for t in tables if t.startswith(("board-", "table-"))]) > 0


def _check_per_task(rows: list, data: dict) -> None:
    columns = data["columns"]
    assert len(rows) == len(data["rows"])
    for (_, cells), obj in zip(rows, data["rows"], strict=True):
        assert cells[0][0].startswith(obj["Method"]) and cells[1][0] == obj["Kind"]
        assert same_number(cells[2], obj["Params (M)"])
        numbers = columns[3:-3]
        for cell, column in zip(cells[3:3 + len(numbers)], numbers, strict=True):
            assert same_number(cell, obj[column]), (obj["Method"], column)
        assert cells[-2][0] == obj["Lineage"] and cells[-1][0] == obj["Source"]


def _check_method_board(rows: list, data: dict) -> None:
    columns = data["columns"]
    sources = [c for c in columns[4:] if f"{c}: source" in columns]  # titles may hold a colon themselves
    assert len(rows) == len(data["rows"])
    for (_, cells), obj in zip(rows, data["rows"], strict=True):
        assert same_number(cells[0], obj["Rank"]) and cells[1][0] == obj["Method"] and cells[2][0] == obj["Kind"]
        assert same_number(cells[3], obj["Params (M)"])
        at = 4
        for source in sources:
            assert same_number(cells[at], obj[source]), (obj["Method"], source)
            at += 1
            if f"{source}: Δ" in obj:
                delta = obj[f"{source}: Δ"]
                assert same_number(cells[at], delta) or (cells[at][0] == "" and delta is None)
                at += 1
        assert at == len(cells)


@pytest.mark.parametrize("method", sorted({r.method for t in CAT.results.values() for r in t.rows if r.method}))
def test_every_method_results_download_equals_its_table(method: str) -> None:
    parent = CAT.methods[method].variant_of if CAT.methods[method].variant_of in CAT.methods else method
    for entry in {method, parent}:
        here = f"method/{entry}.md"
        rows = tables_of(SITE.pages[here])["method-results"]
        data = load(f"downloads/method/{entry}-results.json")["rows"]
        assert len(rows) == len(data) > 0
        for (_, cells), obj in zip(rows, data, strict=True):
            assert [c[0] for c in cells[:3]] == [obj["Benchmark"], obj["Backbone"], obj["Method"]]
            assert cells[3][0].startswith(obj["Row"]) and cells[4][0].startswith(obj["Result"])
            assert same_number(cells[5], obj["Params (M)"])


def test_compare_data_holds_every_method_and_the_leaderboard_numbers() -> None:
    data = json.loads(SITE.downloads[DATA])
    assert set(data["methods"]) == set(CAT.methods)
    assert data == json.loads(json.dumps(compare_data(CAT, {})))
    [hmdb] = [b for b in data["boards"] if b["benchmark"] == "HMDB51" and b["backbone"] == "Video Swin-B"]
    lora = hmdb["scores"]["lora"]
    assert lora["tasks"] == [62.12] and lora["params_m"] == 0.75 and lora["source"].startswith("V-PETL Bench")
    # the VTAB-1k headline of LoRA is the paper-reported number of its leaderboard line (NOAH's row)
    [vtab] = [b for b in data["boards"] if b["benchmark"] == "VTAB-1k" and b["backbone"] == "ViT-B/16 (ImageNet-21k)"]
    assert vtab["scores"]["lora"]["row"] == "LoRA [18]" and "NOAH" in vtab["scores"]["lora"]["source"]
    assert len(vtab["scores"]["lora"]["tasks"]) == 19 and vtab["headline"] == "average of the 3 group means"
    for board in data["boards"]:
        for method, score in board["scores"].items():
            assert method in CAT.methods and len(score["tasks"]) == len(board["tasks"])
            assert score["source_url"].startswith("https://")
