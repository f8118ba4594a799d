"""The data checker: one exact line per problem, naming what is wrong and where, with the docs pointer."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from vpeft.catalog.models import Benchmark, Task
from vpeft.catalog.service import valid_catalog
from vpeft.repro import layout
from vpeft.repro.errors import DataError
from vpeft.repro.layout import check_data, check_task, select_tasks

from tests.conftest import CATALOG, ROOT

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
        f"{folder / 'train800val200.txt'}: is not train800.txt + val200.txt (compared by decoded pixels and labels) "
        f"{DOCS}")


def _noah_layout(source: Path, target: Path) -> None:
    """The layout NOAH's get_vtab1k.py writes: each split's images as its own JPEG copies,
    images/<split>/NNNNNN.jpg (NOAH e9c55f3, data/vtab-source/get_vtab1k.py lines 57-71)."""
    (target / "images").mkdir(parents=True)
    for split in ("train800", "val200", "test", "train800val200"):
        (target / "images" / split).mkdir()
        rows = []
        for i, line in enumerate((source / f"{split}.txt").read_text().splitlines()):
            rel, label = line.split()
            name = f"images/{split}/{i:06d}.jpg"
            with Image.open(source / rel) as image:
                image.convert("RGB").save(target / name)  # PIL's default JPEG quality, as NOAH's script
            rows.append(f"{name} {label}")
        (target / f"{split}.txt").write_text("\n".join(rows) + "\n")


def test_noah_exported_folder_passes(smoke_root: Path, tmp_path: Path, bench: Benchmark) -> None:
    _noah_layout(smoke_root / "svhn", tmp_path / "svhn")
    data = check_data(tmp_path, bench, ["svhn"])["svhn"]
    assert data.samples("trainval")[0][0] == "images/train800val200/000000.jpg"
    trainval = tmp_path / "svhn" / "train800val200.txt"
    lines = trainval.read_text().splitlines()
    rel, label = lines[5].split()
    lines[5] = f"{rel} {(int(label) + 1) % 10}"  # same image, another label: not train800 + val200
    trainval.write_text("\n".join(lines) + "\n")
    assert _error(tmp_path, bench, ["svhn"]).startswith(f"{trainval}: is not train800.txt + val200.txt (compared by")


@pytest.mark.parametrize(("split", "content", "reason"), [
    ("test", b"", "cannot identify image file"),
    ("train800", bytes(range(200)), "cannot identify image file"),
    ("val200", "truncate", "Truncated File Read"),
])
def test_an_image_that_does_not_decode_stops_the_check(split: str, content: bytes | str, reason: str,
                                                       smoke_copy: Path, bench: Benchmark) -> None:
    folder = smoke_copy / "svhn"
    rel = (folder / f"{split}.txt").read_text().splitlines()[7].split()[0]
    image = folder / rel
    if content == "truncate":
        with Image.open(image) as im:
            im.resize((64, 64)).save(image.with_suffix(".jpg"))
        data = image.with_suffix(".jpg").read_bytes()
        image.write_bytes(data[: len(data) // 2])
    else:
        assert isinstance(content, bytes)
        image.write_bytes(content)
    error = _error(smoke_copy, bench, ["svhn"])
    listed = folder / ("train800.txt" if split == "train800" else f"{split}.txt")
    assert error.startswith(f"{listed}: image {image} cannot be decoded (") and reason in error, error
    assert error.endswith(DOCS) and "\n" not in error


def test_two_alias_folders_say_which_was_used(smoke_root: Path, tmp_path: Path) -> None:
    task = Task(id="svhn", name="SVHN", classes=10, folders=["svhn", "svhn_cropped"])
    for name in ("svhn", "svhn_cropped"):
        shutil.copytree(smoke_root / "svhn", tmp_path / name)
    data = check_task(tmp_path, task)
    assert data.folder == tmp_path / "svhn"
    assert data.note == f"task svhn: used {tmp_path / 'svhn'} (also present, not used: svhn_cropped)"


def test_root_that_is_a_file(tmp_path: Path, bench: Benchmark) -> None:
    (tmp_path / "f").write_text("x")
    assert _error(tmp_path / "f", bench, ["svhn"]) == (
        f"--data-root {tmp_path / 'f'}: is a file; name the folder holding the task folders {DOCS}")


def test_select_tasks(bench: Benchmark) -> None:
    assert select_tasks(bench, "kitti,cifar") == ["cifar100", "kitti_dist"]  # aliases, benchmark order
    assert len(select_tasks(bench, None)) == 19
    with pytest.raises(DataError, match=r"^--tasks: unknown task 'mnist' of vtab-1k \(known: cifar100, "):
        select_tasks(bench, "mnist")


@pytest.mark.parametrize("wanted", ["", ",,", " , "])
def test_select_tasks_names_none(bench: Benchmark, wanted: str) -> None:
    with pytest.raises(DataError, match=r"^--tasks '.*': no task named \(known: cifar100, "):
        select_tasks(bench, wanted)


def test_every_docs_anchor_of_the_data_errors_is_a_heading() -> None:
    """DataError messages point to site/reproduce.md#ANCHOR: each anchor used in the code is a heading there."""
    code = "".join(p.read_text() for p in (ROOT / "tools" / "repro").glob("*.py"))
    used = set(re.findall(r'"(prepare-[a-z0-9-]+|tasks)"', code)) | {"prepare-vtab-1k"}
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", (ROOT / "site" / "reproduce.md").read_text(), re.M)}
    assert used >= {"prepare-vtab-1k", "prepare-fgvc", "tasks"} and used <= headings, used - headings


def test_a_passed_check_is_not_decoded_again_until_a_file_changes(smoke_copy: Path, bench: Benchmark,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    known: set[str] = set()
    check_data(smoke_copy, bench, ["svhn"], verified=known)
    assert len(known) == 1
    calls: list[int] = []
    real = layout.decode_all
    monkeypatch.setattr(layout, "decode_all", lambda *a, **k: calls.append(1) or real(*a, **k))
    check_data(smoke_copy, bench, ["svhn"], verified=known)
    assert calls == []  # same split files, same image sizes and times: skipped
    image = smoke_copy / "svhn" / (smoke_copy / "svhn" / "test.txt").read_text().split()[0]
    image.write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot be decoded"):
        check_data(smoke_copy, bench, ["svhn"], verified=known)
    assert calls == [1]
