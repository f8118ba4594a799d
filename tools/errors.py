"""Errors that the CLI turns into one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (an option, a file, a value). The message is one line, shown as is."""

    exit_code = 2


class CatalogError(UserError):
    """The catalog is invalid; the message lists one problem per line."""

    exit_code = 1
