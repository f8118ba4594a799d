"""The mkdocs hook: adds the generated pages; under `serve` a broken catalog keeps the last good pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from vpeft.catalog import service
from vpeft.commands.site import catalog_for_hook
from vpeft.site import handover
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


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every catalog folder that is loaded (and then validated) from now on."""
    loads: list[str] = []
    real = service.load_catalog
    monkeypatch.setattr(service, "load_catalog", lambda root: loads.append(str(root)) or real(root))
    return loads


def _rename_alpha(catalog: Path) -> None:
    entry = catalog / "methods" / "alpha.yaml"
    entry.write_text(entry.read_text().replace("name: Alpha\n", "name: Alpha Renamed\n"))


def _alpha_page(files: Files) -> str:
    page = files.get_file_from_path("method/alpha.md")
    assert page is not None
    return page.content_string


def test_serve_takes_the_command_s_catalog_once_then_sees_each_edit(small_catalog: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CATALOG_ENV, raising=False)  # restored after the test, whatever the hand-over sets
    loads = _count_loads(monkeypatch)
    with catalog_for_hook(str(small_catalog)):  # as `vpeft site serve` does
        assert len(loads) == 1
        config = _start(monkeypatch, small_catalog, "serve")
        assert "Alpha Renamed" not in _alpha_page(_files(config))
        assert len(loads) == 1  # the first build took the catalog the command validated
        _rename_alpha(small_catalog)
        assert "Alpha Renamed" in _alpha_page(_files(config))  # the rebuild after an edit validated afresh
        assert len(loads) == 2


def test_an_edit_after_the_command_validated_is_seen_by_the_first_build(small_catalog: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CATALOG_ENV, raising=False)
    loads = _count_loads(monkeypatch)
    with catalog_for_hook(str(small_catalog)):
        _rename_alpha(small_catalog)
        config = _start(monkeypatch, small_catalog, "build")
        assert "Alpha Renamed" in _alpha_page(_files(config))
        assert len(loads) == 2


def test_the_hand_over_is_for_its_folder_only_and_taken_once(small_catalog: Path, tmp_path: Path) -> None:
    catalog = service.valid_catalog(str(small_catalog))
    handover.hand_over(small_catalog, handover.fingerprint(small_catalog), catalog)
    assert handover.take(tmp_path) is None and handover.take(small_catalog) is None  # a wrong folder drops it
    handover.hand_over(str(small_catalog), handover.fingerprint(small_catalog), catalog)
    assert handover.take(small_catalog.resolve()) is catalog
    assert handover.take(small_catalog) is None
