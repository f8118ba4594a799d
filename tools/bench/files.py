"""Writing a cost result: JSON (the typed model, what the site reads) and CSV (one row per method, flat)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError
from .result import RESULTS_DIR, STEM, CostResult, ResultFileError, read_result

if TYPE_CHECKING:
    from .cost import Options

META_COLUMNS = ("date", "model", "batch", "precision", "device", "cpu", "cores", "torch", "timm", "commit")


def default_stem(opts: Options, device_type: str) -> Path:
    return Path(RESULTS_DIR) / f"{STEM}{device_type}-{opts.model}-b{opts.batch}-{opts.precision}"


def csv_text(result: CostResult) -> str:
    """The rows with the run's machine, versions and settings repeated on each, so every line stands alone."""
    s, m, v = result.settings, result.machine, result.versions
    meta = (result.date, s.model, s.batch, s.precision, m.device, m.cpu, m.cores, v.torch, v.timm, v.commit or "")
    fields = list(result.rows[0].model_dump()) if result.rows else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*fields, *META_COLUMNS])
    for row in result.rows:
        writer.writerow([*("" if x is None else x for x in row.model_dump().values()), *meta])
    return out.getvalue()


def check_writable(path: Path) -> None:
    """Refuse to replace a file this benchmark did not write (a user's file); an earlier result is replaced."""
    if not path.exists():
        return
    if path.is_dir():
        raise UserError(f"--output: {path} is a folder")
    if path.suffix == ".json":
        try:
            read_result(path)
            return
        except (ResultFileError, ValueError, UnicodeDecodeError):
            raise UserError(f"--output: {path} exists and is not a cost result; not replacing it") from None
    if not path.read_text(encoding="utf-8", errors="replace").startswith("method,"):
        raise UserError(f"--output: {path} exists and is not a cost result; not replacing it")


def _paths(stem: Path) -> list[Path]:
    return [stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".csv")]


def check_stem(stem: Path) -> None:
    for path in _paths(stem):
        check_writable(path)


def write(result: CostResult, stem: Path) -> list[Path]:
    """STEM.json and STEM.csv; both are checked before either is written."""
    check_stem(stem)
    paths = _paths(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths[0].write_text(result.model_dump_json(indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(csv_text(result), encoding="utf-8")
    return paths
