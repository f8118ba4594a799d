"""One module per `vpeft` subcommand.

Each module defines ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> int``; `tools.cli` lists them in
``COMMANDS``. Commands raise `tools.errors.UserError` for bad input; the CLI prints it as one line.
"""
