"""Importing a user's own code (``--import MODULE_OR_PATH``): their layer types, data sets, macros.

A user's layer module registers its types when it is imported (``@register_layer``), so
the command line imports every ``--import`` before it reads an experiment, and
:func:`alzza.load` finds the types of a saved model once their module is imported. A
model file itself never imports anything: it names layer types, and only code the user
chose to run defines them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path

from .errors import AlzzaError


def import_user_code(name_or_path: str):
    """Import a dotted module name (``mylayers``, ``pkg.layers``) or a ``.py`` file; return the module.

    A file is imported under a name made from its resolved path, so importing it twice
    returns the first module (its layer types register once). Any failure is one
    :class:`AlzzaError` that says what was tried and, for an error inside the user's code,
    the file and line where it happened.
    """
    text = str(name_or_path)
    looks_like_path = text.endswith(".py") or "/" in text or "\\" in text
    if looks_like_path:
        path = Path(text).expanduser()
        if not path.is_file():
            raise AlzzaError(f"--import {text}: no such file (give a .py file or an importable module name)")
        path = path.resolve()
        name = f"alzza_user_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except SystemExit as exc:  # a module that calls sys.exit(): a message, not a silent exit status
            del sys.modules[name]
            raise AlzzaError(f"--import {text}: importing it called sys.exit({exc.code!r}){_where(exc, path)}; "
                             "a layer module must not exit") from None
        except Exception as exc:
            del sys.modules[name]
            raise AlzzaError(f"--import {text}: importing it failed{_where(exc, path)}: "
                             f"{type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(text)
    except ModuleNotFoundError as exc:
        if exc.name and text.startswith(exc.name):
            raise AlzzaError(f"--import {text}: no module named {exc.name!r} (give a .py file, or put the module's "
                             "folder on PYTHONPATH)") from None
        raise AlzzaError(f"--import {text}: importing it failed: {type(exc).__name__}: {exc}") from exc
    except SystemExit as exc:
        raise AlzzaError(f"--import {text}: importing it called sys.exit({exc.code!r}){_where(exc)}; "
                         "a layer module must not exit") from None
    except Exception as exc:
        raise AlzzaError(f"--import {text}: importing it failed{_where(exc)}: {type(exc).__name__}: {exc}") from exc


def _where(exc: BaseException, path: Path | None = None) -> str:
    """`` at FILE line N`` for the innermost frame in the user's file (else the innermost frame);
    for a SyntaxError the place the parser names (its traceback ends inside importlib)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" at {exc.filename} line {exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    if path is not None:
        own = [f for f in frames if Path(f.filename) == path]
        frames = own or frames
    return f" at {frames[-1].filename} line {frames[-1].lineno}" if frames else ""


def add_import_option(parser) -> None:
    """``--import MODULE_OR_PATH`` (repeatable) on a command's argument parser."""
    parser.add_argument("--import", dest="imports", action="append", metavar="MODULE_OR_PATH", default=[],
                        help="import this module or .py file first (your own layer types); repeatable")


def import_all(names) -> list:
    """Import every ``--import`` value in order (see :func:`import_user_code`)."""
    return [import_user_code(name) for name in names or ()]
