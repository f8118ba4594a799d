"""`--search`: recipes that publish one learning rate get a val200 grid around it (marked as not sourced), then the
retrain; recipes with a grid keep theirs; the plan shows it and the run identity changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.cli import main
from vpeft.repro.recipe import SEARCH_LR_FACTORS
from vpeft.repro.runner import Options, resolve_run

from tests.conftest import CATALOG


def _resolved(method: str, search: bool, **extra: object):  # type: ignore[no-untyped-def]
    from vpeft.catalog.service import valid_catalog

    catalog = valid_catalog(str(CATALOG))
    opts = Options(method=method, search=search, catalog=str(CATALOG), **extra)  # type: ignore[arg-type]
    return resolve_run(opts, catalog, catalog.benchmarks["vtab-1k"])


def test_search_grids_around_the_recipes_own_lr_and_marks_it_not_sourced() -> None:
    plain, searched = _resolved("lora", False), _resolved("lora", True)
    for task, s in searched.tasks.items():
        before = plain.tasks[task]
        assert before.model_selection != "val200-grid-then-retrain" and before.lr is not None
        assert s.model_selection == "val200-grid-then-retrain"
        assert s.lr_grid == [before.lr * f for f in SEARCH_LR_FACTORS]
        assert s.weight_decay_grid == [before.weight_decay or 0.0]
    assert any("NOT SOURCED" in a for a in searched.assumed)
    assert "not sourced" in searched.source_of("lr_grid")
    assert searched.digest() != plain.digest()  # another protocol: another run identity


def test_a_recipe_with_a_grid_keeps_it() -> None:
    plain, searched = _resolved("vpt", False, tasks="svhn"), _resolved("vpt", True, tasks="svhn")
    assert searched.tasks == plain.tasks and searched.digest() == plain.digest()


def test_the_dry_run_shows_the_search(smoke_ready: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--catalog", str(CATALOG), "reproduce", "lora", "--smoke", "--search", "--tasks", "svhn",
                 "--data-root", str(smoke_ready), "--out", str(tmp_path), "--dry-run", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "val200-grid-then-retrain       <- --search (not the published protocol)" in out
    assert "lr_grid           [0.0025, 0.005, 0.01, 0.02, 0.04] <- default search grid (not sourced" in out
