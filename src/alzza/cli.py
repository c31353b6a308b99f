"""The ``alzza`` command: the parser and the dispatch; each command lives in :mod:`alzza.commands`.

User errors (a wrong spec, a missing file, a NaN loss) print one message and exit 2;
nothing else is caught, so a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import sys

from .device import use_command_line_device
from . import __version__
from .errors import AlzzaError
from .commands import COMMAND_MODULES
from .user_code import import_all

EPILOG = """\
examples:
  alzza list                                  the book's experiments and its results
  alzza run abalone-slp                       chapter 1's single-layer abalone model
  alzza run steel-std --epochs 100 --out runs/steel
  alzza run my-experiment.yaml                your own experiment file
  alzza summary steel-mlp-12-6-4              layers, shapes and parameter counts
  alzza gradcheck my.yaml --import mylayer.py  check your own layer's gradients inside its model
  alzza fetch pulsar abalone steel            download data sets (checked) into the data folder
  alzza data                                  which data sets are there, and the cache
  alzza export runs/steel-std/model.npz steel.onnx   the trained model as ONNX

data: --data-dir, else $ALZZA_DATA, else the per-user cache folder.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alzza", description="alzza — deep learning on NumPy alone, the book's experiments by name.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"alzza {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    for module in COMMAND_MODULES.values():
        module.add_parser(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        import_all(getattr(args, "imports", None))  # before any spec is read: user layer types register
        use_command_line_device(getattr(args, "device", None))  # --device cuda without CuPy: one clear error
        return COMMAND_MODULES[args.command].run(args)
    except AlzzaError as exc:
        print(f"alzza: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if type(exc).__name__ == "Terminated":  # SIGTERM during 'alzza run' (commands/run.py)
            print("alzza: terminated", file=sys.stderr)
            return 143
        print("alzza: interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # the estimates of alzza.limits missed something: still one line, not a traceback
        print("alzza: error: out of memory; use a smaller model or batch, or lower ALZZA_MAX_MEMORY so that "
              "alzza refuses such models before allocating", file=sys.stderr)
        return 2
    except RecursionError:
        print("alzza: error: the input nests too deeply (see ALZZA_MAX_SPEC_DEPTH)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
