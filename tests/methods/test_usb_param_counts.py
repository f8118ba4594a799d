"""Exact trainable-parameter counts of the 2409.16434 study's own VTAB-1k runs against our implementations.

The study's repository logs for every run the trainable parameters without the head (`inserted_parameters` in
final_result.json). For the methods whose size was not tuned it is one number on all 19 tasks, and the catalog row
keeps it as stored (`params_published`, an integer). Our default configs of those methods build the same trainable
set on ViT-B/16, so the two counts must agree to the parameter, a check a rounded '0.10M' figure cannot make.
"""

from __future__ import annotations

import pytest
from vpeft import methods
from vpeft.catalog.service import valid_catalog
from vpeft.methods.counting import parameter_counts

from tests.conftest import CATALOG

TABLE_ID = "usb-repo-vtab-1k-final-runs"
MODEL = "vit_base_patch16_224"
BASELINES = {"full-fine-tuning": "full", "linear-probing": "linear"}  # baseline slug -> registry id

CATALOG_DATA = valid_catalog(str(CATALOG))
ROWS = [row for row in CATALOG_DATA.results[TABLE_ID].rows if row.params_published is not None]


def _registry_id(method: str | None, baseline: str | None) -> str | None:
    if baseline is not None:
        return BASELINES.get(baseline)
    entry = CATALOG_DATA.methods.get(method or "")
    return entry.implementation if entry is not None else None


CASES = [(row.label, _registry_id(row.method, row.baseline), int(row.params_published or "")) for row in ROWS]


@pytest.mark.parametrize(("label", "method_id", "stored"), CASES, ids=[c[0] for c in CASES])
def test_the_stored_count_equals_ours(label: str, method_id: str | None, stored: int) -> None:
    assert method_id is not None, f"{label}: no implementation to count"
    ours = parameter_counts(method_id, MODEL).trainable_excluding_head
    assert ours == stored, f"{label}: the study's run trained {stored} parameters without the head, {method_id} {ours}"


def test_every_fixed_size_row_is_checked() -> None:
    """The rows the table gives one count for, each tied to a registered implementation: none skipped."""
    checked = {method_id for _, method_id, _ in CASES}
    assert checked == {"full", "linear", "bitfit", "ln-tune", "difffit", "ssf"}
    assert checked <= set(methods.available())
