"""Korean captions stay readable: a Hangul font when installed, else romanised text."""

import warnings

import numpy as np

from alzza.data.generators.korean_numerals import read_korean_text
from alzza.viz import hangul
from alzza.viz.images import image_grid


def test_romanize_syllables():
    assert hangul.romanize("삼백이십일") == "sambaekisipil"
    assert hangul.romanize(read_korean_text(2019)) == "icheonsipgu"
    assert hangul.romanize("영 / ans: 칠 ✓") == "yeong / ans: chil ✓"
    assert hangul.romanize("zero") == "zero"


def test_caption_text_without_a_hangul_font(monkeypatch):
    monkeypatch.setattr(hangul, "hangul_font", lambda: None)
    assert hangul.caption_text("est: 구천 / ans: 구천") == ("est: gucheon / ans: gucheon", {})
    monkeypatch.setattr(hangul, "hangul_font", lambda: "NanumGothic")
    # a fallback list: the Hangul font, then one with the ✓ ✗ marks
    assert hangul.caption_text("구천") == ("구천", {"fontfamily": ["NanumGothic", "DejaVu Sans"]})
    assert hangul.caption_text("seven") == ("seven", {})


def test_grid_with_korean_captions_draws_without_missing_glyphs(tmp_path):
    images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        fig = image_grid(images, ["est: 삼백 / ans: 삼백", "est: 천일 / ans: 천"])
        fig.savefig(tmp_path / "k.png")
    titles = [ax.get_title() for ax in fig.axes]
    if hangul.hangul_font() is None:
        assert titles[0] == "est: sambaek / ans: sambaek"


def test_romanised_captions_say_so_once(monkeypatch, capsys):
    monkeypatch.setattr(hangul, "hangul_font", lambda: None)
    monkeypatch.setattr(hangul, "_noticed", False)
    monkeypatch.setattr(hangul, "hangul_font_files", lambda: [])
    hangul.caption_text("삼백")
    hangul.caption_text("천")
    err = capsys.readouterr().err
    assert err.count("romanised") == 1 and "fonts-noto-cjk" in err


def test_a_stale_font_cache_gets_a_hint(monkeypatch):
    monkeypatch.setattr(hangul, "hangul_font_files", lambda: ["/usr/share/fonts/NanumGothic.ttf"])
    notice = hangul.romanised_notice()
    assert "NanumGothic.ttf" in notice and "fontlist-" in notice and "cache" in notice
