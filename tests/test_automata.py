"""The expression grammar, its parser and generator, and the ``automata`` data set."""

from __future__ import annotations


import numpy as np
import pytest

from alzza.data import dataset_names, make_dataset
from alzza.data.generators import expression_grammar as g
from alzza.data.sets.automata import AutomataDataset, describe_sequence, generate_examples
from alzza.sequences import SeqShape, Sequences

VALID = ["a1+(2*b)", "((x))", "3/4-y", "a", "7", "x1y2z3", "3.25*x", "007+a", "(a+b)*(c-d)/e",
         "a-(b-(c-(d)))", "0.5/0.25", "z9*(8)"]
INVALID = ["a+", "(a", "a)(", "+a", "a**b", "", "1a", "-a", "()", "a()", "(a)(b)", "a(b)", "3.", ".5",
           "1.2.3", "a.b", "a.1", "1.a", "a b", "A+b", "a+b)", ")a(", "a+*b", "12x+1", "(1a)", "a=b", "(a))",
           "((a)"]


@pytest.mark.parametrize("text", VALID)
def test_parser_accepts(text):
    assert g.is_sentence(text)
    codes, lengths = g.encode([text])
    assert g.recognise(codes, lengths).tolist() == [True]


@pytest.mark.parametrize("text", INVALID)
def test_parser_rejects(text):
    assert not g.is_sentence(text)
    if text and all(c in g.ALPHABET for c in text):
        codes, lengths = g.encode([text])
        assert g.recognise(codes, lengths).tolist() == [False]


def test_parser_takes_anything():
    assert not g.is_sentence(None)
    assert not g.is_sentence("a+b\n")


def _texts(codes, lengths):
    return [g.decode(row, n) for row, n in zip(codes, lengths, strict=False)]


def test_automaton_agrees_with_the_parser():
    """The vectorised automaton and the recursive-descent parser define one language."""
    rng = np.random.default_rng(3)
    n = 3000
    lengths = rng.integers(1, 13, n)
    # random strings biased to the symbols that matter: letters, digits, ops, parens, point
    codes = np.where(rng.random((n, 40)) < 0.4, rng.integers(0, g.ALPHABET_SIZE, (n, 40)),
                     rng.choice([0, 1, 26, 27, 36, 38, 40, 41, 42], (n, 40)))
    codes[np.arange(40)[None, :] >= lengths[:, None]] = 0
    valid, vl = g.generate_valid(rng, 1000)
    broken = g.corrupt(rng, valid, vl)
    codes = np.concatenate([codes, valid, broken])
    lengths = np.concatenate([lengths, vl, vl])
    fast = g.recognise(codes, lengths)
    slow = np.array([g.is_sentence(t) for t in _texts(codes, lengths)])
    assert (fast == slow).all()
    assert slow.sum() > 1000  # both sides of the boundary were exercised
    assert (~slow).sum() > 2000


def test_generated_sentences_are_valid_and_10_to_40_long():
    rng = np.random.default_rng(0)
    codes, lengths = g.generate_valid(rng, 2000, length_dist="uniform")
    assert lengths.min() >= 10 and lengths.max() <= 40
    assert set(np.unique(lengths)) == set(range(10, 41))
    texts = _texts(codes, lengths)
    assert all(g.is_sentence(t) for t in texts)
    assert all(len(t) == n for t, n in zip(texts, lengths, strict=False))
    assert any("(" in t for t in texts) and any("." in t for t in texts)
    assert len(set(texts)) == len(texts)


def _book_sentence_length(rng, longest=40, max_depth=30):
    """One sentence length drawn the way the book's chapter-10 generator draws sentences
    (every rule of a symbol equally likely, too deep → start again), written as a plain
    recursion, independent of the convolution in expression_grammar. ``None``: drawn again
    by the caller (too deep, or already ``longest`` symbols: such sentences are dropped)."""
    rules = {"S": [["E"]], "E": [["T"], ["E", 1, "T"]], "T": [["F"], ["T", 1, "F"]],
             "F": [["V"], ["N"], [1, "E", 1]], "V": [[1], [1, "W"]], "W": [[1], [1, "W"]],
             "N": [[1], [1, "N"]]}

    class Drop(Exception):
        pass

    def expand(symbol, depth, so_far):
        if depth > max_depth:
            raise Drop
        rule = rules[symbol][rng.integers(len(rules[symbol]))]
        for term in rule:
            so_far = so_far + 1 if term == 1 else expand(term, depth + 1, so_far)
            if so_far >= longest:
                raise Drop
        return so_far

    try:
        return expand("S", 0, 0)
    except Drop:
        return None


def test_book_length_odds_are_those_of_the_books_generator():
    odds = g.BOOK_LENGTH_ODDS
    assert odds.shape == (41,) and abs(odds.sum() - 1) < 1e-9
    assert (odds[:11] == 0).all() and (odds[40:] == 0).all() and (odds[11:40] > 0).all()
    rng = np.random.default_rng(11)
    drawn = []
    while len(drawn) < 4000:
        n = _book_sentence_length(rng)
        if n is not None and n > 10:
            drawn.append(n)
    counts = np.bincount(drawn, minlength=41) / len(drawn)
    assert 0.5 * np.abs(counts - odds).sum() < 0.05          # total variation distance
    mean = (odds * np.arange(41)).sum()
    assert abs(np.mean(drawn) - mean) < 0.4 and 20 < mean < 21.5


def test_generated_lengths_follow_the_books():
    """Short sentences are common, as in the book (uniform 10–40 would give a mean of 25)."""
    rng = np.random.default_rng(7)
    _, lengths = g.generate_valid(rng, 6000)
    assert lengths.min() >= 11 and lengths.max() <= 39
    counts = np.bincount(lengths, minlength=41) / len(lengths)
    assert 0.5 * np.abs(counts - g.BOOK_LENGTH_ODDS).sum() < 0.04
    assert abs(lengths.mean() - (g.BOOK_LENGTH_ODDS * np.arange(41)).sum()) < 0.3
    _, invalid_lengths = g.generate_invalid(rng, 3000)
    assert abs(invalid_lengths.mean() - lengths.mean()) < 0.6
    # restricted to a range, the book's odds are kept in it; outside 11–39 there are none
    _, short = g.generate_valid(rng, 500, 12, 14)
    assert set(np.unique(short)) == {12, 13, 14}
    assert (np.bincount(short)[12] > np.bincount(short)[14])  # shorter is likelier
    with pytest.raises(ValueError, match="uniform"):
        g.generate_valid(rng, 5, 2, 8)
    with pytest.raises(ValueError, match="length_dist"):
        g.generate_valid(rng, 5, length_dist="normal")


def test_invalid_sentences_are_rejected_substitutions():
    rng = np.random.default_rng(1)
    codes, lengths = g.generate_invalid(rng, 1000)
    texts = _texts(codes, lengths)
    assert not any(g.is_sentence(t) for t in texts)
    assert lengths.min() >= 10 and lengths.max() <= 40


def test_corrupt_replaces_one_to_three_symbols():
    rng = np.random.default_rng(2)
    codes, lengths = g.generate_valid(rng, 500)
    broken = g.corrupt(rng, codes, lengths)
    changed = (broken != codes).sum(axis=1)
    assert changed.min() == 1 and changed.max() == 3
    beyond = np.arange(40)[None, :] >= lengths[:, None]
    assert (broken[beyond] == codes[beyond]).all()


def test_encode_one_hot_decode_round_trip():
    texts = ["a1+(2*b)", "3.25/xy-(q)", "z" * 40]
    codes, lengths = g.encode(texts)
    x = g.one_hot(codes, lengths)
    assert x.shape == (3, 40, 43) and x.dtype == np.float32
    assert (x.sum(axis=2) == (np.arange(40)[None, :] < lengths[:, None])).all()
    assert [describe_sequence(x[i], lengths[i]) for i in range(3)] == texts
    assert [describe_sequence(x[i]) for i in range(3)] == texts
    with pytest.raises(ValueError):
        g.encode(["a+B"])


def test_dataset_shapes_and_fixed_splits():
    assert "automata" in dataset_names()
    ds = make_dataset("automata", seed=1)
    assert isinstance(ds, AutomataDataset)
    assert ds.mode == "binary"
    assert isinstance(ds.input_shape, SeqShape) and ds.input_shape == (40, 43)
    assert ds.output_shape == (1,)
    assert str(ds) == "automata(binary, 10000+1000+200)"
    x, y = ds.test_data()
    assert isinstance(x, Sequences) and x.shape == (1000, 40, 43) and y.shape == (1000, 1)
    assert y.sum() == 500
    texts = [ds.describe_input(x[i]) for i in range(len(x))]
    assert [g.is_sentence(t) for t in texts] == (y[:, 0] == 1).tolist()
    # the fixed sets do not depend on the run's seed
    other = make_dataset({"name": "automata", "test_count": 1000}, seed=99)
    ox, oy = other.test_data()
    assert np.array_equal(ox.data, x.data) and np.array_equal(ox.lengths, x.lengths) and np.array_equal(oy, y)
    vx, vy = ds.validate_data()
    assert len(vx) == 200 and vy.sum() == 100
    assert np.array_equal(other.validate_data()[0].data, vx.data)
    sample, sample_y = ds.validate_sample(100, np.random.default_rng(0))
    assert isinstance(sample, Sequences) and len(sample) == 100 and sample_y.shape == (100, 1)


def test_dataset_options():
    ds = make_dataset({"name": "automata", "train_count": 60, "test_count": 11, "validate_count": 4})
    assert (ds.train_count, ds.test_count, ds.validate_count) == (60, 11, 4)
    assert ds.batches_per_epoch(10) == 6
    from alzza.errors import SpecError
    with pytest.raises(SpecError, match="train_count"):
        make_dataset({"name": "automata", "train_count": 0})
    with pytest.raises(SpecError, match="test_cont"):
        make_dataset({"name": "automata", "test_cont": 10})
    with pytest.raises(SpecError, match="lengths"):
        make_dataset({"name": "automata", "lengths": "long"})


def test_dataset_lengths_option():
    """The fixed sets and the training batches follow the book's lengths unless lengths: uniform."""
    book = make_dataset({"name": "automata", "train_count": 2000})
    uniform = make_dataset({"name": "automata", "train_count": 2000, "lengths": "uniform"})
    assert book.lengths == "book" and uniform.lengths == "uniform"
    for split in ("test_data", "validate_data", "train_data"):
        book_lengths = getattr(book, split)()[0].lengths
        uniform_lengths = getattr(uniform, split)()[0].lengths
        assert 11 <= book_lengths.min() and book_lengths.max() <= 39
        assert book_lengths.mean() < 22.5 < 23.5 < uniform_lengths.mean()
    batch_lengths = np.concatenate([x.lengths for x, _ in book.train_batches(10, np.random.default_rng(0))])
    assert len(batch_lengths) == 2000 and batch_lengths.mean() < 22
    uniform_batches = np.concatenate([x.lengths for x, _ in uniform.train_batches(10, np.random.default_rng(0))])
    assert uniform_batches.mean() > 24 and uniform_batches.min() == 10 and uniform_batches.max() == 40


@pytest.mark.parametrize("batch_size", [10, 7, 64])
def test_fresh_training_batches_half_valid(batch_size):
    ds = make_dataset({"name": "automata", "train_count": 2000})
    rng = np.random.default_rng(5)
    batches = list(ds.train_batches(batch_size, rng))
    assert len(batches) == ds.batches_per_epoch(batch_size)
    for x, y in batches:
        assert isinstance(x, Sequences) and x.shape == (batch_size, 40, 43) and x.dtype == np.float32
        assert y.shape == (batch_size, 1)
        assert y.sum() == batch_size - batch_size // 2
        texts = [ds.describe_input(x[i]) for i in range(batch_size)]
        assert [g.is_sentence(t) for t in texts] == (y[:, 0] == 1).tolist()
        assert 10 <= x.lengths.min() and x.lengths.max() <= 40
    # labels are not in a fixed order within batches
    assert len({tuple(y[:, 0]) for _, y in batches}) > 1
    # a second epoch gives new sentences; the same seed gives the same ones
    again = list(ds.train_batches(batch_size, rng))
    assert not np.array_equal(again[0][0].data, batches[0][0].data)
    replay = list(ds.train_batches(batch_size, np.random.default_rng(5)))
    assert all(np.array_equal(a[0].data, b[0].data) and np.array_equal(a[1], b[1])
               for a, b in zip(replay, batches, strict=False))


def test_no_global_random_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    ds = make_dataset("automata", seed=4)
    for _ in zip(range(3), ds.train_batches(10, np.random.default_rng(0)), strict=False):
        pass
    g.generate_valid(np.random.default_rng(0), 10)
    after = np.random.get_state()[1]
    assert np.array_equal(before, after)


def test_describe_input_forms():
    x, _ = generate_examples(np.random.default_rng(0), 4)
    text = AutomataDataset.describe_input(None, x[2])
    assert text == describe_sequence(x.data[2], x.lengths[2])
    assert AutomataDataset.describe_input(None, x.data[2]) == text
    assert g.is_sentence(text) in (True, False) and 10 <= len(text) <= 40


AUTOMATA_EXPERIMENTS = ["automata-rnn-4", "automata-rnn-16", "automata-rnn-64", "automata-rnn-64-dropout",
                        "automata-lstm-64"]


@pytest.mark.parametrize("name", AUTOMATA_EXPERIMENTS)
def test_smoke_run(name, tmp_path):
    from alzza.experiments import run_experiment

    result = run_experiment(name, epochs=1, max_batches=3, out=tmp_path, printer=lambda *a: None)
    assert 0.0 <= result["metrics"]["accuracy"] <= 1.0
    assert result["dataset"] == "automata(binary, 10000+1000+200)"
    lines = (tmp_path / "visualize.txt").read_text(encoding="utf-8").splitlines()
    assert lines and all(" => estimate " in line for line in lines)
