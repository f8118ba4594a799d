"""The data checker: one exact line per problem, naming what is wrong and where, with the docs pointer."""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.catalog.models import Benchmark
from vpeft.catalog.service import valid_catalog
from vpeft.repro.errors import DataError
from vpeft.repro.layout import check_data, select_tasks

from tests.conftest import CATALOG

DOCS = "(see site/reproduce.md#prepare-vtab-1k)"


@pytest.fixture(scope="module")
def bench() -> Benchmark:
    return valid_catalog(str(CATALOG)).benchmarks["vtab-1k"]


def _error(root: Path, bench: Benchmark, tasks: list[str]) -> str:
    with pytest.raises(DataError) as info:
        check_data(root, bench, tasks)
    return str(info.value)


def test_a_complete_folder_passes(smoke_root: Path, bench: Benchmark) -> None:
    data = check_data(smoke_root, bench, ["svhn", "clevr_count"])
    assert {t: len(d.splits["train800val200"]) for t, d in data.items()} == {"svhn": 1000, "clevr_count": 1000}


def test_missing_root(tmp_path: Path, bench: Benchmark) -> None:
    assert _error(tmp_path / "nope", bench, ["svhn"]) == f"--data-root {tmp_path / 'nope'}: folder not found {DOCS}"


def test_missing_task_folder_lists_the_aliases(tmp_path: Path, bench: Benchmark) -> None:
    assert _error(tmp_path, bench, ["pets"]) == (
        f"{tmp_path}: no folder for task pets (tried: oxford_iiit_pet, oxford_pet, pets) {DOCS}")


def test_alias_folder_is_found(smoke_copy: Path, bench: Benchmark) -> None:
    (smoke_copy / "svhn").rename(smoke_copy / "oxford_pet")  # any alias of the task works
    message = _error(smoke_copy, bench, ["pets"])
    assert message.startswith(f"{smoke_copy / 'oxford_pet' / 'test.txt'}: 10 classes found, pets has 37")


def test_missing_split_file(smoke_copy: Path, bench: Benchmark) -> None:
    (smoke_copy / "svhn" / "val200.txt").unlink()
    assert _error(smoke_copy, bench, ["svhn"]) == f"{smoke_copy / 'svhn' / 'val200.txt'}: split file is missing {DOCS}"


def test_wrong_split_size(smoke_copy: Path, bench: Benchmark) -> None:
    path = smoke_copy / "svhn" / "train800.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:799]) + "\n")
    assert _error(smoke_copy, bench, ["svhn"]) == f"{path}: 799 images listed, VTAB-1k train800 has 800 {DOCS}"


def test_label_out_of_range(smoke_copy: Path, bench: Benchmark) -> None:
    path = smoke_copy / "svhn" / "test.txt"
    lines = path.read_text().splitlines()
    image = lines[0].split()[0]
    path.write_text("\n".join([f"{image} 10", *lines[1:]]) + "\n")
    assert _error(smoke_copy, bench, ["svhn"]) == f"{path}: label 10 of {image} is outside 0..9 (svhn) {DOCS}"


def test_missing_image(smoke_copy: Path, bench: Benchmark) -> None:
    path = smoke_copy / "svhn" / "train800.txt"
    image = path.read_text().split()[0]
    (smoke_copy / "svhn" / image).unlink()
    assert _error(smoke_copy, bench, ["svhn"]) == f"{path}: image {smoke_copy / 'svhn' / image} is missing {DOCS}"


def test_malformed_line(smoke_copy: Path, bench: Benchmark) -> None:
    path = smoke_copy / "svhn" / "val200.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(["images/x.png", *lines[1:]]) + "\n")
    assert _error(smoke_copy, bench, ["svhn"]) == (
        f"{path}:1: expected 'relative/path label', found 'images/x.png' {DOCS}")


def test_split_file_not_utf8(smoke_copy: Path, bench: Benchmark) -> None:
    path = smoke_copy / "svhn" / "val200.txt"
    path.write_bytes(b"images/caf\xe9.png 1\n")
    assert _error(smoke_copy, bench, ["svhn"]) == f"{path}: not UTF-8 text (byte 0xe9 at offset 10) {DOCS}"


def test_trainval_must_be_train_plus_val(smoke_copy: Path, bench: Benchmark) -> None:
    folder = smoke_copy / "svhn"
    lines = (folder / "train800val200.txt").read_text().splitlines()
    (folder / "train800val200.txt").write_text("\n".join([lines[1], *lines[1:]]) + "\n")
    assert _error(smoke_copy, bench, ["svhn"]) == (
        f"{folder / 'train800val200.txt'}: is not train800.txt + val200.txt {DOCS}")


def test_select_tasks(bench: Benchmark) -> None:
    assert select_tasks(bench, "kitti,cifar") == ["cifar100", "kitti_dist"]  # aliases, benchmark order
    assert len(select_tasks(bench, None)) == 19
    with pytest.raises(DataError, match=r"^--tasks: unknown task 'mnist' of vtab-1k \(known: cifar100, "):
        select_tasks(bench, "mnist")


@pytest.mark.parametrize("wanted", ["", ",,", " , "])
def test_select_tasks_names_none(bench: Benchmark, wanted: str) -> None:
    with pytest.raises(DataError, match=r"^--tasks '.*': no task named \(known: cifar100, "):
        select_tasks(bench, wanted)
