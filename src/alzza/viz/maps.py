"""Conv kernels and feature maps (the book's chapter 7 ``show_maps``), as one PNG.

:func:`show_maps` runs a few examples forward through the model's top-level layers
(``model.network.layers``) in inference mode, one layer at a time, and draws, for every
top-level ``conv`` layer, in one figure:

* a **kernel row**: one small picture per output channel. A kernel over a 3-channel
  input (the photo itself) is drawn in RGB; over more or fewer channels, as the mean
  over its input channels in grayscale. Each kernel is min–max normalised to [0, 1]
  on its own, so the pattern shows, not the scale.
* one **map row per example**: the example's input picture first, then every channel
  of the layer's output (after its activation) as a grayscale panel, each normalised
  on its own; a constant map (a channel whose relu is off everywhere) shows as
  plain mid-grey captioned ``dead: all <value>``.

At most :data:`WRAP` panels stand side by side: a layer with more channels wraps them
onto further lines, so the picture stays readable at a normal width.

Layers deeper inside composites (serial, parallel, ...) are not drawn. At most
``max_channels`` channels per layer are drawn (the first ones). Every panel carries a
gid — ``'kernel'``, ``'map'`` or ``'input'`` — so the figure can be checked:
``sum(ax.get_gid() == 'kernel' for ax in fig.axes)``.

The figure is built with matplotlib's object API (headless-safe); in a Jupyter kernel
it is also shown inline.
"""

from __future__ import annotations

import numpy as np

from ..device import CPU, to_host
from matplotlib.figure import Figure

from .images import finish_figure

__all__ = ["conv_layers", "kernel_pictures", "layer_outputs", "panel_counts", "show_maps"]

#: the most channels drawn per conv layer
MAX_CHANNELS = 32
#: panels per line: more channels wrap onto further lines (a readable width, ~1,100 px)
WRAP = 10
#: font sizes of the block labels and of the captions under dead maps (points, at 100 dpi)
LABEL_SIZE = 9
CAPTION_SIZE = 7


def conv_layers(model) -> list[tuple[int, object]]:
    """(index, layer) of every top-level ``conv`` layer of ``model.network``."""
    return [(i, layer) for i, layer in enumerate(model.network.layers)
            if getattr(layer, "type_name", "") == "conv"]


def layer_outputs(model, x, upto: int | None = None) -> list[np.ndarray]:
    """Each top-level layer's output for the batch ``x``, in inference mode.

    ``upto`` (an index) stops after that layer; the list has one array per layer run.
    """
    layers = model.network.layers
    last = len(layers) - 1 if upto is None else int(upto)
    device = getattr(model, "device", CPU)
    h = device.asarray(x, dtype=model.dtype)  # the model's device; the pictures get host copies
    outputs = []
    for layer in layers[:last + 1]:
        h = layer.forward(h, False)
        outputs.append(to_host(h))
    return outputs


def _unit(a: np.ndarray) -> np.ndarray:
    """Min–max normalised to [0, 1] (a constant array becomes 0.5)."""
    a = np.asarray(a, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo < 1e-12:
        return np.full(a.shape, 0.5)
    return (a - lo) / (hi - lo)


def kernel_pictures(kernel: np.ndarray) -> list[np.ndarray]:
    """One [0, 1] picture per output channel of a (kh, kw, C, F) kernel.

    RGB ``(kh, kw, 3)`` when C == 3, else grayscale ``(kh, kw)`` of the channel mean.
    """
    kernel = np.asarray(kernel)
    pictures = []
    for f in range(kernel.shape[3]):
        k = kernel[:, :, :, f]
        pictures.append(_unit(k) if k.shape[2] == 3 else _unit(k.mean(axis=2)))
    return pictures


def _input_pictures(model, x) -> list[np.ndarray] | None:
    dataset = getattr(model, "dataset", None)
    to_images = getattr(dataset, "input_images", None)
    if to_images is not None:
        try:
            return list(to_images(x))
        except (ValueError, TypeError):
            pass
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] in (1, 3):
        return [_unit(image) if image.shape[-1] == 3 else _unit(image[..., 0]) for image in x]
    return None


def show_maps(model, x, path=None, *, examples: int = 3, max_channels: int = MAX_CHANNELS,
              panel_size: float = 0.9, show: bool = True) -> Figure:
    """Kernels and feature maps of every top-level conv layer, for ``examples`` inputs.

    ``x`` is a batch of model inputs (the first ``examples`` rows are used). Writes the
    PNG to ``path`` when given; returns the Figure. ValueError when the model has no
    top-level conv layer or ``x`` is empty.
    """
    convs = conv_layers(model)
    if not convs:
        raise ValueError(f"{model.name}: show_maps needs a top-level 'conv' layer; the network has none")
    x = np.asarray(x)[:max(1, int(examples))]
    if len(x) == 0:
        raise ValueError("show_maps needs at least one example")
    outputs = layer_outputs(model, x, upto=convs[-1][0])
    inputs = _input_pictures(model, x)
    count = len(x)
    has_input = inputs is not None
    offset = 1 if has_input else 0
    shown = [min(layer.chn, max_channels) for _, layer in convs]
    # at most WRAP panels a line: many channels wrap onto more lines instead of widening the picture
    lines = [-(-channels // WRAP) for channels in shown]
    columns = min(max(shown), WRAP) + offset
    rows = sum(n * (1 + count) for n in lines)
    width, height = panel_size * columns * 1.1 + 0.3, panel_size * rows * 1.5 + 0.7
    fig = Figure(figsize=(width, height), dpi=100)
    grid = fig.add_gridspec(rows, columns, hspace=0.55, wspace=0.1, left=0.15 / width, right=1 - 0.15 / width,
                            bottom=0.1 / height, top=1 - 0.55 / height)

    def cell(first_row, f):
        return grid[first_row + f // WRAP, offset + f % WRAP]

    top = 0
    for (index, layer), channels, n in zip(convs, shown, lines, strict=True):
        kh, kw = layer.ksize
        kernels = kernel_pictures(to_host(layer.params["k"]))[:channels]
        for f, picture in enumerate(kernels):
            ax = fig.add_subplot(cell(top, f))
            ax.imshow(picture, cmap=None if picture.ndim == 3 else "gray", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
            ax.set_gid("kernel")
            ax.set_axis_off()
            if f == 0:
                more = f" (first {channels} of {layer.chn})" if channels < layer.chn else ""
                ax.set_title(f"{layer.path or f'layers[{index}]'} conv {kh}×{kw}×{layer.chn}: kernels{more}",
                             fontsize=LABEL_SIZE, loc="left")
        maps = outputs[index]
        for e in range(count):
            row = top + n * (1 + e)
            if has_input:
                ax = fig.add_subplot(grid[row, 0])
                picture = inputs[e]
                ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None,
                          vmin=0, vmax=255 if picture.dtype == np.uint8 else 1, interpolation="nearest")
                ax.set_gid("input")
                ax.set_axis_off()
                if e == 0:
                    ax.set_title("input", fontsize=LABEL_SIZE)
            for f in range(channels):
                ax = fig.add_subplot(cell(row, f))
                channel = maps[e, :, :, f]
                ax.imshow(_unit(channel), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
                ax.set_gid("map")
                ax.set_axis_off()
                if _is_constant(channel):  # the mid-grey tile: say what it is
                    ax.text(0.5, -0.04, f"dead: all {float(np.asarray(channel).flat[0]):.3g}", transform=ax.transAxes,
                            ha="center", va="top", fontsize=CAPTION_SIZE, color="#b00020", gid="dead")
                if e == 0 and f == 0:
                    ax.set_title(f"feature maps {maps.shape[1]}×{maps.shape[2]}", fontsize=LABEL_SIZE, loc="left")
        top += n * (1 + count)
    return finish_figure(fig, f"{model.name}: conv kernels and feature maps of {count} example(s)", path=path,
                         show=show, fontsize=11, tight=False)


def _is_constant(a) -> bool:
    """The map _unit draws as plain mid-grey: the same value everywhere (a relu off everywhere)."""
    a = np.asarray(a, dtype=np.float64)
    return not np.isfinite(a).all() or float(a.max()) - float(a.min()) < 1e-12


def panel_counts(fig: Figure) -> dict[str, int]:
    """How many panels of each kind (kernel, map, input) a show_maps figure holds."""
    counts = {"kernel": 0, "map": 0, "input": 0}
    for ax in fig.axes:
        gid = ax.get_gid()
        if gid in counts:
            counts[gid] += 1
    return counts
