"""The ``alzza`` subcommands that live in a module of their own.

Each module gives ``add_parser(subparsers)`` and ``run(args, out=print) -> int``; this table is
the one place a command is registered (cli.py reads it and builds the parser).
"""

from __future__ import annotations

from . import bench, data, export, fetch, generate, gradcheck, listing, reproduce, run, summary

#: command name → its module, in the order ``alzza --help`` lists them
COMMAND_MODULES = {"list": listing, "run": run, "summary": summary, "bench": bench, "fetch": fetch, "data": data,
                   "reproduce": reproduce, "export": export, "gradcheck": gradcheck, "generate": generate}
