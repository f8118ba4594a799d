"""`vpeft fmt`: entries in canonical form, idempotent, never losing a value or a comment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from vpeft.catalog.models import MethodEntry
from vpeft.catalog.yamlio import read_yaml
from vpeft.cli import main

from tests.conftest import CATALOG

LORA = CATALOG / "methods" / "lora.yaml"


def unwrapped(text: str) -> str:
    """The entry as a person might write it: folded prose joined onto one line, a key quoted differently."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("summary: >-"))
    end = next(i for i in range(at + 1, len(lines)) if not lines[i].startswith("  "))
    joined = "summary: " + " ".join(line.strip() for line in lines[at + 1 : end])
    return "\n".join([*lines[:at], joined, *lines[end:]]).replace("name: LoRA", "name: 'LoRA'") + "\n"


@pytest.fixture
def entry(tmp_path: Path) -> Path:
    path = tmp_path / "lora.yaml"
    path.write_text(unwrapped(LORA.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def test_fmt_writes_the_canonical_form_and_keeps_every_value(entry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = MethodEntry.model_validate(read_yaml(entry, str(entry)))
    assert main(["fmt", str(entry)]) == 0
    assert entry.read_text(encoding="utf-8") == LORA.read_text(encoding="utf-8")
    assert MethodEntry.model_validate(read_yaml(entry, str(entry))) == before
    assert f"{entry}: reformatted" in capsys.readouterr().out


def test_fmt_is_idempotent(entry: Path) -> None:
    main(["fmt", str(entry)])
    once = entry.read_text(encoding="utf-8")
    assert main(["fmt", str(entry)]) == 0
    assert entry.read_text(encoding="utf-8") == once


def test_fmt_check_lists_and_changes_nothing(entry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = entry.read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(entry)]) == 1
    assert entry.read_text(encoding="utf-8") == text
    assert "not in canonical form (run `vpeft fmt` on it)" in capsys.readouterr().out


def test_fmt_refuses_a_file_with_a_comment_and_keeps_it(entry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = entry.read_text(encoding="utf-8") + "# checked on the CVF page too\n"
    entry.write_text(text, encoding="utf-8")
    assert main(["fmt", str(entry)]) == 1
    assert entry.read_text(encoding="utf-8") == text
    err = capsys.readouterr().err
    assert f"{entry}: line {len(text.splitlines())}: a comment, which formatting would drop" in err


def test_fmt_refuses_an_invalid_entry_naming_file_and_field(entry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = entry.read_text(encoding="utf-8").replace("category: reparameter-tuning", "category: Not A Slug")
    entry.write_text(text, encoding="utf-8")
    assert main(["fmt", str(entry)]) == 1
    assert entry.read_text(encoding="utf-8") == text
    assert f"{entry}: category:" in capsys.readouterr().err


def test_fmt_over_the_whole_catalog_changes_nothing_on_main(tmp_path: Path) -> None:
    copy = tmp_path / "catalog"
    shutil.copytree(CATALOG, copy)
    assert main(["--catalog", str(copy), "fmt", "--check"]) == 0
