"""The mkdocs hook: adds the generated pages; under `serve` a broken catalog keeps the last good pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from vpeft.site.hook import CATALOG_ENV

from tests.conftest import ROOT


def _start(monkeypatch: pytest.MonkeyPatch, catalog: Path, command: str) -> MkDocsConfig:
    monkeypatch.setenv(CATALOG_ENV, str(catalog))
    config = load_config(config_file=str(ROOT / "mkdocs.yml"))
    for module in config.hooks.values():  # mkdocs keeps one module per hook file between builds
        monkeypatch.setattr(module, "_content", None)
    config.plugins.on_startup(command=command, dirty=False)
    return config


def _files(config: MkDocsConfig) -> Files:
    return config.plugins.on_files(Files([]), config=config)


def test_build_adds_pages_and_fails_on_a_broken_catalog(small_catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _start(monkeypatch, small_catalog, "build")
    assert _files(config).get_file_from_path("method/alpha.md") is not None
    assert {"Methods"} <= {k for item in config.nav for k in item}
    (small_catalog / "methods" / "alpha.yaml").write_text("id: alpha\nbogus: 1\n")
    with pytest.raises(PluginError, match="alpha.yaml"):
        _files(config)


def test_serve_keeps_the_last_good_pages(small_catalog: Path, monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    config = _start(monkeypatch, small_catalog, "serve")
    _files(config)
    (small_catalog / "methods" / "alpha.yaml").write_text("id: alpha\nbogus: 1\n")
    assert _files(config).get_file_from_path("method/alpha.md") is not None
    assert "still serving the pages of the last valid catalog" in caplog.text
    config.plugins.on_startup(command="build", dirty=False)
