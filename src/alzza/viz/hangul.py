"""Korean text in pictures: use a Hangul font when one is installed, else romanise.

matplotlib's bundled DejaVu fonts have no Hangul glyphs, so a caption like "삼백이십일"
would be drawn as empty boxes. If a font with Hangul is installed (Noto Sans CJK,
Nanum, Malgun Gothic, AppleGothic …) captions use it; otherwise Hangul syllables are
written in Revised Romanization ("sambaekisipil"), which every font can draw, and a
one-line notice says so — or, when a Hangul font file is on disk but matplotlib's font
cache was built before it, how to refresh the cache.

Romanisation is computed, not tabulated per word: a syllable code point is
0xAC00 + (initial·21 + medial)·28 + final, and each of the three jamo has a fixed
romanisation (letter by letter, without the sound-change rules between syllables).
"""

from __future__ import annotations

import contextvars
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


#: the font after the Hangul one in the fallback list: CJK fonts often lack ✓ and ✗,
#: which DejaVu Sans (bundled with matplotlib) has
SYMBOL_FONT = "DejaVu Sans"
#: words in the file names of Hangul fonts (to tell "none installed" from "cache stale")
HANGUL_FILE_HINTS = ("cjk", "nanum", "malgun", "applegothic", "undotum", "baekmuk", "notosanskr")


@lru_cache(maxsize=1)
def hangul_font() -> str | None:
    """The name of an installed font that has Hangul glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in installed), None)


def hangul_font_files() -> list[str]:
    """Hangul font files on disk (found by scanning the font folders, not matplotlib's cache)."""
    return [path for path in font_manager.findSystemFonts()
            if any(hint in path.lower().replace(" ", "").replace("_", "") for hint in HANGUL_FILE_HINTS)]


#: the language of that notice: "ko" within ``alzza run --lang ko`` (its report is Korean throughout)
NOTICE_LANGUAGE: contextvars.ContextVar = contextvars.ContextVar("alzza_notice_language", default="en")


def romanised_notice() -> str:
    """The one line said when captions are romanised: why, and how to get Hangul."""
    korean = NOTICE_LANGUAGE.get() == "ko"
    files = hangul_font_files()
    if files:
        import matplotlib

        cache = f"{matplotlib.get_cachedir()}/fontlist-*.json"
        if korean:
            return (f"알림: 한글 글꼴({files[0]})이 설치되어 있지만 matplotlib의 글꼴 캐시가 그보다 오래되어 그림의 "
                    f"한국어 캡션을 로마자로 씁니다. {cache}을(를) 지우고 다시 실행하세요")
        return (f"note: Korean captions are romanised: a Hangul font is installed ({files[0]}) but matplotlib's "
                f"font cache predates it; delete {cache} and run again")
    if korean:
        return ("알림: 한글 글꼴이 없어 그림의 한국어 캡션을 로마자로 씁니다(예: 삼백 → sambaek). 한글로 보려면 글꼴을 "
                "설치하세요(Debian: apt-get install fonts-noto-cjk)")
    return ("note: Korean captions are romanised (e.g. 삼백 → sambaek): no Hangul font is installed; "
            "install one (Debian: apt-get install fonts-noto-cjk) to see Hangul")


_noticed = False


def _notice_once() -> None:
    global _noticed
    if not _noticed:
        _noticed = True
        import sys

        print(romanised_notice(), file=sys.stderr)


def caption_text(text: str) -> tuple[str, dict]:
    """(text to draw, extra font properties) so that Korean captions stay readable.

    With a Hangul font, the font family is a fallback list: that font, then one that
    has ✓ ✗. Without one, the text is romanised, and a one-line notice says so (once).
    """
    if not has_hangul(text):
        return text, {}
    font = hangul_font()
    if font is not None:
        return text, {"fontfamily": [font, SYMBOL_FONT]}
    _notice_once()
    return romanize(text), {}
