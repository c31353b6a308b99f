"""docs/notebooks/quickstart.ipynb runs, in smoke form (1 epoch of a few batches), in a fresh kernel."""

from __future__ import annotations

from pathlib import Path

from _notebook import execute, nbformat, output_lines

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebooks" / "quickstart.ipynb"


def test_the_quickstart_notebook_runs_and_stays_short(tmp_path):
    nb = execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path,
                 env={"ALZZA_QUICKSTART_EPOCHS": 1, "ALZZA_QUICKSTART_BATCHES": 3, "ALZZA_CACHE": tmp_path / "cache"})
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not [o for o in cell.outputs if o.output_type == "error"] for cell in code)
    text = "\n".join(line for cell in code for line in output_lines(cell))
    assert "ours:" in text and "| book: 0.902" in text                # the chapter run, beside the book's
    assert "test report" in text                                      # the book's cell
    assert "fit: optimizer adam" in text and "'val_loss'" in text     # the Keras-style fit
    assert (tmp_path / "runs" / "automata-lstm-64" / "report.html").is_file()
    assert (tmp_path / "quickstart-log.csv").read_text().startswith("stage,epoch,loss")
    # notebooks stay clean: no cell keeps more than a screenful
    assert max(len(output_lines(cell)) for cell in code) <= 30
    # both languages are there for the reader
    prose = " ".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "빠른 시작" in prose and "quickstart" in prose
