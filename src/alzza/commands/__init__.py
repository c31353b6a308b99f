"""The ``alzza`` subcommands that live in a module of their own.

Each module gives ``add_parser(subparsers)`` and ``run(args, out=print) -> int``; this table is
the one place such a command is registered (cli.py reads it).
"""

from __future__ import annotations

from . import data, export, fetch, reproduce

COMMAND_MODULES = {"fetch": fetch, "data": data, "reproduce": reproduce, "export": export}
