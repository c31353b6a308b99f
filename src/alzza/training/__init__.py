"""Training: the loop and everything it calls, in the order a step meets them.

- :mod:`.loop` — epochs of shuffled minibatches, validation, callbacks (:func:`fit`);
- :mod:`.optimizers` — SGD and Adam: they, and only they, change parameters;
- :mod:`.schedules` — learning-rate schedules (callbacks that set the rate per epoch);
- :mod:`.callbacks` — the hooks of a run (report lines, checkpoints, early stopping);
- :mod:`.history` — the record of a run (history.csv, result.json);
- :mod:`.diagnose` — where the first NaN came from, when a loss goes non-finite.
"""

from .callbacks import Callback, ReportPrinter
from .history import History
from .loop import fit

__all__ = ["Callback", "History", "ReportPrinter", "fit"]
