"""Run a notebook in a fresh Jupyter kernel (nbclient), as CI and a reader's Jupyter do."""

from __future__ import annotations

import os
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

#: seconds a cell may take on a loaded two-core machine
CELL_TIMEOUT = 900


def notebook(*cells: str, markdown: tuple[str, ...] = ()):
    """A notebook of code cells (and optional leading markdown cells)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text) for text in markdown]
    nb.cells += [nbformat.v4.new_code_cell(code) for code in cells]
    return nb


def execute(nb, folder, env: dict | None = None):
    """Execute ``nb`` with ``folder`` as the working folder; returns the executed notebook.

    The kernel is this interpreter (the one the tests run in), with ``env`` added to its
    environment. Raises nbclient's CellExecutionError on the first failing cell."""
    from jupyter_client.manager import KernelManager

    saved = dict(os.environ)
    os.environ.update({key: str(value) for key, value in (env or {}).items()})
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        manager = KernelManager(kernel_name="python3")
        manager.kernel_spec.argv[0] = sys.executable  # the tests' own Python, alzza installed in it
        client = nbclient.NotebookClient(nb, km=manager, timeout=CELL_TIMEOUT,
                                         resources={"metadata": {"path": str(folder)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def output_lines(cell) -> list[str]:
    """Every line a saved cell shows: stream text, and the text form of displays and results."""
    lines = []
    for output in cell.outputs:
        if output.output_type == "stream":
            text = output.text
        elif output.output_type in ("display_data", "execute_result"):
            text = output.data.get("text/plain", "")
        else:  # an error
            text = "\n".join(output.get("traceback", []))
        lines += [line for line in text.splitlines() if line.strip()]
    return lines
