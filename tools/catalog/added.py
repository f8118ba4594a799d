"""When each method entry joined the catalog: the date of the commit that first added its file.

The decision (issue 16): git history is the record when there is one, because a hand-typed `added` field drifts
(every seeded entry once said the seeding day). So the site reads, for each entry, the author date of the first
commit that added `methods/<id>.yaml` (following renames), and falls back to the entry's own `added` field where
git cannot say: outside a clone (an installed wheel), in a shallow clone that lacks the commit, or for a file not
committed yet. `vpeft new` records today's date in that field, so the fallback is right for new entries too.

One `git log` call for the whole folder (not one per entry): the site build must stay fast.
"""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from .models import Catalog

GIT_TIMEOUT_S = 20


def git_output(folder: Path, *args: str) -> str | None:
    """The output of `git ARGS` run in `folder`, or None when git is missing or fails (not a clone)."""
    try:
        proc = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _git_log(folder: Path) -> str | None:
    """Oldest-first log of the files added or renamed under `folder`, or None when git cannot tell (no git, not a
    clone, or a shallow clone: there every file looks added by the oldest commit it has)."""
    if (git_output(folder, "rev-parse", "--is-shallow-repository") or "").strip() != "false":
        return None
    return git_output(folder, "log", "--reverse", "--diff-filter=AR", "-M", "--name-status", "--format=%x00%ad",
                "--date=short", "--", ".")


def first_commit_dates(log: str) -> dict[str, date]:
    """File name -> date of the commit that first added it, from `_git_log`'s text (a rename keeps the date)."""
    out: dict[str, date] = {}
    day: date | None = None
    for line in log.splitlines():
        if line.startswith("\0"):
            day = date.fromisoformat(line[1:].strip())
            continue
        parts = line.split("\t")
        if day is None or len(parts) < 2:
            continue
        status, path = parts[0], parts[-1]
        name = Path(path).name
        if status.startswith("R") and len(parts) == 3:
            old = Path(parts[1]).name
            out.setdefault(name, out.get(old, day))
        elif status == "A":
            out.setdefault(name, day)
    return out


def added_dates(catalog: Catalog) -> dict[str, date | None]:
    """Method id -> the day it joined the catalog (git first, the entry's `added` field otherwise)."""
    folder = Path(catalog.root) / "methods"
    log = _git_log(folder) if folder.is_dir() else None
    from_git = first_commit_dates(log) if log else {}
    out: dict[str, date | None] = {}
    for method_id, entry in catalog.methods.items():
        name = Path(catalog.files.get(f"methods/{method_id}", f"{method_id}.yaml")).name
        out[method_id] = from_git.get(name, entry.added)
    return out
