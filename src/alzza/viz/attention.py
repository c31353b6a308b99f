"""Attention weights as one PNG: a grid of layers × heads for a few examples.

:func:`attention_figure` runs one inference forward on the first few examples of a
batch, reads every attention layer's weights P (``MultiHeadAttention.weights``, shape
(N, h, T, S), kept by the layer after each forward) and draws, **per example**, a block
of panels — one row per attention layer (in network order, labelled with the layer's
path), one column per head. A panel is the matrix P[example, head] over the example's
*real* steps only: queries down the y-axis, keys along the x-axis, each tick labelled
with its token. Cross-attention (a layer with ``memory``) has the memory's tokens on
the x-axis. Each panel is coloured on its own scale, 0 (dark) to its largest weight
(yellow, the value in the panel's title), on a square-root scale (:data:`GAMMA`): with 40
keys a typical weight is ~0.025, and a shared linear 0–1 scale would leave most panels
blank.

Token labels, in order of preference:

* ``token_labels`` / ``memory_labels`` given: one list of strings per example (its real
  steps, at least), or a dict ``{path prefix: such lists}`` when the layers read
  different sequences — for an encoder-decoder, e.g. ``{"encoder": source tokens,
  "decoder": target tokens}`` (the longest matching prefix of a layer's path wins);
* else, for queries, the batch itself decoded with the data set's symbols, when ``x`` is
  a :class:`~alzza.sequences.Sequences` of one-hot rows or of symbol ids:
  ``symbols`` given, else ``model.dataset.input_symbols``, else ``model.dataset.alphabet``;
* else the step numbers 0, 1, ...

The real steps of each example are those the layer read: its input's lengths (recorded
during the forward) and, for cross-attention, the bound memory's lengths — never the
padding.

Any model works that has ``.network`` (a Layer tree with attention layers somewhere
inside): pass ``forward=`` a callable that runs the forward on ``x`` (binding memories
first, for an encoder-decoder); the default is ``model.forward(x, False)``. Each panel
carries the gid ``'attention'`` (``[ax for ax in fig.axes if ax.get_gid() == 'attention']``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from ..device import to_host
from ..layers.attention import MultiHeadAttention
from ..sequences import Sequences, split_sequences
from .images import finish_figure

__all__ = ["MAX_STEPS", "attention_figure", "attention_layers", "dataset_symbols", "decode_tokens"]

#: the most steps drawn along either axis of a panel (the first ones): more would be unreadable
MAX_STEPS = 48
#: font sizes of tick labels and panel titles (points, at the figure's 100 dpi)
TICK_SIZE = 5.5
TITLE_SIZE = 7
#: colour = (P / panel max) ** GAMMA: a square root lifts the many small weights of a long row into
#: view beside one large one (a causal row 0 always has the weight 1 on its only key)
GAMMA = 0.5
#: a perceptually uniform map: small differences between near-equal weights stay visible
CMAP = "viridis"


def attention_layers(model) -> list[tuple[str, MultiHeadAttention]]:
    """(path, layer) of every attention layer of ``model.network`` (or of a Layer), in network order."""
    network = getattr(model, "network", model)
    tops = network if isinstance(network, (list, tuple)) else [network]
    found = [layer for top in tops for layer in top.walk() if isinstance(layer, MultiHeadAttention)]
    return [(layer.path or f"attention[{i}]", layer) for i, layer in enumerate(found)]


def dataset_symbols(dataset):
    """The symbol of each input class of ``dataset`` (``input_symbols``, else ``alphabet``), or None."""
    for name in ("input_symbols", "alphabet"):
        symbols = getattr(dataset, name, None)
        if symbols is not None and len(symbols):
            return [str(s) for s in symbols]
    return None


def decode_tokens(x, symbols) -> list[list[str]] | None:
    """Per example, the symbols of its real steps: ``x`` a Sequences of one-hot rows
    (N, T, V) or of whole-number ids (N, T). None when ``x`` is not that or an id has no symbol."""
    if not isinstance(x, Sequences) or symbols is None:
        return None
    data = np.asarray(to_host(x.data))
    if data.ndim == 3:
        ids = data.argmax(axis=-1)
    elif data.ndim == 2 and np.all(np.isfinite(data)) and np.array_equal(data, np.round(data)):
        ids = data.astype(np.int64)      # ids as an embedding takes them (often float, in a float batch)
    else:
        return None
    if ids.size and (ids.min() < 0 or ids.max() >= len(symbols)):
        return None
    return [[symbols[int(k)] for k in row[:length]] for row, length in zip(ids, x.lengths, strict=True)]


def _first(x, count: int):
    """The first ``count`` examples of a batch (a Sequences, an array, or a tuple/list of them)."""
    if isinstance(x, (tuple, list)):
        return type(x)(_first(part, count) for part in x)
    return x[:count]


def _for_layer(labels, path: str):
    """The labels a layer at ``path`` reads: a dict picks its longest matching path prefix."""
    if not isinstance(labels, dict):
        return labels
    prefixes = sorted(labels, key=len)
    matching = [p for p in prefixes if path == p or path.startswith(p)]
    return labels[matching[-1]] if matching else None


def _labels(given, example: int, length: int, what: str, path: str) -> list[str]:
    if given is None:
        return [str(i) for i in range(length)]
    if example >= len(given):
        raise ValueError(f"attention_figure: {what} for {path} has {len(given)} example(s), but example "
                         f"{example} is drawn; give one list of labels per example")
    row = [str(s) for s in given[example]]
    if len(row) < length:
        raise ValueError(f"attention_figure: {what} for {path}, example {example}: {len(row)} labels for "
                         f"{length} real steps; give one label per real step")
    return row[:length]


def _recorded_forward(layers, forward, x) -> list[np.ndarray]:
    """Run ``forward(x)``, recording the query lengths each attention layer's input had."""
    seen: list = [None] * len(layers)
    for _, layer in layers:
        layer.weights = None    # a layer the forward skips must not show an earlier forward's weights

    def recorder(index, layer):
        method = type(layer).forward

        def wrapped(inp, training=False):
            seen[index] = np.asarray(split_sequences(inp)[1])
            return method(layer, inp, training)
        return wrapped

    for index, (_, layer) in enumerate(layers):
        layer.forward = recorder(index, layer)   # an instance attribute shadows the method for this forward only
    try:
        forward(x)
    finally:
        for _, layer in layers:
            del layer.forward
    return seen


def attention_figure(model, x, path=None, *, examples: int = 2, token_labels=None, memory_labels=None,
                     symbols=None, forward=None, max_steps: int = MAX_STEPS, panel_size: float | None = None,
                     show: bool = True) -> Figure:
    """The attention weights of every attention layer and head for the first ``examples`` of ``x``.

    ``x``: a batch as ``forward`` takes it (a Sequences, an array, or a tuple/list of them:
    each is cut to its first ``examples`` rows). ``forward``: a callable running the
    model's inference forward on it (default ``model.forward(x, False)``). ``token_labels``,
    ``memory_labels``, ``symbols``: the tick labels (see the module docstring). Writes the
    PNG to ``path`` (atomically) when given; returns the Figure. ValueError when the model
    has no attention layer, ``x`` is empty or labels are too short.
    """
    layers = attention_layers(model)
    name = getattr(model, "name", type(model).__name__)
    if not layers:
        raise ValueError(f"{name}: attention_figure needs an 'attention' layer; the network has none")
    stepping = [where for where, layer in layers if layer.decoding is not None]
    if stepping:
        raise ValueError(f"{name}: attention layer {stepping[0]} is decoding step by step (its weights are one "
                         "step's); call alzza.layers.attention.stop_decoding(model.network) before attention_figure")
    count = max(1, int(examples))
    x = _first(x, count)
    if forward is None:
        def forward(batch):
            return model.forward(batch, False)
    query_lengths = _recorded_forward(layers, forward, x)
    if token_labels is None:
        dataset_labels = symbols if symbols is not None else dataset_symbols(getattr(model, "dataset", None))
        token_labels = decode_tokens(x, [str(s) for s in dataset_labels] if dataset_labels is not None else None)
    weights = []
    for (where, layer), lengths in zip(layers, query_lengths, strict=True):
        p = getattr(layer, "weights", None)
        if p is None or lengths is None:
            raise ValueError(f"{name}: the forward did not run the attention layer {where}; pass forward= a "
                             "callable that runs the whole model on x")
        p = np.asarray(to_host(p), dtype=np.float64)
        key_lengths = lengths if layer.memory is None else np.asarray(layer.memory_value.lengths)
        weights.append((p, lengths, key_lengths))
    count = min(count, len(weights[0][0]))
    if count == 0:
        raise ValueError("attention_figure needs at least one example")
    blocks = []                                  # one row of panels per (example, layer)
    for e in range(count):
        for (where, layer), (p, q_lengths, k_lengths) in zip(layers, weights, strict=True):
            tq, tk = int(q_lengths[e]), int(k_lengths[e])
            queries = _labels(_for_layer(token_labels, where), e, tq, "token_labels", where)
            keys = (_labels(_for_layer(memory_labels, where), e, tk, "memory_labels", where)
                    if layer.memory is not None else queries)
            sq, sk = min(tq, max_steps), min(tk, max_steps)
            blocks.append((e, where, layer, p[e, :, :sq, :sk], queries[:sq], keys[:sk], sq < tq or sk < tk))
    heads = max(layer.heads for _, layer in layers)
    longest = max(max(len(queries), len(keys)) for *_, queries, keys, _ in blocks)
    size = panel_size or float(np.clip(0.07 * longest + 0.9, 1.6, 3.6))
    # inches for tick labels (the longest label's characters), and above a row for its two title lines
    chars = max(len(label) for *_, queries, keys, _ in blocks for label in (*queries, *keys))
    ticks = 0.065 * chars * (TICK_SIZE / 5.5) + 0.12
    above, rows = 0.42, len(blocks)
    width = size * heads + ticks * heads + 0.3
    height = rows * size + (rows - 1) * (above + ticks) + 0.45 + above + ticks + 0.1
    fig = Figure(figsize=(width, height), dpi=100)
    grid = fig.add_gridspec(rows, heads, hspace=(above + ticks) / size, wspace=ticks / size,
                            left=(ticks + 0.1) / width, right=1 - 0.2 / width, bottom=(ticks + 0.1) / height,
                            top=1 - (0.45 + above) / height)
    for row, (e, where, layer, panel_rows, queries, keys, cut) in enumerate(blocks):
        cross = layer.memory is not None
        for h in range(layer.heads):
            ax = fig.add_subplot(grid[row, h])
            panel = panel_rows[h]
            top = float(panel.max()) if panel.size else 0.0
            ax.imshow(panel, cmap=CMAP, norm=PowerNorm(GAMMA, vmin=0.0, vmax=top if top > 0 else 1.0),
                      interpolation="nearest", aspect="auto")
            ax.set_gid("attention")
            ax.set_xticks(range(len(keys)), keys, fontsize=TICK_SIZE,
                          rotation=0 if max(map(len, keys), default=0) <= 1 else 90)
            ax.set_yticks(range(len(queries)), queries, fontsize=TICK_SIZE)
            ax.tick_params(length=1.5, pad=1)
            ax.set_title(f"{'cross, ' if cross else ''}head {h} · max {top:.2f}{' (first steps)' if cut else ''}",
                         fontsize=TITLE_SIZE, pad=2)
            if h == 0:   # the row's label, a line above the head titles, free to run across the row
                ax.annotate(f"example {e} · {where}", (0, 1), xycoords="axes fraction", xytext=(0, 14),
                            textcoords="offset points", fontsize=TITLE_SIZE + 1, fontweight="bold",
                            ha="left", va="bottom", gid="row")
    return finish_figure(fig, f"{name}: attention weights (rows: layer, columns: head; queries ↓, keys →), "
                              f"{count} example(s)", path=path, show=show, fontsize=10, tight=False)
