"""The version of alzza (its own module, so that io.py and the runner need not import the package)."""

__version__ = "0.1.0"
