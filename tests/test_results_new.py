"""`vpeft results new`: a paper-table stub with every task of the benchmark, which validate then names to fill."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from vpeft.cli import main

URL = "https://arxiv.org/abs/2106.09685"


def _new(catalog: Path, *extra: str) -> int:
    return main(["--catalog", str(catalog), "results", "new", "--method", "lora", "--benchmark", "fgvc",
                 "--url", URL, "--table", "Table 9", *extra])


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    import shutil

    shutil.copytree("catalog", tmp_path / "catalog")
    return tmp_path / "catalog"


def test_the_stub_lists_every_task_and_fails_validate_naming_what_to_fill(
        catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _new(catalog) == 0
    path = catalog / "results" / "lora-paper-fgvc.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(data["rows"][0]["scores"]) == ["cub200_2011", "nabirds", "oxford_flowers", "stanford_dogs",
                                               "stanford_cars"]
    assert data["source"]["kind"] == "paper" and data["backbone"] is None
    assert data["source"]["name"] == "LoRA (Hu et al., ICLR 2022)"  # named from the entry's facts
    assert (data["source"]["url"], data["source"]["table"], data["source"]["paper"]) == (URL, "Table 9", "lora")
    capsys.readouterr()
    assert main(["--catalog", str(catalog), "validate", "--no-registry"]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "lora-paper-fgvc" in line]
    assert [line.split(": ")[1] for line in lines] == ["backbone", "rows[0].scores"], lines
    # other commands still work while it is being filled, and show nothing of it yet
    assert main(["--catalog", str(catalog), "results", "list", "--method", "lora", "--json"]) == 0
    assert "lora-paper-fgvc" not in capsys.readouterr().out


def test_the_filled_stub_is_checked_like_every_table(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Filled in, it passes; a printed mean the scores do not give is the usual warning naming both values."""
    assert _new(catalog) == 0
    path = catalog / "results" / "lora-paper-fgvc.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["backbone"] = "ViT-B/16 (ImageNet-21k)"
    data["printed_mean"] = "task-mean"
    data["rows"][0]["scores"] = dict.fromkeys(data["rows"][0]["scores"], 80.1)
    data["rows"][0]["published"]["mean"] = 80.9
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["--catalog", str(catalog), "validate", "--no-registry", "--strict"]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "lora-paper-fgvc" in line]
    assert len(lines) == 1 and "rows[0].published.mean: warning: row 'LoRA': printed 80.9 but" in lines[0], lines
    assert "80.100" in lines[0]
    data["rows"][0]["published"]["mean"] = 80.1
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["--catalog", str(catalog), "validate", "--no-registry"]) == 0
    assert main(["--catalog", str(catalog), "results", "list", "--method", "lora"]) == 0
    assert "lora-paper-fgvc" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--url", "http://example.org"], "--url: must be an https:// URL"),
    (["--id", "Bad_Id"], "--id: must be lowercase"),
    (["--table", " "], "--table: give the table"),
    (["--benchmark", "imagenet"], "--benchmark: unknown benchmark 'imagenet'"),
    (["--method", "nope"], "--method: unknown method 'nope'"),
])
def test_bad_options_get_one_line(catalog: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                  message: str) -> None:
    assert _new(catalog, *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (catalog / "results" / "lora-paper-fgvc.yaml").exists()


def test_an_existing_table_is_never_overwritten(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _new(catalog) == 0
    path = catalog / "results" / "lora-paper-fgvc.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# my edits\n", encoding="utf-8")
    capsys.readouterr()
    assert _new(catalog) == 2
    assert "already exists" in capsys.readouterr().err and path.read_text().endswith("# my edits\n")
    assert _new(catalog, "--id", "fact-paper-vtab-1k") == 2  # an id another file holds
    assert "already exists" in capsys.readouterr().err
