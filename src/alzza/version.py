"""The version of alzza (its own module, so that saving/model_files.py and the runner need not import the package)."""

__version__ = "0.1.0"
