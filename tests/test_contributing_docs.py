"""The contributor's path is written down in order, in the pull-request template and in CONTRIBUTING.md, and each
command it names exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.cli import main

STEPS = ["vpeft new", "vpeft results new", "vpeft fmt", "vpeft validate", "vpeft bib --update-keys", "vpeft readme",
         "ruff check", "pytest"]


@pytest.mark.parametrize(("doc", "steps"), [
    (".github/pull_request_template.md", STEPS),
    ("CONTRIBUTING.md", [s for s in STEPS if s != "vpeft results new"]),  # its own section, after the four steps
])
def test_every_step_is_listed_in_order(doc: str, steps: list[str]) -> None:
    text = Path(doc).read_text(encoding="utf-8")
    at = 0
    for step in steps:  # each step is found after the one before it
        found = text.find(step, at)
        assert found >= 0, f"{doc}: '{step}' should follow '{text[at:at + 30]}...' (the order is {steps})"
        at = found


@pytest.mark.parametrize("command", [["new", "--help"], ["results", "new", "--help"], ["fmt", "--help"],
                                     ["validate", "--help"], ["bib", "--help"], ["readme", "--help"]])
def test_each_documented_command_exists(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(command)
    assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out


def test_fmt_refuses_a_result_table_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--check", "catalog/results/fact-paper-vtab-1k.yaml"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("catalog/results/fact-paper-vtab-1k.yaml: a result table; `vpeft fmt` formats method entries "
                      "(catalog/methods/*.yaml) only")
