"""FGVC: tiny fake folders of the five data sets in the layouts VPT and SSF read (no downloads), the checker's
messages, and a short run of `reproduce --benchmark fgvc` on one of them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat
from vpeft.catalog.models import Benchmark
from vpeft.catalog.service import valid_catalog
from vpeft.cli import main
from vpeft.repro.errors import DataError
from vpeft.repro.layout import check_data

from tests.conftest import CATALOG

DOCS = "(see site/reproduce.md#prepare-fgvc)"
SETTINGS = ["--model", "smoke-vit", "--set", "optimizer=adamw", "--set", "lr=0.01", "--set", "weight_decay=0.0001",
            "--set", "epochs=1", "--set", "batch_size=64", "--set", "image_size=16", "--set", "normalisation=half",
            "--set", "model_selection=last-epoch", "--no-progress"]


@pytest.fixture(scope="module")
def fgvc() -> Benchmark:
    return valid_catalog(str(CATALOG)).benchmarks["fgvc"]


def _image(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _vpt_json(folder: Path, image_dir: str, classes: int, first_id: int = 1) -> None:
    """train/val/test.json: "class dir/image": class id (ids need not start at 0: VPT maps them in sorted order)."""
    for split_no, split in enumerate(("train", "val", "test")):
        anno = {}
        for c in range(classes):
            rel = f"{c:03d}.class/{split}_{c}.png"
            _image(folder / image_dir / rel, split_no * 10_000 + c)
            anno[rel] = c + first_id
        (folder / f"{split}.json").write_text(json.dumps(anno))


def _release_txt(base: Path, classes: int, ids: list[int]) -> None:
    """CUB's and NABirds' release files: images.txt, image_class_labels.txt, train_test_split.txt."""
    images, labels, split = [], [], []
    for n in range(2 * classes):
        image_id, c = n + 1, n % classes
        rel = f"{c:04d}/img_{n}.png"
        _image(base / "images" / rel, n)
        images.append(f"{image_id} {rel}")
        labels.append(f"{image_id} {ids[c]}")
        split.append(f"{image_id} {1 if n < classes else 0}")
    for name, rows in (("images.txt", images), ("image_class_labels.txt", labels), ("train_test_split.txt", split)):
        (base / name).write_text("\n".join(rows) + "\n")


def _dogs_mat(folder: Path, classes: int) -> None:
    for split_no, split in enumerate(("train", "test")):
        names = np.empty((classes, 1), dtype=object)
        for c in range(classes):
            rel = f"n{c:08d}-breed/{split}_{c}"
            _image(folder / "Images" / f"{rel}.jpg", 50_000 + split_no * 1000 + c)
            names[c, 0] = rel  # a cell array of strings, as in the release
        savemat(str(folder / f"{split}_list.mat"),
                {"annotation_list": names, "labels": np.arange(1, classes + 1).reshape(-1, 1)})


def _class_folders(folder: Path, classes: int) -> None:
    for split_no, split in enumerate(("train", "val")):
        for c in range(classes):
            _image(folder / split / f"class_{c:03d}" / f"{split}_{c}.png", 70_000 + split_no * 1000 + c)


@pytest.fixture(scope="module")
def fgvc_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fgvc")
    _vpt_json(root / "CUB_200_2011", "images", 200)
    _release_txt(root / "nabirds" / "nabirds", 555, [i * 3 + 7 for i in range(555)])  # non-contiguous ids
    _class_folders(root / "oxford_flowers", 102)
    _dogs_mat(root / "StanfordDogs", 120)
    _vpt_json(root / "StanfordCars", "", 196, first_id=0)
    return root


def _error(root: Path, bench: Benchmark, tasks: list[str]) -> str:
    with pytest.raises(DataError) as info:
        check_data(root, bench, tasks)
    return str(info.value)


def test_the_five_layouts_pass(fgvc_root: Path, fgvc: Benchmark) -> None:
    data = check_data(fgvc_root, fgvc, fgvc.task_ids())
    cub, nabirds, flowers, dogs, cars = (data[t] for t in fgvc.task_ids())
    assert cub.images == fgvc_root / "CUB_200_2011" / "images"
    assert sorted(cub.roles) == ["test", "train", "trainval", "val"]
    assert len(cub.samples("trainval")) == 400 and {y for _, y in cub.samples("test")} == set(range(200))
    assert nabirds.roles == {"trainval": "train", "test": "test"} and nabirds.images.name == "images"
    assert {y for _, y in nabirds.samples("test")} == set(range(555))  # ids 7, 10, ... mapped to 0..554
    assert flowers.roles == {"trainval": "train", "test": "val"}
    assert flowers.samples("test")[3] == ("val/class_003/val_3.png", 3)
    assert dogs.samples("trainval")[5] == ("n00000005-breed/train_5.jpg", 5)
    assert cars.images == fgvc_root / "StanfordCars" and len(cars.samples("test")) == 196
    assert "VPT split files" in (cub.note or "") and "release files" in (nabirds.note or "")
    assert len({d.fingerprint for d in data.values()}) == 5


def test_cub_release_files_as_ssf_reads_them(tmp_path: Path, fgvc: Benchmark) -> None:
    _release_txt(tmp_path / "CUB_200_2011" / "CUB_200_2011", 200, list(range(1, 201)))
    data = check_data(tmp_path, fgvc, ["cub200_2011"])["cub200_2011"]
    assert data.samples("trainval")[0] == ("0000/img_0.png", 0)  # label 1 -> 0, as SSF's target - 1
    with pytest.raises(DataError, match="no val split, which the recipe's model selection needs"):
        data.samples("val")


def test_missing_data_set_folder_names_the_aliases(tmp_path: Path, fgvc: Benchmark) -> None:
    assert _error(tmp_path, fgvc, ["stanford_dogs"]) == (
        f"{tmp_path}: no folder for FGVC data set stanford_dogs (tried: StanfordDogs, stanford_dogs) {DOCS}")


def test_empty_folder_says_what_is_expected(tmp_path: Path, fgvc: Benchmark) -> None:
    (tmp_path / "CUB_200_2011").mkdir()
    assert _error(tmp_path, fgvc, ["cub200_2011"]) == (
        f"{tmp_path / 'CUB_200_2011'}: no FGVC layout found for CUB-200-2011; expected train.json, val.json, "
        "test.json with images under images/ (VPT's split files); or CUB_200_2011/images.txt with its label and "
        f"split files (the release); or train/<class>/ and val/<class>/ image folders {DOCS}")


def test_problems_are_one_line(tmp_path: Path, fgvc: Benchmark) -> None:
    folder = tmp_path / "StanfordCars"
    _vpt_json(folder, "", 196)
    (folder / "val.json").unlink()
    assert _error(tmp_path, fgvc, ["stanford_cars"]) == (
        f"{folder}: VPT split files found but val.json is missing {DOCS}")
    _vpt_json(folder, "", 196)
    test = json.loads((folder / "test.json").read_text())
    (folder / "test.json").write_text(json.dumps(dict(list(test.items())[:-1])))
    assert _error(tmp_path, fgvc, ["stanford_cars"]) == (
        f"{folder}: the test split has 195 classes, stanford_cars has 196 {DOCS}")
    _vpt_json(folder, "", 196)
    (folder / "000.class" / "test_0.png").write_bytes(b"")
    assert _error(tmp_path, fgvc, ["stanford_cars"]).startswith(
        f"{folder} (test split): image {folder / '000.class' / 'test_0.png'} cannot be decoded (")
    (folder / "train.json").write_text("[1, 2]")
    assert _error(tmp_path, fgvc, ["stanford_cars"]) == (
        f"{folder / 'train.json'}: expected a non-empty JSON object {{\"image path\": class id}} {DOCS}")


def test_reproduce_fgvc_dry_run_and_a_short_run(fgvc_root: Path, smoke_ready: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    weights = ["--weights", str(smoke_ready / "smoke-vit.safetensors")]
    base = ["reproduce", "lora", "--benchmark", "fgvc", "--data-root", str(fgvc_root), *weights, *SETTINGS]
    assert main([*base, "--dry-run", "--out", str(tmp_path / "plan")]) == 0
    out = capsys.readouterr().out
    assert "benchmark: fgvc" in out and "data: checked, cub200_2011: 200 test images" in out
    assert "data: oxford_flowers: class folders (train/, val/)" in out
    assert not (tmp_path / "plan").exists()
    code = main([*base, "--tasks", "oxford_flowers", "--out", str(tmp_path / "run")])
    stdout = capsys.readouterr().out
    assert code in (0, 1) and "Oxford Flowers" in stdout, stdout
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["benchmark"] == "fgvc" and set(record["tasks"]) == {"oxford_flowers"}
    assert record["identity"]["data_folders"]["oxford_flowers"] == str((fgvc_root / "oxford_flowers").resolve())
    phase = record["tasks"]["oxford_flowers"]["phases"][0]
    assert phase["log"][0]["test_accuracy"] >= 0.0 and record["tasks"]["oxford_flowers"]["accuracy"] >= 0.0
