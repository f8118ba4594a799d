"""One module per `vpeft` subcommand.

Each module defines ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> int``. `tools.cli` finds every
module here (names starting with `_` are helpers, not commands). Commands raise `tools.errors.UserError` for
bad input; the CLI prints it as one line.
"""
