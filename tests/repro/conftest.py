"""Shared smoke data for the reproduce tests: digits in the VTAB-1k layout and the tiny backbone, made once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from vpeft.catalog.service import valid_catalog
from vpeft.repro import smoke

from tests.conftest import CATALOG


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("smoke-data")
    bench = valid_catalog(str(CATALOG)).benchmarks["vtab-1k"]
    smoke.make_data(root, bench)
    return root


@pytest.fixture(scope="session")
def smoke_ready(smoke_root: Path) -> Path:
    """The smoke data with the pretrained tiny backbone."""
    smoke.pretrain_backbone(smoke_root / smoke.BACKBONE_FILE)
    return smoke_root


@pytest.fixture
def smoke_copy(smoke_root: Path, tmp_path: Path) -> Path:
    """A private copy of the svhn task folder, for a test to break."""
    shutil.copytree(smoke_root / "svhn", tmp_path / "data" / "svhn")
    return tmp_path / "data"
