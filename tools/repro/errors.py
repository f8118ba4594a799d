"""Errors of the reproduce pipeline, printed by the CLI as one line with exit 2."""

from __future__ import annotations

from tools.errors import UserError

DOCS = "site/reproduce.md"


class DataError(UserError):
    """The data folder is missing or does not match the benchmark; the message says what, where and the docs."""

    def __init__(self, message: str, anchor: str = "prepare-vtab-1k") -> None:
        super().__init__(f"{message} (see {DOCS}#{anchor})")
