"""The description language front end: plain data → a tree of Layers.

A network is a list of layer specs. A layer spec is

* an integer ``n`` — a fully connected layer of width n (``full``), or
* a list ``[type, {options}, child, child, ...]`` — the options mapping may be left
  out when empty; children are layer specs themselves (for composites), or
* ``['custom', {'name': macro, 'args': {'#key': value}}]`` — a registered macro,
  expanded before building.

Every error raised here is a :class:`~alzza.errors.SpecError` naming the path of the
bad spec, e.g. ``layers[3].children[1]: 'conv' needs 'chn'``.
"""

from __future__ import annotations

import copy
import difflib

from .errors import SpecError, UnknownLayerTypeError
from .limits import check_tree, max_layers, max_spec_depth, max_spec_nodes
from .layers import LAYER_TYPES, Dense, Layer
from .options import Option, option_problem

MAX_MACRO_DEPTH = 32


def _suggest(word, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_plain(value, path: str = "spec"):
    """Raise unless ``value`` is plain data (lists, dicts with str keys, numbers, strings).

    Walked with an explicit stack, so a hostile spec can't exhaust Python's recursion;
    nesting beyond ALZZA_MAX_SPEC_DEPTH, cycles and more than ALZZA_MAX_SPEC_NODES
    values are refused (:func:`alzza.limits.check_tree`).
    """
    check_tree(value, path, lambda message: SpecError("", message))
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise SpecError(where, f"mapping keys must be strings, got {key!r}")
                stack.append((child, f"{where}.{key}"))
        elif item is not None and not isinstance(item, (bool, int, float, str)):
            raise SpecError(where, f"specs must be plain data (lists, dicts, numbers, strings), "
                                   f"got {type(item).__name__}")


def _short(path: str, keep: int = 60) -> str:
    """A long nested path cut in the middle, for messages about deep nesting."""
    return path if len(path) <= 2 * keep else f"{path[:keep]}…{path[-keep:]}"


class _Budget:
    """What one network's spec may still cost: values made by macro expansion, layers."""

    def __init__(self):
        self.nodes = max_spec_nodes()
        self.layers = max_layers()
        self.depth = max_spec_depth()

    def spend_nodes(self, count: int, path: str):
        self.nodes -= count
        if self.nodes < 0:
            raise SpecError(_short(path), f"macro expansion makes more than {max_spec_nodes():,} values "
                                  "(ALZZA_MAX_SPEC_NODES); do macros use each other exponentially?")

    def spend_layers(self, count: int, path: str):
        self.layers -= count
        if self.layers < 0:
            raise SpecError(_short(path), f"the network has more than {max_layers():,} layers (ALZZA_MAX_LAYERS), "
                                  "loop copies included")


def _size(value) -> int:
    """Number of values in plain data (iterative; the data is already bounded)."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return count


# --- macros ------------------------------------------------------------------------
def substitute(spec, args: dict, path: str):
    """A deep copy of ``spec`` with every string ``'#key'`` replaced by ``args['#key']``.

    ``'##x'`` is an escape and becomes the literal ``'#x'``. A ``'#key'`` missing from
    ``args`` is an error (it would otherwise reach a layer as a string).
    """
    if isinstance(spec, str) and spec.startswith("#"):
        if spec.startswith("##"):
            return spec[1:]
        if spec not in args:
            raise SpecError(path, f"macro argument {spec!r} is not given; args has {sorted(args) or 'nothing'}")
        return copy.deepcopy(args[spec])
    if isinstance(spec, (list, tuple)):
        return [substitute(item, args, f"{path}[{i}]") for i, item in enumerate(spec)]
    if isinstance(spec, dict):
        return {key: substitute(value, args, f"{path}.{key}") for key, value in spec.items()}
    return spec


def expand_custom(options: dict, macros: dict, path: str, budget: _Budget | None = None):
    """The spec that ``['custom', options]`` stands for."""
    unknown = set(options) - {"name", "args"}
    if unknown:
        raise SpecError(path, f"unknown option(s) {sorted(unknown)} for 'custom'; known: name, args")
    name = options.get("name")
    if not isinstance(name, str):
        raise SpecError(path, "'custom' needs 'name', the name of a macro")
    if name not in macros:
        raise SpecError(path, f"unknown macro {name!r}{_suggest(name, macros)}; "
                              f"known macros: {sorted(macros) or 'none'}")
    args = options.get("args", {})
    if not isinstance(args, dict):
        raise SpecError(f"{path}.args", f"must be a mapping of '#name' to value, got {args!r}")
    for key in args:
        if not key.startswith("#"):
            raise SpecError(f"{path}.args", f"argument names start with '#', got {key!r}")
    if budget is not None:  # counted before copying: a macro tree may be exponentially big
        budget.spend_nodes(_size(macros[name]) + sum(_size(v) for v in args.values()), path)
    return substitute(macros[name], args, f"{path}<{name}>")


# --- building the layer tree -------------------------------------------------------
def _check_option(layer_type: str, key: str, option: Option, value, path: str):
    value, problem = option_problem(option, value)
    if problem:
        close = _suggest(value, option.choices) if option.choices is not None and isinstance(value, str) else ""
        raise SpecError(f"{path}.{key}", f"'{layer_type}' option '{key}' {problem}{close}")
    return value


def parse_layer(spec, path: str, macros: dict | None = None, depth: int = 0, budget: _Budget | None = None,
                nesting: int = 0) -> Layer:
    """One layer spec → a Layer (not yet built). ``path`` names it in errors.

    ``depth`` counts macro expansions on the way here, ``nesting`` the layers above
    (composites and macros together: bounded by ALZZA_MAX_SPEC_DEPTH); ``budget`` is
    shared by the whole network (values made by macros, layers including loop copies).
    """
    macros = macros or {}
    budget = budget if budget is not None else _Budget()
    if nesting >= budget.depth:
        raise SpecError(_short(path), f"layers nest deeper than {budget.depth} levels (ALZZA_MAX_SPEC_DEPTH), "
                              "macros included")
    if isinstance(spec, bool):
        raise SpecError(path, f"a layer spec is an integer width or a list [type, {{options}}, ...], got {spec!r}")
    if isinstance(spec, int):
        if spec <= 0:
            raise SpecError(path, f"a layer width must be positive, got {spec}")
        budget.spend_layers(1, path)
        layer = Dense(spec)
        layer.path = path
        return layer
    if not isinstance(spec, (list, tuple)) or not spec or not isinstance(spec[0], str):
        raise SpecError(path, f"a layer spec is an integer width or a list [type, {{options}}, ...], got {spec!r}")
    type_name = spec[0]
    rest = list(spec[1:])
    options = rest.pop(0) if rest and isinstance(rest[0], dict) else {}
    if type_name == "custom":
        if depth >= MAX_MACRO_DEPTH:
            raise SpecError(_short(path),
                            f"macros nest deeper than {MAX_MACRO_DEPTH} levels (does a macro use itself?)")
        if rest:
            raise SpecError(path, "'custom' takes no children")
        expanded = expand_custom(options, macros, path, budget)
        return parse_layer(expanded, path, macros, depth + 1, budget, nesting + 1)
    cls = LAYER_TYPES.get(type_name)
    if cls is None:
        known = sorted(set(LAYER_TYPES) | {"custom"})
        raise UnknownLayerTypeError(path, f"unknown layer type {type_name!r}{_suggest(type_name, known)}; known types: "
                                          f"{', '.join(known)} (a type of your own needs its module imported "
                                          "first: --import MODULE_OR_PATH)", type_name)
    declared: dict[str, Option] = cls.OPTIONS
    values = {}
    for key, value in options.items():
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise SpecError(path, f"unknown option {key!r} for {type_name!r}{_suggest(key, declared)}; "
                                  f"known options: {known}")
        values[key] = _check_option(type_name, key, declared[key], value, path)
    for key, option in declared.items():
        if key not in values:
            if option.required:
                raise SpecError(path, f"{type_name!r} needs {key!r}" + (f" ({option.doc})" if option.doc else ""))
            values[key] = option.default
    budget.spend_layers(1, path)
    if cls.accepts_children:
        before = budget.layers
        children = [parse_layer(child, f"{path}.children[{i}]", macros, depth, budget, nesting + 1)
                    for i, child in enumerate(rest)]
        repeat = values.get("repeat") if type_name == "loop" else None
        if isinstance(repeat, int) and repeat > 1:  # each loop copy is a whole new subtree
            budget.spend_layers((before - budget.layers) * (repeat - 1), path)
        layer = cls(children=children, **values)
    else:
        if rest:
            raise SpecError(path, f"{type_name!r} takes no children, got {len(rest)}")
        layer = cls(**values)
    layer.path = path
    return layer


def parse_layers(specs, path: str = "layers", macros: dict | None = None) -> list[Layer]:
    """A network spec (list of layer specs) → list of Layers."""
    if isinstance(specs, tuple):
        specs = list(specs)
    if not isinstance(specs, list):
        raise SpecError(path, f"a network is a list of layer specs, got {specs!r}")
    check_plain(specs, path)
    if macros:
        check_plain(macros, "macros")
    budget = _Budget()
    return [parse_layer(item, f"{path}[{i}]", macros, budget=budget) for i, item in enumerate(specs)]
