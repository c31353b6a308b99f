"""The book's expression language (chapter 10): grammar, parser and sentence generator.

The language, in BNF (a sentence is the whole string, nothing before or after)::

    sentence   ::= expression
    expression ::= term { addop term }
    term       ::= factor { mulop factor }
    factor     ::= identifier | number | "(" expression ")"
    identifier ::= letter { letter | digit }
    number     ::= digit { digit } [ "." digit { digit } ]
    addop      ::= "+" | "-"
    mulop      ::= "*" | "/"
    letter     ::= "a" | "b" | ... | "z"
    digit      ::= "0" | "1" | ... | "9"

Decisions: identifiers are lowercase; numbers may have a decimal part, but both sides
of the point need digits (``3.25`` yes; ``3.``, ``.5`` and ``1.2.3`` no); leading zeros
are allowed (``007``); operators are binary only (no unary minus: ``-a`` is invalid);
there are no spaces. A number followed by a letter (``1a``) is invalid: after a number
the grammar allows only an operator, ``)`` or the end.

The alphabet has 43 symbols, in this order (the index is the one-hot position)::

    a-z (0-25)  0-9 (26-35)  + - * / (36-39)  ( (40)  ) (41)  . (42)

Three pieces, one language:

- :func:`is_sentence` — a recursive-descent parser of the BNF above, for any string
  (the reference, written to be read).
- :func:`recognise` — the same language as a table-driven pushdown automaton: six
  states (plus a dead one) and a stack that only ever holds "(" — a depth counter,
  all this grammar needs, since precedence does not change validity — run over a
  whole batch of encoded strings at once with NumPy. The tests check
  that it agrees with :func:`is_sentence` on many random and corrupted strings.
- :func:`generate_valid` / :func:`corrupt` — random valid sentences of an exact length
  (a random walk over the automaton that only takes steps from which a valid ending in
  the remaining number of symbols still exists, :data:`CHOICE`), and 1–3 random symbol
  substitutions. The lengths follow the book's (:data:`BOOK_LENGTH_ODDS`): its generator
  expands the grammar's rules at random and keeps sentences of 11–39 symbols, so short
  ones are common (mean 20.8, median 19; 18 % have 30 or more). Uniform lengths over
  10–40 (mean 25, 35 % of 30 or more) are an option (``length_dist='uniform'``); the
  book's relu RNN 64 trains far worse on those (see :data:`BOOK_LENGTH_ODDS`).

Everything takes the caller's ``numpy.random.Generator``; no global random state.
All batch work is vectorised over sentences, the only Python loop runs over the ≤ 40
positions, so a thousand sentences cost a few milliseconds.
"""

from __future__ import annotations

import numpy as np

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
ALPHABET = LETTERS + DIGITS + "+-*/" + "()" + "."
ALPHABET_SIZE = len(ALPHABET)  # 43
MIN_LENGTH, MAX_LENGTH = 10, 40

# ----------------------------------------------------------------------------- parser
_LETTER_SET = frozenset(LETTERS)
_DIGIT_SET = frozenset(DIGITS)


def is_sentence(text: str) -> bool:
    """True if ``text`` is a sentence of the grammar (see the module docstring's BNF)."""
    if not isinstance(text, str):
        return False
    pos = 0
    end = len(text)

    def peek() -> str:  # the next symbol, "" at the end ("" is in no symbol set)
        return text[pos] if pos < end else ""

    def expression() -> bool:  # term { addop term }
        nonlocal pos
        if not term():
            return False
        while peek() in ("+", "-"):
            pos += 1
            if not term():
                return False
        return True

    def term() -> bool:  # factor { mulop factor }
        nonlocal pos
        if not factor():
            return False
        while peek() in ("*", "/"):
            pos += 1
            if not factor():
                return False
        return True

    def digits() -> bool:  # digit { digit }
        nonlocal pos
        start = pos
        while peek() in _DIGIT_SET:
            pos += 1
        return pos > start

    def factor() -> bool:  # identifier | number | "(" expression ")"
        nonlocal pos
        char = peek()
        if char == "(":
            pos += 1
            if not expression() or peek() != ")":
                return False
            pos += 1
            return True
        if char in _LETTER_SET:  # identifier: letter { letter | digit }
            pos += 1
            while peek() in _LETTER_SET or peek() in _DIGIT_SET:
                pos += 1
            return True
        if char in _DIGIT_SET:  # number: digits [ "." digits ]
            digits()
            if peek() == ".":
                pos += 1
                return digits()
            return True
        return False

    return expression() and pos == end


# ----------------------------------------------------------------------------- automaton
# symbol classes (ordered so that each class is one contiguous run of the alphabet)
LETTER, DIGIT, OP, OPEN, CLOSE, POINT = range(6)
CLASS_OFFSET = np.array([0, 26, 36, 40, 41, 42])
CLASS_SIZE = np.array([26, 10, 4, 1, 1, 1])
CLASS_OF = np.repeat(np.arange(6), CLASS_SIZE)  # symbol index -> class
DEPTH_CHANGE = np.array([0, 0, 0, 1, -1, 0])

# states: expecting an operand, in an identifier, in an integer part, just after the
# point, in a fraction, just after ")", and the dead state
START, IDENT, INTEGER, POINTED, FRACTION, CLOSED, DEAD = range(7)
_S, _I, _N, _P, _F, _C, _X = START, IDENT, INTEGER, POINTED, FRACTION, CLOSED, DEAD
#                  letter digit  op   (    )    .
NEXT = np.array([[_I, _N, _X, _S, _X, _X],   # START: an operand or "(" must come
                 [_I, _I, _S, _X, _C, _X],   # IDENT
                 [_X, _N, _S, _X, _C, _P],   # INTEGER ("1a" is dead)
                 [_X, _F, _X, _X, _X, _X],   # POINTED: a digit must follow "."
                 [_X, _F, _S, _X, _C, _X],   # FRACTION
                 [_X, _X, _S, _X, _C, _X],   # CLOSED
                 [_X, _X, _X, _X, _X, _X]])  # DEAD
ACCEPTING = np.array([False, True, True, False, True, True, False])

# Relative odds of each symbol class in each state while generating (before the
# feasibility mask): short identifiers and numbers, some parentheses.
GENERATE_WEIGHTS = np.array([[6.0, 3.0, 0.0, 2.0, 0.0, 0.0],   # START
                             [2.0, 1.0, 4.0, 0.0, 1.5, 0.0],   # IDENT
                             [0.0, 2.5, 4.0, 0.0, 1.5, 0.6],   # INTEGER
                             [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],   # POINTED
                             [0.0, 1.5, 4.0, 0.0, 1.5, 0.0],   # FRACTION
                             [0.0, 0.0, 4.0, 0.0, 1.5, 0.0],   # CLOSED
                             [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])  # DEAD (never reached)


def _feasible_table(max_length: int = MAX_LENGTH) -> np.ndarray:
    """``F[state, depth, r]``: a valid ending of exactly ``r`` more symbols exists."""
    depths = max_length + 2
    table = np.zeros((len(NEXT), depths, max_length + 1), dtype=bool)
    table[:, 0, 0] = ACCEPTING
    depth = np.arange(depths)[:, None]  # (D, 1)
    for r in range(1, max_length + 1):
        new_depth = depth + DEPTH_CHANGE[None, :]  # (D, 6)
        in_range = (new_depth >= 0) & (new_depth < depths)
        reach = table[NEXT[:, None, :], np.clip(new_depth, 0, depths - 1)[None], r - 1]  # (S, D, 6)
        table[:, :, r] = (reach & in_range[None]).any(axis=2)
    return table


FEASIBLE = _feasible_table()


def _choice_table() -> np.ndarray:
    """``C[state, depth, r]``: cumulative odds (ending in 1) of the next symbol's class.

    The odds are :data:`GENERATE_WEIGHTS` of the state, with every class removed after
    which no valid ending of exactly ``r`` more symbols exists; all zero where no class
    is possible (finished or impossible positions).
    """
    _, depths, lengths = FEASIBLE.shape
    depth = np.arange(depths)[None, :, None, None]
    new_depth = depth + DEPTH_CHANGE  # (1, D, 1, 6)
    new_state = NEXT[:, None, None, :]  # (S, 1, 1, 6)
    left = np.arange(lengths)[None, None, :, None] - 1  # symbols still to come after this one
    ok = ((new_depth >= 0) & (new_depth < depths) & (left >= 0)
          & FEASIBLE[new_state, np.clip(new_depth, 0, depths - 1), np.maximum(left, 0)])
    odds = np.cumsum(GENERATE_WEIGHTS[:, None, None, :] * ok, axis=3)
    total = odds[..., -1:]
    return np.divide(odds, total, out=np.zeros_like(odds), where=total > 0)


CHOICE = _choice_table()


def recognise(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Vectorised :func:`is_sentence` on encoded strings: (N,) bool.

    ``codes`` (N, T) holds symbol indices (anything past an example's length is
    ignored), ``lengths`` (N,) the string lengths.
    """
    codes = np.asarray(codes)
    lengths = np.asarray(lengths)
    count = len(codes)
    state = np.full(count, START)
    depth = np.zeros(count, dtype=np.int64)
    for t in range(int(lengths.max(initial=0))):
        cls = CLASS_OF[codes[:, t]]
        active = t < lengths
        new_depth = depth + DEPTH_CHANGE[cls]
        new_state = NEXT[state, cls]
        new_state[new_depth < 0] = DEAD
        state = np.where(active, new_state, state)
        depth = np.where(active, new_depth, depth)
    return ACCEPTING[state] & (depth == 0) & (lengths > 0)


# ----------------------------------------------------------------------------- lengths
def _book_length_odds(max_length: int = MAX_LENGTH, max_depth: int = 30) -> np.ndarray:
    """P(length = n), n = 0..max_length, of the book's sentence generator (chapter 10).

    The book's generator (facts from its dataset code) expands its grammar top-down,
    each of a symbol's rules equally likely::

        S → E          E → T | E addop T      T → F | T mulop F
        F → V | N | ( E )                     V → letter | letter V'
        V' → alnum | alnum V'                 N → digit | digit N

    (each terminal one symbol), abandons a sentence when a symbol sits deeper than
    ``max_depth`` (30; the start symbol is depth 0) and keeps only sentences longer
    than 10 and shorter than 40 symbols, drawing again otherwise. ``Q[X][d]``, the
    length distribution of the strings symbol X expands to at depth d without going
    too deep, follows from the rules by convolution, from the deepest level up
    (lengths past ``max_length`` are dropped: such sentences are discarded anyway).
    The result is that distribution for S at depth 0, kept to 11–39 and normalised.
    """
    size = max_length + 1
    one = np.zeros(size)
    one[1] = 1.0                                   # a terminal: one symbol
    rules = {"S": [["E"]], "E": [["T"], ["E", 1, "T"]], "T": [["F"], ["T", 1, "F"]],
             "F": [["V"], ["N"], [1, "E", 1]], "V": [[1], [1, "V'"]], "V'": [[1], [1, "V'"]],
             "N": [[1], [1, "N"]]}
    deeper = {name: np.zeros(size) for name in rules}   # depth max_depth + 1: always abandoned
    for _ in range(max_depth + 1):                       # depths max_depth .. 0
        level = {}
        for name, choices in rules.items():
            total = np.zeros(size)
            for rule in choices:
                odds = np.zeros(size)
                odds[0] = 1.0
                for term in rule:
                    odds = np.convolve(odds, one if term == 1 else deeper[term])[:size]
                total += odds
            level[name] = total / len(choices)
        deeper = level
    odds = deeper["S"]
    odds[:11] = 0.0
    odds[40:] = 0.0
    return odds / odds.sum()


#: P(length = n), n = 0..40, of the book's sentences: 11–39 symbols, mean 20.8, median
#: 19. On uniform lengths 10–40 instead (mean 25) the relu RNN 64 of chapter 10 trains
#: far worse: its weight gradients spike to norms of several hundred from epoch 7 and
#: its training accuracy falls back from 0.77 to 0.57 (automata-rnn-64, seed 1234).
BOOK_LENGTH_ODDS = _book_length_odds()
LENGTH_CHOICES = ("book", "uniform")


def draw_lengths(rng: np.random.Generator, count: int, min_length: int, max_length: int,
                 length_dist: str = "book") -> np.ndarray:
    """``count`` sentence lengths in ``min_length..max_length``: ``'book'`` draws them by
    :data:`BOOK_LENGTH_ODDS` (restricted to the range), ``'uniform'`` uniformly."""
    if length_dist == "uniform":
        return rng.integers(min_length, max_length + 1, size=count)
    if length_dist != "book":
        raise ValueError(f"length_dist must be one of {', '.join(LENGTH_CHOICES)}, got {length_dist!r}")
    odds = BOOK_LENGTH_ODDS[min_length:max_length + 1]
    if odds.sum() <= 0:
        raise ValueError(f"the book's sentences are 11–39 symbols long, none in {min_length}..{max_length}; "
                         f"use length_dist='uniform'")
    cumulative = np.cumsum(odds / odds.sum())
    picks = np.searchsorted(cumulative, rng.random(count), side="right")
    return min_length + np.minimum(picks, len(odds) - 1)


# ----------------------------------------------------------------------------- generation
def generate_valid(rng: np.random.Generator, count: int, min_length: int = MIN_LENGTH,
                   max_length: int = MAX_LENGTH, width: int | None = None, length_dist: str = "book"):
    """``count`` random valid sentences: codes (count, width) int64 and lengths (count,).

    Each length is drawn from ``min_length..max_length`` by :func:`draw_lengths`
    (``length_dist``: ``'book'``, the book's length distribution, or ``'uniform'``); the
    sentence is a random walk over the automaton, each step choosing a symbol class by
    :data:`GENERATE_WEIGHTS` among the classes from which a valid ending of exactly the
    remaining length exists (:data:`FEASIBLE`), then a symbol of that class uniformly.
    Positions past a sentence's length are 0 and mean nothing.
    """
    width = max_length if width is None else width
    if not 1 <= min_length <= max_length <= min(width, MAX_LENGTH):
        raise ValueError(f"lengths must satisfy 1 <= {min_length} <= {max_length} <= {min(width, MAX_LENGTH)}")
    lengths = draw_lengths(rng, count, min_length, max_length, length_dist)
    codes = np.zeros((count, width), dtype=np.int64)
    if count == 0:
        return codes, lengths
    # all the randomness at once: per step, one draw for the class, one for the symbol
    draws = rng.random((max_length, 2, count))
    state = np.full(count, START)
    depth = np.zeros(count, dtype=np.int64)
    for t in range(max_length):
        remaining = np.maximum(lengths - t, 0)  # this symbol and the ones after it
        odds = CHOICE[state, depth, remaining]  # (N, 6) cumulative, 0 when finished
        pick = np.minimum((odds <= draws[t, 0][:, None]).sum(axis=1), 5)
        codes[:, t] = CLASS_OFFSET[pick] + (draws[t, 1] * CLASS_SIZE[pick]).astype(np.int64)
        active = remaining > 0
        state = np.where(active, NEXT[state, pick], state)
        depth = np.where(active, depth + DEPTH_CHANGE[pick], depth)
    codes[np.arange(width)[None, :] >= lengths[:, None]] = 0
    return codes, lengths


def corrupt(rng: np.random.Generator, codes: np.ndarray, lengths: np.ndarray, most: int = 3) -> np.ndarray:
    """A copy of ``codes`` with 1..``most`` symbols of each string replaced.

    The count is uniform in 1..most, the positions are distinct and inside the string,
    and each new symbol is drawn uniformly from the other 42 symbols of the alphabet.
    The result may still be valid (``a`` → ``b``); callers keep what
    :func:`recognise` rejects.
    """
    count, width = codes.shape
    most = min(most, int(lengths.min(initial=most)))
    how_many = rng.integers(1, most + 1, size=count)
    keys = rng.random((count, width))
    keys[np.arange(width)[None, :] >= lengths[:, None]] = 2.0  # never past the end
    positions = np.argsort(keys, axis=1)[:, :most]
    shift = rng.integers(1, ALPHABET_SIZE, size=(count, most))
    row, slot = np.nonzero(np.arange(most)[None, :] < how_many[:, None])
    out = codes.copy()
    col = positions[row, slot]
    out[row, col] = (out[row, col] + shift[row, slot]) % ALPHABET_SIZE
    return out


def generate_invalid(rng: np.random.Generator, count: int, min_length: int = MIN_LENGTH,
                     max_length: int = MAX_LENGTH, width: int | None = None, length_dist: str = "book"):
    """``count`` invalid strings: valid sentences with 1–3 substitutions that the parser rejects
    (``length_dist`` as in :func:`generate_valid`)."""
    width = max_length if width is None else width
    codes = np.zeros((count, width), dtype=np.int64)
    lengths = np.zeros(count, dtype=np.int64)
    done = 0
    while done < count:
        want = count - done
        batch = want + want // 2 + 8  # about a third of corruptions stay valid
        base, base_lengths = generate_valid(rng, batch, min_length, max_length, width, length_dist)
        broken = corrupt(rng, base, base_lengths)
        keep = np.flatnonzero(~recognise(broken, base_lengths))[:want]
        codes[done:done + len(keep)] = broken[keep]
        lengths[done:done + len(keep)] = base_lengths[keep]
        done += len(keep)
    return codes, lengths


# ----------------------------------------------------------------------------- text
_CODE_OF_BYTE = np.full(256, -1, dtype=np.int64)
_CODE_OF_BYTE[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(ALPHABET_SIZE)


def encode(texts, width: int = MAX_LENGTH):
    """Strings over the alphabet → codes (N, width) int64 and lengths (N,)."""
    texts = list(texts)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    if len(texts) and lengths.max() > width:
        raise ValueError(f"a string is longer than {width} symbols")
    joined = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8)
    values = _CODE_OF_BYTE[joined]
    if (values < 0).any():
        bad = sorted({chr(b) for b in joined[values < 0]})
        raise ValueError(f"symbols outside the alphabet: {bad}")
    codes = np.zeros((len(texts), width), dtype=np.int64)
    rows = np.repeat(np.arange(len(texts)), lengths)
    cols = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    codes[rows, cols] = values
    return codes, lengths


def decode(codes, length: int) -> str:
    """One row of codes → its string (the first ``length`` symbols)."""
    return "".join(ALPHABET[int(c)] for c in np.asarray(codes)[:length])


def one_hot(codes: np.ndarray, lengths: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(N, T) codes → (N, T, 43) one-hot, padding steps all zero (one scatter per batch)."""
    count, width = codes.shape
    out = np.zeros((count, width, ALPHABET_SIZE), dtype=dtype)
    mask = np.arange(width)[None, :] < lengths[:, None]
    rows, cols = np.nonzero(mask)
    out[rows, cols, codes[rows, cols]] = 1
    return out
