"""FGVC (CUB-200-2011, NABirds, Oxford Flowers, Stanford Dogs, Stanford Cars): the folder layouts the public
codebases read, checked before training like VTAB-1k.

One folder per data set under --data-root (names: the `folders` of each task in catalog/benchmarks/fgvc.yaml).
Inside it, the first layout found is used:

1. VPT's split files (also V-PETL Bench's): `train.json`, `val.json`, `test.json`, each a JSON object
   "image path": class id, paths relative to the image folder: `images/` (CUB, NABirds), `Images/` (Dogs), the data
   set folder itself (Flowers, Cars). Class ids are mapped to 0..C-1 in sorted order, as VPT does.
   https://github.com/KMnP/vpt/blob/4410440ec1b489f24f66b9fad3d9b10ff3443567/src/data/datasets/json_dataset.py
   (lines 36-48 read `<split>.json`, 50-67 map the ids, 119-165 name the image folders); the split files are those
   of VPT's README (Datasets preperation). V-PETL Bench reads the same files:
   https://github.com/synbol/Parameter-Efficient-Transfer-Learning-Benchmark/blob/c188fad2930fa2d1c07a8a64848427fd24ce6006/ImageClassification/dataloader/json_dataset.py
2. The data sets' own release files, as SSF reads them (train and test only, no validation split):
   CUB `CUB_200_2011/{images.txt, image_class_labels.txt, train_test_split.txt, images/}` (labels 1-based),
   NABirds `nabirds/{images.txt, image_class_labels.txt, train_test_split.txt, images/}` (ids mapped in sorted
   order), Dogs `train_list.mat`, `test_list.mat`, `Images/` (labels 1-based).
   https://github.com/dongzelian/SSF/blob/e94e0e704a4ece1986a537c97a95158b46838f71/data/cub2011.py (lines 41-56, 93),
   .../data/nabirds.py (lines 36-53, 68), .../data/stanford_dogs.py (`load_split`).
3. Class folders `train/<class>/*` and `val/<class>/*` (SSF's Flowers and Cars runs evaluate on `val`; classes in
   sorted order): https://github.com/dongzelian/SSF/blob/e94e0e704a4ece1986a537c97a95158b46838f71/data/dataset_factory.py
   (lines 166-173) and train_scripts/vit/fgvc/{oxford_flowers,stanford_cars}/train_ssf.sh (`--val-split val`).

Roles for model selection: layout 1 has train, val, trainval (train + val: all training images) and test; layouts 2
and 3 have trainval (the official training set) and test only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from ..catalog.models import Benchmark, Task
from .errors import DataError
from .layout import Sample, TaskData, decode_splits, files_digest, find_folder
from .verified import signature

ANCHOR = "prepare-fgvc"
IMAGE_DIR = {"cub200_2011": "images", "nabirds": "images", "stanford_dogs": "Images"}
RELEASE_DIR = {"cub200_2011": "CUB_200_2011", "nabirds": "nabirds"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff"}
Layout = tuple[Path, dict[str, list[Sample]], dict[str, str], list[Path], str]


def _json_split(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a JSON split file ({exc})", ANCHOR) from None
    if not isinstance(data, dict) or not data:
        raise DataError(f"{path}: expected a non-empty JSON object {{\"image path\": class id}}", ANCHOR)
    bad = next((k for k, v in data.items() if not isinstance(v, int | str) or isinstance(v, bool)), None)
    if bad is not None:
        raise DataError(f"{path}: class id of {bad!r} is not an integer or a string", ANCHOR)
    return data


def _contiguous(raw: dict[str, list[tuple[str, object]]], where: Path) -> dict[str, list[Sample]]:
    """Class ids mapped to 0..C-1 in sorted order (VPT's json_dataset.py, SSF's NABirds)."""
    ids = {v for rows in raw.values() for _, v in rows}
    if len({type(v) for v in ids}) > 1:
        raise DataError(f"{where}: class ids mix numbers and strings", ANCHOR)
    index = {v: i for i, v in enumerate(sorted(ids))}  # type: ignore[type-var]
    return {split: [(p, index[v]) for p, v in rows] for split, rows in raw.items()}


def _vpt_json(folder: Path, task: Task) -> Layout | None:
    files = {s: folder / f"{s}.json" for s in ("train", "val", "test")}
    if not any(f.is_file() for f in files.values()):
        return None
    missing = [f.name for f in files.values() if not f.is_file()]
    if missing:
        raise DataError(f"{folder}: VPT split files found but {', '.join(missing)} is missing", ANCHOR)
    raw = {s: list(_json_split(f).items()) for s, f in files.items()}
    splits = _contiguous(raw, folder)
    splits["trainval"] = splits["train"] + splits["val"]
    roles = {"train": "train", "val": "val", "trainval": "trainval", "test": "test"}
    return (folder / IMAGE_DIR.get(task.id, ""), splits, roles, list(files.values()),
            "VPT split files (train.json, val.json, test.json)")


def _table(path: Path) -> dict[str, str]:
    """`id value` lines of a release file (images.txt, image_class_labels.txt, train_test_split.txt)."""
    if not path.is_file():
        raise DataError(f"{path}: release file is missing", ANCHOR)
    rows: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected 'id value', found {line.strip()!r}", ANCHOR)
        rows[parts[0]] = parts[1]
    return rows


def _release_txt(folder: Path, task: Task) -> Layout | None:
    sub = RELEASE_DIR.get(task.id)
    if sub is None:
        return None
    base = next((d for d in (folder / sub, folder) if (d / "images.txt").is_file()), None)
    if base is None:
        return None
    images, labels, split = (_table(base / n) for n in ("images.txt", "image_class_labels.txt",
                                                          "train_test_split.txt"))
    raw: dict[str, list[tuple[str, object]]] = {"train": [], "test": []}
    for image_id, rel in images.items():
        if image_id not in labels or split.get(image_id) not in {"0", "1"}:
            raise DataError(f"{base / 'images.txt'}: image id {image_id} has no label or train/test flag", ANCHOR)
        if not labels[image_id].isdigit():
            raise DataError(f"{base / 'image_class_labels.txt'}: label of image {image_id} is not a number", ANCHOR)
        raw["train" if split[image_id] == "1" else "test"].append((rel, int(labels[image_id])))
    files = [base / n for n in ("images.txt", "image_class_labels.txt", "train_test_split.txt")]
    return (base / "images", _contiguous(raw, base), {"trainval": "train", "test": "test"}, files,
            f"release files ({base.name}/images.txt, image_class_labels.txt, train_test_split.txt)")


def _mat_split(path: Path) -> list[tuple[str, object]]:
    from scipy.io import loadmat  # scikit-learn's dependency; loadmat reads data, it never runs code

    try:
        mat = loadmat(str(path))
        # as SSF's load_split: annotation names + ".jpg", labels 1-based
        names = [f"{item[0][0]}.jpg" for item in mat["annotation_list"]]
        labels = [int(item[0]) for item in mat["labels"]]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise DataError(f"{path}: not a Stanford Dogs split file ({str(exc).splitlines()[0] if str(exc) else exc})",
                        ANCHOR) from None
    if len(names) != len(labels):
        raise DataError(f"{path}: {len(names)} files but {len(labels)} labels", ANCHOR)
    return list(zip(names, labels, strict=True))


def _dogs_mat(folder: Path, task: Task) -> Layout | None:
    if task.id != "stanford_dogs" or not (folder / "train_list.mat").is_file():
        return None
    files = [folder / "train_list.mat", folder / "test_list.mat"]
    raw = {"train": _mat_split(files[0]), "test": _mat_split(files[1])}
    return (folder / "Images", _contiguous(raw, folder), {"trainval": "train", "test": "test"}, files,
            "release files (train_list.mat, test_list.mat)")


def _class_folders(split_dir: Path) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for class_dir in sorted(d for d in split_dir.iterdir() if d.is_dir()):
        rows += [(f"{split_dir.name}/{class_dir.name}/{f.name}", class_dir.name) for f in sorted(class_dir.iterdir())
                 if f.suffix.lower() in IMAGE_SUFFIXES]
    return rows


def _image_folders(folder: Path, task: Task) -> Layout | None:
    if not ((folder / "train").is_dir() and (folder / "val").is_dir()):
        return None
    raw = {"train": _class_folders(folder / "train"), "val": _class_folders(folder / "val")}
    classes = sorted({label for rows in raw.values() for _, label in rows})
    index = {c: i for i, c in enumerate(classes)}
    splits = {s: [(p, index[c]) for p, c in rows] for s, rows in raw.items()}
    # no split files: the fingerprint covers the listing of paths and labels instead
    return folder, splits, {"trainval": "train", "test": "val"}, [], "class folders (train/, val/)"


LAYOUTS: list[Callable[[Path, Task], Layout | None]] = [_vpt_json, _release_txt, _dogs_mat, _image_folders]


def _expected(task: Task) -> str:
    image_dir = IMAGE_DIR.get(task.id, ".")
    options = [f"train.json, val.json, test.json with images under {image_dir}/ (VPT's split files)"]
    if task.id in RELEASE_DIR:
        options.append(f"{RELEASE_DIR[task.id]}/images.txt with its label and split files (the release)")
    if task.id == "stanford_dogs":
        options.append("train_list.mat, test_list.mat and Images/ (the release)")
    options.append("train/<class>/ and val/<class>/ image folders")
    return "; or ".join(options)


def _check_labels(data: TaskData) -> None:
    classes = data.task.classes
    for split, samples in data.splits.items():
        if not samples:
            raise DataError(f"{data.folder}: the {split} split lists no images", ANCHOR)
        top = max(y for _, y in samples)
        if classes is not None and top >= classes:
            raise DataError(f"{data.folder}: the {split} split has {top + 1} classes, {data.task.id} has {classes}",
                            ANCHOR)
    seen = {y for _, y in data.samples("test")}
    if classes is not None and len(seen) != classes:
        raise DataError(f"{data.folder}: the test split has {len(seen)} classes, {data.task.id} has {classes}",
                        ANCHOR)
    missing = next((p for samples in data.splits.values() for p, _ in samples if not (data.images / p).is_file()),
                   None)
    if missing is not None:
        raise DataError(f"{data.folder}: image {data.images / missing} is missing", ANCHOR)


def _fingerprint(files: list[Path], splits: dict[str, list[Sample]]) -> str:
    if files:
        return files_digest(files)

    text = "\n".join(f"{s} {p} {y}" for s, rows in sorted(splits.items()) for p, y in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def check_task(root: Path, task: Task, decode: bool = True, progress: Callable[[int], None] | None = None,
               verified: set[str] | None = None) -> TaskData:
    folder, note = find_folder(root, [*task.folders, task.id], f"FGVC data set {task.id}", ANCHOR)
    found = next((layout for check in LAYOUTS if (layout := check(folder, task)) is not None), None)
    if found is None:
        raise DataError(f"{folder}: no FGVC layout found for {task.name}; expected {_expected(task)}", ANCHOR)
    images, splits, roles, files, described = found
    data = TaskData(task=task, folder=folder, splits=splits, roles=roles, image_root=images,
                    fingerprint=_fingerprint(files, splits),
                    note="; ".join(n for n in (note, f"{task.id}: {described}") if n))
    _check_labels(data)
    if decode and (verified is None or (sig := signature(data)) not in verified):
        decode_splits(data, progress)
        if verified is not None:
            verified.add(sig)
    return data


def check_fgvc(root: Path, bench: Benchmark, tasks: list[str], decode: bool = True,
               progress: Callable[[int], None] | None = None,
               verified: set[str] | None = None) -> dict[str, TaskData]:
    by_id = {t.id: t for t in bench.tasks}
    return {task_id: check_task(root, by_id[task_id], decode, progress, verified) for task_id in tasks}
