"""Every registered method has a recipe for VTAB-1k and FGVC (sourced, or explicitly unsourced with a reason), a
complete dry-run plan on both, and a passing smoke run: a new method cannot land without them."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import torch
from vpeft import methods
from vpeft.catalog.models import BenchmarkRecipe, Catalog, NoRecipe
from vpeft.catalog.service import valid_catalog
from vpeft.cli import main
from vpeft.repro import runner
from vpeft.repro.compare import compare
from vpeft.repro.plan import plan_lines
from vpeft.repro.recipe import find_recipe

from tests.conftest import CATALOG

CAT = valid_catalog(str(CATALOG))
REGISTRY = methods.available()
BENCHMARKS = ("vtab-1k", "fgvc")
SETTING_LINE = re.compile(r"^  (\w+)\s+(.*?) <- (.*)$")


@pytest.mark.parametrize("method", REGISTRY)
def test_every_registered_method_has_a_recipe_for_both_benchmarks(method: str) -> None:
    recipe = find_recipe(CAT, method, REGISTRY)
    assert recipe.id in CAT.recipes, f"{method}: no catalog/recipes file trains it"
    for bench in BENCHMARKS:
        block = recipe.benchmarks.get(bench)
        assert isinstance(block, BenchmarkRecipe | NoRecipe), f"{method}: no {bench} block (or an explicit reason)"


def _plan(method: str, bench_id: str) -> tuple[list[str], list[str]]:
    opts = runner.Options(method=method, benchmark=bench_id, dry_run=True)
    bench = runner._benchmark(CAT, bench_id)
    res = runner.resolve_run(opts, CAT, bench)
    cmp = compare(CAT, bench, dict.fromkeys(res.tasks, 0.0), res.compare_with, res.reference, res.reference_row)
    return plan_lines(res, bench, cmp, None, None, torch.device("cpu")), res.assumed


@pytest.mark.parametrize("bench_id", BENCHMARKS)
@pytest.mark.parametrize("method", REGISTRY)
def test_every_dry_run_plan_is_complete_and_sourced(method: str, bench_id: str) -> None:
    lines, assumed = _plan(method, bench_id)
    settings = {m.group(1): (m.group(2).strip(), m.group(3)) for m in map(SETTING_LINE.match, lines) if m}
    assert {"backbone", "optimizer", "epochs", "batch_size", "model_selection", "precision",
            "interpolation", "scheduler_step", "drop_last", "method_config"} <= set(settings)
    for name, (value, source) in settings.items():
        sourced = source.startswith(("https://", "default: ", "not used")) or "https://" in source
        defaulted = source.startswith("default (see assumed)") and any(a.startswith(f"{name}:") for a in assumed)
        registry_default = name == "method_config" and value == "{}"
        assert sourced or defaulted or registry_default, f"{method} {bench_id}: {name} has no source: {source}"
    assert any(line.startswith("compared row") for line in lines)
    assert "not applied (the reference pipeline did this; reproduce does not, yet):" in lines


def test_an_unsourced_benchmark_plan_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    """convpass published no FGVC setting: the plan runs the benchmark protocol and says so (tiny model: no hub)."""
    code = main(["reproduce", "convpass", "--dry-run", "--benchmark", "fgvc", "--model", "smoke-vit",
                 "--set", "image_size=16", "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: no source covers fgvc for convpass (the official repository" in out
    assert re.search(r"^  lr +per task: cub200_2011=0.001, .* <- default: V-PETL Bench's FGVC script", out, re.M)
    assert "estimated training time: needs --data-root" in out


def test_a_deprecated_backbone_alias_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    lines, _ = _plan("lora", "vtab-1k")
    assert "backbone: timm name vit_base_patch16_224.orig_in21k (exact checkpoint)" in lines
    opts = runner.Options(method="lora", dry_run=True, model="vit_base_patch16_224_in21k")
    res = runner.resolve_run(opts, CAT, CAT.benchmarks["vtab-1k"])
    cmp = compare(CAT, CAT.benchmarks["vtab-1k"], {}, [], None)
    text = "\n".join(plan_lines(res, CAT.benchmarks["vtab-1k"], cmp, None, None, torch.device("cpu")))
    assert "WARNING: backbone vit_base_patch16_224_in21k: timm maps this old name to " \
           "vit_base_patch16_224.augreg_in21k" in text


@cache
def _catalog(root: str, with_registry: bool = False) -> Catalog:
    return valid_catalog(root, with_registry)


@pytest.mark.slow
@pytest.mark.parametrize("method", REGISTRY)
def test_every_registered_method_passes_the_smoke(method: str, smoke_ready: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Its recipe (the smoke keeps the selection rule, scheduler and method options) trains the tiny ViT on one task
    above twice the chance level. Two epochs keep 22 methods affordable on a CPU."""
    monkeypatch.setattr(runner, "valid_catalog", _catalog)  # the catalog parses once, not once per method
    # sizes that fit the smoke ViT where a tuner's default does not (c3a's block size 256 > the width 32)
    tiny = [arg for k, v in methods.get(method).cls.tiny_model_options().items()
            for arg in ("--set", f"method.{k}={v}")]
    code = main(["reproduce", method, "--smoke", "--tasks", "svhn", "--data-root", str(smoke_ready),
                 "--no-progress", "--out", str(tmp_path / "out"), "--set", "epochs=2", *tiny])
    out, err = capsys.readouterr()
    assert code == 0, err[-2000:] + out[-2000:]
    assert "smoke check passed" in out
