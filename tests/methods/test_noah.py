"""NOAH: the released per-task subnets (data), their counts on ViT-B/16, config errors, prompt bookkeeping, init."""

from __future__ import annotations

import math
from decimal import Decimal
from statistics import mean

import pytest
import torch
import yaml
from vpeft import methods
from vpeft.methods.counting import parameter_counts
from vpeft.methods.noah import released_subnets, subnet

from tests.methods.conftest import make_input, make_vit
from tests.methods.published import ROOT, VTAB_BENCHMARK

C = 768  # ViT-B/16 width
COMMIT = "e9c55f360be4f7f1133a08bf84f86f0309e98f8c"


def analytic(sizes: dict[str, tuple[int, ...]]) -> int:
    """Prompts d C, LoRA r (C + 3C) on the fused qkv, adapter d (C + 1) + (d C + C) where d > 0."""
    prompts = sum(sizes["visual_prompt_dim"]) * C
    lora = sum(r * (C + 3 * C) for r in sizes["lora_dim"])
    adapter = sum(d * (C + 1) + d * C + C for d in sizes["adapter_dim"] if d)
    return prompts + lora + adapter


def printed(table: str) -> str:
    rows = yaml.safe_load((ROOT / "catalog" / "results" / f"{table}.yaml").read_text())["rows"]
    return str(next(r["params_published"] for r in rows if r.get("method") == "noah")).removesuffix("M")


def test_released_subnets_cover_vtab_with_one_size_per_block() -> None:
    data = released_subnets()
    tasks = [t["id"] for t in yaml.safe_load(VTAB_BENCHMARK.read_text())["tasks"]]
    assert list(data["tasks"]) == tasks and data["commit"] == COMMIT
    for task, entry in data["tasks"].items():
        assert entry["file"].startswith(f"https://github.com/ZhangYuanhan-AI/NOAH/blob/{COMMIT}/experiments/NOAH/")
        sizes = subnet(task)
        assert all(len(v) == 12 and set(v) <= {0, 1, 5, 10} for v in sizes.values()), task


@pytest.mark.parametrize("task", ["cifar100", "svhn", "dtd"])
def test_task_subnet_count_on_vit_b16_is_analytic(task: str) -> None:
    got = parameter_counts("noah", "vit_base_patch16_224", task=task).trainable_excluding_head
    assert got == analytic(subnet(task))


def test_mean_over_released_subnets_is_the_printed_036m_not_043m() -> None:
    counts = [analytic(subnet(t)) for t in released_subnets()["tasks"]]
    assert round(Decimal(mean(counts)) / 10**6, 2) == Decimal(printed("convpass-paper-vtab-1k"))  # 0.36
    assert round(Decimal(mean(counts)) / 10**6, 2) == Decimal(printed("hydra-paper-vtab-1k-readme"))
    # the official counter (get_sampled_params_numel L609-L623) adds the dead model-level prompt (d_0 x C) and its
    # whole (100, C) position embedding: 0.44M; V-PETL Bench / NOAH's Table 1 print 0.43M, which neither gives
    official = [n + subnet(t)["visual_prompt_dim"][0] * C + 100 * C
                for n, t in zip(counts, released_subnets()["tasks"], strict=True)]
    assert round(mean(official) / 1e6, 3) == 0.443 and round(mean(counts) / 1e6, 3) == 0.360
    assert printed("vpetl-bench-vtab-1k") == "0.43"


def test_config_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="no released subnet for task 'cifar10'; tasks: cifar100"):
        methods.get("noah").config(task="cifar10")
    with pytest.raises(ValueError, match="adapter_dim must be a size >= 0"):
        methods.get("noah").config(adapter_dim=(1, -1))
    with pytest.raises(ValueError, match="lora_dim must be a size >= 0"):
        methods.get("noah").config(lora_dim=())
    model = make_vit()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="lora_dim has 3 sizes but the model has 2 blocks"):
        methods.apply(model, "noah", lora_dim=(1, 2, 3))
    with pytest.raises(ValueError, match="visual_prompt_dim has 12 sizes but the model has 2 blocks"):
        methods.apply(model, "noah", task="dtd")
    assert list(model.state_dict()) == list(before) and methods.applied(model) is None


@pytest.mark.parametrize("variant", ["cls", "avgpool-no-cls", "reg-tokens"])
@pytest.mark.parametrize("dims", [(3, 0), (0, 2), (2, 5)])
def test_prompts_are_gone_after_the_last_block(variant: str, dims: tuple[int, int]) -> None:
    plain, img = make_vit(variant), make_input(variant)
    model = methods.apply(make_vit(variant), "noah", visual_prompt_dim=dims).eval()
    with torch.no_grad():
        assert model.forward_features(img).shape == plain.forward_features(img).shape


@pytest.mark.parametrize(
    ("dims", "extra"), [((2, 0, 3), [0, 2, 2]), ((2, 3, 1), [0, 2, 3]), ((1, 0, 0), [0, 1, 1])]
)
def test_deeper_prompt_bookkeeping(dims: tuple[int, ...], extra: list[int]) -> None:
    """Prompts of a block followed by a prompt-free block travel on and stay with the next block's (official L360)."""
    plain, img = make_vit("patch4-img24"), make_input("patch4-img24")
    model = methods.apply(make_vit("patch4-img24"), "noah", visual_prompt_dim=dims).eval()
    seen: list[int] = []
    for blk in model.blocks:
        blk.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[1]))
    with torch.no_grad():
        assert model.forward_features(img).shape == plain.forward_features(img).shape
    n = plain.patch_embed.num_patches + 1
    assert seen == [n + e for e in extra]  # tokens entering each block


@pytest.mark.parametrize("size", [100, 10])
def test_prompt_init_is_the_supernet_xavier_bound(size: int) -> None:
    model = methods.apply(make_vit(), "noah", visual_prompt_dim=50, prompt_init_size=size)
    bound = math.sqrt(6.0 / ((size + 1) * 48))
    values = torch.cat([blk.noah_prompt.detach().flatten() for blk in model.blocks])
    assert values.abs().max() <= bound and values.abs().max() > 0.9 * bound


def test_sizes_given_with_a_task_replace_that_module_only() -> None:
    cfg = methods.get("noah").config(task="dtd", lora_dim=3)
    sizes = cfg.sizes(12)
    assert sizes["lora_dim"] == (3,) * 12
    assert sizes["visual_prompt_dim"] == subnet("dtd")["visual_prompt_dim"]
    assert methods.get("noah").config().sizes(2) == {k: (10, 10) for k in sizes}
