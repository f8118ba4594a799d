"""What the site says about itself: the repository it comes from, the catalog commit it was built from, the day.

The repository URL is one setting, `repo_url` of the repository's mkdocs.yml (no project URL is recorded anywhere
else); the Pages workflow sets it from GitHub (VPEFT_REPO_URL). Without it, pages name their files but link none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..catalog.added import git_output
from .links import safe_url


@dataclass(frozen=True)
class BuildInfo:
    repo_url: str | None  # https://github.com/OWNER/NAME, checked by safe_url
    branch: str  # the branch edit links open
    commit: str | None  # the catalog's commit (full sha), None outside a clone
    dirty: bool  # the catalog folder has uncommitted changes
    day: str  # YYYY-MM-DD, UTC (SOURCE_DATE_EPOCH when set, for reproducible builds)
    catalog_path: str  # the catalog folder relative to the repository root, for edit links

    def edit_url(self, file_in_catalog: str) -> str | None:
        if not self.repo_url:
            return None
        return f"{self.repo_url}/edit/{self.branch}/{self.catalog_path}/{file_in_catalog}"

    def commit_url(self) -> str | None:
        return f"{self.repo_url}/commit/{self.commit}" if self.repo_url and self.commit else None


def _git(folder: Path, *args: str) -> str | None:
    out = git_output(folder, *args)
    return out.strip() if out is not None else None


def build_day() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch.isdigit() else datetime.now(timezone.utc)
    return moment.date().isoformat()


def build_info(catalog_dir: Path, repo_url: str | None, branch: str = "main") -> BuildInfo:
    folder = catalog_dir.resolve()
    commit = _git(folder, "rev-parse", "HEAD") if folder.is_dir() else None
    top = _git(folder, "rev-parse", "--show-toplevel") if commit else None
    status = _git(folder, "status", "--porcelain", "--", ".") if commit else None
    rel = folder.relative_to(Path(top).resolve()).as_posix() if top else "catalog"
    url = safe_url((repo_url or "").rstrip("/") or None)
    return BuildInfo(url, branch, commit, bool(status), build_day(), rel)
