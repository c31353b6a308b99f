"""Image grids: pictures with captions (estimate and answer), written as PNG.

Built with matplotlib's object API (``matplotlib.figure.Figure``, no pyplot), so no
display is needed: headless machines and CI work. Inside a Jupyter/IPython kernel
:func:`show_inline` also shows the figure in the notebook; elsewhere it does nothing.
"""

from __future__ import annotations

import io
import math
import sys
from itertools import pairwise

import numpy as np
from matplotlib.figure import Figure

from ..sequences import Sequences
from .hangul import caption_text
from .text import own_text

__all__ = ["estimate_captions", "finish_figure", "image_grid", "in_notebook", "show_inline"]

RIGHT, WRONG = "✓", "✗"
#: caption colours: all heads right / at least one wrong
RIGHT_COLOR, WRONG_COLOR = "tab:green", "tab:red"


def image_grid(images, captions, columns: int | None = None, title: str | None = None,
               colors=None, panel_size: float = 2.4, path=None, show: bool = False) -> Figure:
    """One panel per image, captioned, in a grid of ``columns`` (default: up to 5).

    ``images`` is uint8 ``(n, h, w, 3)`` (or ``(n, h, w)`` grayscale); ``captions`` one
    string per image (may hold several lines); ``colors`` optional caption colours.
    Grid cells without an image are removed, so ``len(fig.axes) == n``. The figure is
    written as PNG to ``path`` when given, and shown inline in Jupyter when ``show``.
    """
    images = np.asarray(images)
    count = len(images)
    if len(captions) != count:
        raise ValueError(f"{count} images but {len(captions)} captions")
    if count == 0:
        raise ValueError("image_grid needs at least one image")
    columns = max(1, min(int(columns or 5), count))
    rows = math.ceil(count / columns)
    lines = max(str(c).count("\n") + 1 for c in captions)
    fig = Figure(figsize=(panel_size * columns, (panel_size + 0.2 * lines) * rows + (0.4 if title else 0)),
                 dpi=100)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for index, ax in enumerate(axes):
        if index >= count:
            ax.remove()  # an empty cell is no panel
            continue
        picture = images[index]
        ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255,
                  interpolation="nearest")
        color = colors[index] if colors is not None else "black"
        text, font = caption_text(str(captions[index]))
        ax.set_title(text, fontsize=8, color=color, **font)
        ax.set_axis_off()
    return finish_figure(fig, title, path=path, show=show)


def _name(names, index: int) -> str:
    return str(names[index]) if names is not None and index < len(names) else str(index)


def _select_caption(probs, target, names, prefix: str = "") -> tuple[str, bool]:
    est, ans = int(np.argmax(probs)), int(np.argmax(target))
    ok = est == ans
    return (f"{prefix}est: {_name(names, est)} / ans: {_name(names, ans)} "
            f"{RIGHT if ok else WRONG}"), ok


def estimate_captions(dataset, head, estimate, y) -> tuple[list[str], list[str]]:
    """Captions ``'est: rose / ans: tulip ✗'`` (one line per head for multi-select,
    e.g. ``'domain est: gray / ans: gray ✓'``) and a colour per caption."""
    if isinstance(estimate, Sequences):
        return _sequence_captions(dataset, head, estimate, y)
    names = getattr(dataset, "target_names", None)
    head_names = getattr(dataset, "head_names", None)
    captions, colors = [], []
    for i in range(len(estimate)):
        est, ans = np.asarray(estimate[i]).reshape(-1), np.asarray(y[i]).reshape(-1)
        if head.mode == "multi-select":
            parts, all_ok = [], True
            for g, (lo, hi) in enumerate(pairwise(head.bounds)):
                label = f"{head_names[g]} " if head_names else f"head {g + 1} "
                text, ok = _select_caption(est[lo:hi], ans[lo:hi], names[g] if names else None, label)
                parts.append(text)
                all_ok &= ok
            text, ok = "\n".join(parts), all_ok
        elif head.mode == "select":
            text, ok = _select_caption(est, ans, names)
        elif head.mode == "binary":
            est_yes, ans_yes = bool(est[0] > 0.5), bool(ans[0] > 0.5)
            ok = est_yes == ans_yes
            labels = names if names else ["no", "yes"]
            text = (f"est: {labels[int(est_yes)]} ({est[0]:.2f}) / ans: {labels[int(ans_yes)]} "
                    f"{RIGHT if ok else WRONG}")
        else:
            text = ("est: " + ", ".join(f"{v:.2f}" for v in est[:3])
                    + " / ans: " + ", ".join(f"{v:.2f}" for v in ans[:3]))
            ok = None
        captions.append(text)
        colors.append("black" if ok is None else (RIGHT_COLOR if ok else WRONG_COLOR))
    return captions, colors


def _steps_text(dataset, classes) -> str:
    """Per-step class indices as text: the data set's own decoding, else symbols joined."""
    text = own_text(dataset, classes)
    if text is not None:
        return text
    names = getattr(dataset, "target_names", None)
    if names and all(len(str(n)) == 1 for n in names):
        return "".join(str(names[c]) for c in classes)
    return "".join(str(int(c)) for c in classes)


def _sequence_captions(dataset, head, estimate: Sequences, y):
    """Captions for per-step outputs: the estimated and the true steps, right if all agree."""
    captions, colors = [], []
    for i in range(len(estimate)):
        steps = int(estimate.lengths[i])
        est, ans = estimate.data[i, :steps], np.asarray(y[i])[:steps]
        if head.mode == "seqbinary":
            est_cls, ans_cls = (est[:, 0] > 0.5).astype(int), (ans[:, 0] > 0.5).astype(int)
            est_text = "".join(map(str, est_cls))
            ans_text = "".join(map(str, ans_cls))
        else:
            est_cls, ans_cls = est.argmax(axis=-1), ans.argmax(axis=-1)
            est_text, ans_text = _steps_text(dataset, est_cls), _steps_text(dataset, ans_cls)
        ok = bool(np.array_equal(est_cls, ans_cls))
        captions.append(f"est: {est_text} / ans: {ans_text} {RIGHT if ok else WRONG}")
        colors.append(RIGHT_COLOR if ok else WRONG_COLOR)
    return captions, colors


def in_notebook() -> bool:
    """True inside a Jupyter/IPython *kernel* (a notebook), not a plain terminal IPython."""
    ipython = sys.modules.get("IPython")  # never import IPython ourselves
    if ipython is None:
        return False
    get_ipython = getattr(ipython, "get_ipython", None)
    try:
        shell = get_ipython() if get_ipython is not None else None
    except Exception:  # noqa: BLE001 — any failure means "not in a kernel"
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def finish_figure(fig: Figure, title: str = "", *, path=None, show: bool = False, fontsize=10,
                  tight: bool = True) -> Figure:
    """The end every picture shares: its title, the layout, an atomic save to ``path``,
    and the inline display in a notebook when ``show``."""
    if title:
        fig.suptitle(title, fontsize=fontsize)
    if tight:
        fig.tight_layout()
    if path is not None:
        from .plots import save_figure

        save_figure(fig, path)
    if show:
        show_inline(fig)
    return fig


def show_inline(fig: Figure) -> bool:
    """Show ``fig`` in the notebook when running in a Jupyter kernel; True if shown.

    The PNG bytes are displayed directly, so it works whatever matplotlib backend the
    kernel has selected (and without pyplot). Does nothing outside a kernel.
    """
    if not in_notebook():
        return False
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    display(Image(data=buffer.getvalue(), format="png"))
    return True
