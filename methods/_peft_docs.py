"""The bridged and left-out peft tuners as Markdown, for methods/README.md and the site's page site/peft.md.

Written from the stored probe result (`peft_tuners.json`) between markers by
`python -m vpeft.methods._peft_probe --write`; a test checks both files hold the text of the stored result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

START, END = "<!-- peft-bridge:start -->", "<!-- peft-bridge:end -->"
ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "methods" / "README.md", ROOT / "site" / "peft.md")  # in a clone; absent in an installed package


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _paper(arxiv: str | None) -> str:
    return f"[{arxiv}](https://arxiv.org/abs/{arxiv})" if arxiv else "—"


def markdown(data: dict[str, Any]) -> str:
    """The generated section: versions probed, the bridged tuners, the left-out ones with the computed reason."""
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    rows = data["tuners"]
    bridged = [r for r in rows if r["bridged"]]
    left = [r for r in rows if not r["bridged"]]
    lines = [
        START,
        f"Probed with {versions}: {len(bridged)} tuners bridged, {len(left)} left out.",
        "",
        "| id | peft type | paper (cited by peft) | merge | identity at init | options on the tiny test ViTs "
        "| counted on |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in bridged:
        peft_type = r["peft_type"] + (f" with {_cell(r['fixed'])}" if r["fixed"] else "")
        merge = "yes" if r["mergeable"] else f"no: {_cell(r['merge_note'])}"
        tiny = _cell(r["tiny_options"]) if r["tiny_options"] else "defaults"
        counted = "meta" if r["counts_on_meta"] else "CPU (fails on the meta device)"
        if r["count_depends_on_weights"]:
            counted += "; the count depends on the weights"
        lines.append(f"| `{r['id']}` | {peft_type} | {_paper(r['paper'])} | {merge} | "
                     f"{'yes' if r['identity_at_init'] else 'no'} | {tiny} | {counted} |")
    lines += ["", "Left out (the reason is the error or failed check the probe saw):", "",
              "| peft type | reason |", "|---|---|"]
    lines += [f"| {r['peft_type']} | {_cell(r['reason'])} |" for r in left]
    return "\n".join([*lines, END])


def replaced(text: str, section: str, where: str) -> str:
    """`text` with the part between the markers (markers included) replaced by `section`."""
    if START not in text or END not in text:
        raise ValueError(f"{where}: no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    return head + section + rest.split(END, 1)[1]


def write(data: dict[str, Any]) -> list[Path]:
    """Fill the markers of the docs that exist (a clone has them; an installed package does not)."""
    section = markdown(data)
    written = []
    for path in DOCS:
        if path.is_file():
            path.write_text(replaced(path.read_text(encoding="utf-8"), section, str(path)), encoding="utf-8")
            written.append(path)
    return written
