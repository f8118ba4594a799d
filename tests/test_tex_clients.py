"""The whole bibliography in the real tools researchers use: pdfLaTeX + BibTeX (plain, ieeetr, plainnat,
abbrvnat) and biblatex + biber, from Debian's TeX packages; CSL-JSON through citeproc-py.

A document cites every key; any warning that names the .bib file, an entry or a citation fails the test.
.ci/run installs the TeX packages when missing; elsewhere the TeX tests skip and say why, except under CI=true,
where a missing tool is a failure (a skipped check would hide a broken install step).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from vpeft.bib import export
from vpeft.bib.record import catalog_records
from vpeft.catalog.models import Catalog
from vpeft.catalog.service import valid_catalog

from tests.bib_checks import check_csl
from tests.conftest import CATALOG

TOOLS = ("pdflatex", "bibtex", "biber")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
needs_tex = pytest.mark.skipif(
    bool(MISSING) and not os.environ.get("CI"),
    reason=f"{', '.join(MISSING)} not installed (apt-get install texlive-latex-base texlive-latex-recommended "
    "texlive-bibtex-extra biber)",
)
BIB = "vpeft"
BIBTEX_STYLES = ("plain", "ieeetr", "plainnat", "abbrvnat")
NATBIB = {"plainnat", "abbrvnat"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return valid_catalog(str(CATALOG))


@pytest.fixture(scope="module")
def keys(catalog: Catalog) -> list[str]:
    return [r.key for r in catalog_records(catalog)]


def _document(keys: list[str], preamble: str, bibliography: str) -> str:
    return "\n".join([
        r"\documentclass{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage{url}", preamble,
        r"\begin{document}", rf"\cite{{{','.join(keys)}}}", bibliography, r"\end{document}", ""])


def _run(folder: Path, *command: str) -> str:
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return done.stdout + done.stderr


def _bibliography_warnings(log: str, keys: list[str]) -> list[str]:
    """LaTeX log warnings about the bibliography: naming the .bib, an entry, or any citation."""
    flat = re.sub(r"\n(?!(LaTeX|Package|Class|\(|Warning))", "", log)  # TeX wraps log lines at 79 characters
    named = re.compile(r"\.bib\b|Citation|citation|undefined|Empty|" + "|".join(re.escape(k) for k in keys))
    return [line for line in flat.splitlines() if "Warning" in line and named.search(line)]


def _compile(tmp_path: Path, catalog: Catalog, keys: list[str], tex: str, backend: str) -> tuple[str, str]:
    """Four passes (LaTeX, backend, LaTeX, LaTeX); the last LaTeX log and the backend's own log."""
    shutil.which("pdflatex") or pytest.fail(f"{', '.join(MISSING)} missing under CI: .ci/run installs them")
    (tmp_path / f"{BIB}.bib").write_text(export(catalog, "bibtex"), encoding="utf-8")
    (tmp_path / "doc.tex").write_text(tex, encoding="utf-8")
    latex = ("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex")
    _run(tmp_path, *latex)
    backend_out = _run(tmp_path, backend, "doc")
    _run(tmp_path, *latex)
    _run(tmp_path, *latex)
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    blg = (tmp_path / "doc.blg").read_text(encoding="utf-8", errors="replace")
    return log, backend_out + blg


@needs_tex
@pytest.mark.slow
@pytest.mark.parametrize("style", BIBTEX_STYLES)
def test_bibtex_styles_compile_the_whole_catalog_without_warnings(tmp_path: Path, catalog: Catalog,
                                                                  keys: list[str], style: str) -> None:
    preamble = r"\usepackage[numbers]{natbib}" if style in NATBIB else ""
    tex = _document(keys, preamble, rf"\bibliographystyle{{{style}}}\bibliography{{{BIB}}}")
    log, blg = _compile(tmp_path, catalog, keys, tex, "bibtex")
    assert [line for line in blg.splitlines() if "Warning--" in line or "error message" in line] == []
    assert _bibliography_warnings(log, keys) == []
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert bbl.count(r"\bibitem") == len(keys)
    flat = " ".join(bbl.replace("~", " ").split())  # a tie keeps "Ben Zaken" on one line
    # the fixes of issue 15, as the classic styles print them
    assert "Elad Ben Zaken" in flat or "E. Ben Zaken" in flat or "Ben Zaken, E" in flat
    assert "{ST-Adapter}" in flat and "{Prefix-Tuning}" in flat
    assert "arXiv:2303.00690" in flat  # an arXiv-only paper shows its id


@needs_tex
@pytest.mark.slow
def test_biblatex_biber_compiles_the_whole_catalog_without_warnings(tmp_path: Path, catalog: Catalog,
                                                                    keys: list[str]) -> None:
    tex = _document(keys, rf"\usepackage[backend=biber,style=numeric]{{biblatex}}\addbibresource{{{BIB}.bib}}",
                    r"\printbibliography")
    log, blg = _compile(tmp_path, catalog, keys, tex, "biber")
    assert [line for line in blg.splitlines() if re.search(r"\b(WARN|ERROR)\b", line)] == []
    assert _bibliography_warnings(log, keys) == []
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert bbl.count(r"\entry{") == len(keys)
    # biblatex keeps the eprint form and reads the family name as stored
    assert "{eprint}{2303.00690}" in " ".join(bbl.split()) or r"\verb 2303.00690" in bbl
    assert "family={Ben\\bibnamedelima Zaken}" in bbl or "family={Ben Zaken}" in bbl


def test_csl_json_renders_every_paper_with_citeproc(catalog: Catalog) -> None:
    """citeproc-py (its bundled Harvard style, author-date): every paper renders, names and titles as plain text."""
    text = "\n".join(check_csl(export(catalog, "csl-json")))
    assert "Ben Zaken, E" in text and "\\" not in text and "{" not in text


def test_log_check_catches_bibliography_warnings() -> None:
    """The filter itself: warnings about citations, the .bib or an entry count, others (fonts, boxes) do not."""
    log = "\n".join([
        "LaTeX Warning: Citation `chen2022adaptformer' on page 1 undefined on input line 5.",
        "Package natbib Warning: There were undefined citations.",
        "Package biblatex Warning: Data encoding of 'vpeft.bib' is",
        "'ascii'.",
        "LaTeX Font Warning: Font shape `OT1/cmr/m/n' in size <5> not available",
        "Overfull \\hbox (1.5pt too wide) in paragraph at lines 3--4",
    ])
    found = _bibliography_warnings(log, ["chen2022adaptformer"])
    assert len(found) == 3 and all("Font" not in line for line in found)
