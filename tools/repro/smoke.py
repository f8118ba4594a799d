"""`--smoke`: a tiny VTAB-layout folder made of scikit-learn's digits (real 8x8 images), and the settings that
run the whole pipeline on a CPU in well under two minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..catalog.models import Benchmark
from .backbone import SMOKE_NAME, SMOKE_VIT

# one task per group whose class count digits can fill (label = digit % classes)
SMOKE_TASKS = ("svhn", "eurosat", "clevr_count")
TEST_SIZE = 400
BACKBONE_FILE = "smoke-vit.safetensors"


def smoke_settings(optimizer: str | None) -> dict[str, Any]:
    """Overrides of the recipe: tiny model and schedule; the recipe's selection rule is kept."""
    opt = optimizer or "adamw"
    lr = 0.1 if opt == "sgd" else 1e-2
    return {
        "backbone": SMOKE_NAME, "optimizer": opt, "epochs": 3, "warmup_epochs": 1, "warmup_lr_init": lr / 10,
        "min_lr": 0.0, "batch_size": 50, "image_size": SMOKE_VIT["img_size"], "drop_path": 0.0, "train_aug": False,
        "label_smoothing": 0.0, "eval_every": 1, "lr": lr, "weight_decay": 1e-4, "lr_grid": [lr, lr / 4],
        "weight_decay_grid": [1e-4], "lr_base_batch": None, "normalisation": "half",
        # the recipe's schedule length and evaluation epochs are for 100 epochs; the smoke runs 3, every one evaluated
        "cooldown_epochs": 0, "cosine_epochs": None, "eval_epochs": None,
    }


# method options that the recipe sizes for ViT-B (width 768) and the tiny smoke ViT (width 32) cannot hold
SMOKE_METHOD_OPTIONS: dict[str, dict[str, Any]] = {"sct": {"method.n_channels": 8}}


def smoke_method_options(implementation: str) -> dict[str, Any]:
    return dict(SMOKE_METHOD_OPTIONS.get(implementation, {}))


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images * (255.0 / 16.0)).astype(np.uint8), digits.target


def pretrain_backbone(path: Path, steps: int = 150, seed: int = 0) -> Path:
    """A "pretrained" smoke backbone: the tiny ViT trained briefly on all digits, saved as safetensors.

    A random frozen backbone gives features a linear head cannot use, so methods that train little (linear
    probing, prompts) would fail the smoke check for reasons that have nothing to do with the pipeline.
    """
    if path.is_file():
        return path
    import torch
    from safetensors.torch import save_file
    from timm.models.vision_transformer import VisionTransformer

    torch.set_num_threads(1)  # tiny tensors: more threads only spin, badly so on a busy machine
    images, target = _digits()
    size = SMOKE_VIT["img_size"]
    x = torch.tensor(images, dtype=torch.float32)[:, None].repeat(1, 3, 1, 1) / 255.0
    x = (torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", align_corners=False) - 0.5) / 0.5
    y = torch.tensor(target)
    torch.manual_seed(seed)
    model = VisionTransformer(**SMOKE_VIT, num_classes=10)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(x), (64,), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("head.")}
    save_file(state, str(path))
    return path


def make_data(root: Path, bench: Benchmark, tasks: tuple[str, ...] = SMOKE_TASKS) -> Path:
    """Write <root>/<folder>/images/*.png and the four split lists for each task; reuse a complete folder."""
    by_id = {t.id: t for t in bench.tasks}
    folders = {t: root / (by_id[t].folders[0] if by_id[t].folders else t) for t in tasks}
    todo = [t for t in tasks if not (folders[t] / "test.txt").is_file()]
    if not todo:
        return root
    images, target = _digits()
    order = np.random.default_rng(0).permutation(len(images))
    for task_id in todo:
        task, folder = by_id[task_id], folders[task_id]
        (folder / "images").mkdir(parents=True, exist_ok=True)
        classes = task.classes or 10
        lines = []
        for i in order[: 1000 + TEST_SIZE]:
            name = f"images/{i:04d}.png"
            Image.fromarray(images[i]).convert("RGB").save(folder / name)
            lines.append(f"{name} {int(target[i]) % classes}")
        splits = {"train800": lines[:800], "val200": lines[800:1000], "train800val200": lines[:1000],
                  "test": lines[1000:]}
        for split, rows in splits.items():
            (folder / f"{split}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def passed(accuracies: dict[str, float], bench: Benchmark) -> dict[str, bool]:
    """Smoke check: every task clearly above chance (twice the chance level), so the pipeline really learns."""
    classes = {t.id: t.classes or 2 for t in bench.tasks}
    return {t: acc >= 200.0 / classes[t] for t, acc in accuracies.items()}
