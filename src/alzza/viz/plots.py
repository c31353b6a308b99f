"""Pictures written as PNG with matplotlib's object API (no pyplot, so no display is
needed: headless machines and CI work; in Jupyter the returned Figure shows inline)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _series(values):
    """Split a list of per-head tuples into one list per head; plain floats → one list."""
    if values and isinstance(values[0], (tuple, list)):
        return [list(col) for col in zip(*values, strict=False)]
    return [list(values)]


def _series_names(history, head_names, count):
    """What each accuracy series is: the history's own names (discriminator / generator,
    step / sequence), else the data set's head names, else numbered heads."""
    names = getattr(history, "accuracy_names", None) or head_names
    if count == 1:
        return [""]
    if names and len(names) >= count:
        return [f" ({n})" for n in names[:count]]
    return [f" (head {i + 1})" for i in range(count)]


def _plot_stage(ax_loss, ax_acc, history, head_names, stage_title=""):
    epochs = list(history.epoch)
    names = getattr(history, "accuracy_names", None) or []
    metrics = getattr(history, "validate_metrics", None) or []
    # a model with a loss per part (the GAN: discriminator, generator) trains on their sum;
    # its validation loss is the same sum (history's validate_loss), drawn as such
    parts = [n for n in names if metrics and all(f"{n}_loss" in m for m in metrics)]
    summed = f" ({' + '.join(parts)})" if parts else ""
    ax_loss.plot(epochs, history.loss, marker="o", ms=3, color="tab:red", label="train" + summed)
    val_loss = list(getattr(history, "validate_loss", []))
    if val_loss and len(val_loss) == len(epochs) and any(v == v for v in val_loss):
        ax_loss.plot(epochs, val_loss, marker="s", ms=3, ls="--", color="tab:purple", label="validation" + summed)
    ax_loss.legend(fontsize=8)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("mean loss")
    ax_loss.set_title(f"{stage_title}loss")
    ax_loss.grid(alpha=0.3)
    train, valid = _series(history.train_accuracy), _series(history.validate_accuracy)
    names = _series_names(history, head_names, len(train))
    for i, (tr, va) in enumerate(zip(train, valid, strict=False)):
        ax_acc.plot(epochs, tr, marker="o", ms=3, label="train" + names[i], color=f"C{2 * i}")
        ax_acc.plot(epochs, va, marker="s", ms=3, ls="--", label="validation" + names[i], color=f"C{2 * i + 1}")
    label = getattr(history, "accuracy_label", "accuracy") or "accuracy"
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel(label)
    ax_acc.set_title(f"{stage_title}{label}")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        if len(epochs) == 1:
            ax.set_xlim(epochs[0] - 1, epochs[0] + 1)


def training_curves(history, title: str = "", head_names=None, path=None) -> Figure:
    """Loss and train/validation accuracy per epoch (one accuracy line per head).

    ``history`` is one History or a list of them — the stages of a family model
    (autoencode then supervised; encoder, decoder, both): one row per stage, each
    titled with its stage.
    """
    histories = list(history) if isinstance(history, (list, tuple)) else [history]
    rows = max(1, len(histories))
    fig = Figure(figsize=(10, 3.6 * rows + 0.4), dpi=100)
    axes = fig.subplots(rows, 2, squeeze=False)
    for (ax_loss, ax_acc), stage in zip(axes, histories, strict=False):
        stage_title = f"{stage.stage}: " if len(histories) > 1 else ""
        _plot_stage(ax_loss, ax_acc, stage, head_names, stage_title)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` as PNG to ``path`` (parents created), atomically: a run killed while
    drawing leaves the previous picture whole (see :mod:`alzza.saving.atomic`)."""
    from ..saving.atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png")
    return path
