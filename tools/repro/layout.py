"""The VTAB-1k folder layout (NOAH, PETL-ViT, SSF, V-PETL Bench) and the checker that runs before training.

<root>/<folder>/images/...; <root>/<folder>/{train800,val200,train800val200,test}.txt with one
"relative/path label" per line. A task's folder may have any of the names in the benchmark's `folders` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..catalog.models import Benchmark, Task
from .errors import DataError

# split -> required number of lines (None: any, the full test split)
SPLITS: dict[str, int | None] = {"train800": 800, "val200": 200, "train800val200": 1000, "test": None}

Sample = tuple[str, int]


@dataclass(frozen=True)
class TaskData:
    """A checked task folder: its location and the samples of each split."""

    task: Task
    folder: Path
    splits: dict[str, list[Sample]]


def task_folder(root: Path, task: Task) -> Path:
    """The first existing folder of the task's known names (the catalog's alias table)."""
    names = [*task.folders, task.id] if task.id not in task.folders else list(task.folders)
    for name in names:
        if (root / name).is_dir():
            return root / name
    tried = ", ".join(dict.fromkeys(names))
    raise DataError(f"{root}: no folder for task {task.id} (tried: {tried})")


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


def check_task(root: Path, task: Task) -> TaskData:
    """Verify one task folder: every split present, split sizes, labels within the class count, images exist."""
    folder = task_folder(root, task)
    splits = {split: read_split(folder / f"{split}.txt") for split in SPLITS}
    for split, samples in splits.items():
        _check_split(folder, split, samples, task)
    if sorted(splits["train800val200"]) != sorted(splits["train800"] + splits["val200"]):
        raise DataError(f"{folder / 'train800val200.txt'}: is not train800.txt + val200.txt")
    seen = {y for _, y in splits["test"]}
    if task.classes is not None and len(seen) != task.classes:
        raise DataError(f"{folder / 'test.txt'}: {len(seen)} classes found, {task.id} has {task.classes}")
    return TaskData(task=task, folder=folder, splits=splits)


def check_data(root: Path, bench: Benchmark, tasks: list[str]) -> dict[str, TaskData]:
    """Check every selected task before any training starts; the first problem stops the run."""
    if not root.is_dir():
        raise DataError(f"--data-root {root}: folder not found")
    by_id = {t.id: t for t in bench.tasks}
    return {task_id: check_task(root, by_id[task_id]) for task_id in tasks}


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
