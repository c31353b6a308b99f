"""Semantic-hash search results as a picture: each query beside its ranked matches."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = ["hash_search_figure"]


def _label(y_row, names):
    if y_row is None:
        return None
    k = int(np.argmax(np.asarray(y_row).reshape(-1)))
    return str(names[k]) if names is not None and k < len(names) else str(k)


def hash_search_figure(model, dataset, queries, matches, max_rank: int, query_labels=None, path=None,
                       panel_size: float = 1.6, note: str = "") -> Figure:
    """One row per query: the query, then up to ``max_rank`` matches of its bucket.

    Captions give the query's number and (when known) its label, its bucket's bits and
    size, each match's rank and code distance, and — when the data set can tell
    (``all_train_targets``, for reports only) — each match's label. ``note`` (e.g. that the
    codes collapsed into one bucket, so every row is the same) goes under the title.
    """
    names = getattr(dataset, "target_names", None)
    targets = dataset.all_train_targets()
    inputs = model.hash_inputs
    rows, cols = len(queries), 1 + max_rank
    fig = Figure(figsize=(panel_size * cols, panel_size * 1.25 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    query_images = dataset.input_images(queries)
    for r, match in enumerate(matches):
        label = _label(query_labels[r], names) if query_labels is not None else None
        ax = axes[r, 0]
        ax.imshow(query_images[r], cmap="gray" if query_images.ndim == 3 else None)
        # the query's number (as the console's "query 0: bucket ..." lines count) and its
        # label are two things: "query 1, label 6", not "query 6"
        ax.set_title(f"query {r}" + (f", label {label}" if label else "")
                     + f"\nbucket {match.bits} ({match.bucket_size})", fontsize=7, color="tab:blue")
        hits = dataset.input_images(inputs[match.indices]) if len(match.indices) else []
        for c in range(max_rank):
            ax = axes[r, c + 1]
            if c < len(match.indices):
                idx = int(match.indices[c])
                ax.imshow(hits[c], cmap="gray" if np.ndim(hits[c]) == 2 else None)
                digit = _label(targets[idx], names) if targets is not None else None
                color = "black" if digit is None or label is None else (
                    "tab:green" if digit == label else "tab:red")
                ax.set_title(f"#{c + 1} d={match.distances[c]:.3f}" + (f"\nlabel {digit}" if digit else ""),
                             fontsize=7, color=color)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        if not ax.images:
            ax.set_axis_off()
    fig.suptitle(f"{model.name}: semantic hashing, queries and their bucket's nearest codes", fontsize=9)
    if note:
        import textwrap

        fig.text(0.5, 0.955, textwrap.fill(note, 110), ha="center", va="top", fontsize=7, color="#b00020",
                 gid="note")
    if note:
        fig.tight_layout(rect=(0, 0, 1, 0.92))
    else:
        fig.tight_layout()
    if path is not None:
        from .plots import save_figure

        save_figure(fig, path)
    return fig
