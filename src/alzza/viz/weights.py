"""Weight histograms (the book's chapter 8 pictures of L1/L2 decay), as one PNG.

:func:`weight_histograms` draws one histogram per decayed parameter — every weight
matrix and conv kernel (``[s for s in model.slots if s.decayed]``; biases and batch-norm
scales are not decayed and not drawn) — each titled with its mean, standard deviation σ
and the share of near-zero weights (``|w| < threshold``, default 1e-3). The same
numbers come back as a dict, ``{slot name: {shape, count, mean, std, near_zero,
abs_mean, min, max}}``; the runner writes it to ``result.json`` under ``weights``.

L2 decay shrinks weights towards zero (smaller σ); L1 decay drives many of them to
(about) zero, so its near-zero share is much larger.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..device import to_host
from .images import finish_figure

__all__ = ["NEAR_ZERO", "weight_histograms", "weight_stats"]

#: |w| below this counts as near zero
NEAR_ZERO = 1e-3


def weight_stats(values, threshold: float = NEAR_ZERO) -> dict:
    """mean, std, near-zero share (|w| < threshold) and more, as plain floats."""
    w = np.asarray(values, dtype=np.float64).ravel()
    if w.size == 0:
        return {"shape": list(np.shape(values)), "count": 0, "mean": 0.0, "std": 0.0, "near_zero": 0.0,
                "abs_mean": 0.0, "min": 0.0, "max": 0.0}
    return {
        "shape": [int(v) for v in np.shape(values)],
        "count": int(w.size),
        "mean": float(w.mean()),
        "std": float(w.std()),
        "near_zero": float(np.mean(np.abs(w) < threshold)),
        "abs_mean": float(np.abs(w).mean()),
        "min": float(w.min()),
        "max": float(w.max()),
    }


def weight_histograms(model, path=None, *, bins: int = 60, threshold: float = NEAR_ZERO,
                      columns: int | None = None, title: str | None = None,
                      show: bool = True) -> tuple[Figure, dict]:
    """One histogram panel per decayed parameter of ``model``; returns (Figure, stats).

    ``stats`` maps each slot's name (e.g. ``layers[0]/w``, ``output/w``) to
    :func:`weight_stats`. Writes the PNG to ``path`` when given. ValueError when the
    model has no decayed parameter.
    """
    slots = [s for s in model.slots if s.decayed]
    if not slots:
        raise ValueError(f"{model.name}: no weight matrices or kernels to draw")
    stats = {slot.name: weight_stats(to_host(slot.value), threshold) for slot in slots}
    columns = max(1, min(int(columns or 4), len(slots)))
    rows = math.ceil(len(slots) / columns)
    fig = Figure(figsize=(3.4 * columns, 2.6 * rows + 0.5), dpi=100)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for index, ax in enumerate(axes):
        if index >= len(slots):
            ax.remove()
            continue
        slot = slots[index]
        s = stats[slot.name]
        ax.hist(np.asarray(to_host(slot.value), dtype=np.float64).ravel(), bins=bins, color="tab:blue", alpha=0.85)
        ax.set_title(f"{slot.name} {'×'.join(map(str, s['shape']))}\n"
                     f"mean {s['mean']:.2g}  σ {s['std']:.2g}  |w|<{threshold:g}: {100 * s['near_zero']:.1f}%",
                     fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
        ax.set_gid("weights")
    decay = getattr(model, "optimizer", None)
    if title is None:
        parts = []
        if getattr(decay, "l2_decay", 0):
            parts.append(f"L2 {decay.l2_decay:g}")
        if getattr(decay, "l1_decay", 0):
            parts.append(f"L1 {decay.l1_decay:g}")
        title = f"{model.name}: weight distributions ({', '.join(parts) or 'no decay'})"
    finish_figure(fig, title, path=path, show=show)
    return fig, stats
