"""The peft bridge's registration is cheap: the bridged ids and their typed configs come from the stored table
(methods/peft_tuners.json), loading the registry imports no peft, and the stored table is checked here against the
installed peft (the failure names the command that refreshes it). The count cache is keyed with peft's version;
tests/test_methods_cli.py checks that `vpeft methods` leaves bridged tuners' counts to `vpeft params`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from vpeft import methods
from vpeft.methods import _count_cache, _peft_probe, peft_bridge

from tests.conftest import ROOT

STORED = _peft_probe.read_table()
BRIDGED = [r["id"] for r in STORED["tuners"] if r["bridged"]]


def test_loading_the_registry_imports_no_peft() -> None:
    code = ("import sys; from vpeft import methods; ids = methods.available(); methods.make_config('dora', r=8); "
            "print(len(ids), 'peft' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    count, imported = out.split()
    assert int(count) >= len(BRIDGED) + 20 and imported == "False"


def test_bridged_ids_and_configs_are_the_stored_ones() -> None:
    registered = {i for i in methods.available() if methods.get(i).module == peft_bridge.__name__}
    assert registered == set(BRIDGED) and len(BRIDGED) >= 20
    for row in STORED["tuners"]:
        if row["bridged"]:
            cfg = methods.make_config(row["id"])
            assert cfg.model_dump(exclude={"target"}) == {k: o["default"] for k, o in row["options"].items()}
            assert methods.get(row["id"]).cls.requires == ("peft",)


def test_stored_table_is_for_the_installed_peft() -> None:
    pytest.importorskip("peft", reason="peft is not installed: the stored table cannot be checked against it")
    installed = _peft_probe.installed_versions()
    assert STORED["versions"] == installed, (
        f"methods/peft_tuners.json was probed with {STORED['versions']}, installed: {installed}; "
        f"run {_peft_probe.REFRESH} (then python scripts/peft_recipes.py)")


def test_stored_options_are_the_installed_peft_config_fields() -> None:
    pytest.importorskip("peft", reason="peft is not installed: the stored options cannot be checked against it")
    from vpeft.methods import _peft_tuners as pt

    for row in STORED["tuners"]:
        if row["bridged"]:
            assert row["options"] == pt.stored_options(row["peft_type"], row["fixed"]), (
                f"{row['id']}: stored options differ from peft's config; run {_peft_probe.REFRESH}")


def test_count_cache_key_holds_the_peft_version(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {m: _count_cache.cache_key(m, "vit_base_patch16_224", {}) for m in ("vera", "lora")}
    monkeypatch.setattr(_count_cache, "installed_version", lambda dist: "0.0.0-other")
    assert _count_cache.cache_key("vera", "vit_base_patch16_224", {}) != keys["vera"]
    assert _count_cache.cache_key("lora", "vit_base_patch16_224", {}) == keys["lora"]  # needs no peft


def test_recipes_of_bridged_tuners_are_generated_and_current() -> None:
    out = subprocess.run([sys.executable, "scripts/peft_recipes.py", "--check"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    recipe = (ROOT / "catalog" / "recipes" / "vera.yaml").read_text(encoding="utf-8")
    assert "vera" in BRIDGED and "unsourced: peft's generic VERA tuner" in recipe
