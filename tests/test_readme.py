"""The README's Quick start has exactly two commands, and CI runs the second one exactly as written."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "Quick start has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_has_two_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "pip install -e ." in commands[0]
    assert '".[test]"' in commands[1] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in ci if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert commands[-1] == quick_start_commands()[1]
    # Before it, only the blocks that install what the real-client tests drive, when it is missing: the browser for
    # the site's browser test, the TeX tools for the bibliography's test.
    before = "\n".join(commands[:-1])
    blocks = [b for b in before.split("\nfi") if b.strip()]
    assert all(b.lstrip().startswith("if ") and "apt-get install" in b for b in blocks), before
    assert [("chromium" in b, "texlive-bibtex-extra" in b) for b in blocks] == [(True, False), (False, True)]
