"""The numbers a reproduction run prints besides accuracy: the learning rate of each epoch, the images it trains
on, and the side-by-side comparison with the published rows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image
from timm.scheduler import CosineLRScheduler
from vpeft.catalog.service import valid_catalog
from vpeft.repro.compare import compare, table_lines
from vpeft.repro.data import ListDataset, loader, make_transform, resize_for_crop
from vpeft.repro.schedule import lr_at

from tests.conftest import CATALOG

CAT = valid_catalog(str(CATALOG))
VTAB = CAT.benchmarks["vtab-1k"]


# ---------------------------------------------------------------- schedule


@pytest.mark.parametrize(("epochs", "warmup", "warmup_init", "min_lr"), [(10, 2, 1e-4, 0.0), (7, 0, 0.0, 1e-3),
                                                                          (12, 3, 0.0, 1e-5)])
def test_lr_follows_timm_cosine_scheduler_stepped_per_epoch(epochs: int, warmup: int, warmup_init: float,
                                                            min_lr: float) -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    timm = CosineLRScheduler(opt, t_initial=epochs, lr_min=min_lr, warmup_t=warmup, warmup_lr_init=warmup_init)
    for epoch in range(epochs):
        expected = timm._get_lr(epoch)[0]
        got = lr_at(epoch, 0.1, epochs, warmup, warmup_init, min_lr)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), f"epoch {epoch}: {got} != timm's {expected}"


def test_lr_warms_up_linearly_then_decays_towards_min_lr() -> None:
    assert lr_at(0, 1.0, 10, 4, 0.2, 0.1) == pytest.approx(0.2), "epoch 0 of warm-up: warmup_lr_init"
    assert lr_at(2, 1.0, 10, 4, 0.2, 0.1) == pytest.approx(0.6), "half-way through warm-up"
    at_end = lr_at(4, 1.0, 10, 4, 0.2, 0.1)
    assert at_end == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 0.4))), "after warm-up: cosine of epoch/epochs"
    assert lr_at(10, 1.0, 10, 0, 0.0, 0.1) == pytest.approx(0.1), "the cosine ends at min_lr"


# ---------------------------------------------------------------- comparison


def test_a_partial_run_compares_the_mean_over_its_own_tasks() -> None:
    tasks = VTAB.task_ids()[:3]
    scores = {t: 60.0 + i for i, t in enumerate(tasks)}
    cmp = compare(CAT, VTAB, scores, ["lora"], "vpetl-bench-vtab-1k")
    assert cmp.tasks == tasks, "only the tasks that were run, in the benchmark's order"
    assert cmp.mean == pytest.approx(61.0), "mean over the 3 tasks run, not a 19-task mean with gaps"
    assert cmp.mean_of_group_means is None, "some groups have no score: no mean of group means"
    ref = cmp.reference()
    assert ref is not None and set(ref.scores) == set(tasks), "published rows are cut to the tasks run"
    published = [ref.scores[t] for t in tasks]
    assert ref.mean == pytest.approx(sum(published) / 3)  # type: ignore[arg-type]
    lines = table_lines(cmp, VTAB)
    mean_line = next(line for line in lines if line.startswith("mean "))
    assert f"{61.0 - ref.mean:+.2f}" in mean_line, "the difference of the means is ours minus theirs"
    assert not any(line.startswith("mean of group means") for line in lines)


def test_every_row_of_the_compared_methods_is_listed_with_its_source_and_the_reference_table_marked() -> None:
    scores = {t: 50.0 for t in VTAB.task_ids()}
    cmp = compare(CAT, VTAB, scores, ["lora", "vpt-deep"], "vpetl-bench-vtab-1k")
    methods = {r.label for r in cmp.reported}
    assert {"LoRA"} <= methods and len(cmp.reported) >= 2, f"rows of both methods, got {methods}"
    assert all(r.is_reference == (r.table == "vpetl-bench-vtab-1k") for r in cmp.reported), "rows of the reference"
    assert all(CAT.results[r.table].benchmark == VTAB.id for r in cmp.reported), "only tables of this benchmark"
    lines = table_lines(cmp, VTAB)
    assert lines[0].split() == ["task", "ours"] + [w for i in range(len(cmp.reported)) for w in (f"[{i + 1}]", "diff")]
    assert lines[-len(cmp.reported)].startswith("[1] ") and "(reference)" in "\n".join(lines[-len(cmp.reported):])
    assert any(line.startswith("19-task mean") for line in lines)
    assert cmp.reference() is not None


def test_no_reference_and_a_missing_published_score_print_a_dash() -> None:
    scores = {t: 50.0 for t in VTAB.task_ids()}
    cmp = compare(CAT, VTAB, scores, ["lora"], None)
    assert cmp.reference() is None
    cmp.reported[0].scores[VTAB.task_ids()[0]] = None
    cmp.reported[0].mean = None
    first = table_lines(cmp, VTAB)[1]
    assert first.split()[2:4] == ["-", "-"], f"no published score in [1]: no difference either ({first!r})"


# ---------------------------------------------------------------- data


def image(path: Path, colour: tuple[int, int, int] | int, size: tuple[int, int] = (12, 6), mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def test_eval_transform_resizes_the_whole_image_and_normalises() -> None:
    white = Image.new("RGB", (12, 6), (255, 255, 255))
    half = make_transform(8, "half", train_aug=False)(white)
    assert half.shape == (3, 8, 8), "a direct resize to size x size (no crop keeps the aspect)"
    assert torch.allclose(half, torch.ones_like(half)), "half: (1 - 0.5) / 0.5 = 1"
    imagenet = make_transform(8, "imagenet", train_aug=False)(white)
    assert imagenet[:, 0, 0].tolist() == pytest.approx([(1 - m) / s for m, s in zip(
        (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), strict=True)], rel=1e-4)


def test_train_augmentation_resizes_instead_of_cropping() -> None:
    aug = make_transform(16, "imagenet", train_aug=True)
    first = aug.transforms[0]
    assert first.size == (16, 16), "VTAB-1k recipes resize the whole image; timm's random crop is replaced"
    assert aug(Image.new("RGB", (40, 20), (10, 200, 30))).shape == (3, 16, 16)


def test_dataset_reads_split_paths_from_the_task_folder_as_rgb(tmp_path: Path) -> None:
    image(tmp_path / "images" / "a.png", 255, mode="L")  # grayscale files are common in VTAB tasks
    data = ListDataset(tmp_path, [("images/a.png", 7)], make_transform(4, "half", False))
    x, label = data[0]
    assert len(data) == 1 and label == 7
    assert x.shape == (3, 4, 4), "converted to RGB"


def test_training_loader_shuffles_reproducibly_by_seed_and_eval_loader_keeps_order(tmp_path: Path) -> None:
    samples = []
    for i in range(12):
        image(tmp_path / f"{i}.png", (i * 20, 0, 0))
        samples.append((f"{i}.png", i))

    def order(train: bool, seed: int) -> list[int]:
        batches = loader(tmp_path, samples, 4, "half", batch_size=12, train=train, seed=seed)
        return next(iter(batches))[1].tolist()

    assert order(False, 0) == list(range(12)), "evaluation reads the split in order"
    assert order(True, 3) == order(True, 3), "the same seed gives the same order (a resumed run sees the same data)"
    assert order(True, 3) != list(range(12)), "training shuffles"
    assert order(True, 3) != order(True, 4), "the seed decides the order"


def test_vpt_schedule_warms_up_from_its_start_then_follows_the_cosine_down_to_min_lr() -> None:
    """VPT's WarmupCosineSchedule (the docstring's source): linear warm-up over `warmup` epochs from warmup_init,
    then half a cosine from the base lr at the end of warm-up to min_lr at the last epoch."""
    def vpt(epoch: int, step: str = "epoch-start") -> float:
        return lr_at(epoch, 1.0, 10, 2, 0.2, 0.1, shape="vpt-warmup-cosine", step=step)

    assert vpt(0) == pytest.approx(0.2), "warm-up starts at warmup_lr_init"
    assert vpt(1) == pytest.approx(0.6), "half-way through a 2-epoch warm-up from 0.2 to 1.0"
    assert vpt(2) == pytest.approx(1.0), "the cosine starts at the base lr when warm-up ends (not at epoch 0)"
    assert vpt(4) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))), "a quarter into the cosine"
    assert vpt(6) == pytest.approx(0.55), "half-way through the cosine: midway between base and min_lr"
    assert vpt(10) == pytest.approx(0.1), "the cosine ends at min_lr"
    assert [vpt(e, "after-epoch") for e in range(3)] == pytest.approx([0.2, 0.2, 0.6]), (
        "after-epoch stepping: epochs 0 and 1 both train at lr(0)")


def test_only_the_named_reference_row_is_the_reference_and_sources_are_numbered_in_order() -> None:
    """`vpeft reproduce` passes or fails on the recipe's reference row; another row of the same table (here one whose
    label sorts before it) must not be taken for it, and [n] in the table must point to the n-th source line."""
    scores = {t: 60.0 for t in VTAB.task_ids()}
    cmp = compare(CAT, VTAB, scores, ["adapter-houlsby", "lora", "vpt-deep"], "noah-paper-vtab-1k", "LoRA [18]")
    marked = [(r.table, r.label) for r in cmp.reported if r.is_reference]
    assert marked == [("noah-paper-vtab-1k", "LoRA [18]")], f"one reference row, NOAH's LoRA row; got {marked}"
    lines = table_lines(cmp, VTAB)
    sources = [line for line in lines if line.startswith("[")]
    assert [line.split("]")[0] + "]" for line in sources] == [f"[{i}]" for i in range(1, len(cmp.reported) + 1)]
    # a label may hold commas itself (HTA's 'LORA(Wq, Wv)'): the line starts with the label, then ", "
    named = [(line.split("] ", 1)[1], r.label) for line, r in zip(sources, cmp.reported, strict=True)]
    assert all(text.startswith(f"{label}, ") for text, label in named), "source line [n] names the n-th reported row"
    assert [line for line in sources if line.endswith("(reference)")] == [
        line for line in sources if "LoRA [18], " in line and "noah-paper-vtab-1k" in line]


def test_a_training_loader_augments_only_when_the_recipe_asks(tmp_path: Path) -> None:
    """train_aug defaults to off: a recipe without it trains on the plain resized images (RandAugment would change
    the training data of every recipe that does not ask for it)."""
    samples = []
    for i in range(6):
        image(tmp_path / f"{i}.png", (i * 40, 255 - i * 40, 90))
        samples.append((f"{i}.png", i))
    plain = make_transform(8, "half", train_aug=False)
    images, labels = next(iter(loader(tmp_path, samples, 8, "half", batch_size=6, train=True, seed=1)))
    for x, label in zip(images, labels.tolist(), strict=True):
        with Image.open(tmp_path / f"{label}.png") as file:
            expected = plain(file.convert("RGB"))
        assert torch.allclose(x, expected), f"{label}.png: a training batch without train_aug is the plain resize"


@pytest.mark.parametrize(("size", "shorter_side"), [(224, 256), (384, 438), (448, 512), (112, 128), (32, 37)])
def test_fgvc_resizes_the_shorter_side_to_8_7_of_the_crop(size: int, shorter_side: int) -> None:
    """VPT's sizes for 224/384/448 crops, and round(size * 8 / 7) for the others (a 32-pixel crop of a 37 side)."""
    assert resize_for_crop(size) == shorter_side, f"crop {size}: shorter side {shorter_side} before the crop"
