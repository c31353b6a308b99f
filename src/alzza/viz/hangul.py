"""Korean text in pictures: use a Hangul font when one is installed, else romanise.

matplotlib's bundled DejaVu fonts have no Hangul glyphs, so a caption like "삼백이십일"
would be drawn as empty boxes. If a font with Hangul is installed (Noto Sans CJK,
Nanum, Malgun Gothic, AppleGothic …) captions use it; otherwise Hangul syllables are
written in Revised Romanization ("sambaekisipil"), which every font can draw.

Romanisation is computed, not tabulated per word: a syllable code point is
0xAC00 + (initial·21 + medial)·28 + final, and each of the three jamo has a fixed
romanisation (letter by letter, without the sound-change rules between syllables).
"""

from __future__ import annotations

from functools import lru_cache

from matplotlib import font_manager

HANGUL_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Nanum Gothic", "Malgun Gothic",
                "AppleGothic", "Noto Sans CJK JP", "UnDotum", "Baekmuk Gulim")

_INITIALS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_MEDIALS = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
            "yu", "eu", "ui", "i"]
_FINALS = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t",
           "ng", "t", "t", "k", "t", "p", "t"]


def _is_syllable(char: str) -> bool:
    return 0xAC00 <= ord(char) <= 0xD7A3


def has_hangul(text: str) -> bool:
    return any(_is_syllable(c) for c in text)


def romanize(text: str) -> str:
    """Hangul syllables in ``text`` → Latin letters; everything else unchanged."""
    out = []
    for char in text:
        if _is_syllable(char):
            index = ord(char) - 0xAC00
            initial, rest = divmod(index, 21 * 28)
            medial, final = divmod(rest, 28)
            out.append(_INITIALS[initial] + _MEDIALS[medial] + _FINALS[final])
        else:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=1)
def hangul_font() -> str | None:
    """The name of an installed font that has Hangul glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in installed), None)


def caption_text(text: str) -> tuple[str, dict]:
    """(text to draw, extra font properties) so that Korean captions stay readable."""
    if not has_hangul(text):
        return text, {}
    font = hangul_font()
    if font is not None:
        return text, {"fontfamily": font}
    return romanize(text), {}
