"""The cost goals: the verdict per method, the reasons a miss needs, and the README table is not stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.bench.goals import (
    NOTES,
    Note,
    lora_vs_peft,
    read_notes,
    readme_text,
    table,
    unexplained,
    verdict,
)
from vpeft.bench.result import read_result
from vpeft.errors import UserError

from tests.conftest import ROOT
from tests.site.test_site_cost import _row, result


@pytest.mark.parametrize(("train", "activation", "merged", "missed"), [
    (0.9, 1.0, 1.03, ()),  # every bound is inclusive
    (0.91, 1.0, None, ("train",)),
    (0.5, 1.01, 0.97, ("activation",)),
    (0.5, 0.5, 1.031, ("merged",)),
    (0.5, 0.5, 0.969, ("merged",)),
    (1.2, 1.3, 1.2, ("train", "activation", "merged")),
])
def test_verdict(train: float, activation: float, merged: float | None, missed: tuple[str, ...]) -> None:
    row = _row("lora", train, 1, merged).model_copy(update={"activation_ratio": activation})
    assert verdict(row).missed == missed


def test_merged_off_with_the_backbones_modules_is_noise() -> None:
    row = _row("lora", 0.5, 1, 1.2).model_copy(update={"activation_ratio": 0.5, "merged_same_modules": True})
    assert verdict(row).missed == ()
    assert "1.200 noise (the backbone's exact modules)" in table(result(extra=[]).model_copy(
        update={"rows": [row]}), {})
    assert verdict(row.model_copy(update={"merged_same_modules": False})).missed == ("merged",)


def test_full_fine_tuning_and_reference_rows_are_held_to_no_goal() -> None:
    assert verdict(_row("full", 5.0, 1, 2.0)).missed == ()
    assert verdict(_row("peft-lora", 5.0, 1).model_copy(update={"reference": True})).missed == ()


def test_every_miss_needs_a_reason_and_every_reason_a_miss() -> None:
    res = result()  # vpt-deep: train 1.2 (missed); lora meets every goal
    assert unexplained(res, {}) == [f"vpt-deep: train missed, no reason in {NOTES}"]
    notes = {"vpt-deep": Note(train="longer sequence"), "lora": Note(merged="stale")}
    assert unexplained(res, notes) == [f"lora: merged met, but {NOTES} gives a reason"]
    text = table(res, {"vpt-deep": Note(train="prompts lengthen the sequence")})
    assert "| vpt-deep | 1.20 **no** |" in text and "train: prompts lengthen the sequence" in text
    assert "| lora | 0.75 yes | – | 0.50 yes | 1.01 yes | meets all |" in text


def test_lora_against_peft() -> None:
    peft = _row("peft-lora", 0.8, 1, 1.0).model_copy(update={"reference": True})
    res = result(extra=[peft])
    assert lora_vs_peft(res) == pytest.approx(0.75 / 0.8)
    assert "Our LoRA's train step is 0.94x peft's LoRA (goal ≤ 1.0: meets)" in table(res, {"vpt-deep": Note(train="x")})
    assert lora_vs_peft(result()) is None


def test_lora_slower_than_peft_with_equal_work_is_not_settled() -> None:
    work = {"train_flops": 100, "activation_bytes": 10}
    lora = _row("lora", 0.9, 1).model_copy(update=work)
    peft = _row("peft-lora", 0.8, 1).model_copy(update={**work, "reference": True})
    text = table(result(extra=[]).model_copy(update={"rows": [lora, peft]}), {"lora": Note(train="x")})
    assert "1.12x peft's LoRA (goal ≤ 1.0: **not settled** by this run" in text
    assert "FLOPs 1.000x, saved activations 1.000x" in text
    more = lora.model_copy(update={"train_flops": 101})
    text = table(result(extra=[]).model_copy(update={"rows": [more, peft]}), {"lora": Note(train="x")})
    assert "(goal ≤ 1.0: **misses**). Counted work, ours ÷ peft's: FLOPs 1.010x" in text


def test_bad_notes_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text("lora:\n  trian: typo\n")
    with pytest.raises(UserError, match=r"notes.yaml: lora.trian: Extra inputs are not permitted"):
        read_notes(path)
    path.write_text("- a list\n")
    with pytest.raises(UserError, match="expected a mapping"):
        read_notes(path)


def test_committed_table_is_current_and_every_miss_is_explained() -> None:
    readme, current, wanted = readme_text(ROOT)
    assert current == wanted, f"{readme} is stale: run `vpeft bench goals`"
    from vpeft.bench.goals import GOALS_RESULT

    assert unexplained(read_result(ROOT / GOALS_RESULT), read_notes(ROOT / NOTES)) == []
