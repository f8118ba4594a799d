"""`vpeft results list`: every stored row with source, protocol, lineage and computed means; filters; JSON and CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from vpeft.catalog.derived import aggregates
from vpeft.catalog.loader import load_catalog
from vpeft.cli import main

from tests.conftest import CATALOG

CATALOG_DATA, _ = load_catalog(CATALOG)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--catalog", str(CATALOG), "results", "list", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_lists_every_row_of_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json")
    rows = json.loads(out)
    assert code == 0
    assert len(rows) == sum(len(t.rows) for t in CATALOG_DATA.results.values())
    assert {r["table"] for r in rows} == set(CATALOG_DATA.results)


def test_method_filter_takes_the_variants_and_the_means_are_computed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--benchmark", "vtab-1k", "--method", "vpt", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["method"] for r in rows} == {"vpt", "vpt-deep", "vpt-shallow"}
    assert {r["benchmark"] for r in rows} == {"vtab-1k"}
    bench = CATALOG_DATA.benchmarks["vtab-1k"]
    vpetl = next(r for r in rows if r["table"] == "vpetl-bench-vtab-1k" and r["method"] == "vpt-deep")
    source = next(r for r in CATALOG_DATA.results["vpetl-bench-vtab-1k"].rows if r.method == "vpt-deep")
    assert vpetl["task_mean"] == round(aggregates(source, bench).task_mean or 0, 2)
    assert vpetl["copied_from"] == "convpass-paper-vtab-1k:VPT" and vpetl["produced_by"] == "copied"


def test_csv_has_a_header_and_protocol_columns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--method", "lora", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows and all(r["method"] == "lora" for r in rows)
    fact = next(r for r in rows if r["table"] == "fact-paper-vtab-1k")
    assert fact["model_selection"] == "val200-then-retrain" and fact["source_table"] == "Table 1"


def test_text_output_ends_with_a_count(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--method", "noah")
    assert code == 0 and out.strip().splitlines()[-1].startswith(f"{len(out.strip().splitlines()) - 2} row(s)")


@pytest.mark.parametrize(("argv", "start"), [
    (("--method", "nope"), "vpeft: error: --method: unknown method 'nope'"),
    (("--benchmark", "nope"), "vpeft: error: --benchmark: unknown benchmark 'nope'"),
])
def test_unknown_filters_are_one_line(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], start: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.startswith(start) and len(err.strip().splitlines()) == 1
