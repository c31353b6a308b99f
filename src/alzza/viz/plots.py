"""Pictures written as PNG with matplotlib's object API (no pyplot, so no display is
needed: headless machines and CI work; in Jupyter the returned Figure shows inline)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def _series(values):
    """Split a list of per-head tuples into one list per head; plain floats → one list."""
    if values and isinstance(values[0], (tuple, list)):
        return [list(col) for col in zip(*values)]
    return [list(values)]


def training_curves(history, title: str = "", head_names=None, path=None) -> Figure:
    """Loss and train/validation accuracy per epoch (one accuracy line per head)."""
    fig = Figure(figsize=(10, 4), dpi=100)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(history.epoch, history.loss, marker="o", ms=3, color="tab:red")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("mean training loss")
    ax_loss.set_title("loss")
    ax_loss.grid(alpha=0.3)
    train, valid = _series(history.train_accuracy), _series(history.validate_accuracy)
    for i, (tr, va) in enumerate(zip(train, valid)):
        label = f" ({head_names[i]})" if head_names and len(train) > 1 else (f" (head {i + 1})" if len(train) > 1 else "")
        ax_acc.plot(history.epoch, tr, marker="o", ms=3, label="train" + label, color=f"C{2 * i}")
        ax_acc.plot(history.epoch, va, marker="s", ms=3, ls="--", label="validation" + label, color=f"C{2 * i + 1}")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title("accuracy")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` as PNG to ``path`` (parents created), atomically: a run killed while
    drawing leaves the previous picture whole (see :mod:`alzza.atomic`)."""
    from ..atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png")
    return path
