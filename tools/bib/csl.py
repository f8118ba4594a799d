"""CSL-JSON (the input format of citeproc processors, Zotero and pandoc): plain text, no LaTeX."""

from __future__ import annotations

import json
from typing import Any

from .record import Record

CSL_TYPES = {"conference": "paper-conference", "journal": "article-journal", "preprint": "article", "other": "article"}


def csl_item(record: Record) -> dict[str, Any]:
    item: dict[str, Any] = {"id": record.key, "type": CSL_TYPES[record.kind], "title": record.title}
    if record.authors:
        item["author"] = [{"family": n.family, "given": n.given} if n.given else {"family": n.family}
                          for n in record.authors]
    if record.year:
        item["issued"] = {"date-parts": [[record.year]]}
    if record.container:
        item["container-title"] = record.container
    if record.kind == "preprint":
        # how Zotero writes an arXiv preprint: publisher arXiv, the id as its number
        item["publisher"] = "arXiv"
        item["number"] = f"arXiv:{record.arxiv}"
    elif record.arxiv:
        item["note"] = f"arXiv:{record.arxiv}"
    if record.doi:
        item["DOI"] = record.doi
    if record.url:
        item["URL"] = record.url
    return item


def write_csl(records: list[Record]) -> str:
    return json.dumps([csl_item(r) for r in records], indent=2, ensure_ascii=False) + "\n"
