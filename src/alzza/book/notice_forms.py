"""``alzza run NAME --lang ko``: the notes printed beside the report, in Korean.

The data sets say which data they read when it is not the book's (a stand-in, only the
MNIST t10k file), and the training loop says why it stopped early; these lines are
alzza's, not the book's, so under ``--lang ko`` they are Korean like the runner's
(:mod:`alzza.book.run_forms`). Each pattern is the English line of the module named
beside it; a line no pattern knows passes on unchanged.
"""

from __future__ import annotations

import re

#: a metric's name where the training loop names one (early stopping watches these)
WATCHED = {"loss": "손실", "accuracy": "정확도", "val_loss": "검증 손실", "val_accuracy": "검증 정확도"}


def _watched(name: str) -> str:
    return WATCHED.get(name, name)


def _mnist(m) -> str:
    which = "평가(t10k)" if m[3].startswith("test") else "학습"
    book = "; 책은 학습 파일의 숫자 60,000개로 학습했습니다" if m[8] else ""
    return (f"{m[1]}: {m[2]}에 MNIST {which} 파일만 있습니다 (숫자 {m[4]}개). 책의 규칙대로 학습 {m[5]}개 / "
            f"검증 {m[6]}개 / 평가 {m[7]}개로 나눕니다{book}")


#: (pattern, Korean) pairs; the Korean is a format of the match's groups or a function of the match
NOTICES = [
    # data/sets/images.py, office31_or_standin
    (r"^(\S+): (.+) not found; using the stand-in built from the flower photos \((\S+)\)$",
     "{1}: {2} 없음 — 꽃 사진으로 만든 대역 데이터({3})를 씁니다"),
    (r"^(\S+): using Office-31 from (.+)$", "{1}: {2}의 Office-31을 씁니다"),
    # data/sets/audio.py, urban_sound_or_fsdd
    (r"^(\S+): (.+) not found; using FSDD as the stand-in \((\S+)\)$",
     "{1}: {2} 없음 — FSDD(소리 내어 읽은 숫자)를 대역 데이터({3})로 씁니다"),
    (r"^(\S+): using UrbanSound8K from (.+)$", "{1}: {2}의 UrbanSound8K를 씁니다"),
    # data/sets/videoshot.py, make_videoshot_or_standin
    (r"^(\S+): (.+) not found; using the stand-in movie rendered from the flower photos \((\S+)\)$",
     "{1}: {2} 없음 — 꽃 사진으로 만든 대역 동영상({3})을 씁니다"),
    (r"^(\S+): no movie file given; using the stand-in movie rendered from the flower photos \((\S+)\)$",
     "{1}: 동영상 파일이 주어지지 않아 꽃 사진으로 만든 대역 동영상({2})을 씁니다"),
    (r"^(\S+): using the movie (.+)$", "{1}: 동영상 {2}을(를) 씁니다"),
    # data/generators/standin_movie.py
    (r"^rendering the stand-in movie \((\d+) shots × (\d+) frames, (\S+), (\d+) fps\) into (.+) \.\.\.$",
     "대역 동영상을 만드는 중입니다 (장면 {1}개 × 프레임 {2}장, {3}, 초당 {4}프레임): {5} ..."),
    # data/sets/mnist_files.py, load_mnist
    (r"^(\S+): MNIST from (.+): only the (test \(t10k\)|training) files are here \((\d+) digits\), split by the "
     r"book's rule into (\d+) train / (\d+) validate / (\d+) test(; the book trained on the 60,000 digits of the "
     r"training file)? \(no (?:training|test \(t10k\)) files found\)$", _mnist),
    # data/sets/mnist_kor.py
    (r"^(\S+): the (\S+) split has no image of the digit (\d); using those of the (\S+) split$",
     "{1}: {2} 몫에 숫자 {3}의 이미지가 없어 {4} 몫의 것을 씁니다"),
    # training/callbacks.py: the reporter's closing line and early stopping's reason and restore
    (r"^Model (\S+) stopped after epoch (\d+) of (\d+): early stopping: (\S+) did not improve for (\d+) epochs "
     r"\(best (\S+) at epoch (\d+)\)$",
     lambda m: (f"Model {m[1]}: 에폭 {m[2]}/{m[3]}에서 조기 종료 — {m[5]} 에폭 동안 {_watched(m[4])} 개선 없음 "
                f"(최고 {m[6]}, 에폭 {m[7]})")),
    (r"^Model (\S+) stopped after epoch (\d+) of (\d+): (.*)$", "Model {1}: 에폭 {2}/{3}에서 멈춤 — {4}"),
    (r"^Model (\S+): weights restored from epoch (\d+) \(best (\S+) (\S+)\)$",
     lambda m: f"Model {m[1]}: 가장 좋았던 에폭 {m[2]}의 가중치로 되돌렸습니다 ({_watched(m[3])} {m[4]})"),
]
COMPILED = [(re.compile(pattern), korean) for pattern, korean in NOTICES]


def notice_line(text: str) -> str:
    """One note in Korean (other lines as they are)."""
    for pattern, korean in COMPILED:
        if m := pattern.match(text):
            return korean(m) if callable(korean) else korean.format(None, *m.groups())
    return text
