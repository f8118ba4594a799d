"""Decode every listed image before any training starts, so a corrupt, empty or unreadable file is a data error
(one line, exit 2) and not a crash at the first evaluation, maybe hours in.

Each image's decoded pixels are hashed: two split files that list the same images under other names (NOAH's
`get_vtab1k.py` writes train800val200 as separate copies) are compared by content, not by path.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from .errors import DataError


def pixel_digest(path: Path) -> str | None:
    """sha1 of the decoded RGB pixels and size, or None with the reason stored by `decode_all`."""
    with Image.open(path) as image:
        image.load()  # the full decode: a truncated file fails here, not at Image.open
        rgb = image.convert("RGB")
    if rgb.width == 0 or rgb.height == 0:
        raise ValueError("the image has 0 pixels")
    return hashlib.sha1(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()


def _try(path: Path) -> tuple[str | None, str | None]:
    try:
        return pixel_digest(path), None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace(f"'{path}'", "").strip()
        return None, reason or type(exc).__name__


def decode_all(paths: Iterable[Path], listed_in: Callable[[Path], str],
               progress: Callable[[int], None] | None = None) -> dict[Path, str]:
    """Pixel digest of every path (each file decoded once); the first bad image stops the check with one line
    naming the split file that lists it, the image and the reason."""
    unique = list(dict.fromkeys(paths))
    out: dict[Path, str] = {}
    # PIL releases the GIL while decoding, so threads use every core without pickling images across processes
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
        for path, (digest, reason) in zip(unique, pool.map(_try, unique), strict=True):
            if digest is None:
                pool.shutdown(wait=False, cancel_futures=True)  # do not decode the rest of a large test split
                raise DataError(f"{listed_in(path)}: image {path} cannot be decoded ({reason})")
            out[path] = digest
            if progress is not None:
                progress(1)
    return out
