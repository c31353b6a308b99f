"""Progress bars: one per stage, on stderr, quiet unless someone is watching.

Where a bar goes (:func:`progress_bar`):

- on a terminal: a tqdm text bar on **stderr** (never stdout, which carries the report
  lines and is what a redirect or a notebook keeps), cleared when the stage ends;
- in a Jupyter kernel: ``tqdm.auto``'s widget when ipywidgets is installed, else one
  text line shown with an IPython display handle and *updated in place* (one output
  per stage, whatever the number of steps: a saved notebook keeps that one line, not
  hundreds of redraws);
- anywhere else (a pipe, a log file, a child process): nothing, unless asked.

``progress`` is ``None`` (automatic: as above, and only once a stage has run for
:data:`PROGRESS_DELAY` seconds, so short stages stay quiet), ``True`` (always, from the
start, also when stderr is not a terminal) or ``False`` (never). ``None`` defers to the
setting of :func:`progress_setting` first, which the ``--no-progress`` flag of
``alzza run`` sets for everything that run does (decoding images included).
"""

from __future__ import annotations

import contextlib
import contextvars
import sys

from tqdm.std import tqdm as text_bar

__all__ = ["PROGRESS_DELAY", "progress_bar", "progress_setting"]

#: seconds before an automatic progress bar appears
PROGRESS_DELAY = 2.0
#: seconds between two redraws of a bar in a notebook (each one is a message to the front end)
NOTEBOOK_INTERVAL = 0.5

_SETTING: contextvars.ContextVar = contextvars.ContextVar("alzza_progress", default=None)


@contextlib.contextmanager
def progress_setting(progress):
    """Within the block, an automatic bar (``progress=None``) follows ``progress`` instead:
    ``False`` silences every bar (``--no-progress``), ``True`` shows them all."""
    token = _SETTING.set(progress)
    try:
        yield
    finally:
        _SETTING.reset(token)


def _in_kernel() -> bool:
    from .viz.images import in_notebook

    return in_notebook()


class _DisplayLine:
    """A file for tqdm that shows the last line written as one display output in a Jupyter
    notebook, replaced in place at every redraw (``update_display_data``)."""

    def __init__(self):
        self._handle = None
        self._text = ""

    def write(self, text: str) -> None:
        line = text.replace("\n", "\r").split("\r")
        shown = next((part.rstrip() for part in reversed(line) if part.strip()), None)
        if shown is None or shown == self._text:
            return
        self._text = shown
        from IPython.display import display

        if self._handle is None:
            self._handle = display({"text/plain": shown}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": shown}, raw=True)

    def flush(self) -> None:
        pass


def progress_bar(total=None, progress=None, desc: str = "", *, unit: str = "batch", iterable=None):
    """A tqdm bar for one stage (see the module docstring); use it as any tqdm bar
    (``update``, ``clear``, ``close``, or iterate over it when ``iterable`` is given)."""
    if progress is None:
        progress = _SETTING.get()
    options = dict(total=total, desc=desc, unit=unit)
    if progress is False:
        return text_bar(iterable, disable=True, **options)
    delay = {"delay": 0 if progress else PROGRESS_DELAY}
    if _in_kernel():
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return text_bar(iterable, file=_DisplayLine(), leave=True, mininterval=NOTEBOOK_INTERVAL, ascii=False,
                            **delay, **options)
        from tqdm.auto import tqdm as widget_bar

        return widget_bar(iterable, leave=True, **options)
    # automatic: tqdm's own rule, disable=None, shows the bar only when stderr is a terminal
    return text_bar(iterable, file=sys.stderr, leave=False, disable=None if progress is None else False,
                    **delay, **options)
