"""`vpeft results`' rows: the benchmark filter and what each row says about its printed mean.

A wrong filter lists another benchmark's numbers under the one asked for; a printed-mean kind on a row that prints
no mean sends a reader looking for a number the source does not have.
"""

from __future__ import annotations

import pytest
from vpeft.catalog.result_rows import records
from vpeft.catalog.service import valid_catalog

from tests.conftest import CATALOG

CAT = valid_catalog(str(CATALOG))


@pytest.mark.parametrize("bench_id", sorted({t.benchmark for t in CAT.results.values()}))
def test_a_benchmark_filter_lists_exactly_that_benchmarks_rows(bench_id: str) -> None:
    got = records(CAT, benchmark=bench_id)
    expected = sum(len(t.rows) for t in CAT.results.values() if t.benchmark == bench_id)
    others = sorted({r.benchmark for r in got} - {bench_id})
    assert others == [], f"`vpeft results --benchmark {bench_id}` lists rows of {others}"
    assert len(got) == expected, f"--benchmark {bench_id}: every row of its {expected} stored rows, no fewer"


def test_only_rows_that_print_a_mean_say_which_mean_it_is() -> None:
    for table in CAT.results.values():
        for row, rec in zip(table.rows, records(CAT.model_copy(update={"results": {table.id: table}})), strict=True):
            want = table.printed_mean if row.published.mean is not None else None
            assert rec.printed_mean_kind == want, (
                f"catalog/results/{table.id}.yaml, row {row.label!r}: printed mean {row.published.mean}, so "
                f"printed_mean_kind must be {want!r}, not {rec.printed_mean_kind!r}")
    kinds = [r.printed_mean_kind for r in records(CAT)]
    assert None in kinds and any(kinds), "the catalog has rows with and without a printed mean (else no test)"
