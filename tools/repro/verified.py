"""Skip re-decoding images that an earlier check of the same run folder already decoded.

The data check decodes every listed image (images.py), which takes minutes on the full VTAB-1k test splits. A
resumed run re-checks the same files: when the split files and every image's path, size and modification time are
those of a check that passed, the decode is skipped. Any change (a file replaced, touched, added or removed) makes
the signature differ and the images are decoded again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import read_state, write_state

if TYPE_CHECKING:  # layout.py imports this module
    from .layout import TaskData

FILE = "data-verified.json"


def signature(data: TaskData) -> str:
    digest = hashlib.sha256(data.fingerprint.encode())
    for path in sorted({data.images / rel for samples in data.splits.values() for rel, _ in samples}):
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def load(out: Path | None) -> set[str]:
    path = out / FILE if out is not None else None
    if path is None or not path.is_file():
        return set()
    found = read_state(path).get("signatures")
    return {s for s in found if isinstance(s, str)} if isinstance(found, list) else set()


def save(out: Path, signatures: set[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_state(out / FILE, {"signatures": sorted(signatures)})
