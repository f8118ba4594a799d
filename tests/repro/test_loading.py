"""Data loading: the decoded-image cache gives the pixels a fresh decode gives and keeps to its budget; the worker
default; the evaluation count of the time estimate; the sweep's jobs and what counts as done."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from vpeft.repro import data as data_mod
from vpeft.repro.data import ImageCache, default_workers, loader
from vpeft.repro.plan import eval_images
from vpeft.repro.recipe import TaskSettings
from vpeft.repro.runner import Options, Prepared, resolve_run
from vpeft.repro.sweep import Job, is_done, jobs_of

from tests.conftest import CATALOG


def _images(folder: Path, count: int, size: int = 12) -> list[tuple[str, int]]:
    rng = np.random.default_rng(0)
    samples = []
    for i in range(count):
        name = f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(folder / name)
        samples.append((name, i % 2))
    return samples


def _batches(folder: Path, samples: list[tuple[str, int]], cache: ImageCache | None) -> list[torch.Tensor]:
    return [x for x, _ in loader(folder, samples, 8, "half", 4, train=False, cache=cache)]


def test_the_cache_gives_the_pixels_of_a_fresh_decode(tmp_path: Path) -> None:
    samples = _images(tmp_path, 6)
    cache = ImageCache(budget=1 << 20)
    cached = _batches(tmp_path, samples, cache)
    assert len(cache.images) == 6 and cache.bytes == 6 * 12 * 12 * 3
    for path, _ in samples:
        (tmp_path / path).unlink()  # the second epoch reads the cache only
    assert all(torch.equal(a, b) for a, b in zip(cached, _batches(tmp_path, samples, cache), strict=True))


def test_a_split_over_the_budget_is_not_cached_and_still_loads(tmp_path: Path) -> None:
    samples = _images(tmp_path, 6)
    cache = ImageCache(budget=5 * 12 * 12 * 3)  # one image short: the split is cached whole or not at all
    plain = _batches(tmp_path, samples, None)
    assert all(torch.equal(a, b) for a, b in zip(plain, _batches(tmp_path, samples, cache), strict=True))
    assert cache.images == {} and cache.bytes == 0


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data_mod.CACHE_ENV, "3")
    assert ImageCache().budget == 3 << 20
    monkeypatch.setenv(data_mod.CACHE_ENV, "0")
    assert ImageCache().budget == 0


def test_loader_workers_default_from_the_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_mod.os, "cpu_count", lambda: 16)
    assert default_workers(smoke=False) == 8
    monkeypatch.setattr(data_mod.os, "cpu_count", lambda: 4)
    assert default_workers(smoke=False) == 3
    monkeypatch.setattr(data_mod.os, "cpu_count", lambda: 1)
    assert default_workers(smoke=False) == 0
    assert default_workers(smoke=True) == 0


BASE = {"backbone": "x", "optimizer": "adamw", "epochs": 10, "warmup_epochs": 0, "warmup_lr_init": 0.0,
        "min_lr": 0.0, "batch_size": 8, "drop_path": 0.0, "label_smoothing": 0.0, "train_aug": False,
        "image_size": 32, "normalisation": "half", "runs": 1, "precision": "fp32", "interpolation": "bicubic",
        "antialias": True, "scheduler": "timm-cosine", "scheduler_step": "epoch-start", "cooldown_epochs": 0,
        "drop_last": False, "weight_decay_skip": "none"}


def test_the_estimate_counts_every_evaluation() -> None:
    grid = TaskSettings(**BASE, model_selection="val200-grid-then-retrain", eval_every=5, lr_grid=[0.1, 1.0],
                        weight_decay_grid=[0.0, 1e-4, 1e-3])
    # 6 grid trials x 200 val images x 2 evaluations (epochs 5, 10), then the retrain's 2 test evaluations
    assert eval_images(grid, 200, 1000) == 6 * 200 * 2 + 1000 * 2
    best_val = TaskSettings(**BASE, model_selection="best-val-epoch", eval_every=1, lr=0.1, weight_decay=0.0)
    assert eval_images(best_val, 200, 1000) == 200 * 10 + 1000
    last = TaskSettings(**BASE, model_selection="last-epoch", eval_every=1, eval_epochs=[3, 7], lr=0.1,
                        weight_decay=0.0)
    assert eval_images(last, 200, 1000) == 1000 * 3  # epochs 3, 7 and the last one
    assert eval_images(last, 200, None) == 0


def _plan(tmp_path: Path, tasks: str, seeds: list[int] | None) -> tuple[Options, Prepared]:
    from vpeft.catalog.service import valid_catalog

    opts = Options(method="vpt", tasks=tasks, smoke=True, seeds=seeds, out=tmp_path, catalog=str(CATALOG))
    catalog = valid_catalog(str(CATALOG))
    bench = catalog.benchmarks["vtab-1k"]
    return opts, Prepared(catalog, bench, resolve_run(opts, catalog, bench), None, None)


def test_sweep_jobs_are_the_grid_then_a_retrain_per_task_and_seed(tmp_path: Path) -> None:
    opts, ready = _plan(tmp_path, "svhn,eurosat", [1, 2])
    groups = jobs_of(opts, ready)
    assert set(groups) == {(1, "svhn"), (1, "eurosat"), (2, "svhn"), (2, "eurosat")}
    # the smoke grid (VPT trains with SGD) is [0.1, 0.025] x [1e-4]; eurosat's VPT rule is last-epoch (the
    # recipe's per_task): one job
    assert [j.kind for j in groups[1, "svhn"]] == ["grid", "grid", "retrain"]
    assert [j.name for j in groups[2, "eurosat"]] == ["eurosat seed 2 task"]
    assert groups[1, "svhn"][0].name == "svhn seed 1 grid lr=0.1 wd=0.0001"


def test_a_job_is_done_when_the_single_run_would_skip_it(tmp_path: Path) -> None:
    opts, _ = _plan(tmp_path, "svhn", [1, 2])
    grid = Job(1, "svhn", "grid", 0.01, 1e-4)
    retrain = Job(1, "svhn", "retrain")
    assert not is_done(opts, grid) and not is_done(opts, retrain)
    (tmp_path / "seed-1" / "tasks" / "svhn" / "grid-lr0.01-wd0.0001").mkdir(parents=True)
    (tmp_path / "seed-1" / "tasks" / "svhn" / "grid-lr0.01-wd0.0001" / "done.json").write_text("{}")
    assert is_done(opts, grid) and not is_done(opts, retrain)
    (tmp_path / "seed-1" / "tasks" / "svhn" / "result.json").write_text("{}")
    assert is_done(opts, retrain) and is_done(opts, Job(1, "svhn", "grid", 0.0025, 1e-4))
    assert not is_done(opts, Job(2, "svhn", "retrain"))
