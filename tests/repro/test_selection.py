"""Model selection: which split each rule trains on, which epoch or grid point it keeps, which number it reports, and
whether the report says the number was chosen on the test set.

Training is replaced by a scripted trainer: each phase's accuracy per epoch comes from fixed curves, so the number a
rule reports is known in advance and the test reads like the recipe ("best val epoch is epoch 1, whose test
accuracy is 50").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from vpeft.repro import selection
from vpeft.repro.layout import TaskData
from vpeft.repro.recipe import TaskSettings
from vpeft.repro.train import Context, Phase

# accuracies after epochs 1, 2, 3 of a plain training phase
VAL_CURVE = [80.0, 60.0, 70.0]  # best val200 epoch: 1
TEST_CURVE = [50.0, 95.0, 70.0]  # last: 70, best: 95 (epoch 2), at the best val epoch: 50
SPLITS: dict[str, list[tuple[str, int]]] = {
    "train800": [("train/a.png", 0)],
    "val200": [("val/b.png", 1)],
    "train800val200": [("train/a.png", 0), ("val/b.png", 1)],
    "test": [("test/c.png", 2)],
}


def split_name(samples: list[tuple[str, int]]) -> str:
    return next(name for name, listed in SPLITS.items() if listed == samples)


@dataclass
class Model:
    epoch: int


@dataclass
class ScriptedTrainer:
    """run_phase / best_model / evaluate with known curves; a grid phase's last val200 accuracy comes from `grid`."""

    grid: dict[tuple[float, float], float] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)
    best_epoch: dict[Path, int] = field(default_factory=dict)
    evaluated: list[tuple[int, str]] = field(default_factory=list)

    def run_phase(self, ctx: Context, phase: Phase, folder: Path) -> dict[str, Any]:
        self.phases.append(phase)
        log = []
        for epoch in range(ctx.settings.epochs):
            entry: dict[str, Any] = {"epoch": epoch + 1}
            for split in phase.evals:
                entry[f"{split}_accuracy"] = (VAL_CURVE if split == "val200" else TEST_CURVE)[epoch]
            log.append(entry)
        if phase.name.startswith("grid"):
            log[-1]["val200_accuracy"] = self.grid[(phase.lr, phase.weight_decay)]
        best = None
        if phase.keep_best:
            epoch = max(range(len(log)), key=lambda i: log[i][f"{phase.keep_best}_accuracy"])
            best = {"epoch": epoch + 1, "accuracy": log[epoch][f"{phase.keep_best}_accuracy"]}
            self.best_epoch[folder] = epoch + 1
        return {"phase": phase.name, "lr": phase.lr, "weight_decay": phase.weight_decay, "log": log, "best": best,
                "last": log[-1]}

    def best_model(self, ctx: Context, folder: Path) -> Model:
        return Model(self.best_epoch[folder])

    def evaluate(self, model: Model, ctx: Context, samples: list[tuple[str, int]], desc: str) -> float:
        self.evaluated.append((model.epoch, split_name(samples)))
        return TEST_CURVE[model.epoch - 1]


def settings(rule: str, **extra: Any) -> TaskSettings:
    values: dict[str, Any] = {
        "backbone": "vit-b16-in21k", "optimizer": "adamw", "momentum": 0.9, "lr": 0.01, "lr_base_batch": None,
        "weight_decay": 0.0001, "epochs": 3, "warmup_epochs": 0, "warmup_lr_init": 0.0, "min_lr": 0.0,
        "batch_size": 64, "drop_path": 0.0, "label_smoothing": 0.0, "train_aug": False, "image_size": 32,
        "normalisation": "imagenet", "model_selection": rule, "eval_every": 1, "lr_grid": None,
        "weight_decay_grid": None, "runs": 1, "precision": "fp32", "interpolation": "bicubic", "antialias": True,
        "scheduler": "timm-cosine", "scheduler_step": "epoch-start", "cooldown_epochs": 0, "drop_last": False,
        "weight_decay_skip": "none",
    }
    return TaskSettings.model_validate({**values, **extra})


def run(rule: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trainer: ScriptedTrainer | None = None,
        **extra: Any) -> tuple[dict[str, Any], ScriptedTrainer]:
    trainer = trainer or ScriptedTrainer()
    for name in ("run_phase", "best_model", "evaluate"):
        monkeypatch.setattr(selection, name, getattr(trainer, name))
    ctx = Context(tmp_path, settings(rule, **extra), lambda: torch.nn.Identity(), torch.device("cpu"), seed=0)
    data = TaskData(task=None, folder=tmp_path, splits=SPLITS)  # type: ignore[arg-type]
    return selection.run_task(ctx, data, tmp_path), trainer


def test_last_epoch_trains_on_train_and_val_and_reports_the_last_test_accuracy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, trainer = run("last-epoch", tmp_path, monkeypatch)
    (phase,) = trainer.phases
    assert split_name(phase.train) == "train800val200", "last-epoch trains on train800val200 (the VTAB-1k rule)"
    assert (phase.lr, phase.weight_decay) == (0.01, 0.0001), "the recipe's lr and weight decay, unscaled"
    assert phase.keep_best is None, "last-epoch keeps no best epoch"
    assert result["accuracy"] == 70.0, "the test accuracy after the last epoch, not the best (95)"
    assert result["selected"] == {"epoch": 3}
    assert result["looked_at_test"] is False, "last-epoch never chooses on the test set"


def test_best_val_epoch_keeps_the_val_best_epoch_and_reports_its_test_accuracy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, trainer = run("best-val-epoch", tmp_path, monkeypatch)
    (phase,) = trainer.phases
    assert split_name(phase.train) == "train800", "best-val-epoch must not train on the val200 it selects with"
    assert list(phase.evals) == ["val200"] and phase.keep_best == "val200", "the epoch is chosen on val200"
    assert trainer.evaluated == [(1, "test")], "the kept epoch (1, best val200) is evaluated on test once"
    assert result["accuracy"] == 50.0, "the test accuracy of the best-val epoch, not the last (70) or best (95)"
    assert result["selected"] == {"epoch": 1, "accuracy": 80.0}
    assert result["looked_at_test"] is False, "the epoch was chosen on val200"
    assert result["model_selection"] == "best-val-epoch"


def test_best_test_epoch_reports_the_best_test_accuracy_and_says_it_looked_at_test(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, trainer = run("best-test-epoch", tmp_path, monkeypatch)
    (phase,) = trainer.phases
    assert split_name(phase.train) == "train800val200"
    assert phase.keep_best == "test"
    assert result["accuracy"] == 95.0, "the best test accuracy over the evaluations (epoch 2)"
    assert result["selected"] == {"epoch": 2, "accuracy": 95.0}
    assert result["looked_at_test"] is True, "a number chosen on the test set must be reported as such"


def test_vpt_grid_picks_the_best_val_point_smaller_lr_on_ties_then_retrains_on_train_and_val(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (0.1, 0.001) and (0.01, 0.0) tie on val200 at 75: the smaller lr wins
    grid = {(0.1 * 64 / 256, 0.0): 60.0, (0.1 * 64 / 256, 0.001): 75.0, (0.01 * 64 / 256, 0.0): 75.0,
            (0.01 * 64 / 256, 0.001): 40.0}
    trainer = ScriptedTrainer(grid=grid)
    result, trainer = run("val200-grid-then-retrain", tmp_path, monkeypatch, trainer, lr=None, lr_base_batch=256,
                          lr_grid=[0.1, 0.01], weight_decay_grid=[0.0, 0.001])
    *trials, final = trainer.phases
    assert len(trials) == 4 and all(split_name(p.train) == "train800" for p in trials), (
        "every grid point trains on train800 and is judged on val200")
    assert all(list(p.evals) == ["val200"] for p in trials)
    assert result["selected"] == {"lr": 0.01, "weight_decay": 0.0, "val200_accuracy": 75.0}
    assert split_name(final.train) == "train800val200", "the chosen point is retrained on train800val200"
    assert list(final.evals) == ["test"]
    assert (final.lr, final.weight_decay) == (0.01 * 64 / 256, 0.0), "the grid lr scaled by batch size / 256"
    assert result["accuracy"] == 70.0, "the last-epoch test accuracy of the retrained model"
    assert result["looked_at_test"] is False
    assert len(result["phases"]) == 5, "every trial and the final phase are recorded"


def test_a_grid_without_a_tie_takes_the_best_val_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = {(0.1, 0.0): 90.0, (0.01, 0.0): 75.0}
    result, trainer = run("val200-grid-then-retrain", tmp_path, monkeypatch, ScriptedTrainer(grid=grid), lr=None,
                          lr_grid=[0.1, 0.01], weight_decay_grid=[0.0])
    assert result["selected"]["lr"] == 0.1, "the larger lr wins when its val200 accuracy is higher"
    assert trainer.phases[-1].lr == 0.1, "no lr_base_batch: the grid lr is used as it is"
