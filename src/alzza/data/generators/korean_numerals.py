"""Reading a number aloud in Sino-Korean numerals (영 일 이 … 구, 십 백 천), the book's way.

The rules (chapter 14's ``mnist-kor``), for 0 ≤ n ≤ 9999:

- the number 0 is read 영;
- every other number is read place by place, thousands first: the digit, then the
  place word (천, 백, 십; nothing for the ones);
- a zero digit is silent, with its place word: 101 → 백일, 2019 → 이천십구;
- a 1 is silent before a place word: 10 → 십, 11 → 십일, 100 → 백, 1000 → 천, 1001 → 천일
  (but the ones digit 1 is read: 1 → 일, 21 → 이십일).

:func:`read_korean` gives the reading as a list of symbols (one syllable each — what a
sequence model emits step by step); :func:`read_korean_text` joins it into a string.
``SYMBOLS`` is the symbol table of the data set: index 0 is the pad symbol ``'#'``,
then 영 일 이 삼 사 오 육 칠 팔 구 십 백 천 (14 in all), as in the book.
"""

from __future__ import annotations

__all__ = ["DIGITS", "MAX_NUMBER", "PAD", "PLACES", "SYMBOLS", "longest_reading",
           "read_korean", "read_korean_text"]

PAD = "#"
#: the readings of the digits 0–9
DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
#: the place words of thousands, hundreds, tens (the ones have none)
PLACES = ("천", "백", "십")
#: the symbol table of mnist-kor: pad, the ten digits, the three place words
SYMBOLS = (PAD, *DIGITS, "십", "백", "천")
#: the largest number these symbols can read (만 = 10,000 is not among them)
MAX_NUMBER = 9999


def read_korean(number: int) -> list[str]:
    """The reading of ``number`` (0–9999) as a list of one-syllable symbols.

    >>> read_korean(2019)
    ['이', '천', '십', '구']
    """
    if isinstance(number, bool) or not isinstance(number, int):
        try:
            as_int = int(number)
        except (TypeError, ValueError):
            raise TypeError(f"read_korean needs an integer, got {number!r}") from None
        if as_int != number:
            raise TypeError(f"read_korean needs an integer, got {number!r}")
        number = as_int
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"read_korean reads 0 to {MAX_NUMBER}, got {number}")
    if number == 0:
        return [DIGITS[0]]
    symbols: list[str] = []
    for place, unit in zip(PLACES, (1000, 100, 10), strict=False):
        digit = number // unit % 10
        if digit == 0:
            continue  # a zero digit is silent, place word and all
        if digit != 1:
            symbols.append(DIGITS[digit])  # a 1 is silent before a place word
        symbols.append(place)
    if number % 10:
        symbols.append(DIGITS[number % 10])
    return symbols


def read_korean_text(number: int) -> str:
    """The reading of ``number`` as one string: ``read_korean_text(999) == '구백구십구'``."""
    return "".join(read_korean(number))


def longest_reading(digits: int) -> int:
    """The most symbols any number of ``digits`` digits (0 … 10**digits − 1) needs.

    Each place gives at most two symbols (digit + place word) and the ones one, so
    ``2 * digits - 1``: 9 → 1, 99 → 구십구 (3), 999 → 5, 9999 → 구천구백구십구 (7).
    """
    if not 1 <= digits <= 4:
        raise ValueError(f"digits must be 1 to 4, got {digits}")
    return 2 * digits - 1
