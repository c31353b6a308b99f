"""report.html: written by every run, self-contained, and rendered by a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from alzza.experiments import run_experiment

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  "--window-size=1200,1400"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from conftest import TabularFiles

    data = tmp_path_factory.mktemp("data")
    TabularFiles().pulsar(data)
    out = tmp_path_factory.mktemp("report")
    run_experiment("pulsar-std", epochs=3, data_dir=data, out=out, printer=lambda *a: None)
    return out


def test_every_run_writes_a_self_contained_report(run_dir):
    import json

    page = (run_dir / "report.html").read_text(encoding="utf-8")
    result = json.loads((run_dir / "result.json").read_text())
    assert "pulsar-std" in page and "ours" in page and "book" in page and "0.971" in page  # the book's figure
    assert "Total parameters" in page  # the model summary
    # every picture inline, and nothing fetched from anywhere
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(result["pictures"]) >= 1
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
    assert not re.search(r"<link\b", page, re.I) and "url(" not in page
    # the history: one row per epoch
    assert page.count("<tr><td class=num>") >= 3


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("NOT RUN: no chromium on this machine to render report.html "
                    "(apt-get install chromium; CI's .ci/run installs it, so this runs there)")
    shot = tmp_path / "shot.png"
    command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
               (run_dir / "report.html").as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    with Image.open(shot) as picture:
        pixels = np.asarray(picture.convert("L"), dtype=np.float64)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    # a blank (or error) page is one flat colour; the report has text, tables and curves
    assert pixels.std() > 10, f"the screenshot looks blank (pixel std {pixels.std():.2f})"
    assert (pixels < 128).mean() > 0.01  # some dark ink: text and lines
