"""A printed mean the scores do not give: a warning until the row records that the source prints it so
(`printed_as_is`), then a note; a listed field that agrees with the scores is an error (a stale mark)."""

from __future__ import annotations

from vpeft.catalog.result_checks import _mean_problems
from vpeft.catalog.service import valid_catalog

from tests.conftest import CATALOG

CATALOG_DATA = valid_catalog(str(CATALOG))
TABLE = CATALOG_DATA.results["noah-paper-vtab-1k"]
BENCH = CATALOG_DATA.benchmarks[TABLE.benchmark]
LORA = next(i for i, row in enumerate(TABLE.rows) if row.method == "lora")


def problems(rows_update: dict[int, list[str]]) -> list[tuple[str, str, str]]:
    rows = [row.model_copy(update={"printed_as_is": rows_update.get(i, row.printed_as_is)})
            for i, row in enumerate(TABLE.rows)]
    table = TABLE.model_copy(update={"rows": rows})
    return [(p.field, p.severity, p.message) for p in _mean_problems("t.yaml", table, BENCH)]


def test_the_real_table_lists_lora_74_5_as_printed_so() -> None:
    """NOAH's Table 1 prints LoRA's average as 74.5; its scores give 74.60: checked, so a note."""
    (lora,) = [p for p in problems({}) if p[0] == f"rows[{LORA}].published.mean"]
    assert lora[1] == "note" and "printed 74.5" in lora[2] and "74.604" in lora[2]
    assert "the mean of the group means computed from the task scores" in lora[2], (
        f"the message must say which mean the table prints (its printed_mean: mean-of-group-means): {lora[2]}")


def test_a_disagreeing_group_mean_names_its_group() -> None:
    table = CATALOG_DATA.results["convpass-paper-vtab-1k-readme"]
    found = {p.field: p.message for p in _mean_problems("t.yaml", table, CATALOG_DATA.benchmarks[table.benchmark])}
    message = found["rows[0].published.group_means.specialized"]
    assert "printed 83.36 but the group mean specialized computed from the task scores is 83.375" in message, (
        f"Full FT's specialized group mean: the message names the group, not the overall mean: {message}")


def test_an_unchecked_disagreement_is_a_warning_that_says_what_to_do() -> None:
    (lora,) = [p for p in problems({LORA: []}) if p[0] == f"rows[{LORA}].published.mean"]
    assert lora[1] == "warning" and "list the field in the row's printed_as_is" in lora[2]


def test_a_listed_field_that_agrees_is_an_error() -> None:
    adapter = next(i for i, row in enumerate(TABLE.rows) if row.method == "adapter-houlsby")
    stale = [p for p in problems({adapter: ["published.mean"]}) if p[0] == f"rows[{adapter}].printed_as_is"]
    assert stale == [(f"rows[{adapter}].printed_as_is", "error",
                      "'published.mean' agrees with the scores (or is no checked aggregate): remove it")]
