"""Chapters 3–5's reported loss, −Σ y·log(p + 1e-10) (book/report_loss.py), and the rule of
the "training diverged" warning (experiments/records.py) on both sides of it.

The book's figures: chap03/steel_test.ipynb, cell 1 prints ``Epoch 1: loss=15.984,
accuracy=0.306/0.320`` — 23.026 × (1 − 0.306) = 15.98: every wrong example costs
−log(1e-10), every right one ~0, because the unstandardised inputs blow the logits up.
"""

from __future__ import annotations

import json
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from alzza.book.report_loss import BOOK_EPSILON, BookReportSelectHead, book_report_loss
from alzza.experiments.records import diverged
from alzza.experiments.runner import run_experiment
from alzza.heads import SelectHead

CAP = -math.log(BOOK_EPSILON)  # 23.03: one example's largest loss in the book's form


def exploding(rng, n=40, k=7):
    logits = rng.normal(size=(n, k)) * 1e9
    y = np.eye(k)[rng.integers(0, k, size=n)]
    return logits, y


def test_exploding_logits_report_the_book_form_not_the_logit_gap():
    logits, y = exploding(np.random.default_rng(3))
    exact = SelectHead().loss(logits, y)
    head = BookReportSelectHead()
    book = head.loss(logits, y)
    wrong = float(np.mean(logits.argmax(1) != y.argmax(1)))
    assert exact > 1e8                      # what alzza printed before: the logit gap
    assert book == pytest.approx(CAP * wrong, rel=1e-6)   # the book's 23.03 × (1 − accuracy)
    assert book <= CAP


def test_the_gradient_stays_exact():
    rng = np.random.default_rng(4)
    logits, y = rng.normal(size=(6, 5)), np.eye(5)[rng.integers(0, 5, size=6)]
    plain, book = SelectHead(), BookReportSelectHead()
    plain_loss, book_loss = plain.loss(logits, y), book.loss(logits, y)
    np.testing.assert_array_equal(book.backward(), plain.backward())
    assert book_loss == pytest.approx(plain_loss, abs=1e-8)  # ordinary logits: the same number


def test_only_a_plain_select_head_is_changed():
    select = SimpleNamespace(chain=SimpleNamespace(head=SelectHead()))
    assert book_report_loss(select) and type(select.chain.head) is BookReportSelectHead
    assert select.chain.head.to_spec() == {"mode": "select"}   # saved models stay plain select
    other = SimpleNamespace(chain=SimpleNamespace(head=object()))
    assert not book_report_loss(other)


EPOCH = re.compile(r"^Epoch \d+: loss=(\S+), accuracy=(\S+)/")  # chapter 3's own form


def test_steel_in_korean_prints_the_book_loss_and_does_not_warn(tabular_data_dir, tmp_path):
    lines = []
    result = run_experiment("steel-slp", data_dir=tabular_data_dir, out=tmp_path / "o", lang="ko",
                            printer=lines.append, progress=False)
    epochs = [EPOCH.search(str(line)) for line in lines if EPOCH.search(str(line))]
    assert epochs
    for match in epochs:
        cost, accuracy = float(match.group(1)), float(match.group(2))
        assert cost <= CAP
        assert cost == pytest.approx(CAP * (1 - accuracy), abs=0.05)   # as chap03/steel_test cell 1
    assert result["diverged"] is False
    assert not any("diverged" in str(line) for line in lines)


def test_steel_at_its_own_rate_is_not_diverged_in_english_either(tabular_data_dir, tmp_path):
    result = run_experiment("steel-slp", data_dir=tabular_data_dir, out=tmp_path / "o", printer=lambda *a: None,
                            progress=False)
    assert result["diverged"] is False
    assert json.loads((tmp_path / "o" / "result.json").read_text())["diverged"] is False


def test_steel_with_a_raised_rate_still_warns(tabular_data_dir, tmp_path):
    lines = []
    result = run_experiment("steel-slp", data_dir=tabular_data_dir, out=tmp_path / "o", learning_rate=1e6,
                            epochs=2, printer=lines.append, progress=False)
    assert result["diverged"] is True and any("training diverged" in str(line) for line in lines)


def history(*losses):
    return SimpleNamespace(loss=list(losses))


CLASSIFY = SimpleNamespace(head=SimpleNamespace(mode="select"))
REGRESS = SimpleNamespace(head=SimpleNamespace(mode="regression"))


@pytest.mark.parametrize("model, losses, book_rate, expected", [
    (CLASSIFY, (2e9, 1.9e9), True, False),            # steel's book run: huge, finite, not growing
    (CLASSIFY, (2e9, 1.9e9), False, True),            # the same after --lr was raised: runaway
    (CLASSIFY, (1.9, float("nan")), True, True),      # non-finite always
    (CLASSIFY, (1.9, 1.9, float("inf")), True, True),
    (REGRESS, (3.0, 4e3), True, True),                # grew a thousandfold
    (REGRESS, (3.0, 2.0), False, False),
    (CLASSIFY, (), False, False),
])
def test_the_rule(model, losses, book_rate, expected):
    assert diverged(model, history(*losses), book_rate) is expected


def test_the_book_interface_reports_it_for_chapters_3_to_5_only(tabular_data_dir, monkeypatch):
    monkeypatch.setenv("ALZZA_DATA", str(tabular_data_dir))
    from alzza.book.models import AdamModel, MlpModel
    from alzza.data import make_dataset

    dataset = make_dataset("steel", data_dir=tabular_data_dir, seed=1)
    assert type(MlpModel("m", dataset, [4]).chain.head) is BookReportSelectHead    # chapter 5
    assert type(AdamModel("a", dataset, [4]).chain.head) is SelectHead             # chapter 6: alzza's own
