"""RIS: one record per paper, each opening with TY and closing with ER; one value per line."""

from __future__ import annotations

from .record import Record

RIS_TYPES = {"conference": "CONF", "journal": "JOUR", "preprint": "UNPB", "other": "GEN"}
REQUIRED_TAGS = ("TY", "ID", "TI", "ER")


def _line(tag: str, value: str) -> str:
    # a line break inside a value would start a bogus tag
    return f"{tag}  - {' '.join(value.split())}"


def ris_record(record: Record) -> str:
    lines = [_line("TY", RIS_TYPES[record.kind]), _line("ID", record.key), _line("TI", record.title)]
    lines += [_line("AU", f"{n.family}, {n.given}" if n.given else n.family) for n in record.authors or ()]
    if record.year:
        lines.append(_line("PY", str(record.year)))
    if record.container:
        lines.append(_line("T2", record.container))
    if record.arxiv:
        lines.append(_line("N1", f"arXiv:{record.arxiv}"))
    if record.doi:
        lines.append(_line("DO", record.doi))
    if record.url:
        lines.append(_line("UR", record.url))
    lines.append("ER  - ")
    return "\n".join(lines) + "\n"


def write_ris(records: list[Record]) -> str:
    return "\n".join(ris_record(r) for r in records)
