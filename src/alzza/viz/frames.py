"""Sequences of pictures (video shots) with a per-step output: one frame per column.

Each example is a row; under each frame its step's estimate and answer, so a reader
sees at which frame the model thinks a new shot starts and where one really does.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .images import RIGHT, RIGHT_COLOR, WRONG, WRONG_COLOR, finish_figure

__all__ = ["frame_grid", "is_frame_sequence"]


def is_frame_sequence(x) -> bool:
    """True for a batch of picture sequences: data (N, T, H, W, C) with C 1 or 3."""
    data = getattr(x, "data", None)
    return data is not None and data.ndim == 5 and data.shape[-1] in (1, 3)


def _frames(x) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x.data)), 0, 255).astype(np.uint8)


def frame_grid(x, estimate, y, *, names=("no", "yes"), skip_steps: int = 0, title: str = "",
               frame_size: float = 1.9, path=None, show: bool = False) -> Figure:
    """One row per sequence, one column per frame; captions ``step 2 ✓ / est: yes (0.83) / ans: yes``.

    ``estimate`` is the per-step probability (a Sequences (N, T, 1), as the seqbinary
    head gives); ``y`` the targets (N, T, 1). Steps before ``skip_steps`` are not scored
    by the head, and their captions say so.
    """
    frames = _frames(x)
    count, steps = frames.shape[:2]
    lengths = np.asarray(getattr(x, "lengths", np.full(count, steps)))
    est = np.asarray(getattr(estimate, "data", estimate)).reshape(count, steps, -1)[..., 0]
    ans = np.asarray(y).reshape(count, steps, -1)[..., 0]
    height, width = frames.shape[2:4]
    aspect = height / width
    fig = Figure(figsize=(frame_size * steps, (frame_size * aspect + 0.7) * count + (0.4 if title else 0)), dpi=100)
    axes = fig.subplots(count, steps, squeeze=False)
    for i in range(count):
        for t in range(steps):
            ax = axes[i, t]
            ax.set_axis_off()
            if t >= lengths[i]:
                continue
            picture = frames[i, t]
            ax.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture, cmap="gray", interpolation="nearest")
            e, a = bool(est[i, t] > 0.5), bool(ans[i, t] > 0.5)
            label = f"est: {names[e]} ({est[i, t]:.2f})\nans: {names[a]}"
            if t < skip_steps:
                ax.set_title(f"step {t + 1} (not scored)\n{label}", fontsize=7, color="gray")
            else:
                ax.set_title(f"step {t + 1} {RIGHT if e == a else WRONG}\n{label}", fontsize=7,
                             color=RIGHT_COLOR if e == a else WRONG_COLOR)
    return finish_figure(fig, title, path=path, show=show)
