"""The book's structure dump (``dump_structure=True``, chapter 9 on).

The book numbers every layer that computes something, indents composites and the
macros they came from, and ends with the total::

    custom residual_flower
      serial
        1: conv, [64, 64, 3]=>[32, 32, 16] pm:7x7x3x16+16=2368
        2: max, [32, 32, 16]=>[16, 16, 16]
        custom rfull
          ...
    18: full, [1, 1, 64]=>[5] pm:64x5+5=325
    Total parameter count: 173637

Macro names are not kept in alzza's layer tree, so the dump walks the spec beside the
built layers: a ``custom`` spec prints its name and continues into its expansion with
the same layer. Layers alzza appends (output layers) follow their part's own layers.
"""

from __future__ import annotations

from ..layers.seqwrap import WholeSequence
from ..spec import expand_custom


def _shape(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _params(layer) -> str:
    own = [value for value in layer.params.values()]
    if not own:
        return ""
    terms = "+".join("x".join(str(d) for d in value.shape) for value in own)
    return f" pm:{terms}={sum(int(v.size) for v in own)}"


def _child_specs(spec) -> list:
    return [item for item in spec[1:] if not isinstance(item, dict)]


def _walk(spec, layer, depth: int, lines: list, counter: list, macros: dict, path: str) -> None:
    indent = "  " * depth
    if isinstance(layer, WholeSequence):
        layer = layer.inner
    if isinstance(spec, (list, tuple)) and spec and spec[0] == "custom":
        options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        lines.append(f"{indent}custom {options.get('name')}")
        _walk(expand_custom(options, macros, path), layer, depth + 1, lines, counter, macros, path)
        return
    kind = spec[0] if isinstance(spec, (list, tuple)) and spec else "full"
    children = list(layer.children())
    if children and isinstance(spec, (list, tuple)):
        lines.append(f"{indent}{kind}")
        specs = _child_specs(spec)
        if kind == "loop":  # every copy was made from the one child spec
            specs = specs[:1] * len(children)
        for child_spec, child in zip(specs, children, strict=False):
            _walk(child_spec, child, depth + 1, lines, counter, macros, path)
        return
    counter[0] += 1
    given = counter[0] == 1 and counter[1:] == [True]  # the data set's own shape: a tuple in the book
    shown = "(" + ", ".join(str(int(d)) for d in layer.input_shape) + ")" if given else _shape(layer.input_shape)
    lines.append(f"{indent}{counter[0]}: {layer.type_name}, {shown}=>"
                 f"{_shape(layer.output_shape)}{_params(layer)}")


def structure_lines(parts, macros: dict, tuple_input: bool = False) -> list[str]:
    """The dump of ``parts``: (spec list, built layers) pairs, numbered on through all parts.

    ``tuple_input``: the first layer's input shape as a tuple, ``(64, 64, 3)`` — the book's
    data sets keep their input shape as a tuple (chap09/cnn_resnet_test cell 6,
    cnn_inception_test cell 13); its DummyDataset keeps the list it was given
    (``[299, 299, 3]``, cnn_inception_test cell 9)."""
    lines: list[str] = []
    counter: list = [0, True] if tuple_input else [0]
    for specs, layers in parts:
        specs = list(specs)
        for i, layer in enumerate(layers):
            spec = specs[i] if i < len(specs) else ["full"]  # alzza's appended output layer
            _walk(spec, layer, 0, lines, counter, macros, f"layers[{i}]")
    return lines


def dump_structure(model, printer=print) -> list[str]:
    """Print the book's structure dump of a plain model or of a model family's parts."""
    parts_of = getattr(model, "parts", None)
    if isinstance(parts_of, dict):
        parts = [(part.spec if isinstance(part.spec, list) else [], part.network.layers) for part in parts_of.values()]
    else:
        spec = model.layer_spec if isinstance(model.layer_spec, list) else []
        parts = [(spec, model.network.layers)]
    dataset = getattr(model, "dataset", None)
    # a plain model's first layer takes the data set's input (a family's parts — a GAN's
    # generator takes its seed — print lists, as the book's chapter 15 dump does)
    plain = not isinstance(parts_of, dict) or list(parts_of) == ["network"]
    tuple_input = (plain and dataset is not None
                   and dataset.__class__.__name__ != "DummyDataset")
    lines = structure_lines(parts, model.macros, tuple_input)
    total = model.parameter_count()
    lines.append(f"Total parameter count: {total}")
    for line in lines:
        printer(line)
    return lines
