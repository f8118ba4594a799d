"""Recipe resolution, catalog checks of recipes, the weights loader, the schedule and the comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer
from vpeft.catalog.derived import aggregates
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import BenchmarkRecipe, Setting, Source
from vpeft.catalog.service import valid_catalog
from vpeft.catalog.validate import validate
from vpeft.errors import UserError
from vpeft.repro.backbone import SMOKE_VIT, load_weights
from vpeft.repro.compare import compare, row_of, table_lines
from vpeft.repro.recipe import find_recipe, parse_overrides, resolve
from vpeft.repro.schedule import lr_at

from tests.conftest import CATALOG

CAT = valid_catalog(str(CATALOG))
BENCH = CAT.benchmarks["vtab-1k"]


def test_lora_recipe_follows_noah_the_pipeline_of_the_compared_row() -> None:
    """V-PETL Bench's LoRA VTAB-1k row is NOAH's Table 1 row, so the recipe is NOAH's script, setting by setting."""
    recipe = find_recipe(CAT, "lora", ["lora"])
    res = resolve(recipe, "vtab-1k", BENCH.task_ids(), {})
    for s in res.tasks.values():
        assert (s.optimizer, s.lr, s.weight_decay, s.batch_size, s.epochs) == ("adamw", 0.001, 0.0001, 64, 100)
        assert (s.train_aug, s.label_smoothing, s.drop_path, s.precision) == (False, 0.0, 0.1, "fp32")
        assert (s.scheduler, s.scheduler_step, s.warmup_epochs, s.warmup_lr_init, s.min_lr) == (
            "timm-cosine", "after-epoch", 10, 1e-6, 1e-5)
        assert (s.interpolation, s.drop_last, s.weight_decay_skip) == ("bicubic", True, "1d-and-bias")
        assert s.eval_epochs == [1, *range(11, 100, 10), 100] and s.model_selection == "best-test-epoch"
        assert s.method_config == {"r": 8, "target": "qkv", "alpha": 8.0, "dropout": 0.1, "init": "official-reinit"}
        assert s.backbone == "vit_base_patch16_224.orig_in21k" and s.seed == 0
    assert "ZhangYuanhan-AI/NOAH" in res.source_of("lr") and "ZhangYuanhan-AI/NOAH" in res.source_of("method_config")
    assert (res.reference, res.reference_row) == ("noah-paper-vtab-1k", "LoRA [18]")  # NOAH produced the row
    assert res.tasks["svhn"].method_config["init"] == "official-reinit"


def test_vpt_maps_to_the_registry_method_and_scales_the_grid_lr() -> None:
    recipe = find_recipe(CAT, "vpt", ["vpt-deep"])
    assert recipe.implementation == "vpt-deep" and find_recipe(CAT, "vpt-deep", ["vpt-deep"]) is recipe
    res = resolve(recipe, "vtab-1k", ["svhn", "sun397"], {})
    assert res.tasks["svhn"].model_selection == "val200-grid-then-retrain"
    assert res.tasks["svhn"].scaled_lr(5.0) == pytest.approx(5.0 * 128 / 256)
    assert res.tasks["sun397"].method_config["num_tokens"] == 5 and res.tasks["sun397"].scaled_lr(12.5) == 12.5
    assert res.tasks["svhn"].scheduler == "vpt-warmup-cosine" and res.tasks["svhn"].weight_decay_skip == "head-bias"


def test_overrides_win_and_change_the_hash() -> None:
    recipe = find_recipe(CAT, "lora", ["lora"])
    plain = resolve(recipe, "vtab-1k", ["svhn"], {})
    changed = resolve(recipe, "vtab-1k", ["svhn"], parse_overrides(["lr=1e-4", "method.r=4"]))
    assert changed.tasks["svhn"].lr == 1e-4 and changed.tasks["svhn"].method_config["r"] == 4
    assert plain.digest() == resolve(recipe, "vtab-1k", ["svhn"], {}).digest() != changed.digest()


def test_an_unsourced_benchmark_uses_the_protocol_and_says_why() -> None:
    recipe = find_recipe(CAT, "mona", ["mona"])
    res = resolve(recipe, "vtab-1k", ["svhn"], {})
    assert (res.tasks["svhn"].lr, res.tasks["svhn"].optimizer) == (0.001, "adamw")
    assert res.source_of("lr").startswith("default: NOAH's VTAB-1k protocol: https://github.com/ZhangYuanhan-AI/NOAH")
    assert any(a.startswith("lr: no source covers vtab-1k for mona (") for a in res.assumed)
    assert res.notes[0].startswith("no source covers vtab-1k for mona")


def test_a_benchmark_without_protocol_needs_every_value() -> None:
    bare = find_recipe(CAT, "lora", ["lora"]).model_copy(update={"benchmarks": {}})
    with pytest.raises(UserError, match=r"^recipe lora \(ade20k\): backbone, optimizer, .* give --set backbone="):
        resolve(bare, "ade20k", ["ade20k"], {})
    with pytest.raises(UserError, match=r"optimizer: Input should be 'sgd' or 'adamw' \(task svhn\)"):
        resolve(find_recipe(CAT, "lora", ["lora"]), "vtab-1k", ["svhn"], {"optimizer": "lamb"})


def test_a_recipe_option_the_registry_lacks_is_listed_not_applied() -> None:
    recipe = find_recipe(CAT, "lora", ["lora"])
    block = recipe.benchmarks["vtab-1k"]
    assert isinstance(block, BenchmarkRecipe)
    extra = {**block.method_config, "gate": Setting(value=2.0, source=Source(section="a future option"))}
    recipe = recipe.model_copy(update={"benchmarks": {"vtab-1k": block.model_copy(update={"method_config": extra})}})
    res = resolve(recipe, "vtab-1k", ["svhn"], {})
    assert "gate" not in res.tasks["svhn"].method_config
    assert any(n.startswith("method.gate = 2.0: the registry method lora does not take it yet")
               for n in res.not_applied)
    # given with --set, the same option is passed on and fails loudly when the model is built
    forced = resolve(recipe, "vtab-1k", ["svhn"], {"method.gate": 2.0})
    assert forced.tasks["svhn"].method_config["gate"] == 2.0


def test_validation_checks_recipes(tmp_path: Path) -> None:
    import shutil

    root = Path(shutil.copytree(CATALOG, tmp_path / "catalog"))
    path = root / "recipes" / "lora.yaml"
    text = path.read_text().replace("        cub200_2011:\n", "        mnist:\n").replace("- lora\n", "- lorax\n", 1)
    text = text.replace("  vtab-1k: LoRA [18]\n", "  vtab-1k: LoRA-X\n", 1)
    path.write_text(text)
    catalog, problems = load_catalog(root)
    found = {(p.field, p.message) for p in validate(catalog) if p.file.endswith("lora.yaml")}
    assert ("benchmarks.fgvc.per_task.values.mnist", "unknown task of fgvc") in found
    assert ("compare_with[0]", "unknown method 'lorax'") in found
    assert ("reference_row.vtab-1k", "'noah-paper-vtab-1k' has no row labelled 'LoRA-X'") in found
    lines = text.splitlines()
    at = lines.index("      value: 100")  # epochs; drop its source block (source:, url, commit, section)
    path.write_text("\n".join(lines[:at + 1] + lines[at + 5:]) + "\n")
    _, problems = load_catalog(root)
    assert any("a value needs a source" in p.message for p in problems)
    bad = text.replace("      value: fp32\n", "      value: fp64\n", 1)
    path.write_text(bad)
    _, problems = load_catalog(root)
    assert any("precision" in p.field and "fp32" in p.message for p in problems)


def _tiny() -> VisionTransformer:
    return VisionTransformer(**SMOKE_VIT, num_classes=3)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_weights_load_from_local_files(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(1)
    source = _tiny()
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    path = tmp_path / f"w{suffix}"
    if suffix == ".pth":
        torch.save({"model": state}, path)  # wrapped, as training checkpoints usually are
    else:
        save_file(state, str(path))
    torch.manual_seed(2)
    target = _tiny()
    load_weights(target, path)
    assert torch.equal(target.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight)
    assert not torch.equal(target.head.weight, source.head.weight)  # the head is the new task's


def test_weights_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="file not found"):
        load_weights(_tiny(), tmp_path / "none.safetensors")
    (tmp_path / "w.ckpt").write_text("x")
    with pytest.raises(UserError, match=r"unsupported file type '\.ckpt'"):
        load_weights(_tiny(), tmp_path / "w.ckpt")
    big = VisionTransformer(**{**SMOKE_VIT, "embed_dim": 64}, num_classes=3)
    save_file({k: v.contiguous() for k, v in big.state_dict().items()}, str(tmp_path / "big.safetensors"))
    with pytest.raises(UserError, match=r": \S+ has shape \(.*64.*\), the model expects \(.*32.*\)$"):
        load_weights(_tiny(), tmp_path / "big.safetensors")


def test_schedule_warms_up_then_decays() -> None:
    lrs = [lr_at(e, 1.0, 10, 2, 0.1, 0.0) for e in range(10)]
    assert lrs[:3] == pytest.approx([0.1, 0.55, 0.5 * (1 + __import__("math").cos(0.2 * __import__("math").pi))])
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:], strict=False))


def test_comparison_uses_derived_means_and_every_reported_row() -> None:
    scores = {t: 50.0 + i for i, t in enumerate(BENCH.task_ids())}
    cmp = compare(CAT, BENCH, scores, ["lora"], "vpetl-bench-vtab-1k")
    expected = aggregates(row_of(scores), BENCH)
    assert cmp.mean == pytest.approx(59.0) and cmp.mean_of_group_means == expected.mean_of_group_means
    ref = cmp.reference()
    assert ref is not None and ref.label == "LoRA" and ref.mean is not None
    lines = table_lines(cmp, BENCH)
    reported = [r for t in CAT.results.values() if t.benchmark == BENCH.id for r in t.rows if r.method == "lora"]
    sources = [line for line in lines if line.startswith("[")]
    assert len(sources) == len(cmp.reported) == len(reported) > 1  # every stored LoRA row, each with its source
    [mean_line] = [line for line in lines if line.startswith("19-task mean")]
    assert f"{59.0 - ref.mean:+.2f}" in mean_line
    assert lines[-len(sources) - 1].startswith("mean of group means")
