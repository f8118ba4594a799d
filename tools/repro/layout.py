"""The VTAB-1k folder layout (NOAH, PETL-ViT, SSF, V-PETL Bench) and the checker that runs before training.

<root>/<folder>/images/...; <root>/<folder>/{train800,val200,train800val200,test}.txt with one
"relative/path label" per line. A task's folder may have any of the names in the benchmark's `folders` list.

NOAH's exporter writes every split's images as separate files (`images/<split>/NNNNNN.jpg`), so train800val200
lists other paths than train800 + val200: the check compares the decoded pixels and labels, not the paths
(https://github.com/ZhangYuanhan-AI/NOAH/blob/e9c55f360be4f7f1133a08bf84f86f0309e98f8c/data/vtab-source/get_vtab1k.py
lines 57-71).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog.models import Benchmark, Task
from .errors import DataError
from .images import decode_all
from .verified import signature

# split -> required number of lines (None: any, the full test split)
SPLITS: dict[str, int | None] = {"train800": 800, "val200": 200, "train800val200": 1000, "test": None}

Sample = tuple[str, int]


# the roles model selection uses, and the VTAB-1k split that plays each
VTAB_ROLES: dict[str, str] = {"train": "train800", "val": "val200", "trainval": "train800val200", "test": "test"}


@dataclass(frozen=True)
class TaskData:
    """A checked task folder: its location, the samples of each split and which split plays which role
    (train, val: the held-out part of the training data; trainval: all training data; test)."""

    task: Task
    folder: Path
    splits: dict[str, list[Sample]]
    roles: dict[str, str] = field(default_factory=lambda: dict(VTAB_ROLES))
    fingerprint: str = ""  # sha256 of the split files: part of the run's identity
    note: str | None = None  # e.g. which of two alias folders was used
    image_root: Path | None = None  # where the listed paths are relative to (default: the task folder)

    def split_of(self, role: str) -> str:
        if role not in self.roles:
            raise DataError(f"{self.folder}: this layout has no {role} split, which the recipe's model selection "
                            f"needs (it has: {', '.join(self.roles)})", "prepare-fgvc")
        return self.roles[role]

    def samples(self, role: str) -> list[Sample]:
        return self.splits[self.split_of(role)]

    @property
    def images(self) -> Path:
        return self.image_root or self.folder


def find_folder(root: Path, names: list[str], what: str, anchor: str) -> tuple[Path, str | None]:
    """The first existing folder of the known names, and a note when more than one exists."""
    found = [name for name in dict.fromkeys(names) if (root / name).is_dir()]
    if not found:
        raise DataError(f"{root}: no folder for {what} (tried: {', '.join(dict.fromkeys(names))})", anchor)
    note = (f"{what}: used {root / found[0]} (also present, not used: {', '.join(found[1:])})"
            if len(found) > 1 else None)
    return root / found[0], note


def task_folder(root: Path, task: Task) -> tuple[Path, str | None]:
    """The first existing folder of the task's known names (the catalog's alias table)."""
    names = [*task.folders, task.id] if task.id not in task.folders else list(task.folders)
    return find_folder(root, names, f"task {task.id}", "prepare-vtab-1k")


def files_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_split(path: Path) -> list[Sample]:
    if not path.is_file():
        raise DataError(f"{path}: split file is missing")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    samples: list[Sample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DataError(f"{path}:{number}: expected 'relative/path label', found {line.strip()!r}")
        samples.append((parts[0], int(parts[1])))
    return samples


def _check_split(folder: Path, split: str, samples: list[Sample], task: Task) -> None:
    path = folder / f"{split}.txt"
    expected = SPLITS[split]
    if expected is not None and len(samples) != expected:
        raise DataError(f"{path}: {len(samples)} images listed, VTAB-1k {split} has {expected}")
    if not samples:
        raise DataError(f"{path}: no images listed")
    classes = task.classes
    bad = next(((p, y) for p, y in samples if y < 0 or (classes is not None and y >= classes)), None)
    if bad is not None:
        raise DataError(f"{path}: label {bad[1]} of {bad[0]} is outside 0..{(classes or 1) - 1} ({task.id})")
    missing = next((p for p, _ in samples if not (folder / p).is_file()), None)
    if missing is not None:
        raise DataError(f"{path}: image {folder / missing} is missing")


def decode_splits(data: TaskData, progress: Callable[[int], None] | None = None) -> dict[Path, str]:
    """Decode every image of every split (see images.py); returns the pixel digest of each file."""
    listed: dict[Path, str] = {}
    for split, samples in data.splits.items():
        for rel, _ in samples:
            listed.setdefault(data.images / rel, split)
    if data.roles == VTAB_ROLES:
        return decode_all(listed, lambda p: str(data.folder / f"{listed[p]}.txt"), progress)
    return decode_all(listed, lambda p: f"{data.folder} ({listed[p]} split)", progress)


def _same_images(data: TaskData, digests: dict[Path, str], whole: str, parts: list[str]) -> bool:
    """Whether split `whole` lists the same (image content, label) pairs as the `parts` together."""
    def pairs(split: str) -> Counter[tuple[str, int]]:
        return Counter((digests[data.images / rel], label) for rel, label in data.splits[split])

    return pairs(whole) == sum((pairs(p) for p in parts), Counter())


def check_task(root: Path, task: Task, decode: bool = True, progress: Callable[[int], None] | None = None,
               verified: set[str] | None = None) -> TaskData:
    """Verify one task folder: every split present, split sizes, labels within the class count, every image
    decodes, and train800val200 holds the images of train800 + val200 (by path, else by content)."""
    folder, note = task_folder(root, task)
    splits = {split: read_split(folder / f"{split}.txt") for split in SPLITS}
    for split, samples in splits.items():
        _check_split(folder, split, samples, task)
    seen = {y for _, y in splits["test"]}
    if task.classes is not None and len(seen) != task.classes:
        raise DataError(f"{folder / 'test.txt'}: {len(seen)} classes found, {task.id} has {task.classes}")
    data = TaskData(task=task, folder=folder, splits=splits, note=note,
                    fingerprint=files_digest([folder / f"{s}.txt" for s in SPLITS]))
    same_paths = sorted(splits["train800val200"]) == sorted(splits["train800"] + splits["val200"])
    sig = signature(data) if verified is not None and decode else None
    if verified is not None and sig in verified:
        return data  # decoded and compared by an earlier check of this run folder; nothing changed since
    digests = decode_splits(data, progress) if decode else {}
    if not same_paths and not (decode and _same_images(data, digests, "train800val200", ["train800", "val200"])):
        raise DataError(f"{folder / 'train800val200.txt'}: is not train800.txt + val200.txt (compared "
                        + ("by decoded pixels and labels)" if decode else "by path; the image check was skipped)"))
    if verified is not None and sig is not None:
        verified.add(sig)
    return data


def check_data(root: Path, bench: Benchmark, tasks: list[str], decode: bool = True,
               progress: Callable[[int], None] | None = None,
               verified: set[str] | None = None) -> dict[str, TaskData]:
    """Check every selected task before any training starts; the first problem stops the run. `verified`: the
    signatures of task checks that passed before in this run folder (verified.py); passing ones are added."""
    if not root.is_dir():
        raise DataError(f"--data-root {root}: folder not found" if not root.exists()
                        else f"--data-root {root}: is a file; name the folder holding the task folders")
    if bench.id == "fgvc":
        from .fgvc import check_fgvc

        return check_fgvc(root, bench, tasks, decode, progress, verified)
    by_id = {t.id: t for t in bench.tasks}
    return {task_id: check_task(root, by_id[task_id], decode, progress, verified) for task_id in tasks}


def select_tasks(bench: Benchmark, wanted: str | None) -> list[str]:
    """Task ids from `--tasks a,b` (ids or folder aliases), in benchmark order; all when not given."""
    if wanted is None:
        return bench.task_ids()
    if not any(n.strip() for n in wanted.split(",")):  # `--tasks ""` or `--tasks ,`: a mistake, not "all"
        raise DataError(f"--tasks {wanted!r}: no task named (known: {', '.join(bench.task_ids())})", "tasks")
    alias = {name: t.id for t in bench.tasks for name in (t.id, *t.folders)}
    chosen: list[str] = []
    for name in (n.strip() for n in wanted.split(",") if n.strip()):
        if name not in alias:
            raise DataError(f"--tasks: unknown task '{name}' of {bench.id} (known: {', '.join(bench.task_ids())})",
                            "tasks")
        chosen.append(alias[name])
    return [t for t in bench.task_ids() if t in chosen]
