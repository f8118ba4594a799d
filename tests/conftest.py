"""Shared fixtures: a small valid catalog in a temporary folder, built from the real taxonomy and benchmarks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"

VALID_ENTRY = """\
id: {id}
name: {name}
aliases: []
paper:
  title: '{title}'
  authors:
    - Lovelace, Ada
    - Turing, Alan
  venue: CVPR
  year: 2023
  arxiv: '{arxiv}'
  url: https://arxiv.org/abs/{arxiv}
code_url: https://github.com/example/{id}
category: adapter-tuning
tags:
  applications: [Image Classification]
  design: [Adapter Design]
summary: Adds a trainable bottleneck after each frozen MLP.
sources:
  - https://arxiv.org/abs/{arxiv}
"""


def entry_text(id: str = "alpha", name: str = "Alpha", title: str = "Alpha: A Test Adapter",
               arxiv: str = "2301.00001") -> str:
    return VALID_ENTRY.format(id=id, name=name, title=title, arxiv=arxiv)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Caches (parameter counts) go to a temporary folder, never the user's ~/.cache; subprocesses inherit it."""
    os.environ["VPEFT_CACHE_DIR"] = str(tmp_path_factory.mktemp("vpeft-cache"))


@pytest.fixture
def small_catalog(tmp_path: Path) -> Path:
    """taxonomy + benchmarks of the real catalog, and two valid method entries."""
    root = tmp_path / "catalog"
    (root / "methods").mkdir(parents=True)
    shutil.copy(CATALOG / "taxonomy.yaml", root / "taxonomy.yaml")
    shutil.copytree(CATALOG / "benchmarks", root / "benchmarks")
    (root / "methods" / "alpha.yaml").write_text(entry_text())
    (root / "methods" / "beta.yaml").write_text(
        entry_text("beta", "Beta", "Beta: Another Test Adapter", "2301.00002")
    )
    return root
