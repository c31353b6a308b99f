"""The bounds alzza puts on what it reads and builds, in one place.

A shared experiment file or model file is input a user may not have written, so
nothing it says may make alzza run out of memory, recurse until Python gives up, or
work for hours: every bound below is checked before the work (or the allocation) it
guards, and going over it is one clear error naming the setting that allows more.

Each limit has a documented default and is read from an environment variable at the
moment it is checked (so a test, or a user with a big machine, can change it):

======================  ==================  ===================================================
variable                default             bounds
======================  ==================  ===================================================
ALZZA_MAX_MEMORY        8 GiB               parameters + activations estimated at build time and
                                            before training; the decompressed size of a model
                                            file's arrays, of a cache entry and of a gzip IDX file
ALZZA_MAX_SPEC_BYTES    4 MiB               an experiment or macro file; a model file's JSON
                                            description
ALZZA_MAX_SPEC_DEPTH    100                 nesting depth of a spec (lists and mappings, after
                                            macro expansion) and of a model file's JSON
ALZZA_MAX_SPEC_NODES    1,000,000           values in a spec after YAML aliases and macros are
                                            expanded
ALZZA_MAX_LAYERS        20,000              layers in one network, ``loop`` copies included
======================  ==================  ===================================================

Sizes accept a plain number of bytes or a suffix K, M, G, T (powers of 1024), e.g.
``ALZZA_MAX_MEMORY=32G``. The defaults hold every model of the book with room to spare
(VGG-19, the biggest, is 143.7 M parameters: 0.57 GB of float32).
"""

from __future__ import annotations

import os
import re

from .errors import AlzzaError

#: name → (default, kind, what it bounds); kind "bytes" accepts K/M/G/T suffixes
LIMITS = {
    "ALZZA_MAX_MEMORY": (8 * 1024**3, "bytes", "memory for parameters, activations and decompressed arrays"),
    "ALZZA_MAX_SPEC_BYTES": (4 * 1024**2, "bytes", "size of an experiment, macro or model description file"),
    "ALZZA_MAX_SPEC_DEPTH": (100, "count", "nesting depth of a spec"),
    "ALZZA_MAX_SPEC_NODES": (1_000_000, "count", "values in a spec after aliases and macros are expanded"),
    "ALZZA_MAX_LAYERS": (20_000, "count", "layers in one network (loop copies included)"),
}

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


class LimitError(AlzzaError):
    """Something asks for more than a limit of this module allows."""


class LimitSettingError(AlzzaError):
    """A limit's environment variable holds no valid value (not a LimitError: no layer asked
    for too much, so no layer is named)."""


def limit(name: str) -> int:
    """The current value of the limit ``name`` (its environment variable, else the default)."""
    default, kind, _ = LIMITS[name]
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    match = _SIZE.match(text) if kind == "bytes" else re.match(r"^\s*([0-9]+)\s*()$", text)
    if not match:
        example = "a number of bytes or e.g. 512M, 32G" if kind == "bytes" else "a positive integer"
        raise LimitSettingError(f"{name}={text!r} is not {example}")
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if value < 1:
        raise LimitSettingError(f"{name}={text!r} must be at least 1")
    return value


def max_memory() -> int:
    return limit("ALZZA_MAX_MEMORY")


def max_spec_bytes() -> int:
    return limit("ALZZA_MAX_SPEC_BYTES")


def max_spec_depth() -> int:
    return limit("ALZZA_MAX_SPEC_DEPTH")


def max_spec_nodes() -> int:
    return limit("ALZZA_MAX_SPEC_NODES")


def max_layers() -> int:
    return limit("ALZZA_MAX_LAYERS")


def format_bytes(count: float) -> str:
    """1536 → '1.5 KiB' (binary units, as the limits are set)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} PiB"  # pragma: no cover


def check_memory(needed: float, what: str) -> None:
    """Raise :class:`LimitError` when ``needed`` bytes exceed ALZZA_MAX_MEMORY."""
    allowed = max_memory()
    if needed > allowed:
        raise LimitError(f"{what} would need {format_bytes(needed)}, more than the limit of "
                         f"{format_bytes(allowed)} (set ALZZA_MAX_MEMORY to allow more, e.g. ALZZA_MAX_MEMORY=32G)")


def read_bounded_text(path, what: str, error=AlzzaError) -> str:
    """The UTF-8 text of ``path``, refusing a file over ALZZA_MAX_SPEC_BYTES before reading it."""
    allowed = max_spec_bytes()
    with open(path, "rb") as handle:
        # read in chunks: a huge limit must not allocate a buffer of its size up front
        chunks, size = [], 0
        while size <= allowed:
            chunk = handle.read(min(1 << 20, allowed + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    if len(data) > allowed:
        raise error(f"{path}: the {what} is larger than {format_bytes(allowed)}, the limit "
                    f"(ALZZA_MAX_SPEC_BYTES); a spec that big is not one a person wrote")
    return data.decode("utf-8")


def check_tree(value, where: str, error=AlzzaError, depth_slack: int = 0) -> int:
    """Walk plain data without recursion; refuse cycles, too deep nesting and too many values.

    YAML aliases can make a small file stand for a huge tree (each alias is walked
    again here, as every later step would) or a cycle (``&l [4, *l]``). ``depth_slack``
    allows that many levels more (a model file wraps its spec in a few mappings).
    Returns the number of values walked.
    """
    depth_limit, node_limit = max_spec_depth() + depth_slack, max_spec_nodes()
    nodes = 0
    # (value, depth, ids of the containers above it) — the id chain spots cycles
    stack = [(value, 1, ())]
    while stack:
        item, depth, above = stack.pop()
        nodes += 1
        if nodes > node_limit:
            raise error(f"{where}: more than {node_limit:,} values once YAML aliases are expanded "
                        f"(ALZZA_MAX_SPEC_NODES); is it an alias bomb?")
        if isinstance(item, (list, tuple, dict)):
            if id(item) in above:
                raise error(f"{where}: the data contains itself (a YAML anchor used inside its own value, "
                            f"like 'layers: &l [4, *l]')")
            if depth > depth_limit:
                raise error(f"{where}: nests deeper than {depth_limit} levels (ALZZA_MAX_SPEC_DEPTH)")
            chain = above + (id(item),)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1, chain) for child in children)
    return nodes
