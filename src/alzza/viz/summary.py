"""The structure dump: nested layers, input → output shapes, parameter counts, total."""

from __future__ import annotations

import html

from ..sequences import SeqShape


class Summary(str):
    """The structure dump as text that shows itself once wherever it lands: ``print``,
    a bare call at the REPL (its repr is the table, not a quoted string) and Jupyter
    (``_repr_pretty_``, ``_repr_html_``)."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def mode_text(model) -> str:
    """The model's output mode; ``head: {mode: ...}`` overrides the data set's, and says so."""
    mode = model.mode
    head_mode = getattr(getattr(model, "head", None), "mode", mode)
    if (getattr(model, "head_options", None) or {}).get("mode") and head_mode != mode:
        return f"{mode} (scored by head {head_mode!r})"
    return mode


def _shape(shape) -> str:
    if isinstance(shape, SeqShape):
        return repr(shape)  # seq(T, F): a sequence of T steps
    return "(" + ", ".join(str(d) for d in shape) + ")" if shape is not None else "?"


def summary_text(model) -> str:
    """A table with one row per layer (children indented under composites) and a total."""
    rows = []

    def visit(layer, depth):
        own = sum(int(p.size) for p in layer.params.values())
        rows.append((
            "  " * depth + (layer.path or "network").split(".")[-1],
            layer.describe(),
            f"{_shape(layer.input_shape)} -> {_shape(layer.output_shape)}",
            f"{own:,}" if own or not layer.children() else f"({layer.parameter_count():,})",
        ))
        for child in layer.children():
            visit(child, depth + 1)

    for layer in model.network.layers:
        visit(layer, 0)
    headers = ("layer", "type", "input -> output", "params")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))
    sep = "-" * len(line)
    mode = mode_text(model)
    out = [f"Model {model.name}: input {_shape(model.input_shape)}, output {_shape(model.output_shape)}, mode {mode}",
           sep, line, sep]
    for r in rows:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2]), r[3].rjust(widths[3])]
        out.append("  ".join(cells))
    out.append(sep)
    out.append(f"Total parameters: {model.parameter_count():,}")
    return "\n".join(out)
