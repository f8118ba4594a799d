"""Model-selection rules: which data each phase trains on and which number is reported for the task.

- last-epoch: train on train800val200, report test accuracy after the last epoch.
- best-val-epoch: train on train800, keep the epoch with the best val200 accuracy, report its test accuracy.
- best-test-epoch: train on train800val200, report the best test accuracy over the evaluations (this looks at the
  test set; only used when the published number did so, and the report says so).
- val200-grid-then-retrain (VPT): train on train800 for every (lr, wd) of the grid, pick the best val200 accuracy
  after the last epoch (ties: the smaller lr), retrain on train800val200, report the last-epoch test accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .layout import TaskData
from .recipe import TaskSettings
from .train import Context, Phase, best_model, evaluate, run_phase


def grid_points(s: TaskSettings) -> list[tuple[float, float]]:
    """The (lr, weight decay) pairs of the recipe's grid, in the order they are trained."""
    return [(lr, wd) for lr in s.lr_grid or [] for wd in s.weight_decay_grid or []]


def grid_phase_name(lr: float, wd: float) -> str:
    return f"grid-lr{lr:g}-wd{wd:g}"


def grid_trial(ctx: Context, data: TaskData, folder: Path, lr: float, wd: float) -> dict[str, Any]:
    """Train (or resume) one grid point on train800, evaluated on val200: a sweep runs each as its own job."""
    s = ctx.settings
    val = data.split_of("val")
    phase = Phase(grid_phase_name(lr, wd), data.samples("train"), {val: data.samples("val")}, s.scaled_lr(lr), wd)
    summary = run_phase(ctx, phase, folder / phase.name)
    return {"lr": lr, "weight_decay": wd, "val200_accuracy": summary["last"][f"{val}_accuracy"], "summary": summary}


def _grid(ctx: Context, data: TaskData, folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    s = ctx.settings
    trials = [grid_trial(ctx, data, folder, lr, wd) for lr, wd in grid_points(s)]
    best = max(trials, key=lambda t: (t["val200_accuracy"], -t["lr"]))
    final = Phase("final", data.samples("trainval"), {"test": data.samples("test")}, s.scaled_lr(best["lr"]),
                  best["weight_decay"])
    summary = run_phase(ctx, final, folder / "final")
    result = {"accuracy": summary["last"]["test_accuracy"], "selected": {"lr": best["lr"],
              "weight_decay": best["weight_decay"], "val200_accuracy": best["val200_accuracy"]}}
    return {**result, "phases": [t["summary"] for t in trials] + [summary]}, trials


def run_task(ctx: Context, data: TaskData, folder: Path) -> dict[str, Any]:
    """Train one task by its recipe's selection rule; returns accuracy, selection details and phase logs."""
    s: TaskSettings = ctx.settings
    rule = s.model_selection
    if rule == "val200-grid-then-retrain":
        result, _ = _grid(ctx, data, folder)
        return {"model_selection": rule, "looked_at_test": False, **result}
    lr, wd = s.scaled_lr(s.lr or 0.0), s.weight_decay or 0.0
    if rule == "best-val-epoch":
        val = data.split_of("val")
        phase = Phase("train", data.samples("train"), {val: data.samples("val")}, lr, wd, val)
        summary = run_phase(ctx, phase, folder / "train")
        test = evaluate(best_model(ctx, folder / "train"), ctx, data.samples("test"), "test")
        return {"model_selection": rule, "looked_at_test": False, "accuracy": test,
                "selected": summary["best"], "phases": [summary]}
    keep = "test" if rule == "best-test-epoch" else None
    phase = Phase("train", data.samples("trainval"), {"test": data.samples("test")}, lr, wd, keep)
    summary = run_phase(ctx, phase, folder / "train")
    if rule == "best-test-epoch":
        return {"model_selection": rule, "looked_at_test": True, "accuracy": summary["best"]["accuracy"],
                "selected": summary["best"], "phases": [summary]}
    return {"model_selection": rule, "looked_at_test": False, "accuracy": summary["last"]["test_accuracy"],
            "selected": {"epoch": summary["last"]["epoch"]}, "phases": [summary]}
