"""Datasets over the checked split lists, and the transforms the recipes name."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from torchvision import transforms

from . import distributed
from .layout import Sample

MEAN_STD: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}


CACHE_ENV = "VPEFT_IMAGE_CACHE_MB"  # the decoded-image budget per task in MiB (0: no cache)


def default_workers(smoke: bool) -> int:
    """Data loader processes when --workers is not given: one per CPU but one (for the training loop), at most 8.
    The smoke run's 8x8 digits decode faster than a worker starts, so it keeps 0."""
    return 0 if smoke else max(0, min(8, (os.cpu_count() or 1) - 1))


def _available_bytes() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on Linux: no cache unless the budget is given
        return 0


class ImageCache:
    """Decoded images of one task, kept across epochs and phases (VTAB-1k: 100 epochs over the same 1,000 training
    images and the evaluation splits) while they fit: by default a quarter of the free memory, at most 8 GiB.
    A split is cached whole or not at all, decoded in the main process before the loader starts, so forked loader
    workers share it. The decoded pixels are the ones a fresh decode gives: results do not change."""

    def __init__(self, budget: int | None = None) -> None:
        mib = os.environ.get(CACHE_ENV)
        self.budget = int(mib) << 20 if mib else budget if budget is not None else min(8 << 30,
                                                                                       _available_bytes() // 4)
        self.images: dict[str, Image.Image] = {}
        self.bytes = 0
        self.refused: set[str] = set()

    def fill(self, folder: Path, samples: list[Sample]) -> None:
        missing = [path for path, _ in samples if path not in self.images]
        key = f"{folder}:{len(samples)}:{missing[:1]}"
        if not missing or key in self.refused:
            return
        sizes = []
        for path in missing:
            with Image.open(folder / path) as image:  # reads the header only
                sizes.append(image.width * image.height * 3)
        if self.bytes + sum(sizes) > self.budget:
            self.refused.add(key)
            return
        for path, size in zip(missing, sizes, strict=True):
            with Image.open(folder / path) as image:
                self.images[path] = image.convert("RGB")
            self.bytes += size

    def open(self, folder: Path, path: str) -> Image.Image:
        cached = self.images.get(path)
        if cached is not None:
            return cached
        with Image.open(folder / path) as image:
            return image.convert("RGB")


class ListDataset(Dataset[tuple[torch.Tensor, int]]):
    """Images named by one split file, relative to the task folder."""

    def __init__(self, folder: Path, samples: list[Sample], transform: Callable[[Image.Image], torch.Tensor],
                 cache: ImageCache | None = None):
        self.folder = folder
        self.samples = samples
        self.transform = transform
        self.cache = cache

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        if self.cache is not None:
            return self.transform(self.cache.open(self.folder, path)), label
        with Image.open(self.folder / path) as image:
            return self.transform(image.convert("RGB")), label


def resize_for_crop(size: int) -> int:
    """VPT's shorter-side size before the crop: 256 for 224, 438 for 384, 512 for 448; otherwise size * 8 / 7."""
    return {224: 256, 384: 438, 448: 512}.get(size, round(size * 8 / 7))


def crop_transform(size: int, normalisation: str, train: bool) -> Callable[[Image.Image], torch.Tensor]:
    """FGVC as VPT reads it: shorter side to 256 (bilinear, torchvision's default), then a random 224 crop and a
    horizontal flip for training, a centre crop for evaluation
    (https://github.com/KMnP/vpt/blob/4410440ec1b489f24f66b9fad3d9b10ff3443567/src/data/transforms.py lines 6-42)."""
    mean, std = MEAN_STD[normalisation]
    steps: list[Callable[..., object]] = [transforms.Resize(resize_for_crop(size))]
    steps += [transforms.RandomCrop(size), transforms.RandomHorizontalFlip(0.5)] if train else [
        transforms.CenterCrop(size)]
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])


MODES = {"bicubic": transforms.InterpolationMode.BICUBIC, "bilinear": transforms.InterpolationMode.BILINEAR}


def _resize(size: int, interpolation: str, antialias: bool) -> list[Callable[..., torch.Tensor]]:
    """Direct resize to size x size; without antialias it runs on the tensor, as TF's tf.image.resize (VPT) does:
    torchvision always antialiases PIL images."""
    mode = MODES[interpolation]
    if antialias:
        return [transforms.Resize((size, size), interpolation=mode), transforms.ToTensor()]
    return [transforms.ToTensor(), transforms.Resize((size, size), interpolation=mode, antialias=False)]


def make_transform(size: int, normalisation: str, train_aug: bool, interpolation: str = "bicubic",
                   antialias: bool = True) -> Callable[[Image.Image], torch.Tensor]:
    """Direct resize to size x size (VTAB-1k codebases do not crop), then normalise; RandAugment when asked."""
    mean, std = MEAN_STD[normalisation]
    if train_aug:
        from timm.data import create_transform

        # V-PETL Bench uses rand-m9-mstd0.5-inc1. Its magnitude noise can reach 10, where timm asks Pillow to
        # posterize to 0 bits, which current Pillow refuses (ValueError); mmax9 caps the noise just below that.
        aug = create_transform(input_size=size, is_training=True, color_jitter=0.4,
                               auto_augment="rand-m9-mstd0.5-inc1-mmax9", re_prob=0.0, interpolation="bicubic",
                               mean=mean, std=std)
        # timm's first step is a random resized crop; VTAB-1k recipes resize the whole image instead
        aug.transforms[0] = transforms.Resize((size, size), interpolation=MODES[interpolation])
        return aug
    return transforms.Compose([*_resize(size, interpolation, antialias), transforms.Normalize(mean, std)])


def loader(folder: Path, samples: list[Sample], size: int, normalisation: str, batch_size: int, train: bool,
           train_aug: bool = False, seed: int = 0, workers: int = 0, interpolation: str = "bicubic",
           antialias: bool = True, drop_last: bool = False, crop: bool = False,
           cache: ImageCache | None = None) -> DataLoader[tuple[torch.Tensor, int]]:
    """`crop`: the FGVC resize-then-crop pipeline (`crop_transform`) instead of VTAB's direct resize."""
    transform = crop_transform(size, normalisation, train) if crop else make_transform(
        size, normalisation, train_aug and train, interpolation, antialias)
    generator = torch.Generator().manual_seed(seed)
    if cache is not None:
        cache.fill(folder, samples)
    dataset: Dataset[tuple[torch.Tensor, int]] = ListDataset(folder, samples, transform, cache)
    sampler: DistributedSampler[tuple[torch.Tensor, int]] | None = None
    if distributed.active() and train:  # torchrun: each rank trains on its part of every global batch
        sampler = DistributedSampler(dataset, shuffle=True, seed=seed, drop_last=drop_last)
        batch_size = distributed.per_rank_batch(batch_size)
    elif distributed.active():  # each rank evaluates a disjoint, unpadded slice
        dataset = Subset(dataset, distributed.eval_indices(len(samples)))
    return DataLoader(dataset, batch_size=batch_size, shuffle=train and sampler is None, sampler=sampler,
                      generator=generator if train and sampler is None else None, num_workers=workers,
                      drop_last=train and drop_last, pin_memory=torch.cuda.is_available(),
                      persistent_workers=workers > 0)
