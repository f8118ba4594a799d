"""The catalog commands: list, new, schema; options errors are one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vpeft.catalog.loader import load_catalog
from vpeft.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_and_category_filter(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--catalog", str(small_catalog), "list")
    assert code == 0 and "alpha" in out and out.strip().endswith("2 method(s)")
    code, out, _ = run(capsys, "--catalog", str(small_catalog), "list", "--category", "partial-based")
    assert code == 0 and out.strip() == "0 method(s)"
    code, out, _ = run(capsys, "--catalog", str(small_catalog), "list", "--category", "addition-based", "--json")
    assert [m["id"] for m in json.loads(out)] == ["alpha", "beta"]


def test_list_unknown_category_is_one_line(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--catalog", str(small_catalog), "list", "--category", "nope")
    assert code == 2 and out == ""
    assert err.startswith("vpeft: error: --category: unknown node 'nope' (known: addition-based,")
    assert len(err.strip().splitlines()) == 1


def test_new_writes_a_valid_stub(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--catalog", str(small_catalog), "new", "my-adapter", "--arxiv", "2205.13536",
                       "--category", "adapter-tuning")
    assert code == 0
    path = small_catalog / "methods" / "my-adapter.yaml"
    assert path.is_file() and str(path) in out and "authors as 'Family, Given'" in out
    catalog, problems = load_catalog(small_catalog)
    assert problems == [] and catalog.methods["my-adapter"].paper.url == "https://arxiv.org/abs/2205.13536"
    # the stub loads (site, bib work with it), but validate asks for what is still to fill in (tests/test_validate_gate)
    assert main(["--catalog", str(small_catalog), "validate"]) == 1


def test_new_never_overwrites(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (small_catalog / "methods" / "alpha.yaml").read_text()
    code, _, err = run(capsys, "--catalog", str(small_catalog), "new", "alpha", "--category", "adapter-tuning")
    assert code == 2 and "already exists" in err
    assert (small_catalog / "methods" / "alpha.yaml").read_text() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["new", "beta2", "--arxiv", "2301.00001", "--category", "adapter-tuning"],
         "the catalog already holds this paper as 'alpha'"),
        (["new", "Bad_Id", "--category", "adapter-tuning"], "ID: must be lowercase letters and digits"),
        (["new", "ok-id", "--arxiv", "1234", "--category", "adapter-tuning"], "--arxiv: must be a new-style arXiv id"),
        (["new", "ok-id", "--category", "addition-based"], "--category: 'addition-based' is not a leaf"),
    ],
)
def test_new_rejects_bad_input(small_catalog: Path, capsys: pytest.CaptureFixture[str],
                               argv: list[str], message: str) -> None:
    code, _, err = run(capsys, "--catalog", str(small_catalog), *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (small_catalog / "methods" / "ok-id.yaml").exists()


def test_unknown_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["list", "--bogus"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "vpeft: error: unrecognized arguments: --bogus"


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("validate", "list", "new", "schema"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert "usage: vpeft" in capsys.readouterr().out
