"""A problem found in the catalog, printed as one line: `FILE: FIELD: MESSAGE`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# error: fails `validate` and every command that reads the catalog; required: a fact still to fill in (a fresh
# stub): fails `validate`, but the site, bib and the rest still work with it, so a contributor can preview;
# warning: fails `validate --strict`; note: listed by --strict, fails nothing (a fact left null on purpose, with
# the reason in the entry's notes).
Severity = Literal["error", "required", "warning", "note"]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}: " if self.field else f"{self.file}: "
        prefix = "" if self.severity in ("error", "required") else f"{self.severity}: "
        return f"{where}{prefix}{self.message}"
