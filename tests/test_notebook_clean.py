"""Notebooks stay clean: a saved 2-epoch cell holds a handful of lines, not a redraw per step.

Progress goes to stderr on a terminal, is one display updated in place in Jupyter, and is
silent elsewhere unless asked; the book's exec_all leaves no Out[] dict under its cell.
"""

from __future__ import annotations

import io
import sys

import numpy as np

from _notebook import execute, notebook, output_lines
from alzza.progress import _DisplayLine, progress_bar, progress_setting

TWO_EPOCHS = """
import numpy as np, alzza
rng = np.random.default_rng(0)
x = rng.standard_normal((3000, 4)).astype('float32')
labels = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1)
model = alzza.Model(layers=[8], input_shape=(4,), output_shape=(3,), mode='select', seed=0, optimizer='adam')
history = model.fit(x, labels, validation_split=0.1, epochs=2, batch_size=5, report=1, progress=True)
"""

BOOK_CELL = """
from alzza.book import *
pm = MlpModel('pulsar_nb', PulsarDataset(), [4])
pm.exec_all(epoch_count=2, batch_size=4, report=1, show_cnt=0)
"""


def test_a_saved_two_epoch_notebook_holds_a_handful_of_lines(tmp_path, tabular_data_dir):
    nb = execute(notebook(TWO_EPOCHS, BOOK_CELL), tmp_path,
                 env={"ALZZA_DATA": tabular_data_dir, "ALZZA_CACHE": tmp_path / "cache"})
    fit_cell, book_cell = nb.cells
    lines = output_lines(fit_cell)
    # 1080 steps of 5 examples: the bar is one display, replaced in place, then the two report lines
    assert len(fit_cell.outputs) <= 6, fit_cell.outputs
    assert len(lines) <= 6, lines
    bars = [o for o in fit_cell.outputs if o.output_type == "display_data"]
    assert len(bars) == 1 and "1080/1080" in bars[0].data["text/plain"], bars
    assert sum(line.startswith("Epoch ") for line in lines) == 2
    assert not any(o.output_type == "stream" and "%|" in o.text for o in fit_cell.outputs), "a text bar in the stream"
    # the book's cell: its started/epoch/ended/test lines, and no Out[] dict of metrics
    assert not [o for o in book_cell.outputs if o.output_type == "execute_result"]
    book_lines = output_lines(book_cell)
    assert 3 <= len(book_lines) <= 8, book_lines
    assert any("test report" in line for line in book_lines)


def test_off_a_terminal_the_automatic_bar_is_silent_and_asked_for_goes_to_stderr(monkeypatch):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    bar = progress_bar(10, None, "quiet")
    assert bar.disable  # stderr is not a terminal: automatic means nothing
    bar.close()
    bar = progress_bar(10, True, "asked")
    bar.update(10)
    bar.close()
    assert out.getvalue() == "" and "asked" in err.getvalue()


def test_no_progress_silences_every_bar_within_its_block():
    with progress_setting(False):
        assert progress_bar(10, None, "decoding").disable
        assert not progress_bar(10, True, "explicit").disable  # an explicit True still wins
    assert progress_bar(10, False, "x").disable


def test_the_image_decoding_bar_obeys_no_progress(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from alzza.data.readers.image_folder import read_image_folder

    for name in ("a", "b"):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((6, 6, 3), i * 40, np.uint8)).save(tmp_path / "imgs" / name / f"{i}.png")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with progress_setting(False):
        read_image_folder(tmp_path / "imgs", (4, 4), cache=None)
    assert "decoding" not in capsys.readouterr().err
    read_image_folder(tmp_path / "imgs", (4, 4), cache=None, progress=True)
    assert "decoding imgs" in capsys.readouterr().err


def test_the_notebook_line_keeps_only_the_last_redraw(monkeypatch):
    shown = []

    class Handle:
        def update(self, data, raw):
            shown.append(("update", data["text/plain"]))

    def display(data, raw, display_id):
        shown.append(("display", data["text/plain"]))
        return Handle()

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", display)
    line = _DisplayLine()
    line.write("\rtrain:  10%|#   | 1/10")
    line.write("\rtrain:  10%|#   | 1/10")  # unchanged: no message
    line.write("\rtrain:  20%|##  | 2/10\r")
    assert shown == [("display", "train:  10%|#   | 1/10"), ("update", "train:  20%|##  | 2/10")]


def test_in_jupyter_without_ipywidgets_the_bar_is_one_display_line_not_stdout(monkeypatch):
    import alzza.progress

    monkeypatch.setattr(alzza.progress, "_in_kernel", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets → ImportError
    bar = progress_bar(10, None, "m")
    try:
        assert isinstance(bar.fp, _DisplayLine) or isinstance(getattr(bar.fp, "_wrapped", None), _DisplayLine)
    finally:
        bar.disable = True  # nothing to show outside a kernel
        bar.close()
