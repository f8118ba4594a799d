"""The benchmark's common protocol: the values a plan falls back on when a recipe (or a whole benchmark block) gives
none, each with the source it comes from. The plan names the protocol and says why it is used.

VTAB-1k: NOAH's training script, the pipeline of most VTAB-1k numbers that V-PETL Bench copies (LoRA, Adapter) and,
by the Convpass paper's Table 8, of the baselines it ran. FGVC: V-PETL Bench's own FGVC script (its LoRA lines), the
benchmark whose FGVC table the catalog compares with.
"""

from __future__ import annotations

from typing import Any

from ..catalog.models import BenchmarkRecipe

NOAH = "https://github.com/ZhangYuanhan-AI/NOAH/blob/e9c55f360be4f7f1133a08bf84f86f0309e98f8c/"
NOAH_SH = NOAH + "configs/LoRA/VTAB/slurm_train_lora_vtab.sh"
NOAH_PY = NOAH + "supernet_train_prompt.py"
VPETL = ("https://github.com/synbol/Parameter-Efficient-Transfer-Learning-Benchmark/blob/"
         "c188fad2930fa2d1c07a8a64848427fd24ce6006/ImageClassification/")
VPETL_SH = VPETL + "scripts/run_vit_lora.sh"
VPETL_CFG = VPETL + "configs/model_lora/fgvc/CUB_200_2011.yaml"
VPETL_PY = VPETL + "train/train_model_lora.py"


def _s(value: Any, url: str, section: str) -> dict[str, Any]:
    return {"value": value, "source": {"url": url, "section": section}}


_VTAB: dict[str, Any] = {
    "backbone": _s("vit_base_patch16_224.orig_in21k", NOAH + "README.md#L67", "ViT-B_16.npz (ImageNet-21k release)"),
    "optimizer": _s("adamw", NOAH_PY + "#L74", "--opt default adamw"),
    "lr": _s(0.001, NOAH_SH + "#L22", "for LR in 0.001"),
    "weight_decay": _s(0.0001, NOAH_SH + "#L12", "WEIGHT_DECAY=0.0001"),
    "epochs": _s(100, NOAH_SH + "#L36", "--epochs=100"),
    "warmup_epochs": _s(10, NOAH_PY + "#L107", "--warmup-epochs default 10"),
    "warmup_lr_init": _s(1e-6, NOAH_PY + "#L98", "--warmup-lr default 1e-6"),
    "min_lr": _s(1e-5, NOAH_PY + "#L100", "--min-lr default 1e-5"),
    "batch_size": _s(64, NOAH_SH + "#L36", "--batch-size=64"),
    "drop_path": _s(0.1, NOAH_PY + "#L59", "--drop-path default 0.1"),
    "label_smoothing": _s(0.0, NOAH_SH + "#L36", "--smoothing=0"),
    "train_aug": _s(False, NOAH_SH + "#L36", "--no_aug --mixup=0 --cutmix=0"),
    "image_size": _s(224, NOAH + "lib/datasets.py#L227-L235", "--direct_resize: Resize((224, 224))"),
    "normalisation": _s("imagenet", NOAH + "lib/datasets.py#L241", "IMAGENET_DEFAULT_MEAN/STD"),
    "model_selection": _s("best-test-epoch", NOAH_PY + "#L427-L431", "test every 10 epochs, keep the max"),
    "eval_every": _s(10, NOAH_PY + "#L205", "--val_interval default 10"),
    "eval_epochs": _s([1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 100], NOAH_PY + "#L427",
                      "epoch % 10 == 0 or epoch == epochs - 1 (0-based)"),
    "runs": _s(1, NOAH_PY + "#L170", "one run, --seed default 0"),
    "precision": _s("fp32", NOAH_PY + "#L188", "--amp off (store_true, not passed)"),
    "interpolation": _s("bicubic", NOAH + "lib/datasets.py#L233", "Resize(..., interpolation=3)"),
    "antialias": _s(True, NOAH + "lib/datasets.py#L233", "torchvision Resize on PIL images (antialiased)"),
    "scheduler": _s("timm-cosine", NOAH_PY + "#L367", "timm create_scheduler, --sched cosine"),
    "scheduler_step": _s("after-epoch", NOAH_PY + "#L414", "lr_scheduler.step(epoch) after each epoch"),
    "drop_last": _s(True, NOAH_PY + "#L280", "drop_last=True"),
    "weight_decay_skip": _s("1d-and-bias", NOAH_PY + "#L365", "timm create_optimizer (filter_bias_and_bn)"),
    "method_config": {},
}

_FGVC: dict[str, Any] = {
    "backbone": _s("vit_base_patch16_224.orig_in21k", VPETL_SH + "#L3", "model_checkpoint=ViT-B_16.npz"),
    "optimizer": _s("adamw", VPETL_PY + "#L172", "AdamW"),
    "lr": {"value": None, "note": "per data set (per_task)"},
    "weight_decay": _s(0.05, VPETL_SH + "#L6-L14", "--wd 5e-2 on the five FGVC lines"),
    "epochs": _s(100, VPETL_CFG + "#L7", "epochs: 100"),
    "warmup_epochs": _s(10, VPETL_CFG + "#L8", "warmup_epochs: 10"),
    "warmup_lr_init": _s(1e-6, VPETL_PY + "#L180-L181", "CosineLRScheduler warmup_lr_init"),
    "min_lr": _s(1e-5, VPETL_PY + "#L180-L181", "CosineLRScheduler lr_min"),
    "batch_size": _s(128, VPETL_CFG + "#L6", "batch_size: 128"),
    "drop_path": _s(0.1, VPETL_SH + "#L6", "--dpr 0.1"),
    "label_smoothing": _s(0.0, VPETL_CFG + "#L5", "labelsmoothing: 0."),
    "train_aug": _s(False, VPETL + "dataloader/transforms.py#L20-L31", "no RandAugment on the FGVC path"),
    "image_size": _s(224, VPETL + "dataloader/json_dataset.py#L35", "224 crops"),
    "normalisation": _s("imagenet", VPETL + "dataloader/transforms.py#L8-L10", "ImageNet mean and std"),
    "model_selection": _s("best-test-epoch", VPETL_PY + "#L60", "test when ep % 10 == 9, keep the best"),
    "eval_every": _s(10, VPETL_PY + "#L60", "ep % 10 == 9"),
    "runs": _s(1, VPETL_PY + "#L97", "--seed default 42"),
    "precision": _s("fp32", VPETL_PY + "#L50", "plain loss.backward(), no autocast"),
    "train_transform": _s("resize256-randomcrop224-flip", VPETL + "dataloader/transforms.py#L20-L40",
                          "Resize(256), RandomCrop(224), RandomHorizontalFlip"),
    "eval_transform": _s("resize256-centercrop224", VPETL + "dataloader/transforms.py#L20-L40",
                         "Resize(256), CenterCrop(224)"),
    "method_config": {},
    "per_task": {
        "source": {"url": VPETL_SH + "#L6-L14", "section": "--lr per data set"},
        "values": {"cub200_2011": {"lr": 0.001}, "nabirds": {"lr": 0.0002}, "oxford_flowers": {"lr": 0.001},
                   "stanford_dogs": {"lr": 0.00025}, "stanford_cars": {"lr": 0.002}},
    },
}

PROTOCOLS: dict[str, tuple[str, BenchmarkRecipe]] = {
    "vtab-1k": ("NOAH's VTAB-1k protocol", BenchmarkRecipe.model_validate(_VTAB)),
    "fgvc": ("V-PETL Bench's FGVC script", BenchmarkRecipe.model_validate(_FGVC)),
}
