"""A corpus of malformed catalog files: each must give exactly one clear line, exit 1 and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from vpeft.cli import main

from tests.conftest import entry_text

LEAVES = ("adapter-tuning, multi-task-tuning, prefix-tuning, prompt-tuning, reparameter-tuning, side-tuning, "
          "specification-tuning, unified-tuning")
BASE = entry_text("gamma", "Gamma", "Gamma: A Third Adapter", "2301.00003")


def replace(old: str, new: str) -> bytes:
    assert old in BASE, old
    return BASE.replace(old, new).encode()


# (case id, file name, file bytes, expected line with {f} for the file path)
CASES: list[tuple[str, str, bytes, str]] = [
    ("missing-field", "gamma", replace("name: Gamma\n", ""), "{f}: name: required field is missing"),
    ("wrong-type", "gamma", replace("year: 2023", "year: soon"), "{f}: paper.year: must be a whole number"),
    ("unknown-key", "gamma", BASE.encode() + b"homepage: https://x.org\n", "{f}: homepage: unknown field"),
    ("unknown-nested-key", "gamma", replace("  venue: CVPR", "  venue: CVPR\n  pages: 1-9"),
     "{f}: paper.pages: unknown field"),
    ("unknown-category", "gamma", replace("category: adapter-tuning", "category: adapters"),
     "{f}: category: unknown category 'adapters' (choose one of: " + LEAVES + ")"),
    ("category-not-leaf", "gamma", replace("category: adapter-tuning", "category: addition-based"),
     "{f}: category: 'addition-based' is not a leaf of the taxonomy (choose one of: " + LEAVES + ")"),
    ("id-not-file-name", "gamma", replace("id: gamma", "id: delta"),
     "{f}: id: must equal the file name 'gamma', found 'delta'"),
    ("bad-id-pattern", "Gamma_X", replace("id: gamma", "id: Gamma_X"),
     "{f}: id: must be lowercase letters and digits joined by '-' (like 'lora' or 'vpt-deep')"),
    ("duplicate-name", "gamma", replace("name: Gamma", "name: ALPHA"),
     "{f}: name: this name is already used by {d}/methods/alpha.yaml"),
    ("duplicate-alias", "gamma", replace("aliases: []", "aliases: [Beta]"),
     "{f}: aliases[0]: this name is already used by {d}/methods/beta.yaml"),
    ("duplicate-arxiv", "gamma", replace("2301.00003", "2301.00001"),
     "{f}: paper.arxiv: this arXiv id is already used by {d}/methods/alpha.yaml"),
    ("duplicate-title", "gamma", replace("Gamma: A Third Adapter", "alpha -- a test ADAPTER"),
     "{f}: paper.title: this paper title is already used by {d}/methods/alpha.yaml"),
    ("http-url", "gamma", replace("https://github.com/example/gamma", "http://github.com/example/gamma"),
     "{f}: code_url: must be an https:// URL"),
    ("javascript-url", "gamma", replace("https://github.com/example/gamma", "javascript:alert(1)"),
     "{f}: code_url: must be an https:// URL"),
    ("bad-source-url", "gamma", replace("  - https://arxiv.org/abs/2301.00003", "  - ftp://x.org/paper"),
     "{f}: sources[0]: must be an https:// URL"),
    ("arxiv-format", "gamma", replace("arxiv: '2301.00003'", "arxiv: 'arXiv:2301.00003v2'"),
     "{f}: paper.arxiv: must be a new-style arXiv id such as 2205.13535 (no version suffix)"),
    ("arxiv-unquoted", "gamma", replace("arxiv: '2301.00003'", "arxiv: 2301.12345"),
     "{f}: paper.arxiv: must be a text string (quote it: '2301.12345')"),
    ("arxiv-unquoted-trailing-zero", "gamma", replace("arxiv: '2301.00003'", "arxiv: 2402.09350"),
     "{f}: paper.arxiv: must be a text string (quote it: '2402.09350')"),
    ("alias-unquoted-number", "gamma", replace("aliases: []", "aliases: [1.10]"),
     "{f}: aliases[0]: must be a text string (quote it: '1.10')"),
    ("year-range", "gamma", replace("year: 2023", "year: 2031"), "{f}: paper.year: must be between 2015 and 2027"),
    ("authors-not-list", "gamma", replace("  authors:\n    - Lovelace, Ada\n    - Turing, Alan", "  authors: Ada"),
     "{f}: paper.authors: must be a list"),
    ("empty-author", "gamma", replace("    - Turing, Alan", "    - ''"),
     "{f}: paper.authors[1]: must be 'Family, Given' (e.g. 'Ben Zaken, Elad'), or one word for a single name"),
    # reading order cannot be split safely ("Elad Ben Zaken"): the stored form names the family part
    ("author-reading-order", "gamma", replace("    - Turing, Alan", "    - Alan Turing"),
     "{f}: paper.authors[1]: must be 'Family, Given' (e.g. 'Ben Zaken, Elad'), or one word for a single name"),
    ("author-others", "gamma", replace("    - Turing, Alan", "    - others"),
     "{f}: paper.authors[1]: 'others' is not a person ('and others' is not an author; list every author)"),
    ("doi-with-resolver", "gamma", replace("  venue: CVPR", "  venue: CVPR\n  doi: https://doi.org/10.1/x"),
     "{f}: paper.doi: must be a bare DOI such as 10.1109/CVPR52729.2023.01234 (no https://doi.org/)"),
    ("bad-yaml", "gamma", replace("name: Gamma", "name: [Gamma"),
     "{f}: line 3, column 8: invalid YAML: expected ',' or ']', but got ':'"),
    ("tab-indent", "gamma", replace("  venue: CVPR", "\tvenue: CVPR"),
     "{f}: line 9, column 1: invalid YAML: found character '\\t' that cannot start any token"),
    ("duplicate-key", "gamma", replace("name: Gamma\n", "name: Gamma\nname: Again\n"),
     "{f}: line 3, column 1: invalid YAML: duplicate key 'name'"),
    ("empty-file", "gamma", b"", "{f}: file is empty"),
    ("comments-only", "gamma", b"# just a comment\n\n", "{f}: file is empty"),
    ("wrong-encoding", "gamma", replace("Lovelace, Ada", "Lovelace, Ad\u00e9").decode().encode("latin-1"),
     "{f}: not UTF-8 text (byte 0xe9 at offset 104); save it as UTF-8"),
    ("top-level-list", "gamma", b"- id: gamma\n", "{f}: must be a mapping of fields, found a list"),
    ("unknown-variant", "gamma", BASE.encode() + b"variant_of: nothing\n",
     "{f}: variant_of: unknown method 'nothing'"),
    ("empty-summary", "gamma", replace("summary: Adds a trainable bottleneck after each frozen MLP.", "summary: ''"),
     "{f}: summary: must not be empty"),
    ("unknown-implementation", "gamma", BASE.encode() + b"implementation: no-such-method\n",
     "{f}: implementation: 'no-such-method' is not in the methods registry (see `vpeft methods`)"),
    ("implementation-of-another-paper", "gamma", BASE.encode() + b"implementation: lora\n",
     "{f}: implementation: 'lora' implements arXiv 2106.09685, but this entry's paper is arXiv 2301.00003: name the "
     "right implementation, or fix its `paper`"),
]


@pytest.mark.parametrize(("name", "content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_entry_gives_one_line(small_catalog: Path, capsys: pytest.CaptureFixture[str],
                                        name: str, content: bytes, expected: str) -> None:
    path = small_catalog / "methods" / f"{name}.yaml"
    path.write_bytes(content)
    code = main(["--catalog", str(small_catalog), "validate"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 1, f"{path}: a malformed entry must make `vpeft validate` exit 1; it printed {out}"
    assert out == [expected.format(f=path, d=small_catalog)], f"{name}: one line naming the file and the field"


def test_valid_small_catalog_passes(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(small_catalog), "validate"]) == 0
    assert capsys.readouterr().out == ""


def test_every_problem_is_reported_at_once(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (small_catalog / "methods" / "gamma.yaml").write_bytes(replace("year: 2023", "year: 1999"))
    (small_catalog / "methods" / "delta.yaml").write_bytes(b"")
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2, f"gamma.yaml (year 1999) and delta.yaml (empty) are both reported in one run: {lines}"


def test_cli_process_has_no_traceback(small_catalog: Path) -> None:
    (small_catalog / "methods" / "gamma.yaml").write_bytes(b"id: [unclosed\n")
    proc = subprocess.run([sys.executable, "-m", "vpeft.cli", "--catalog", str(small_catalog), "validate"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1, f"gamma.yaml is invalid YAML: exit 1 expected; stdout {proc.stdout!r}"
    assert "Traceback" not in proc.stdout + proc.stderr, f"one line, not a traceback: {proc.stderr[-2000:]}"
    assert proc.stdout.startswith(f"{small_catalog}/methods/gamma.yaml: line 2, column 1: invalid YAML")


def test_missing_catalog_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(tmp_path / "nope"), "validate"]) == 1
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'nope'}: catalog folder not found (use --catalog DIR)"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20


def test_a_broken_file_is_reported_once_not_at_every_reference(
    small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Results and variants that point at an entry whose file does not load repeat nothing: one line, its own."""
    (small_catalog / "methods" / "gamma.yaml").write_text(
        entry_text("gamma", "Gamma", "Gamma: Yet Another Adapter", "2301.00003").replace(
            "aliases: []", "aliases: []\nvariant_of: beta"
        )
    )
    (small_catalog / "methods" / "beta.yaml").write_bytes(b"id: [unclosed\n")
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{small_catalog}/methods/beta.yaml: line 2")


def test_a_duplicate_is_blamed_on_the_newer_entry_naming_the_older(small_catalog: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A contributor's new file sorts before the existing one ('aaa' < 'alpha'): the message is still on theirs."""
    alpha = (small_catalog / "methods" / "alpha.yaml").read_text(encoding="utf-8")
    (small_catalog / "methods" / "alpha.yaml").write_text(alpha + "added: '2026-01-01'\n", encoding="utf-8")
    new = BASE.replace("id: gamma", "id: aaa").replace("2301.00003", "2301.00001") + "added: '2026-11-30'\n"
    (small_catalog / "methods" / "aaa.yaml").write_text(new, encoding="utf-8")
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"{small_catalog}/methods/aaa.yaml: paper.arxiv: this arXiv id is already used by "
                   f"{small_catalog}/methods/alpha.yaml"]


def test_the_same_doi_twice_is_one_paper(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alpha = small_catalog / "methods" / "alpha.yaml"
    alpha.write_text(alpha.read_text(encoding="utf-8").replace("  venue: CVPR", "  venue: CVPR\n  doi: 10.1234/Same"),
                     encoding="utf-8")
    gamma = replace("  venue: CVPR", "  venue: CVPR\n  doi: 10.1234/same")
    (small_catalog / "methods" / "gamma.yaml").write_bytes(gamma)
    assert main(["--catalog", str(small_catalog), "validate"]) == 1
    assert capsys.readouterr().out.strip() == (f"{small_catalog}/methods/gamma.yaml: paper.doi: this DOI is already "
                                               f"used by {small_catalog}/methods/alpha.yaml")
