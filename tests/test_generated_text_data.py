"""The two text data sets alzza makes itself: korean-numbers (digits → reading) and
expressions (valid chapter-10 sentences for a next-symbol model)."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.data import describe_dataset, make_dataset
from alzza.data.generators.expression_grammar import is_sentence
from alzza.data.sets.expression_text import SYMBOLS as EXPRESSION_SYMBOLS
from alzza.data.sets.expression_text import decode_symbols
from alzza.data.generators.korean_numerals import read_korean_text
from alzza.errors import SpecError


def test_korean_numbers_pairs_every_number_with_its_reading_on_a_fixed_disjoint_split():
    data = make_dataset("korean-numbers")
    assert (data.train_count, data.validate_count, data.test_count) == (8000, 1000, 1000)
    seen = np.concatenate([data.numbers[s] for s in ("train", "validate", "test")])
    assert sorted(seen) == list(range(10000))  # every number once, in exactly one split
    x, y = data.test_data()
    assert x.data.shape == (1000, 4, 10) and y.shape == (1000, 8, 14)
    for i, n in enumerate(data.numbers["test"][:200]):
        assert data.describe_input(x[i:i + 1]) == str(n)
        assert int(x.lengths[i]) == len(str(n))
        assert data.describe_output(y[i]) == read_korean_text(int(n))
        assert not x.data[i, len(str(n)):].any()  # nothing written into the padding
    # the same split whatever seed builds it
    again = make_dataset("korean-numbers", seed=99)
    np.testing.assert_array_equal(again.numbers["test"], data.numbers["test"])
    assert describe_dataset("korean-numbers").output_shape == data.output_shape


def test_korean_numbers_options_are_checked():
    small = make_dataset({"name": "korean-numbers", "digits": 2})
    assert small.train_count + small.validate_count + small.test_count == 100
    assert small.output_shape == (4, 14)
    with pytest.raises(SpecError, match="digits"):
        make_dataset({"name": "korean-numbers", "digits": 5})


def test_expressions_frame_valid_sentences_by_the_end_mark():
    data = make_dataset({"name": "expressions", "validate_count": 50, "test_count": 20})
    x, y = data.validate_data()
    assert x.data.shape == (50, 41, 44) and y.shape == (50, 41, 44)
    for i in range(50):
        steps = int(x.lengths[i])
        tokens = x.data[i, :steps].argmax(-1)
        targets = y[i, :steps].argmax(-1)
        assert tokens[0] == 0 and targets[-1] == 0  # $ first in, $ last out
        np.testing.assert_array_equal(tokens[1:], targets[:-1])  # the target is the input shifted by one
        text = decode_symbols(targets)
        assert is_sentence(text) and len(text) == steps - 1
        assert data.describe_input(x[i:i + 1]) == text
        assert not x.data[i, steps:].any() and not y[i, steps:].any()
    # fresh training sentences from the run's generator; fixed validation sentences
    a = next(data.train_batches(4, np.random.default_rng(1)))[0]
    b = next(data.train_batches(4, np.random.default_rng(1)))[0]
    np.testing.assert_array_equal(a.data, b.data)
    other = make_dataset({"name": "expressions", "validate_count": 50, "test_count": 20}, seed=5)
    np.testing.assert_array_equal(other.validate_data()[0].data, x.data)
    assert EXPRESSION_SYMBOLS[0] == "$" and len(EXPRESSION_SYMBOLS) == 44
    with pytest.raises(SpecError, match="train_count"):
        make_dataset({"name": "expressions", "train_count": 0})
