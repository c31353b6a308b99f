"""Deprecated: the callbacks moved to :mod:`alzza.training.callbacks` (kept for one release)."""

import warnings

from .training.callbacks import *  # noqa: F401,F403
from .training.callbacks import Callback, ReportPrinter  # noqa: F401

warnings.warn("alzza.callbacks moved to alzza.training.callbacks (and alzza.training); this alias goes in the "
              "next release", DeprecationWarning, stacklevel=2)
